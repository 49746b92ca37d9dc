/**
 * Composite ML-DSA keys (draft-ietf-lamps-pq-composite-sigs-19) over HTTP: create, sign with and
 * without context, verify, batch, rotate (old versions still verify), public key raw / SPKI / PEM with
 * the draft's OIDs, export (raw = PKCS#8 content), the wrapped row never holds the material, and
 * hostile input (prehash, μ, signature lengths, malformed DER, malformed components, long context)
 * → 4xx or valid:false, never 5xx, and nothing changed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, callAs, type TestApp } from '../support/app.ts';
import { wrapForImport } from '../../src/client/encryption.ts';
import {
  COMPOSITE, COMPOSITE_ML_DSA, SIZES, base64urlDecode, base64urlEncode, decodePem, decodePkcs8, decodeSpki, getBackend, oidOf,
} from '../../src/crypto/index.ts';

let t: TestApp;
let alice: string;
const utf8 = (s: string) => base64urlEncode(new TextEncoder().encode(s));
const msg = utf8('composite over HTTP');
const ctx = utf8('application context');
const call = (method: string, url: string, payload?: unknown) => callAs(t, method, url, payload, alice);
const sigBytes = (s: string) => base64urlDecode(s.slice(s.indexOf(':') + 1));

before(async () => {
  t = await testApp();
  alice = (await t.app.ctx.tokens.mint('alice')).token;
});
after(() => t.close());

for (const alg of COMPOSITE_ML_DSA) {
  test(`${alg}: create, sign (context), verify, batch, rotate, public key raw/SPKI/PEM, export`, async () => {
    const name = `c-${alg.toLowerCase()}`;
    const created = await call('POST', '/v1/keys', { name, algorithm: alg, exportable: true });
    assert.equal(created.res.statusCode, 201, created.res.body);
    assert.equal(created.body.algorithm, alg);

    const s1 = (await call('POST', `/v1/keys/${name}/sign`, { message: msg, context: ctx })).body;
    assert.match(s1.signature, /^v1:/);
    assert.equal(s1.algorithm, alg);
    assert.deepEqual((await call('POST', `/v1/keys/${name}/verify`, { message: msg, context: ctx, signature: s1.signature })).body, { valid: true, version: 1 });
    assert.equal((await call('POST', `/v1/keys/${name}/verify`, { message: msg, signature: s1.signature })).body.valid, false, 'other context');
    assert.equal((await call('POST', `/v1/keys/${name}/verify`, { message: utf8('other'), context: ctx, signature: s1.signature })).body.valid, false);
    // A bit flipped in either component: valid:false, 200.
    for (const at of [50, sigBytes(s1.signature).length - 2]) {
      const b = sigBytes(s1.signature); b[at]! ^= 1;
      const r = await call('POST', `/v1/keys/${name}/verify`, { message: msg, context: ctx, signature: `v1:${base64urlEncode(b)}` });
      assert.equal(r.res.statusCode, 200, r.res.body);
      assert.equal(r.body.valid, false, `flip at ${at}`);
    }

    const batch = (await call('POST', `/v1/keys/${name}/sign`, { batch: [{ message: msg, reference: 'a' }, { message: utf8('two'), context: ctx }, { message: msg, mu: msg }] })).body;
    assert.equal(batch.results.length, 3);
    assert.equal(batch.results[0].reference, 'a');
    assert.equal((await call('POST', `/v1/keys/${name}/verify`, { message: msg, signature: batch.results[0].signature })).body.valid, true);
    assert.equal((await call('POST', `/v1/keys/${name}/verify`, { message: utf8('two'), context: ctx, signature: batch.results[1].signature })).body.valid, true);
    assert.equal(batch.results[2].error.status, 400, 'a bad item is reported in its slot');

    assert.equal((await call('POST', `/v1/keys/${name}/rotate`)).res.statusCode, 200);
    const s2 = (await call('POST', `/v1/keys/${name}/sign`, { message: msg })).body.signature as string;
    assert.match(s2, /^v2:/);
    assert.deepEqual((await call('POST', `/v1/keys/${name}/verify`, { message: msg, signature: s2 })).body, { valid: true, version: 2 });
    assert.deepEqual((await call('POST', `/v1/keys/${name}/verify`, { message: msg, context: ctx, signature: s1.signature })).body, { valid: true, version: 1 });

    const raw = base64urlDecode((await call('GET', `/v1/keys/${name}/public?version=1`)).body.publicKey);
    assert.equal(raw.length, SIZES[alg].publicKey);
    const spki = decodeSpki(base64urlDecode((await call('GET', `/v1/keys/${name}/public?version=1&format=spki`)).body.publicKey));
    assert.deepEqual(spki, { algorithm: alg, publicKey: raw });
    assert.equal(oidOf(alg), `1.3.6.1.5.5.7.6.${COMPOSITE[alg].oidArc}`);
    const pem = (await call('GET', `/v1/keys/${name}/public?version=1&format=pem`)).body.publicKey as string;
    assert.deepEqual(decodeSpki(decodePem('PUBLIC KEY', pem)), spki);
    const jwk = await call('GET', `/v1/keys/${name}/public?format=jwk`);
    assert.equal(jwk.res.statusCode, 400);
    assert.equal(problemOf(jwk.res).code, 'unsupported_operation');
    for (const publicKey of [pem, base64urlEncode(raw)]) {
      const r = await call('POST', '/v1/verify', { algorithm: alg, publicKey, message: msg, context: ctx, signature: s1.signature });
      assert.equal(r.body.valid, true, r.res.body);
    }

    // Export: raw is the draft's composite secret key, PKCS#8 wraps it directly; a local signature verifies on the service.
    const ex = (await call('POST', `/v1/keys/${name}/export`, { version: 1 })).body;
    const sk = base64urlDecode(ex.privateKey);
    assert.equal(sk.length, SIZES[alg].secretKey);
    const p8 = decodePkcs8(base64urlDecode((await call('POST', `/v1/keys/${name}/export`, { version: 1, format: 'pkcs8' })).body.privateKey));
    assert.deepEqual(p8, { algorithm: alg, secretKey: sk });
    const local = getBackend('noble').sign(alg, sk, base64urlDecode(msg), { context: base64urlDecode(ctx) });
    assert.equal((await call('POST', `/v1/keys/${name}/verify`, { message: msg, context: ctx, signature: `v1:${base64urlEncode(local)}` })).body.valid, true);
    // Wrapping: the stored row never holds the material in the clear.
    const rows = await t.store.query<{ wrapped_secret: Uint8Array }>('SELECT wrapped_secret FROM key_versions kv JOIN keys k ON k.id = kv.key_id WHERE k.name = $1', [name]);
    assert.equal(rows.length, 2);
    for (const r of rows) assert.equal(Buffer.from(r.wrapped_secret).indexOf(Buffer.from(sk.subarray(0, 32))), -1);
  });
}

const snapshot = async () => JSON.stringify([
  await t.store.query('SELECT id, owner, name, algorithm, latest_version FROM keys ORDER BY id'),
  await t.store.query('SELECT key_id, version FROM key_versions ORDER BY key_id, version'),
]);

test('hostile input on composite keys: 4xx problems (or valid:false), never 5xx, store unchanged', async () => {
  const alg = 'MLDSA65-ECDSA-P256-SHA512';
  assert.equal((await call('POST', '/v1/keys', { name: 'h', algorithm: alg })).res.statusCode, 201);
  const sig = (await call('POST', '/v1/keys/h/sign', { message: msg })).body.signature as string;
  const pk = base64urlDecode((await call('GET', '/v1/keys/h/public')).body.publicKey);
  const mlLen = SIZES['ML-DSA-65'].signature;
  const good = sigBytes(sig);
  const b64 = (n: number) => base64urlEncode(new Uint8Array(n).fill(1));
  const offCurve = pk.slice(); offCurve[offCurve.length - 1]! ^= 1;
  const zeroTrad = pk.slice(); zeroTrad.fill(0, SIZES['ML-DSA-65'].publicKey);
  const before = await snapshot();
  const cases: Array<[string, string, string, unknown, number, string]> = [
    ['prehash on a composite key', 'POST', '/v1/keys/h/sign', { message: msg, prehash: 'SHA-512' }, 400, 'invalid_input'],
    ['prehash on composite verify', 'POST', '/v1/keys/h/verify', { message: msg, prehash: 'SHA-512', signature: sig }, 400, 'invalid_input'],
    ['external mu on a composite key', 'POST', '/v1/keys/h/sign', { mu: b64(64) }, 400, 'invalid_input'],
    ['context of 256 bytes', 'POST', '/v1/keys/h/sign', { message: msg, context: b64(256) }, 400, 'invalid_input'],
    ['deterministic on native', 'POST', '/v1/keys/h/sign', { message: msg, deterministic: true }, 400, 'unsupported_operation'],
    ['signature: ML-DSA part only', 'POST', '/v1/keys/h/verify', { message: msg, signature: `v1:${base64urlEncode(good.subarray(0, mlLen))}` }, 400, 'invalid_input'],
    ['signature: one byte short of the minimum', 'POST', '/v1/keys/h/verify', { message: msg, signature: `v1:${b64(mlLen + 7)}` }, 400, 'invalid_input'],
    ['signature: one byte over the maximum', 'POST', '/v1/keys/h/verify', { message: msg, signature: `v1:${b64(SIZES[alg].signature + 1)}` }, 400, 'invalid_input'],
    ['verifyWithPublicKey: off-curve ECDSA component', 'POST', '/v1/verify', { algorithm: alg, publicKey: base64urlEncode(offCurve), message: msg, signature: sig }, 400, 'invalid_input'],
    ['verifyWithPublicKey: zeroed traditional component', 'POST', '/v1/verify', { algorithm: alg, publicKey: base64urlEncode(zeroTrad), message: msg, signature: sig }, 400, 'invalid_input'],
    ['verifyWithPublicKey: composite pk one byte short', 'POST', '/v1/verify', { algorithm: alg, publicKey: base64urlEncode(pk.subarray(1)), message: msg, signature: sig }, 400, 'invalid_input'],
    ['public-key-only key with an off-curve component', 'POST', '/v1/keys', { name: 'h2', algorithm: alg, publicKey: base64urlEncode(offCurve) }, 400, 'invalid_input'],
    ['public-key-only Ed25519 composite with a small-order point', 'POST', '/v1/keys', { name: 'h3', algorithm: 'MLDSA44-Ed25519-SHA512', publicKey: base64urlEncode(new Uint8Array(1344)) }, 400, 'invalid_input'],
  ];
  for (const [label, method, url, payload, status, code] of cases) {
    const r = await call(method, url, payload);
    assert.equal(r.res.statusCode, status, `${label}: ${r.res.body.slice(0, 300)}`);
    assert.equal(problemOf(r.res).code, code, label);
  }
  // Right length, malformed content: merely invalid (200, valid:false).
  const garbageDer = new Uint8Array(good.length); garbageDer.set(good.subarray(0, mlLen)); garbageDer.fill(0x30, mlLen);
  const swapped = new Uint8Array([...good.subarray(mlLen), ...good.subarray(0, mlLen)]);
  for (const [label, bytes] of [['garbage DER in the ECDSA part', garbageDer], ['random bytes', new Uint8Array(good.length).fill(7)], ['components swapped', swapped]] as const) {
    const r = await call('POST', '/v1/keys/h/verify', { message: msg, signature: `v1:${base64urlEncode(bytes)}` });
    if (r.res.statusCode === 400) { assert.equal(problemOf(r.res).code, 'invalid_input', label); continue; } // swapped may fall outside the length range
    assert.equal(r.res.statusCode, 200, `${label}: ${r.res.body}`);
    assert.equal(r.body.valid, false, label);
  }
  assert.equal(await snapshot(), before, 'hostile requests changed the store');
});

test('import job: a composite secret key (the draft encoding) imports and signs; a malformed ECDSA component is a 400', async () => {
  const job = (await call('POST', '/v1/import-jobs', {})).body as { id: string; publicKey: string };
  const j = { id: job.id, publicKey: base64urlDecode(job.publicKey) };
  const alg = 'MLDSA65-ECDSA-P384-SHA512';
  const noble = getBackend('noble');
  const kp = noble.signatureKeygen(alg);
  const imp = await call('POST', '/v1/keys/byok-comp/import', { importJob: j.id, wrappedKey: wrapForImport(j, alg, kp.secretKey), algorithm: alg });
  assert.equal(imp.res.statusCode, 200, imp.res.body);
  assert.equal(imp.body.versions[0].publicKey, base64urlEncode(kp.publicKey));
  const sig = (await call('POST', '/v1/keys/byok-comp/sign', { message: msg })).body.signature as string;
  assert.ok(noble.verify(alg, kp.publicKey, base64urlDecode(msg), sigBytes(sig)));
  for (const [label, bad] of [
    ['scalar ≥ n', (() => { const b = kp.secretKey.slice(); b.fill(0xff, 39, 39 + 48); return b; })()],
    ['ECPrivateKey version 2', (() => { const b = kp.secretKey.slice(); b[36] = 2; return b; })()],
    ['one byte short', kp.secretKey.subarray(1)],
  ] as const) {
    const r = await call('POST', '/v1/keys/byok-comp/import', { importJob: j.id, wrappedKey: wrapForImport(j, alg, bad) });
    assert.equal(r.res.statusCode, 400, `${label}: ${r.res.body}`);
  }
});
