/**
 * HPKE with managed KEM keys (issue 14): encrypt / decrypt / rewrap / generateDataKey / decapsulate on
 * every KEM algorithm, the serialized form opened locally with the exported seed (src/crypto/hpke.ts on
 * noble), rotation + minVersion, and the hostile inputs: every failure of a ciphertext is the same
 * problem, and nothing in the store changes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp, callAs } from '../support/app.ts';
import { base64urlDecode, base64urlEncode, getBackend, KEM_ALGORITHMS, SIZES } from '../../src/crypto/index.ts';
import { DEFAULT_SUITES, hpkeOpen, hpkeSeal } from '../../src/crypto/hpke.ts';

let t: TestApp;
let alice: string;
let bob: string;
const enc = (s: string) => base64urlEncode(new TextEncoder().encode(s));
const noble = getBackend('noble');

before(async () => {
  t = await testApp();
  alice = (await t.app.ctx.tokens.mint('alice')).token;
  bob = (await t.app.ctx.tokens.mint('bob')).token;
});
after(() => t.close());

const call = (method: string, url: string, payload?: unknown, token: string | undefined = alice) => callAs(t, method, url, payload, token);

for (const alg of KEM_ALGORITHMS) {
  test(`${alg}: encrypt → decrypt, batch, data key, rewrap after rotation, minVersion, local open with the exported seed`, async () => {
    const name = `e-${alg}`;
    assert.equal((await call('POST', '/v1/keys', { name, algorithm: alg, exportable: true })).res.statusCode, 201);
    const aad = enc('header'), info = enc('app v1');
    const e = await call('POST', `/v1/keys/${name}/encrypt`, { plaintext: enc('hello'), aad, info });
    assert.equal(e.res.statusCode, 200, e.res.body);
    assert.match(e.body.ciphertext, /^v1:[A-Za-z0-9_-]+$/);
    assert.deepEqual(e.body.suite.kem, alg);
    assert.equal(base64urlDecode(e.body.ciphertext.slice(3)).length, SIZES[alg].cipherText + 5 + 16);

    const d = await call('POST', `/v1/keys/${name}/decrypt`, { ciphertext: e.body.ciphertext, aad, info });
    assert.equal(d.res.statusCode, 200, d.res.body);
    assert.equal(d.body.plaintext, enc('hello'));
    assert.equal(d.res.headers['cache-control'], 'no-store');

    // The documented serialized form opens with any HPKE implementation given the seed.
    const seed = base64urlDecode((await call('POST', `/v1/keys/${name}/export`, {})).body.privateKey);
    const bytes = base64urlDecode(e.body.ciphertext.slice(3));
    const n = SIZES[alg].cipherText;
    const pt = hpkeOpen(noble, DEFAULT_SUITES[alg], (x) => noble.prepareDecapsulationKey(alg, seed).decapsulate(x), bytes.subarray(0, n), bytes.subarray(n),
      { aad: base64urlDecode(aad), info: base64urlDecode(info) });
    assert.equal(new TextDecoder().decode(pt), 'hello');
    // …and a ciphertext sealed locally to the public key decrypts through the service.
    const pk = base64urlDecode((await call('GET', `/v1/keys/${name}/public`)).body.publicKey);
    const local = hpkeSeal(noble, DEFAULT_SUITES[alg], pk, new TextEncoder().encode('from the client'));
    const d2 = await call('POST', `/v1/keys/${name}/decrypt`, { ciphertext: `v1:${base64urlEncode(new Uint8Array([...local.enc, ...local.ct]))}` });
    assert.equal(d2.body.plaintext, enc('from the client'));

    const batch = await call('POST', `/v1/keys/${name}/encrypt`, { batch: [{ plaintext: enc('a'), reference: 'r1' }, { plaintext: 'A' }, { plaintext: '' }] });
    assert.equal(batch.res.statusCode, 200);
    assert.equal(batch.body.results[0].reference, 'r1');
    assert.equal(batch.body.results[1].error.code, 'invalid_input');
    const db = await call('POST', `/v1/keys/${name}/decrypt`, { batch: [{ ciphertext: batch.body.results[0].ciphertext }, { ciphertext: batch.body.results[2].ciphertext }, { ciphertext: 'v1:AAAA' }] });
    assert.equal(db.body.results[0].plaintext, enc('a'));
    assert.equal(db.body.results[1].plaintext, '');
    assert.equal(db.body.results[2].error.code, 'decryption_failed');

    const dk = await call('POST', `/v1/keys/${name}/datakey`, { bytes: 16 });
    assert.equal(base64urlDecode(dk.body.plaintext).length, 16);
    assert.equal((await call('POST', `/v1/keys/${name}/decrypt`, { ciphertext: dk.body.ciphertext })).body.plaintext, dk.body.plaintext);
    const dk2 = await call('POST', `/v1/keys/${name}/datakey`, { plaintext: false });
    assert.equal(dk2.body.plaintext, undefined);
    assert.equal(base64urlDecode((await call('POST', `/v1/keys/${name}/decrypt`, { ciphertext: dk2.body.ciphertext })).body.plaintext).length, 32);

    await call('POST', `/v1/keys/${name}/rotate`);
    const rw = await call('POST', `/v1/keys/${name}/rewrap`, { ciphertext: e.body.ciphertext, aad, info });
    assert.equal(rw.res.statusCode, 200, rw.res.body);
    assert.match(rw.body.ciphertext, /^v2:/);
    assert.equal(rw.body.previousVersion, 1);
    await call('PATCH', `/v1/keys/${name}`, { minVersion: 2 });
    assert.equal((await call('POST', `/v1/keys/${name}/decrypt`, { ciphertext: rw.body.ciphertext, aad, info })).body.plaintext, enc('hello'));
    const old = await call('POST', `/v1/keys/${name}/decrypt`, { ciphertext: e.body.ciphertext, aad, info });
    assert.equal(old.res.statusCode, 400);
    assert.equal(problemOf(old.res).code, 'invalid_input');
  });
}

test('decapsulate: off by default (403); with decapsulateAllowed the secret equals a local encapsulation', async () => {
  assert.equal((await call('POST', '/v1/keys', { name: 'kem-plain', algorithm: 'ML-KEM-768' })).res.statusCode, 201);
  assert.equal((await call('POST', '/v1/keys', { name: 'kem-raw', algorithm: 'X-Wing', decapsulateAllowed: true })).res.statusCode, 201);
  const sig = await call('POST', '/v1/keys', { name: 'sig-raw', algorithm: 'ML-DSA-44', decapsulateAllowed: true });
  assert.equal(sig.res.statusCode, 400);
  for (const [name, alg] of [['kem-plain', 'ML-KEM-768'], ['kem-raw', 'X-Wing']] as const) {
    const pk = base64urlDecode((await call('GET', `/v1/keys/${name}/public`)).body.publicKey);
    const e = noble.encapsulate(alg, pk);
    const r = await call('POST', `/v1/keys/${name}/decapsulate`, { ciphertext: `v1:${base64urlEncode(e.cipherText)}` });
    if (name === 'kem-plain') {
      assert.equal(r.res.statusCode, 403);
      assert.equal(problemOf(r.res).code, 'forbidden');
    } else {
      assert.equal(r.res.statusCode, 200, r.res.body);
      assert.equal(r.body.sharedSecret, base64urlEncode(e.sharedSecret));
      assert.equal(r.res.headers['cache-control'], 'no-store');
      const unprefixed = await call('POST', `/v1/keys/${name}/decapsulate`, { ciphertext: base64urlEncode(e.cipherText) });
      assert.equal(unprefixed.body.sharedSecret, base64urlEncode(e.sharedSecret));
    }
  }
  // The purpose row is sealed to its key: copied to another key it does not open (500, logged), never "allowed".
  const rows = await t.store.query<{ id: string; name: string }>("SELECT id, name FROM keys WHERE name IN ('kem-plain', 'kem-raw')");
  const raw = rows.find((r) => r.name === 'kem-raw')!, plain = rows.find((r) => r.name === 'kem-plain')!;
  await t.store.query('INSERT INTO key_purposes (key_id, sealed) SELECT $1, sealed FROM key_purposes WHERE key_id = $2', [plain.id, raw.id]);
  const pk = base64urlDecode((await call('GET', '/v1/keys/kem-plain/public')).body.publicKey);
  const r = await call('POST', '/v1/keys/kem-plain/decapsulate', { ciphertext: base64urlEncode(noble.encapsulate('ML-KEM-768', pk).cipherText) });
  assert.equal(r.res.statusCode, 500);
  await t.store.query('DELETE FROM key_purposes WHERE key_id = $1', [plain.id]);
});

// ---------- hostile input ----------

const snapshot = async () => JSON.stringify([
  await t.store.query('SELECT id, owner, name, algorithm, exportable, deletion_allowed, min_version, latest_version, updated_at FROM keys ORDER BY id'),
  await t.store.query('SELECT key_id, version, wrapped_secret FROM key_versions ORDER BY key_id, version'),
]);

test('hostile ciphertexts: every tampering is the same decryption_failed problem; the store is unchanged', async () => {
  await call('POST', '/v1/keys', { name: 'h', algorithm: 'ML-KEM-768' });
  await call('POST', '/v1/keys', { name: 'h2', algorithm: 'ML-KEM-768' });
  await call('POST', '/v1/keys', { name: 'h', algorithm: 'ML-KEM-768' }, bob);
  await call('POST', '/v1/keys', { name: 's', algorithm: 'ML-DSA-44' });
  await call('POST', '/v1/keys/h/rotate');
  const aad = enc('aad'), info = enc('info');
  const good = (await call('POST', '/v1/keys/h/encrypt', { plaintext: enc('secret'), aad, info })).body.ciphertext as string;
  const v = good.slice(0, 3);
  const bytes = base64urlDecode(good.slice(3));
  const flip = (i: number) => { const b = bytes.slice(); b[i]! ^= 1; return `${v}${base64urlEncode(b)}`; };
  const n = SIZES['ML-KEM-768'].cipherText;
  const before = await snapshot();
  const failures: Array<[string, string, unknown]> = [
    ['tampered enc', 'h', { ciphertext: flip(10), aad, info }],
    ['tampered ct', 'h', { ciphertext: flip(n + 1), aad, info }],
    ['tampered tag', 'h', { ciphertext: flip(bytes.length - 1), aad, info }],
    ['wrong aad', 'h', { ciphertext: good, aad: enc('AAD'), info }],
    ['missing aad', 'h', { ciphertext: good, info }],
    ['wrong info', 'h', { ciphertext: good, aad, info: enc('other') }],
    ['version prefix of another version', 'h', { ciphertext: `v1:${good.slice(3)}`, aad, info }],
    ['version prefix of no version', 'h', { ciphertext: `v9:${good.slice(3)}`, aad, info }],
    ['truncated', 'h', { ciphertext: `${v}${base64urlEncode(bytes.subarray(0, n + 10))}`, aad, info }],
    ['only an enc', 'h', { ciphertext: `${v}${base64urlEncode(bytes.subarray(0, n))}`, aad, info }],
    ['empty', 'h', { ciphertext: `${v}`, aad, info }],
    ['extended', 'h', { ciphertext: `${v}${base64urlEncode(new Uint8Array([...bytes, 0]))}`, aad, info }],
    ['ciphertext for another key', 'h2', { ciphertext: good, aad, info }],
  ];
  const seen = new Set<string>();
  for (const [label, key, payload] of failures) {
    const r = await call('POST', `/v1/keys/${key}/decrypt`, payload);
    assert.equal(r.res.statusCode, 400, `${label}: ${r.res.body}`);
    const p = problemOf(r.res);
    assert.equal(p.code, 'decryption_failed', label);
    seen.add(JSON.stringify({ ...p, instance: undefined }));
  }
  assert.equal(seen.size, 1, `decryption failures differ: ${[...seen].join(' | ')}`);
  // Another tenant's key of the same name: that tenant's key, so the same fixed failure.
  const other = await call('POST', '/v1/keys/h/decrypt', { ciphertext: good, aad, info }, bob);
  assert.equal(problemOf(other.res).code, 'decryption_failed');

  const cases: Array<[string, string, string, unknown, number, string, string?]> = [
    ['no prefix', 'POST', '/v1/keys/h/decrypt', { ciphertext: good.slice(3) }, 400, 'validation_failed'],
    ['not base64url', 'POST', '/v1/keys/h/decrypt', { ciphertext: 'v2:a+b' }, 400, 'validation_failed'],
    ['oversize ciphertext', 'POST', '/v1/keys/h/decrypt', { ciphertext: `v2:${'A'.repeat(352001)}` }, 400, 'validation_failed'],
    ['batch mixed with ciphertext', 'POST', '/v1/keys/h/decrypt', { ciphertext: good, batch: [{ ciphertext: good }] }, 400, 'invalid_input'],
    ['decrypt with a signature key', 'POST', '/v1/keys/s/decrypt', { ciphertext: `v1:${good.slice(3)}` }, 400, 'unsupported_operation'],
    ['encrypt with a signature key', 'POST', '/v1/keys/s/encrypt', { plaintext: enc('x') }, 400, 'unsupported_operation'],
    ['encrypt: oversize plaintext', 'POST', '/v1/keys/h/encrypt', { plaintext: base64urlEncode(new Uint8Array(262145)) }, 400, 'validation_failed'],
    ['encrypt: aad too long', 'POST', '/v1/keys/h/encrypt', { plaintext: '', aad: base64urlEncode(new Uint8Array(8193)) }, 400, 'validation_failed'],
    ['encrypt: info too long', 'POST', '/v1/keys/h/encrypt', { plaintext: '', info: base64urlEncode(new Uint8Array(1025)) }, 400, 'validation_failed'],
    ['encrypt: unknown field', 'POST', '/v1/keys/h/encrypt', { plaintext: '', suite: 'x' }, 400, 'validation_failed'],
    ['datakey: 24 bytes', 'POST', '/v1/keys/h/datakey', { bytes: 24 }, 400, 'validation_failed'],
    ['rewrap: tampered', 'POST', '/v1/keys/h/rewrap', { ciphertext: flip(n + 1), aad, info }, 400, 'decryption_failed'],
    ['decapsulate: wrong size', 'POST', '/v1/keys/h/decapsulate', { ciphertext: 'AAAA' }, 403, 'forbidden'],
    ["another tenant's key name", 'POST', '/v1/keys/h2/encrypt', { plaintext: '' }, 404, 'not_found', 'bob'],
    ['no token', 'POST', '/v1/keys/h/decrypt', { ciphertext: good }, 401, 'unauthorized', 'none'],
  ];
  for (const [label, method, url, payload, status, code, who] of cases) {
    const r = await call(method, url, payload, who === 'bob' ? bob : who === 'none' ? '' : alice);
    assert.equal(r.res.statusCode, status, `${label}: ${r.res.body.slice(0, 300)}`);
    assert.equal(problemOf(r.res).code, code, label);
  }
  assert.equal(await snapshot(), before, 'hostile requests changed the store');
});
