/**
 * X-Wing against draft-connolly-cfrg-xwing-kem's test vectors (read from /work/shared/kat, never
 * copied into the repo) on both backends, and against noble's ml_kem768_x25519.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { getBackend, fromHex, toHex } from '../../src/crypto/index.ts';
import { UnsupportedError } from '../../src/errors.ts';

const FILE = process.env.KAT_DIR
  ? `${process.env.KAT_DIR}/xwing/draft-connolly-cfrg-xwing-kem/test-vectors.json`
  : new URL('../../../shared/kat/xwing/draft-connolly-cfrg-xwing-kem/test-vectors.json', import.meta.url).pathname;
interface Vec { seed: string; eseed: string; ss: string; sk: string; pk: string; ct: string }

describe('X-Wing draft vectors', { skip: existsSync(FILE) ? false : `vector file not found: ${FILE}` }, () => {
  const vectors: Vec[] = existsSync(FILE) ? JSON.parse(readFileSync(FILE, 'utf8')) : [];

  test('the vector file has cases', () => assert.ok(vectors.length > 0, 'zero vectors loaded'));

  test('noble backend: keygen, encapsulate(eseed), decapsulate are byte-identical', () => {
    const b = getBackend('noble');
    for (const v of vectors) {
      const kp = b.keygen('X-Wing', fromHex(v.seed));
      assert.equal(toHex(kp.publicKey), v.pk);
      assert.equal(toHex(kp.secretKey), v.sk);
      const e = b.encapsulate('X-Wing', kp.publicKey, fromHex(v.eseed));
      assert.equal(toHex(e.cipherText), v.ct);
      assert.equal(toHex(e.sharedSecret), v.ss);
      assert.equal(toHex(b.decapsulate('X-Wing', fromHex(v.ct), fromHex(v.sk))), v.ss);
    }
  });

  test('native backend: keygen and decapsulate are byte-identical; eseed is unsupported (OpenSSL takes no m)', () => {
    const b = getBackend('native');
    for (const v of vectors) {
      const kp = b.keygen('X-Wing', fromHex(v.seed));
      assert.equal(toHex(kp.publicKey), v.pk);
      assert.equal(toHex(b.decapsulate('X-Wing', fromHex(v.ct), fromHex(v.sk))), v.ss);
      assert.throws(() => b.encapsulate('X-Wing', kp.publicKey, fromHex(v.eseed)), (e: unknown) => e instanceof UnsupportedError);
    }
  });

  test("matches noble's ml_kem768_x25519 (keys, ciphertexts, secrets)", () => {
    const b = getBackend('noble');
    for (const v of vectors) {
      const theirs = ml_kem768_x25519.keygen(fromHex(v.seed));
      assert.equal(toHex(theirs.publicKey), v.pk);
      const e = ml_kem768_x25519.encapsulate(theirs.publicKey, fromHex(v.eseed));
      assert.equal(toHex(e.cipherText), v.ct);
      assert.deepEqual(b.decapsulate('X-Wing', e.cipherText, fromHex(v.sk)), e.sharedSecret);
    }
    for (let i = 0; i < 5; i++) {
      const seed = b.randomBytes(32), eseed = b.randomBytes(64);
      const ours = b.encapsulate('X-Wing', b.keygen('X-Wing', seed).publicKey, eseed);
      const theirs = ml_kem768_x25519.encapsulate(ml_kem768_x25519.keygen(seed).publicKey, eseed);
      assert.deepEqual(ours, { cipherText: theirs.cipherText, sharedSecret: theirs.sharedSecret });
    }
  });

  test('cross-backend: native encapsulates, noble decapsulates and vice versa', () => {
    const n = getBackend('native'), j = getBackend('noble');
    const kp = n.keygen('X-Wing');
    const e1 = n.encapsulate('X-Wing', kp.publicKey);
    assert.deepEqual(j.decapsulate('X-Wing', e1.cipherText, kp.secretKey), e1.sharedSecret);
    const e2 = j.encapsulate('X-Wing', kp.publicKey);
    assert.deepEqual(n.decapsulate('X-Wing', e2.cipherText, kp.secretKey), e2.sharedSecret);
  });
});
