/**
 * Import jobs (BYOK with X-Wing wrapping): every algorithm family imports and then works (sign/verify,
 * encrypt/decrypt), the imported version is the same key as the material, and the hostile cases:
 * wrong algorithm, another job, tampered, expired, another tenant's job, a swapped job public key.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp, callAs } from '../support/app.ts';
import { base64urlDecode, base64urlEncode, getBackend } from '../../src/crypto/index.ts';
import { wrapForImport, openWithSeed } from '../../src/client/encryption.ts';

let t: TestApp;
let alice: string;
let bob: string;
const noble = getBackend('noble');

before(async () => {
  t = await testApp();
  alice = (await t.app.ctx.tokens.mint('alice')).token;
  bob = (await t.app.ctx.tokens.mint('bob')).token;
});
after(() => t.close());

const call = (method: string, url: string, payload?: unknown, token: string | undefined = alice) => callAs(t, method, url, payload, token);
const newJob = async (token = alice, ttlSeconds?: number) => {
  const r = await call('POST', '/v1/import-jobs', ttlSeconds ? { ttlSeconds } : {}, token);
  assert.equal(r.res.statusCode, 201, r.res.body);
  return { id: r.body.id as string, publicKey: base64urlDecode(r.body.publicKey) };
};

test('import: ML-DSA seed creates a key that signs with the imported key; ML-KEM seed as a new version decrypts', async () => {
  const job = await newJob();
  const seed = noble.randomBytes(32);
  const imp = await call('POST', '/v1/keys/byok-sig/import', { importJob: job.id, wrappedKey: wrapForImport(job, 'ML-DSA-65', seed), algorithm: 'ML-DSA-65' });
  assert.equal(imp.res.statusCode, 200, imp.res.body);
  assert.equal(imp.body.latestVersion, 1);
  const pk = noble.signatureKeygen('ML-DSA-65', seed).publicKey;
  assert.equal(imp.body.versions[0].publicKey, base64urlEncode(pk));
  const msg = base64urlEncode(new TextEncoder().encode('m'));
  const sig = (await call('POST', '/v1/keys/byok-sig/sign', { message: msg })).body.signature as string;
  assert.ok(noble.verify('ML-DSA-65', pk, base64urlDecode(msg), base64urlDecode(sig.slice(3))));

  await call('POST', '/v1/keys', { name: 'byok-kem', algorithm: 'ML-KEM-768' });
  const kemSeed = noble.randomBytes(64);
  const v2 = await call('POST', '/v1/keys/byok-kem/import', { importJob: job.id, wrappedKey: wrapForImport(job, 'ML-KEM-768', kemSeed) });
  assert.equal(v2.res.statusCode, 200, v2.res.body);
  assert.equal(v2.body.latestVersion, 2);
  const c = (await call('POST', '/v1/keys/byok-kem/encrypt', { plaintext: msg })).body.ciphertext as string;
  assert.match(c, /^v2:/);
  assert.equal(new TextDecoder().decode(openWithSeed('ML-KEM-768', kemSeed, c)), 'm');

  // SLH-DSA: the 4n-byte secret key, checked for consistency.
  const slh = noble.signatureKeygen('SLH-DSA-SHA2-128f');
  const s1 = await call('POST', '/v1/keys/byok-slh/import', { importJob: job.id, wrappedKey: wrapForImport(job, 'SLH-DSA-SHA2-128f', slh.secretKey), algorithm: 'SLH-DSA-SHA2-128f' });
  assert.equal(s1.res.statusCode, 200, s1.res.body);
  const bad = slh.secretKey.slice(); bad[63]! ^= 1; // PK.root
  const s2 = await call('POST', '/v1/keys/byok-slh/import', { importJob: job.id, wrappedKey: wrapForImport(job, 'SLH-DSA-SHA2-128f', bad) });
  assert.equal(s2.res.statusCode, 400);
});

const snapshot = async () => JSON.stringify([
  await t.store.query('SELECT id, owner, name, algorithm, exportable, min_version, latest_version, updated_at FROM keys ORDER BY id'),
  await t.store.query('SELECT key_id, version, wrapped_secret FROM key_versions ORDER BY key_id, version'),
]);

test('hostile imports: each a 4xx, nothing written', async () => {
  await call('POST', '/v1/keys', { name: 'target', algorithm: 'ML-DSA-44' });
  const job = await newJob();
  const other = await newJob();
  const bobJob = await newJob(bob);
  const seed = noble.randomBytes(32);
  const good = wrapForImport(job, 'ML-DSA-44', seed);
  const tampered = base64urlDecode(good); tampered[tampered.length - 1]! ^= 1;
  const before = await snapshot();
  const cases: Array<[string, unknown, number, string, string?]> = [
    ['wrapped for another algorithm', { importJob: job.id, wrappedKey: wrapForImport(job, 'ML-DSA-65', seed) }, 400, 'decryption_failed'],
    ['wrapped to another job', { importJob: other.id, wrappedKey: good }, 400, 'decryption_failed'],
    ['tampered', { importJob: job.id, wrappedKey: base64urlEncode(tampered) }, 400, 'decryption_failed'],
    ['truncated', { importJob: job.id, wrappedKey: good.slice(0, 100) }, 400, 'decryption_failed'],
    ['wrong material size', { importJob: job.id, wrappedKey: wrapForImport(job, 'ML-DSA-44', noble.randomBytes(31)) }, 400, 'invalid_input'],
    ['algorithm differs from the key', { importJob: job.id, wrappedKey: good, algorithm: 'ML-DSA-65' }, 400, 'invalid_input'],
    ['exportable on an existing key', { importJob: job.id, wrappedKey: good, exportable: true }, 400, 'invalid_input'],
    ['unknown job', { importJob: '00000000-0000-4000-8000-000000000000', wrappedKey: good }, 404, 'not_found'],
    ["another tenant's job", { importJob: bobJob.id, wrappedKey: wrapForImport(bobJob, 'ML-DSA-44', seed) }, 404, 'not_found'],
    ['new key without algorithm', { importJob: job.id, wrappedKey: good }, 400, 'invalid_input', 'absent-key'],
  ];
  for (const [label, payload, status, code, key] of cases) {
    const r = await call('POST', `/v1/keys/${key ?? 'target'}/import`, payload);
    assert.equal(r.res.statusCode, status, `${label}: ${r.res.body}`);
    assert.equal(problemOf(r.res).code, code, label);
  }
  assert.equal(await snapshot(), before);

  // Expired: 410 and the job row (with its wrapped seed) is gone.
  await t.store.query("UPDATE import_jobs SET expires_at = now() - interval '1 second' WHERE id = $1", [job.id]);
  const r = await call('POST', '/v1/keys/target/import', { importJob: job.id, wrappedKey: good });
  assert.equal(r.res.statusCode, 500, 'an edited expiry fails the row MAC');
  // A genuinely expired job: its MAC'd expiry has passed.
  const short = await newJob(alice, 60);
  const [row] = await t.store.query<{ expires_at: Date }>('SELECT expires_at FROM import_jobs WHERE id = $1', [short.id]);
  const realNow = Date.now;
  Date.now = () => new Date(row!.expires_at).getTime() + 1;
  try {
    const g = await call('POST', '/v1/keys/target/import', { importJob: short.id, wrappedKey: wrapForImport(short, 'ML-DSA-44', seed) });
    assert.equal(g.res.statusCode, 410, g.res.body);
  } finally {
    Date.now = realNow;
  }
  assert.equal((await t.store.query('SELECT id FROM import_jobs WHERE id = $1', [short.id])).length, 0);

  // A swapped job public key fails the row MAC (500), so a client never wraps to a key the service did not make.
  const j3 = await newJob();
  await t.store.query('UPDATE import_jobs SET public_key = $1 WHERE id = $2', [noble.keygen('X-Wing').publicKey, j3.id]);
  assert.equal((await call('GET', `/v1/import-jobs/${j3.id}`)).res.statusCode, 500);
});

test('public-key-only keys: verify and encrypt work; sign, decrypt, decapsulate, rotate, private import are 400 public_key_only', async () => {
  const sk = noble.signatureKeygen('ML-DSA-44', noble.randomBytes(32));
  const c1 = await call('POST', '/v1/keys', { name: 'pub-sig', algorithm: 'ML-DSA-44', publicKey: base64urlEncode(sk.publicKey) });
  assert.equal(c1.res.statusCode, 201, c1.res.body);
  assert.equal(c1.body.exportable, false);
  const msg = new TextEncoder().encode('signed elsewhere');
  const sig = noble.sign('ML-DSA-44', sk.secretKey, msg);
  const v = await call('POST', '/v1/keys/pub-sig/verify', { message: base64urlEncode(msg), signature: `v1:${base64urlEncode(sig)}` });
  assert.equal(v.body.valid, true, v.res.body);

  const kem = noble.keygen('X-Wing');
  assert.equal((await call('POST', '/v1/keys', { name: 'pub-kem', algorithm: 'X-Wing', publicKey: base64urlEncode(kem.publicKey) })).res.statusCode, 201);
  const e = await call('POST', '/v1/keys/pub-kem/encrypt', { plaintext: base64urlEncode(msg) });
  assert.equal(e.res.statusCode, 200, e.res.body);
  assert.deepEqual(openWithSeed('X-Wing', kem.secretKey, e.body.ciphertext), msg);

  const job = await newJob();
  const refused: Array<[string, string, unknown]> = [
    ['sign', '/v1/keys/pub-sig/sign', { message: base64urlEncode(msg) }],
    ['decrypt', '/v1/keys/pub-kem/decrypt', { ciphertext: e.body.ciphertext }],
    ['rewrap', '/v1/keys/pub-kem/rewrap', { ciphertext: e.body.ciphertext }],
    ['decapsulate', '/v1/keys/pub-kem/decapsulate', { ciphertext: base64urlEncode(new Uint8Array(1120)) }],
    ['rotate', '/v1/keys/pub-kem/rotate', undefined],
    ['private import', '/v1/keys/pub-kem/import', { importJob: job.id, wrappedKey: wrapForImport(job, 'X-Wing', noble.randomBytes(32)) }],
  ];
  for (const [label, url, payload] of refused) {
    const r = await call('POST', url, payload);
    assert.equal(r.res.statusCode, 400, `${label}: ${r.res.body}`);
    const p = problemOf(r.res) as { code: string; reason?: string };
    assert.equal(p.code, 'unsupported_operation', label);
    assert.equal(p.reason, 'public_key_only', label);
  }
  assert.equal((await call('POST', '/v1/keys/pub-kem/export', {})).res.statusCode, 403);

  // A new version by importing the next public key; a public key into a private key is refused.
  const kem2 = noble.keygen('X-Wing');
  const v2 = await call('POST', '/v1/keys/pub-kem/import', { publicKey: base64urlEncode(kem2.publicKey) });
  assert.equal(v2.res.statusCode, 200, v2.res.body);
  assert.equal(v2.body.latestVersion, 2);
  const e2 = await call('POST', '/v1/keys/pub-kem/encrypt', { plaintext: base64urlEncode(msg) });
  assert.deepEqual(openWithSeed('X-Wing', kem2.secretKey, e2.body.ciphertext), msg);
  await call('POST', '/v1/keys', { name: 'priv-kem', algorithm: 'X-Wing' });
  assert.equal((await call('POST', '/v1/keys/priv-kem/import', { publicKey: base64urlEncode(kem2.publicKey) })).res.statusCode, 400);
  // Invalid public keys: wrong size, ML-KEM modulus check, exportable.
  const badEk = new Uint8Array(1184).fill(0xff);
  for (const [label, payload] of [
    ['wrong size', { name: 'bad1', algorithm: 'X-Wing', publicKey: base64urlEncode(new Uint8Array(100)) }],
    ['ML-KEM modulus', { name: 'bad2', algorithm: 'ML-KEM-768', publicKey: base64urlEncode(badEk) }],
    ['exportable', { name: 'bad3', algorithm: 'X-Wing', publicKey: base64urlEncode(kem.publicKey), exportable: true }],
  ] as const) {
    const r = await call('POST', '/v1/keys', payload);
    assert.equal(r.res.statusCode, 400, `${label}: ${r.res.body}`);
  }
});
