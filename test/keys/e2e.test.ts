/**
 * Over a real socket, through the SDK: keys for all 15 signature algorithms, sign / verify with
 * context and prehash, external μ, rotation, minVersion, tenant isolation, and independent checks
 * of service signatures with node:crypto and with noble.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { slh_dsa_sha2_128f } from '@noble/post-quantum/slh-dsa.js';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { createClient, ServiceError, type PqzkClient } from '../../src/client/index.ts';
import { computeMu, parseSignature } from '../../src/client/keys.ts';
import { SIGNATURE_ALGORITHMS, isMlDsa } from '../../src/crypto/algorithms.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);
let t: TestApp;
let baseUrl: string;
let admin: PqzkClient;
let alice: PqzkClient;
let bob: PqzkClient;

before(async () => {
  t = await testApp();
  baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
  admin = createClient(baseUrl, { token: ADMIN_TOKEN });
  // Until ZK login exists, tenants get their tokens from the token service directly.
  alice = createClient(baseUrl, { token: (await t.app.ctx.tokens.mint('alice')).token });
  bob = createClient(baseUrl, { token: (await t.app.ctx.tokens.mint('bob')).token });
});
after(() => t.close());

const rejects = (p: Promise<unknown>, status: number, code?: string) =>
  assert.rejects(p, (e: unknown) => e instanceof ServiceError && e.status === status && (code === undefined || e.problem.code === code));

// Prehash runs on noble (pure JS, slow for SLH-DSA): exercised on ML-DSA and the two 128f sets.

describe('every signature algorithm', () => {
  for (const alg of SIGNATURE_ALGORITHMS) {
    const withPrehash = isMlDsa(alg) || alg.endsWith('128f');
    test(`${alg}: create, sign (pure + context${withPrehash ? ' + prehash' : ''}), verify, tamper`, async () => {
      const name = `k-${alg.toLowerCase()}`;
      const key = await alice.keys.create({ name, algorithm: alg });
      assert.equal(key.algorithm, alg);
      assert.equal(key.latestVersion, 1);
      assert.equal(key.versions?.length, 1);
      const message = utf8(`message for ${alg}`);
      const context = utf8('ctx');
      const s1 = await alice.keys.sign(name, { message, context });
      assert.match(s1.signature, /^v1:[A-Za-z0-9_-]+$/);
      assert.deepEqual(await alice.keys.verify(name, { message, context, signature: s1.signature }), { valid: true, version: 1 });
      assert.equal((await alice.keys.verify(name, { message, context: utf8('other'), signature: s1.signature })).valid, false);
      assert.equal((await alice.keys.verify(name, { message: utf8('tampered'), context, signature: s1.signature })).valid, false);
      if (withPrehash) {
        const prehash = alg.endsWith('128f') || alg === 'ML-DSA-44' ? 'SHA-256' : 'SHA-512';
        const s2 = await alice.keys.sign(name, { message, context, prehash });
        assert.equal((await alice.keys.verify(name, { message, context, prehash, signature: s2.signature })).valid, true);
        // A HashML-DSA signature is not a pure signature of the same message.
        assert.equal((await alice.keys.verify(name, { message, context, signature: s2.signature })).valid, false);
      }
      // verifyWithPublicKey, the public key given as raw, PEM and (ML-DSA) JWK.
      const { publicKey } = await alice.keys.publicKey(name);
      assert.equal((await alice.keys.verifyWithPublicKey({ algorithm: alg, publicKey, message, context, signature: s1.signature })).valid, true);
      const pem = (await alice.keys.publicKeyAs(name, 'pem')).publicKey as string;
      assert.equal((await alice.keys.verifyWithPublicKey({ algorithm: alg, publicKey: pem, message, context, signature: parseSignature(s1.signature).bytes })).valid, true);
      if (isMlDsa(alg)) {
        const jwk = (await alice.keys.publicKeyAs(name, 'jwk')).publicKey as { kty: 'AKP'; alg: 'ML-DSA-65'; pub: string };
        assert.equal(jwk.kty, 'AKP');
        assert.equal((await alice.keys.verifyWithPublicKey({ algorithm: alg, publicKey: jwk, message, context, signature: s1.signature })).valid, true);
      }
    });
  }
});

test('rotation, minVersion, verification of older versions', async () => {
  await alice.keys.create({ name: 'rot', algorithm: 'ML-DSA-44' });
  const message = utf8('rotate me');
  const v1 = await alice.keys.sign('rot', { message });
  const rotated = await alice.keys.rotate('rot');
  assert.equal(rotated.latestVersion, 2);
  assert.notEqual(rotated.versions![0]!.publicKey, rotated.versions![1]!.publicKey);
  const v2 = await alice.keys.sign('rot', { message });
  assert.equal(v2.version, 2);
  assert.match(v2.signature, /^v2:/);
  // Older versions still verify and can still sign when asked for explicitly.
  assert.equal((await alice.keys.verify('rot', { message, signature: v1.signature })).valid, true);
  assert.equal((await alice.keys.sign('rot', { message, version: 1 })).version, 1);
  const upd = await alice.keys.update('rot', { minVersion: 2 });
  assert.equal(upd.minVersion, 2);
  await rejects(alice.keys.sign('rot', { message, version: 1 }), 400, 'invalid_input');
  await rejects(alice.keys.verify('rot', { message, signature: v1.signature }), 400, 'invalid_input');
  assert.equal((await alice.keys.verify('rot', { message, signature: v2.signature })).valid, true);
  await rejects(alice.keys.update('rot', { minVersion: 3 }), 400, 'invalid_input');
  // Signatures from v1 and v2 differ in key: swapping the prefix breaks verification.
  assert.equal((await alice.keys.verify('rot', { message, signature: v1.signature.replace(/^v1:/, 'v2:') })).valid, false);
});

test('tenant isolation: another tenant sees 404, never 403; the admin sees all', async () => {
  await alice.keys.create({ name: 'private-a', algorithm: 'ML-DSA-65' });
  const sig = await alice.keys.sign('private-a', { message: utf8('x') });
  await rejects(bob.keys.get('private-a'), 404, 'not_found');
  await rejects(bob.keys.sign('private-a', { message: utf8('x') }), 404, 'not_found');
  await rejects(bob.keys.verify('private-a', { message: utf8('x'), signature: sig.signature }), 404, 'not_found');
  await rejects(bob.keys.rotate('private-a'), 404, 'not_found');
  await rejects(bob.keys.delete('private-a'), 404, 'not_found');
  await rejects(bob.keys.get('private-a', { owner: 'tenant:alice' }), 404, 'not_found');
  // bob may use the same name for his own key.
  assert.equal((await bob.keys.create({ name: 'private-a', algorithm: 'ML-DSA-44' })).owner, 'tenant:bob');
  assert.ok((await bob.keys.list()).keys.every((k) => k.owner === 'tenant:bob'));
  assert.ok((await alice.keys.list()).keys.every((k) => k.owner === 'tenant:alice'));
  const all = await admin.keys.list({ limit: 1000 });
  assert.ok(all.keys.some((k) => k.owner === 'tenant:alice') && all.keys.some((k) => k.owner === 'tenant:bob'));
  assert.ok(all.keys.every((k) => k.owner !== 'system'), 'system keys are never listed');
  assert.equal((await admin.keys.get('private-a', { owner: 'tenant:alice' })).algorithm, 'ML-DSA-65');
  await rejects(alice.keys.create({ name: 'private-a', algorithm: 'ML-DSA-44' }), 409, 'conflict');
});

test('external μ: the SDK computes μ, the service signs it, a plain verify accepts it', async () => {
  await alice.keys.create({ name: 'mu', algorithm: 'ML-DSA-87' });
  const { publicKey } = await alice.keys.publicKey('mu');
  const big = new Uint8Array(2 * 1024 * 1024).fill(7); // larger than the service accepts as `message`
  const context = utf8('firmware');
  const mu = computeMu(publicKey, big, context);
  const { signature } = await alice.keys.sign('mu', { mu });
  assert.equal((await alice.keys.verify('mu', { mu, signature })).valid, true);
  // Independently: noble's pure verify over the full message accepts the μ-signature.
  const { ml_dsa87 } = await import('@noble/post-quantum/ml-dsa.js');
  assert.equal(ml_dsa87.verify(parseSignature(signature).bytes, big, publicKey, { context }), true);
  assert.equal(ml_dsa87.verify(parseSignature(signature).bytes, big, publicKey, { context: utf8('other') }), false);
});

test('batch signing: results in order, references echoed, per-item problems', async () => {
  await alice.keys.create({ name: 'batch', algorithm: 'ML-DSA-65' });
  const long = new Uint8Array(256);
  const r = await alice.keys.signBatch('batch', [
    { message: utf8('one'), reference: 'a' },
    { message: utf8('two'), context: long, reference: 'b' },
    { message: utf8('three'), reference: 'c' },
  ]);
  assert.deepEqual(r.results!.map((x) => x.reference), ['a', 'b', 'c']);
  assert.equal(r.results![1]!.error?.code, 'invalid_input');
  assert.equal(r.results![1]!.signature, undefined);
  for (const [i, m] of [[0, 'one'], [2, 'three']] as const) {
    assert.equal((await alice.keys.verify('batch', { message: utf8(m), signature: r.results![i]!.signature! })).valid, true);
  }
});

test('service signatures verify with node:crypto and with noble, outside the service code path', async () => {
  await alice.keys.create({ name: 'interop-ml', algorithm: 'ML-DSA-65' });
  await alice.keys.create({ name: 'interop-slh', algorithm: 'SLH-DSA-SHA2-128f' });
  const message = utf8('interop');
  const context = utf8('ctx-1');
  for (const [name, noble] of [['interop-ml', ml_dsa65], ['interop-slh', slh_dsa_sha2_128f]] as const) {
    const { signature } = await alice.keys.sign(name, { message, context });
    const sig = parseSignature(signature).bytes;
    const der = (await alice.keys.publicKeyAs(name, 'der')).publicKey as string;
    const key = createPublicKey({ key: Buffer.from(der, 'base64url'), format: 'der', type: 'spki' });
    assert.equal(nodeVerify(null, message, { key, context } as never, sig), true, `${name} node:crypto`);
    const { publicKey } = await alice.keys.publicKey(name);
    assert.equal(noble.verify(sig, message, publicKey, { context }), true, `${name} noble`);
    assert.equal(noble.verify(sig, utf8('other'), publicKey, { context }), false);
  }
});

test('delete needs deletionAllowed; the wrapped material is gone afterwards', async () => {
  await alice.keys.create({ name: 'doomed', algorithm: 'ML-DSA-44' });
  await rejects(alice.keys.delete('doomed'), 409, 'conflict');
  await alice.keys.update('doomed', { deletionAllowed: true });
  await alice.keys.delete('doomed');
  await rejects(alice.keys.get('doomed'), 404);
  const left = await t.store.query("SELECT count(*)::int AS n FROM key_versions v LEFT JOIN keys k ON k.id = v.key_id WHERE k.id IS NULL");
  assert.equal(left[0]!.n, 0);
});

test('SLH-DSA-SHAKE-256s signs in the worker pool: health is answered meanwhile', async () => {
  await alice.keys.create({ name: 'slow', algorithm: 'SLH-DSA-SHAKE-256s' });
  const started = performance.now();
  let signedAt = 0;
  const signing = alice.keys.sign('slow', { message: utf8('slow') }).then((r) => { signedAt = performance.now(); return r; });
  const healthTimes: number[] = [];
  while (signedAt === 0) {
    const t0 = performance.now();
    assert.deepEqual(await alice.health(), { status: 'ok' });
    healthTimes.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
  const { signature } = await signing;
  // The health answers arrived while the signature was being computed, not after it.
  assert.ok(healthTimes.length >= 3, `only ${healthTimes.length} health answers during a ${(signedAt - started).toFixed(0)} ms signature`);
  console.log(`# SLH-DSA-SHAKE-256s sign took ${(signedAt - started).toFixed(0)} ms; ${healthTimes.length} health answers meanwhile, slowest ${Math.max(...healthTimes).toFixed(1)} ms`);
  assert.equal((await alice.keys.verify('slow', { message: utf8('slow'), signature })).valid, true);
});

test('private material is only stored wrapped; exportable keys export raw, PKCS#8 and JWK', async () => {
  const { ml_dsa44 } = await import('@noble/post-quantum/ml-dsa.js');
  await alice.keys.create({ name: 'exp-ml', algorithm: 'ML-DSA-44', exportable: true });
  await alice.keys.create({ name: 'exp-slh', algorithm: 'SLH-DSA-SHA2-128f', exportable: true });
  const seed = Buffer.from((await alice.keys.export('exp-ml')).privateKey as string, 'base64url');
  const slhSk = Buffer.from((await alice.keys.export('exp-slh')).privateKey as string, 'base64url');
  assert.equal(seed.length, 32);
  assert.equal(slhSk.length, 64);
  // The exported seed really is the key: it derives the published public key.
  const { publicKey } = await alice.keys.publicKey('exp-ml');
  assert.deepEqual(ml_dsa44.keygen(new Uint8Array(seed)).publicKey, publicKey);
  const jwk = (await alice.keys.export('exp-ml', { format: 'jwk' })).privateKey as { priv: string };
  assert.equal(jwk.priv, seed.toString('base64url'));
  const p8 = Buffer.from((await alice.keys.export('exp-ml', { format: 'pkcs8' })).privateKey as string, 'base64url');
  assert.notEqual(p8.indexOf(seed), -1);
  // Read the raw store: every column of every row, as bytes and as text.
  const rows = [...await t.store.query('SELECT * FROM keys'), ...await t.store.query('SELECT * FROM key_versions')];
  assert.ok(rows.length >= 4);
  for (const row of rows) {
    for (const v of Object.values(row)) {
      const bytes = v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(String(v));
      for (const secret of [seed, slhSk.subarray(0, 32)]) {
        assert.equal(bytes.indexOf(secret), -1, 'private material found in clear in the store');
        assert.equal(bytes.indexOf(Buffer.from(secret.toString('base64url'))), -1);
        assert.equal(bytes.indexOf(Buffer.from(secret.toString('hex'))), -1);
      }
    }
  }
});
