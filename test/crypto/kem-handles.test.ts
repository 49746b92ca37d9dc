/**
 * KEM handles added for the kex client (issue 13): prepared encapsulation keys and ephemeral
 * decapsulation keys (`generateDecapsulationKey`), on both backends and across them, for every KEM:
 * round trips, interoperability with the byte-string interface, the same refusals (sizes, FIPS 203
 * §7.2 modulus check, low-order X25519) with the same typed errors, and fresh keys every call.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend, KEM_ALGORITHMS, SIZES } from '../../src/crypto/index.ts';
import { CryptoInputError } from '../../src/errors.ts';

const errorOf = (f: () => unknown): string => {
  try { f(); } catch (e) { assert.ok(e instanceof CryptoInputError, String(e)); return e.message; }
  assert.fail('did not throw');
};

describe('KEM handles: prepareEncapsulationKey and generateDecapsulationKey', () => {
  for (const name of ['native', 'noble'] as const) {
    const b = getBackend(name);
    const other = getBackend(name === 'native' ? 'noble' : 'native');

    test(`${name}: a prepared encapsulation key encapsulates to what decapsulate (both backends) recovers`, () => {
      for (const alg of KEM_ALGORITHMS) {
        const kp = other.keygen(alg);
        const key = b.prepareEncapsulationKey(alg, kp.publicKey);
        assert.equal(key.algorithm, alg);
        assert.deepEqual(key.publicKey, kp.publicKey);
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) {
          const e = key.encapsulate();
          assert.equal(e.cipherText.length, SIZES[alg].cipherText, alg);
          assert.deepEqual(other.decapsulate(alg, e.cipherText, kp.secretKey), e.sharedSecret, alg);
          assert.deepEqual(b.decapsulate(alg, e.cipherText, kp.secretKey), e.sharedSecret, alg);
          seen.add(Buffer.from(e.cipherText).toString('hex'));
        }
        assert.equal(seen.size, 3, `${alg}: fresh randomness on every encapsulate()`);
      }
    });

    test(`${name}: the prepared key does not depend on the caller's buffer afterwards`, () => {
      const kp = b.keygen('X-Wing');
      const pk = kp.publicKey.slice();
      const key = b.prepareEncapsulationKey('X-Wing', pk);
      pk.fill(0);
      const e = key.encapsulate();
      assert.deepEqual(b.decapsulate('X-Wing', e.cipherText, kp.secretKey), e.sharedSecret);
      assert.deepEqual(key.publicKey, kp.publicKey);
    });

    test(`${name}: prepareEncapsulationKey refuses what encapsulate refuses, with the same message on both backends`, () => {
      const xw = b.keygen('X-Wing').publicKey;
      const badModulus = xw.slice();
      badModulus[0] = 0xff; badModulus[1] |= 0x0f; // first 12-bit coefficient 4095 ≥ q
      const lowOrder = xw.slice();
      lowOrder.fill(0, 1184); // X25519 half: the all-zero point
      for (const [alg, pk] of [['X-Wing', xw.subarray(1)], ['X-Wing', badModulus], ['ML-KEM-768', badModulus.subarray(0, 1184)], ['ML-KEM-512', new Uint8Array(3)]] as const) {
        const m = errorOf(() => b.prepareEncapsulationKey(alg, pk));
        assert.equal(errorOf(() => b.encapsulate(alg, pk)), m, alg);
        assert.equal(errorOf(() => other.prepareEncapsulationKey(alg, pk)), m, alg);
      }
      // A low-order X25519 half is refused when encapsulating (the derivation is all-zero), as before.
      assert.throws(() => b.prepareEncapsulationKey('X-Wing', lowOrder).encapsulate(), CryptoInputError);
      assert.throws(() => b.encapsulate('X-Wing', lowOrder), CryptoInputError);
      assert.throws(() => b.prepareEncapsulationKey('nope' as 'X-Wing', xw), CryptoInputError);
    });

    test(`${name}: generateDecapsulationKey gives fresh keys that decapsulate both backends' ciphertexts`, () => {
      for (const alg of KEM_ALGORITHMS) {
        const k1 = b.generateDecapsulationKey(alg);
        const k2 = b.generateDecapsulationKey(alg);
        assert.equal(k1.algorithm, alg);
        assert.equal(k1.publicKey.length, SIZES[alg].publicKey, alg);
        assert.notDeepEqual(k1.publicKey, k2.publicKey, alg);
        for (const enc of [b, other]) {
          const e = enc.encapsulate(alg, k1.publicKey);
          assert.deepEqual(k1.decapsulate(e.cipherText), e.sharedSecret, alg);
          assert.notDeepEqual(k2.decapsulate(e.cipherText), e.sharedSecret, alg); // implicit rejection under another key
        }
        const bad = b.encapsulate(alg, k1.publicKey);
        bad.cipherText[5]! ^= 1;
        assert.notDeepEqual(k1.decapsulate(bad.cipherText), bad.sharedSecret, alg);
        assert.throws(() => k1.decapsulate(new Uint8Array(SIZES[alg].cipherText - 1)), CryptoInputError);
        k1.destroy();
        k2.destroy();
      }
    });

    test(`${name}: an ephemeral X-Wing key refuses a low-order X25519 ciphertext`, () => {
      const key = b.generateDecapsulationKey('X-Wing');
      const ct = b.encapsulate('X-Wing', key.publicKey).cipherText;
      ct.fill(0, 1088);
      assert.throws(() => key.decapsulate(ct), CryptoInputError);
      key.destroy();
    });
  }
});


describe('native: quiet node:crypto calls (Error.stackTraceLimit = 0 only inside the call)', () => {
  const b = getBackend('native');
  test('the limit is restored after a refused import, and the surfaced error keeps its stack', () => {
    const before = Error.stackTraceLimit;
    const xw = b.keygen('X-Wing');
    const ct = b.encapsulate('X-Wing', xw.publicKey).cipherText;
    ct.fill(0, 1088);
    let caught: unknown;
    try { b.decapsulate('X-Wing', ct, xw.secretKey); } catch (e) { caught = e; }
    assert.ok(caught instanceof CryptoInputError);
    assert.equal(Error.stackTraceLimit, before);
    assert.match(String((caught as Error).stack), /\n\s+at /, 'our own error is created after the limit is restored');
    assert.throws(() => b.aeadOpen('AES-256-GCM', new Uint8Array(32), new Uint8Array(12), new Uint8Array(40)), (e: Error) => /\n\s+at /.test(String(e.stack)));
    assert.equal(Error.stackTraceLimit, before);
  });
});
