/**
 * Unit tests run against both backends: sizes, seed determinism across backends, typed errors,
 * implicit rejection, inputs not mutated, and the native backend's declared unsupported operations.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getBackend, SIZES, KEM_ALGORITHMS, ML_KEM, ML_DSA, SLH_DSA, AEAD_ALGORITHMS, HASH_ALGORITHMS, PREHASH_ALGORITHMS,
} from '../../src/crypto/index.ts';
import type { CryptoBackend, SignatureAlgorithm } from '../../src/crypto/index.ts';
import { CryptoInputError, DecryptionError, UnsupportedError } from '../../src/errors.ts';

const native = getBackend('native');
const noble = getBackend('noble');
const BACKENDS: CryptoBackend[] = [native, noble];
const seedOf = (n: number, v = 7) => new Uint8Array(n).fill(v);
const isInput = (e: unknown) => e instanceof CryptoInputError;
const isUnsupported = (e: unknown) => e instanceof UnsupportedError;
// SLH-DSA "s" sets take seconds to minutes per signature in pure JS: unit tests on noble use the "f" sets.
const FAST_SLH: SignatureAlgorithm[] = ['SLH-DSA-SHA2-128f', 'SLH-DSA-SHAKE-128f'];

for (const b of BACKENDS) {
  describe(`${b.name} backend`, () => {
    test('KEM key, ciphertext and secret sizes; round trip', () => {
      for (const a of KEM_ALGORITHMS) {
        const kp = b.keygen(a);
        assert.equal(kp.publicKey.length, SIZES[a].publicKey, a);
        assert.equal(kp.secretKey.length, SIZES[a].secretKey, a);
        const e = b.encapsulate(a, kp.publicKey);
        assert.equal(e.cipherText.length, SIZES[a].cipherText, a);
        assert.equal(e.sharedSecret.length, 32, a);
        assert.deepEqual(b.decapsulate(a, e.cipherText, kp.secretKey), e.sharedSecret, a);
      }
    });

    test('signature sizes; sign/verify with context', () => {
      const algs: SignatureAlgorithm[] = [...ML_DSA, ...(b.name === 'native' ? SLH_DSA.filter((a) => a.endsWith('f')) : FAST_SLH)];
      const msg = new TextEncoder().encode('message');
      const context = new TextEncoder().encode('ctx');
      for (const a of algs) {
        const kp = b.signatureKeygen(a);
        assert.equal(kp.publicKey.length, SIZES[a].publicKey, a);
        assert.equal(kp.secretKey.length, SIZES[a].secretKey, a);
        const sig = b.sign(a, kp.secretKey, msg, { context });
        assert.equal(sig.length, SIZES[a].signature, a);
        assert.equal(b.verify(a, kp.publicKey, msg, sig, { context }), true, a);
        assert.equal(b.verify(a, kp.publicKey, msg, sig), false, `${a}: other context`);
        assert.equal(b.verify(a, kp.publicKey, msg, sig.subarray(1)), false, `${a}: short signature is invalid, not an error`);
      }
    });

    test('SLH-DSA keygen on the slow "s" sets (sizes only)', { skip: b.name === 'noble' ? 'noble SLH-DSA s-set keygen is slow; covered natively and by the KAT suite' : false }, () => {
      for (const a of SLH_DSA.filter((x) => x.endsWith('s'))) {
        const kp = b.signatureKeygen(a);
        assert.equal(kp.secretKey.length, SIZES[a].secretKey, a);
      }
    });

    test('typed errors on bad bytes (never an untyped throw)', () => {
      const kp = b.keygen('ML-KEM-768', seedOf(64));
      assert.throws(() => b.keygen('ML-KEM-768', seedOf(63)), isInput);
      assert.throws(() => b.encapsulate('ML-KEM-768', kp.publicKey.subarray(1)), isInput);
      assert.throws(() => b.decapsulate('ML-KEM-768', new Uint8Array(1087), kp.secretKey), isInput);
      assert.throws(() => b.decapsulate('ML-KEM-768', new Uint8Array(1088), kp.secretKey.subarray(1)), isInput);
      assert.throws(() => b.encapsulate('ML-KEM-768', [1, 2] as unknown as Uint8Array), isInput);
      assert.throws(() => b.keygen('ML-KEM-2048' as never), isInput);
      assert.throws(() => b.keygen('X-Wing', seedOf(31)), isInput);
      assert.throws(() => b.decapsulate('X-Wing', new Uint8Array(1119), seedOf(32)), isInput);
      assert.throws(() => b.signatureKeygen('ML-DSA-65', seedOf(31)), isInput);
      const d = b.signatureKeygen('ML-DSA-44', seedOf(32));
      const m = new Uint8Array(3);
      assert.throws(() => b.sign('ML-DSA-44', d.secretKey.subarray(1), m), isInput);
      assert.throws(() => b.sign('ML-DSA-44', d.secretKey, m, { context: new Uint8Array(256) }), isInput);
      assert.throws(() => b.verify('ML-DSA-44', d.publicKey, m, new Uint8Array(2420), { context: new Uint8Array(256) }), isInput);
      assert.throws(() => b.verify('ML-DSA-44', d.publicKey.subarray(2), m, new Uint8Array(2420)), isInput);
      assert.equal(b.sign('ML-DSA-44', d.secretKey, m, { context: new Uint8Array(255) }).length, 2420);
      assert.throws(() => b.x25519(seedOf(32), new Uint8Array(31)), isInput);
      assert.throws(() => b.hash('SHA-256', new Uint8Array(1), 16), isInput);
      assert.throws(() => b.hkdf('SHA-256', new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), 255 * 32 + 1), isInput);
      assert.throws(() => b.aeadSeal('AES-256-GCM', new Uint8Array(16), new Uint8Array(12), new Uint8Array(1)), isInput);
      assert.throws(() => b.aeadSeal('ChaCha20-Poly1305', new Uint8Array(32), new Uint8Array(24), new Uint8Array(1)), isInput);
    });

    test('ML-KEM encapsulation-key modulus check (FIPS 203 §7.2) and decapsulation-key hash check (§7.3)', () => {
      for (const a of ML_KEM) {
        const kp = b.keygen(a);
        const ek = kp.publicKey.slice();
        // First coefficient := 0xFFF ≥ q.
        ek[0] = 0xff; ek[1] |= 0x0f;
        assert.throws(() => b.encapsulate(a, ek), isInput, a);
        const dk = kp.secretKey.slice();
        dk[dk.length - 40] ^= 1; // inside H(ek)
        assert.throws(() => b.decapsulate(a, new Uint8Array(SIZES[a].cipherText), dk), isInput, a);
        const dk2 = kp.secretKey.slice();
        const k = a === 'ML-KEM-512' ? 2 : a === 'ML-KEM-768' ? 3 : 4;
        dk2[384 * k + 5] ^= 1; // inside the ek copy
        assert.throws(() => b.decapsulate(a, new Uint8Array(SIZES[a].cipherText), dk2), isInput, a);
      }
    });

    test('implicit rejection: a malformed ciphertext of the right length yields a deterministic pseudo-random key', () => {
      for (const a of ML_KEM) {
        const kp = b.keygen(a, seedOf(64, 1));
        const e = b.encapsulate(a, kp.publicKey);
        const ct = e.cipherText.slice();
        ct[5] ^= 0x10;
        const k1 = b.decapsulate(a, ct, kp.secretKey);
        assert.equal(k1.length, 32);
        assert.notDeepEqual(k1, e.sharedSecret);
        assert.deepEqual(b.decapsulate(a, ct, kp.secretKey), k1, 'rejection key is J(z‖c), deterministic');
        // Same seed, same ciphertext: the other backend derives the same rejection key.
        const other = b === native ? noble : native;
        assert.deepEqual(other.decapsulate(a, ct, other.keygen(a, seedOf(64, 1)).secretKey), k1);
      }
    });

    test('inputs are not mutated', () => {
      const seed = seedOf(64, 9);
      const kp = b.keygen('ML-KEM-512', seed);
      assert.deepEqual(seed, seedOf(64, 9));
      const pk = kp.publicKey.slice(), sk = kp.secretKey.slice();
      const e = b.encapsulate('ML-KEM-512', kp.publicKey);
      const ct = e.cipherText.slice();
      b.decapsulate('ML-KEM-512', e.cipherText, kp.secretKey);
      assert.deepEqual(kp.publicKey, pk); assert.deepEqual(kp.secretKey, sk); assert.deepEqual(e.cipherText, ct);
      const xs = seedOf(32, 4);
      const x = b.keygen('X-Wing', xs);
      const xe = b.encapsulate('X-Wing', x.publicKey);
      const xct = xe.cipherText.slice();
      b.decapsulate('X-Wing', xe.cipherText, x.secretKey);
      assert.deepEqual(xs, seedOf(32, 4)); assert.deepEqual(xe.cipherText, xct);
      const d = b.signatureKeygen('ML-DSA-44', seedOf(32, 5));
      const dsk = d.secretKey.slice();
      const msg = new Uint8Array([1, 2, 3]), ctx = new Uint8Array([4]);
      const sig = b.sign('ML-DSA-44', d.secretKey, msg, { context: ctx });
      const sigCopy = sig.slice();
      b.verify('ML-DSA-44', d.publicKey, msg, sig, { context: ctx });
      assert.deepEqual(d.secretKey, dsk); assert.deepEqual(msg, new Uint8Array([1, 2, 3])); assert.deepEqual(ctx, new Uint8Array([4]));
      assert.deepEqual(sig, sigCopy);
      const key = seedOf(32, 6), nonce = seedOf(12, 2), pt = seedOf(20, 3), aad = seedOf(5, 1);
      const sealed = b.aeadSeal('AES-256-GCM', key, nonce, pt, aad);
      const sealedCopy = sealed.slice();
      b.aeadOpen('AES-256-GCM', key, nonce, sealed, aad);
      assert.deepEqual([key, nonce, pt, aad, sealed], [seedOf(32, 6), seedOf(12, 2), seedOf(20, 3), seedOf(5, 1), sealedCopy]);
    });

    test('AEAD: round trip, tamper → DecryptionError with a fixed message', () => {
      for (const a of AEAD_ALGORITHMS) {
        const key = b.randomBytes(32), nonce = b.randomBytes(12), aad = new Uint8Array([1]);
        const sealed = b.aeadSeal(a, key, nonce, new TextEncoder().encode('hello'), aad);
        assert.equal(sealed.length, 5 + 16);
        assert.equal(new TextDecoder().decode(b.aeadOpen(a, key, nonce, sealed, aad)), 'hello');
        const t = sealed.slice(); t[0] ^= 1;
        assert.throws(() => b.aeadOpen(a, key, nonce, t, aad), (e: unknown) => e instanceof DecryptionError && e.message === 'decryption failed');
        assert.throws(() => b.aeadOpen(a, key, nonce, sealed), (e: unknown) => e instanceof DecryptionError);
        assert.throws(() => b.aeadOpen(a, key, nonce, sealed.subarray(0, 15), aad), (e: unknown) => e instanceof DecryptionError);
      }
    });

    test('X25519: low-order public key → CryptoInputError', () => {
      const kp = b.x25519Keygen();
      assert.throws(() => b.x25519(kp.secretKey, new Uint8Array(32)), isInput);
      const one = new Uint8Array(32); one[0] = 1;
      assert.throws(() => b.x25519(kp.secretKey, one), isInput);
    });
  });
}

describe('native vs noble agree', () => {
  test('identical seeds give identical keys (ML-KEM, X-Wing, ML-DSA, X25519)', () => {
    for (const a of KEM_ALGORITHMS) {
      const s = seedOf(SIZES[a].seed, 0x42);
      assert.deepEqual(native.keygen(a, s), noble.keygen(a, s), a);
    }
    for (const a of ML_DSA) {
      const s = seedOf(32, 0x43);
      assert.deepEqual(native.signatureKeygen(a, s), noble.signatureKeygen(a, s), a);
    }
    assert.deepEqual(native.x25519Keygen(seedOf(32, 3)), noble.x25519Keygen(seedOf(32, 3)));
  });

  test('SLH-DSA: noble keygen from the 3n seed, native signs with the 4n secret key, noble verifies', () => {
    for (const a of FAST_SLH) {
      const kp = noble.signatureKeygen(a, seedOf(SIZES[a].seed, 0x44));
      const msg = new Uint8Array([7]);
      assert.equal(noble.verify(a, kp.publicKey, msg, native.sign(a, kp.secretKey, msg)), true, a);
    }
  });

  test('hash, HKDF, HMAC, X25519, AEAD outputs are identical', () => {
    const data = new TextEncoder().encode('abc');
    for (const h of HASH_ALGORITHMS) assert.deepEqual(native.hash(h, data), noble.hash(h, data), h);
    assert.deepEqual(native.hash('SHAKE-256', data, 100), noble.hash('SHAKE-256', data, 100));
    for (const h of ['SHA-256', 'SHA-512'] as const) {
      assert.deepEqual(native.hkdf(h, data, seedOf(5), seedOf(3), 77), noble.hkdf(h, data, seedOf(5), seedOf(3), 77), h);
      assert.deepEqual(native.hmac(h, seedOf(9), data), noble.hmac(h, seedOf(9), data), h);
    }
    const a = native.x25519Keygen(), c = noble.x25519Keygen();
    assert.deepEqual(native.x25519(a.secretKey, c.publicKey), noble.x25519(c.secretKey, a.publicKey));
    for (const alg of AEAD_ALGORITHMS) {
      const key = seedOf(32, 1), nonce = seedOf(12, 2);
      const s = native.aeadSeal(alg, key, nonce, data, seedOf(4));
      assert.deepEqual(s, noble.aeadSeal(alg, key, nonce, data, seedOf(4)), alg);
      assert.deepEqual(noble.aeadOpen(alg, key, nonce, s, seedOf(4)), data);
    }
  });

  test('SHA-256("abc") is the FIPS 180 value on both', () => {
    for (const b of BACKENDS) {
      assert.equal(Buffer.from(b.hash('SHA-256', new TextEncoder().encode('abc'))).toString('hex'),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    }
  });
});

describe('native: declared unsupported operations throw UnsupportedError', () => {
  test('each one', () => {
    assert.ok(native.unsupported.length >= 6);
    for (const u of native.unsupported) assert.ok(u.reason.length > 10, u.operation);
    const kem = native.keygen('ML-KEM-768');
    assert.throws(() => native.encapsulate('ML-KEM-768', kem.publicKey, seedOf(32)), isUnsupported);
    const x = native.keygen('X-Wing');
    assert.throws(() => native.encapsulate('X-Wing', x.publicKey, seedOf(64)), isUnsupported);
    const d = native.signatureKeygen('ML-DSA-65');
    const m = new Uint8Array(1);
    assert.throws(() => native.sign('ML-DSA-65', d.secretKey, m, { deterministic: true }), isUnsupported);
    assert.throws(() => native.sign('ML-DSA-65', d.secretKey, m, { random: seedOf(32) }), isUnsupported);
    assert.throws(() => native.sign('ML-DSA-65', d.secretKey, m, { prehash: 'SHA2-512' }), isUnsupported);
    assert.throws(() => native.verify('ML-DSA-65', d.publicKey, m, new Uint8Array(3309), { prehash: 'SHA2-512' }), isUnsupported);
    assert.throws(() => native.signMu('ML-DSA-65', d.secretKey, seedOf(64)), isUnsupported);
    assert.throws(() => native.verifyMu('ML-DSA-65', d.publicKey, seedOf(64), new Uint8Array(3309)), isUnsupported);
    assert.throws(() => native.signatureKeygen('SLH-DSA-SHA2-128f', seedOf(48)), isUnsupported);
    // Bad bytes still win over "unsupported": the caller learns the real problem first.
    assert.throws(() => native.encapsulate('ML-KEM-768', kem.publicKey, seedOf(31)), isInput);
  });
});

describe('noble: deterministic, explicit randomness, external mu, pre-hash', () => {
  test('deterministic ML-DSA and SLH-DSA signatures repeat; hedged ones do not', () => {
    const msg = new Uint8Array([1, 2]);
    for (const a of ['ML-DSA-44', 'SLH-DSA-SHA2-128f'] as const) {
      const kp = noble.signatureKeygen(a);
      assert.deepEqual(noble.sign(a, kp.secretKey, msg, { deterministic: true }), noble.sign(a, kp.secretKey, msg, { deterministic: true }), a);
      assert.notDeepEqual(noble.sign(a, kp.secretKey, msg), noble.sign(a, kp.secretKey, msg), a);
      const n = a === 'ML-DSA-44' ? 32 : 16;
      const r = seedOf(n, 1);
      assert.deepEqual(noble.sign(a, kp.secretKey, msg, { random: r }), noble.sign(a, kp.secretKey, msg, { random: r }), a);
      assert.throws(() => noble.sign(a, kp.secretKey, msg, { random: seedOf(n + 1) }), isInput);
      // FIPS 204: deterministic ≡ rnd = 0^32. FIPS 205: deterministic ≡ opt_rand = PK.seed.
      const zero = a === 'ML-DSA-44' ? new Uint8Array(32) : kp.publicKey.subarray(0, 16);
      assert.deepEqual(noble.sign(a, kp.secretKey, msg, { random: zero }), noble.sign(a, kp.secretKey, msg, { deterministic: true }), a);
    }
  });

  test('external mu: mu = SHAKE256(SHAKE256(pk,64) ‖ 0 ‖ |ctx| ‖ ctx ‖ M, 64) signs like the message', () => {
    for (const a of ML_DSA) {
      const kp = noble.signatureKeygen(a);
      const msg = new Uint8Array([5, 6, 7]), ctx = new Uint8Array([1, 2]);
      const tr = noble.hash('SHAKE-256', kp.publicKey, 64);
      const mu = noble.hash('SHAKE-256', new Uint8Array([...tr, 0, ctx.length, ...ctx, ...msg]), 64);
      const sig = noble.signMu(a, kp.secretKey, mu, { deterministic: true });
      assert.deepEqual(sig, noble.sign(a, kp.secretKey, msg, { context: ctx, deterministic: true }), a);
      assert.equal(noble.verify(a, kp.publicKey, msg, sig, { context: ctx }), true);
      assert.equal(noble.verifyMu(a, kp.publicKey, mu, sig), true);
      mu[0] ^= 1;
      assert.equal(noble.verifyMu(a, kp.publicKey, mu, sig), false);
      // Native verifies what external-mu signing produced.
      assert.equal(native.verify(a, kp.publicKey, msg, sig, { context: ctx }), true);
    }
    assert.throws(() => noble.signMu('SLH-DSA-SHA2-128f', new Uint8Array(64), new Uint8Array(64)), isInput);
  });

  test('HashML-DSA: every pre-hash signs and verifies; pure and pre-hash signatures do not cross', async () => {
    const { ml_dsa87 } = await import('@noble/post-quantum/ml-dsa.js');
    const { sha512 } = await import('@noble/hashes/sha2.js');
    const kp = noble.signatureKeygen('ML-DSA-87');
    const msg = new Uint8Array([9, 9]), context = new Uint8Array([3]);
    for (const prehash of PREHASH_ALGORITHMS) {
      const sig = noble.sign('ML-DSA-87', kp.secretKey, msg, { prehash, context });
      assert.equal(noble.verify('ML-DSA-87', kp.publicKey, msg, sig, { prehash, context }), true, prehash);
      assert.equal(noble.verify('ML-DSA-87', kp.publicKey, msg, sig, { context }), false, prehash);
    }
    // Our M' formatting matches noble's own HashML-DSA for a pre-hash it accepts.
    const ours = noble.sign('ML-DSA-87', kp.secretKey, msg, { prehash: 'SHA2-512', context, deterministic: true });
    const theirs = ml_dsa87.prehash(sha512).sign(msg, kp.secretKey, { context, extraEntropy: false });
    assert.deepEqual(ours, theirs);
  });
});

describe('garbage of the right length never throws an untyped error', () => {
  for (const b of BACKENDS) {
    test(b.name, () => {
      const typed = (f: () => unknown) => {
        try { f(); } catch (e) { assert.ok(e instanceof CryptoInputError, `untyped: ${(e as Error).name}`); }
      };
      for (let i = 0; i < 5; i++) {
        for (const a of ML_DSA) {
          typed(() => b.sign(a, b.randomBytes(SIZES[a].secretKey), new Uint8Array(1)));
          assert.equal(b.verify(a, b.randomBytes(SIZES[a].publicKey), new Uint8Array(1), b.randomBytes(SIZES[a].signature)), false);
        }
        for (const a of ML_KEM) {
          typed(() => b.decapsulate(a, b.randomBytes(SIZES[a].cipherText), b.randomBytes(SIZES[a].secretKey)));
          typed(() => b.encapsulate(a, b.randomBytes(SIZES[a].publicKey)));
        }
        typed(() => b.decapsulate('X-Wing', b.randomBytes(1120), b.randomBytes(32)));
        typed(() => b.encapsulate('X-Wing', b.randomBytes(1216)));
        assert.equal(b.verify('SLH-DSA-SHA2-128f', b.randomBytes(32), new Uint8Array(1), b.randomBytes(17088)), false);
      }
    });
  }
});
