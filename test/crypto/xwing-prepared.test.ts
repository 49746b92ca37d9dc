/**
 * Prepared X-Wing decapsulation keys (prepareDecapsulationKey): the same shared secrets as the
 * byte-string interface on both backends (valid, tampered and cross-backend ciphertexts), and the
 * same refusal of a low-order X25519 ciphertext (native keeps the X25519 half as a KeyObject).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.ts';
import { CryptoInputError } from '../../src/errors.ts';

describe('prepared X-Wing decapsulation keys', () => {
  for (const name of ['native', 'noble'] as const) {
    const b = getBackend(name);
    const other = getBackend(name === 'native' ? 'noble' : 'native');

    test(`${name}: prepared decapsulate equals decapsulate (valid, tampered, other backend's ciphertexts)`, () => {
      const seed = b.randomBytes(32);
      const kp = b.keygen('X-Wing', seed);
      const key = b.prepareDecapsulationKey('X-Wing', seed);
      assert.deepEqual(key.publicKey, kp.publicKey);
      for (let i = 0; i < 4; i++) {
        const e = (i % 2 ? other : b).encapsulate('X-Wing', kp.publicKey);
        assert.deepEqual(key.decapsulate(e.cipherText), e.sharedSecret);
        assert.deepEqual(key.decapsulate(e.cipherText), b.decapsulate('X-Wing', e.cipherText, kp.secretKey));
        const bad = e.cipherText.slice();
        bad[i * 100]! ^= 1; // in the ML-KEM part: implicit rejection, a pseudo-random key
        const ss = key.decapsulate(bad);
        assert.deepEqual(ss, b.decapsulate('X-Wing', bad, kp.secretKey));
        assert.notDeepEqual(ss, e.sharedSecret);
      }
      key.destroy();
    });

    test(`${name}: a low-order X25519 ciphertext throws CryptoInputError, wrong sizes too`, () => {
      const seed = b.randomBytes(32);
      const key = b.prepareDecapsulationKey('X-Wing', seed);
      const ct = b.encapsulate('X-Wing', key.publicKey).cipherText;
      ct.fill(0, 1088); // the all-zero point: all-zero shared secret
      assert.throws(() => key.decapsulate(ct), CryptoInputError);
      assert.throws(() => b.decapsulate('X-Wing', ct, seed), CryptoInputError);
      assert.throws(() => key.decapsulate(new Uint8Array(1119)), CryptoInputError);
      key.destroy();
    });
  }
});
