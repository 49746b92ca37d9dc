/**
 * Property tests (fast-check) on both backends: sign → verify; any single bit flip in signature,
 * message or context → invalid; KEM round trip; AEAD tamper → DecryptionError.
 * SLH-DSA runs are kept small (one "f" set, few runs) because signing is slow; ML-DSA/ML-KEM bigger.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { getBackend, ML_DSA, ML_KEM, AEAD_ALGORITHMS } from '../../src/crypto/index.ts';
import type { CryptoBackend, SignatureAlgorithm } from '../../src/crypto/index.ts';
import { DecryptionError } from '../../src/errors.ts';

const flip = (b: Uint8Array, bit: number): Uint8Array => {
  const c = b.slice();
  c[(bit >>> 3) % c.length] ^= 1 << (bit & 7);
  return c;
};

for (const b of [getBackend('native'), getBackend('noble')] as CryptoBackend[]) {
  describe(`${b.name}: properties`, () => {
    const sigCase = (alg: SignatureAlgorithm, numRuns: number) => () => {
      const kp = b.signatureKeygen(alg);
      fc.assert(fc.property(
        fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 255 }), fc.nat(), fc.nat(),
        (msg, context, bit, which) => {
          const sig = b.sign(alg, kp.secretKey, msg, { context });
          assert.equal(b.verify(alg, kp.publicKey, msg, sig, { context }), true);
          const target = which % 3;
          if (target === 0) {
            assert.equal(b.verify(alg, kp.publicKey, msg, flip(sig, bit), { context }), false, 'signature bit flip');
          } else if (target === 1) {
            const m = msg.length === 0 ? new Uint8Array([0]) : flip(msg, bit);
            assert.equal(b.verify(alg, kp.publicKey, m, sig, { context }), false, 'message bit flip');
          } else {
            const c = context.length === 0 ? new Uint8Array([0]) : flip(context, bit);
            assert.equal(b.verify(alg, kp.publicKey, msg, sig, { context: c }), false, 'context bit flip');
          }
        },
      ), { numRuns });
    };
    for (const alg of ML_DSA) test(`${alg}: sign → verify; bit flips → invalid`, sigCase(alg, b.name === 'native' ? 100 : 40));
    test('SLH-DSA-SHA2-128f: sign → verify; bit flips → invalid (small run: slow)', sigCase('SLH-DSA-SHA2-128f', b.name === 'native' ? 6 : 3));

    for (const alg of ML_KEM) {
      test(`${alg}: encapsulate → decapsulate round trip; flipped ciphertext → different key, no throw`, () => {
        fc.assert(fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(), (seed, bit) => {
          const kp = b.keygen(alg, seed);
          const e = b.encapsulate(alg, kp.publicKey);
          assert.deepEqual(b.decapsulate(alg, e.cipherText, kp.secretKey), e.sharedSecret);
          assert.notDeepEqual(b.decapsulate(alg, flip(e.cipherText, bit), kp.secretKey), e.sharedSecret);
        }), { numRuns: 50 });
      });
    }

    test('X-Wing round trip', () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const kp = b.keygen('X-Wing', seed);
        const e = b.encapsulate('X-Wing', kp.publicKey);
        assert.deepEqual(b.decapsulate('X-Wing', e.cipherText, kp.secretKey), e.sharedSecret);
      }), { numRuns: 20 });
    });

    for (const alg of AEAD_ALGORITHMS) {
      test(`${alg}: open(seal(x)) = x; any bit flip in ciphertext, tag, nonce or aad → DecryptionError`, () => {
        fc.assert(fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 12, maxLength: 12 }),
          fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 1, maxLength: 20 }), fc.nat(), fc.nat(),
          (key, nonce, pt, aad, bit, which) => {
            const sealed = b.aeadSeal(alg, key, nonce, pt, aad);
            assert.deepEqual(b.aeadOpen(alg, key, nonce, sealed, aad), pt);
            const [s, n, a] = which % 3 === 0 ? [flip(sealed, bit), nonce, aad]
              : which % 3 === 1 ? [sealed, flip(nonce, bit), aad] : [sealed, nonce, flip(aad, bit)];
            assert.throws(() => b.aeadOpen(alg, key, n, s, a), (e: unknown) => e instanceof DecryptionError);
          },
        ), { numRuns: 200 });
      });
    }
  });
}
