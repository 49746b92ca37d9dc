/**
 * Interop with a second, independent HPKE implementation: the npm package `hpke` (panva; WebCrypto
 * ML-KEM / X25519 / AEADs in Node 24), which shares no code with src/crypto/hpke.ts.
 * - ciphertexts it seals to a managed key's public key decrypt through `decrypt`;
 * - ciphertexts from `encrypt` (and data keys) open with it given the exported seed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as HPKE from 'hpke';
import { testApp, type TestApp } from '../support/app.ts';
import { base64urlDecode, base64urlEncode, KEM_ALGORITHMS, SIZES, type KemAlgorithm } from '../../src/crypto/index.ts';

const SUITES: Record<KemAlgorithm, () => HPKE.CipherSuite> = {
  'ML-KEM-512': () => new HPKE.CipherSuite(HPKE.KEM_ML_KEM_512, HPKE.KDF_HKDF_SHA256, HPKE.AEAD_AES_128_GCM),
  'ML-KEM-768': () => new HPKE.CipherSuite(HPKE.KEM_ML_KEM_768, HPKE.KDF_HKDF_SHA256, HPKE.AEAD_AES_128_GCM),
  'ML-KEM-1024': () => new HPKE.CipherSuite(HPKE.KEM_ML_KEM_1024, HPKE.KDF_HKDF_SHA384, HPKE.AEAD_AES_256_GCM),
  'X-Wing': () => new HPKE.CipherSuite(HPKE.KEM_MLKEM768_X25519, HPKE.KDF_HKDF_SHA256, HPKE.AEAD_ChaCha20Poly1305),
};

let t: TestApp;
let auth: Record<string, string>;
before(async () => {
  t = await testApp();
  auth = { authorization: `Bearer ${(await t.app.ctx.tokens.mint('interop')).token}` };
});
after(() => t.close());

const post = async (url: string, payload: object) => {
  const res = await t.app.inject({ method: 'POST', url, headers: auth, payload });
  assert.equal(res.statusCode, url.endsWith('/v1/keys') ? 201 : 200, res.body);
  return JSON.parse(res.body);
};
const te = new TextEncoder();

for (const alg of KEM_ALGORITHMS) {
  test(`${alg}: hpke (npm) ⇄ the service, both directions, with aad and info`, async () => {
    const suite = SUITES[alg]();
    const name = `interop-${alg}`;
    await post('/v1/keys', { name, algorithm: alg, exportable: true });
    const pub = JSON.parse((await t.app.inject({ method: 'GET', url: `/v1/keys/${name}/public`, headers: auth })).body);
    const info = te.encode('interop info'), aad = te.encode('interop aad');

    // hpke seals → the service decrypts.
    const pk = await suite.DeserializePublicKey(base64urlDecode(pub.publicKey));
    for (const msg of ['', 'hello from hpke', 'x'.repeat(5000)]) {
      const { encapsulatedSecret, ciphertext } = await suite.Seal(pk, te.encode(msg), { aad, info });
      assert.equal(encapsulatedSecret.length, SIZES[alg].cipherText);
      const out = await post(`/v1/keys/${name}/decrypt`, {
        ciphertext: `v1:${base64urlEncode(new Uint8Array([...encapsulatedSecret, ...ciphertext]))}`, aad: base64urlEncode(aad), info: base64urlEncode(info),
      });
      assert.equal(new TextDecoder().decode(base64urlDecode(out.plaintext)), msg);
    }

    // The service encrypts → hpke opens with the exported seed.
    const seed = base64urlDecode((await post(`/v1/keys/${name}/export`, {})).privateKey);
    const sk = await suite.DeserializePrivateKey(seed, false);
    const e = await post(`/v1/keys/${name}/encrypt`, { plaintext: base64urlEncode(te.encode('hello from pqzk')), aad: base64urlEncode(aad), info: base64urlEncode(info) });
    const bytes = base64urlDecode(e.ciphertext.slice(3));
    const n = SIZES[alg].cipherText;
    const pt = await suite.Open(sk, bytes.subarray(0, n), bytes.subarray(n), { aad, info });
    assert.equal(new TextDecoder().decode(pt), 'hello from pqzk');
    const dk = await post(`/v1/keys/${name}/datakey`, {});
    const db = base64urlDecode(dk.ciphertext.slice(3));
    assert.equal(base64urlEncode(await suite.Open(sk, db.subarray(0, n), db.subarray(n))), dk.plaintext);
  });
}
