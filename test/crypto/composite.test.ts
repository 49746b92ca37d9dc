/**
 * Composite ML-DSA (src/crypto/composite.ts) on both backends: round trips, the malformed-component
 * checks (identical typed errors on both), strict ECDSA DER, length ranges, no pre-hash / μ, encodings.
 * The draft's vectors run in `npm run kat` (test/kat/composite.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { p256, p384 } from '@noble/curves/nist.js';
import {
  COMPOSITE, COMPOSITE_ML_DSA, SIZES, decodePkcs8, decodeSpki, encodePkcs8, encodeSpki, getBackend, oidOf, signatureLengthOk,
} from '../../src/crypto/index.ts';
import { CURVES, ecdsaSignatureOk, splitSecretKey, tradPublicKeyOk } from '../../src/crypto/composite.ts';
import { CryptoInputError } from '../../src/errors.ts';

const backends = [getBackend('native'), getBackend('noble')];
const msg = new TextEncoder().encode('composite test message');
const isInput = (e: unknown) => e instanceof CryptoInputError;

test('curve constants match @noble/curves', () => {
  for (const [name, c] of [['P-256', p256], ['P-384', p384]] as const) {
    const k = c.Point.CURVE();
    assert.equal(CURVES[name].p, k.p);
    assert.equal(CURVES[name].b, k.b);
    assert.equal(CURVES[name].n, k.n);
    assert.equal(k.a, k.p - 3n);
  }
});

test('every composite: keygen, sign, verify with and without context, across backends; tampering fails', () => {
  for (const alg of COMPOSITE_ML_DSA) {
    const kp = backends[0]!.signatureKeygen(alg);
    assert.equal(kp.publicKey.length, SIZES[alg].publicKey);
    assert.equal(kp.secretKey.length, SIZES[alg].secretKey);
    assert.deepEqual(backends[1]!.signatureKeygen(alg, kp.secretKey).publicKey, kp.publicKey, `${alg}: both backends derive the same pk`);
    const ctx = new Uint8Array(255).fill(7);
    for (const signer of backends) {
      const s = signer.sign(alg, kp.secretKey, msg, { context: ctx });
      assert.ok(signatureLengthOk(alg, s.length), `${alg}: length ${s.length}`);
      for (const v of backends) {
        assert.equal(v.verify(alg, kp.publicKey, msg, s, { context: ctx }), true, `${alg} ${signer.name}→${v.name}`);
        assert.equal(v.verify(alg, kp.publicKey, msg, s), false);
        assert.equal(v.verify(alg, kp.publicKey, new Uint8Array([...msg, 0]), s, { context: ctx }), false);
      }
      const key = signer.prepareSigningKey(alg, kp.secretKey);
      const vk = signer.prepareVerifyingKey(alg, kp.publicKey);
      assert.deepEqual(key.publicKey, kp.publicKey);
      assert.equal(vk.verify(msg, key.sign(msg)), true);
      key.destroy();
    }
  }
});

test('no pre-hash, no μ, context ≤ 255 bytes, no internal interface: typed errors on both backends', () => {
  const alg = 'MLDSA65-ECDSA-P256-SHA512';
  for (const b of backends) {
    const kp = b.signatureKeygen(alg);
    const s = b.sign(alg, kp.secretKey, msg);
    assert.throws(() => b.sign(alg, kp.secretKey, msg, { prehash: 'SHA2-512' }), isInput);
    assert.throws(() => b.verify(alg, kp.publicKey, msg, s, { prehash: 'SHA2-512' }), isInput);
    assert.throws(() => b.sign(alg, kp.secretKey, msg, { context: new Uint8Array(256) }), isInput);
    assert.throws(() => b.signMu(alg, kp.secretKey, new Uint8Array(64)), isInput);
    assert.throws(() => b.prepareSigningKey(alg, kp.secretKey).signMu(new Uint8Array(64)), isInput);
    assert.throws(() => b.signInternal(alg, kp.secretKey, msg), (e: unknown) => e instanceof Error && 'code' in e);
  }
});

test('noble deterministic composite signing is reproducible; native refuses it (UnsupportedError)', () => {
  const alg = 'MLDSA44-ECDSA-P256-SHA256';
  const noble = backends[1]!;
  const kp = noble.signatureKeygen(alg);
  assert.deepEqual(noble.sign(alg, kp.secretKey, msg, { deterministic: true }), noble.sign(alg, kp.secretKey, msg, { deterministic: true }));
  assert.throws(() => backends[0]!.sign(alg, kp.secretKey, msg, { deterministic: true }), (e: unknown) => (e as { code?: string }).code === 'unsupported_operation');
});

test('malformed components: same CryptoInputError on both backends', () => {
  for (const alg of COMPOSITE_ML_DSA) {
    const { mldsa, trad } = COMPOSITE[alg];
    const kp = backends[1]!.signatureKeygen(alg);
    const mlPkLen = SIZES[mldsa].publicKey;
    const badPks: Uint8Array[] = [kp.publicKey.slice(0, -1), new Uint8Array([...kp.publicKey, 0])];
    const zeroTrad = kp.publicKey.slice(); zeroTrad.fill(0, mlPkLen); badPks.push(zeroTrad);
    if (trad !== 'Ed25519') {
      const off = kp.publicKey.slice(); off[off.length - 1]! ^= 1; badPks.push(off); // off the curve
      const compressed = kp.publicKey.slice(); compressed[mlPkLen] = 0x02; badPks.push(compressed);
    } else {
      const nonCanon = kp.publicKey.slice(); nonCanon.fill(0xff, mlPkLen); nonCanon[mlPkLen + 31] = 0x7f; badPks.push(nonCanon); // y ≥ p
    }
    const badSks: Uint8Array[] = [kp.secretKey.slice(0, -1)];
    if (trad !== 'Ed25519') {
      const wrongVersion = kp.secretKey.slice(); wrongVersion[32 + 4] = 2; badSks.push(wrongVersion);
      const zero = kp.secretKey.slice(); zero.fill(0, 39, 39 + (trad === 'P-256' ? 32 : 48)); badSks.push(zero);
      const big = kp.secretKey.slice(); big.fill(0xff, 39, 39 + (trad === 'P-256' ? 32 : 48)); badSks.push(big); // d ≥ n
      const wrongCurve = kp.secretKey.slice(); wrongCurve[wrongCurve.length - 1]! ^= 1; badSks.push(wrongCurve);
    }
    for (const b of backends) {
      for (const pk of badPks) assert.throws(() => b.prepareVerifyingKey(alg, pk), isInput, `${alg} ${b.name} bad pk`);
      for (const sk of badSks) assert.throws(() => b.prepareSigningKey(alg, sk), isInput, `${alg} ${b.name} bad sk`);
    }
  }
});

test('tradPublicKeyOk agrees with noble on random Ed25519 encodings', async () => {
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  let valid = 0;
  for (let i = 0; i < 200; i++) {
    const pk = crypto.getRandomValues(new Uint8Array(32));
    pk[31]! &= 0x7f; // canonical-range y in the overwhelming majority of cases
    let nobleOk = true;
    try { ed25519.Point.fromBytes(pk, false); } catch { nobleOk = false; }
    assert.equal(tradPublicKeyOk('Ed25519', pk), nobleOk, Buffer.from(pk).toString('hex'));
    if (nobleOk) valid++;
  }
  assert.ok(valid > 50 && valid < 150, `about half of random y decode: ${valid}`);
  // The eight small-order points (and their sign variants) are refused, and noble agrees they have small order.
  const torsion = ['0100000000000000000000000000000000000000000000000000000000000000', 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    '0000000000000000000000000000000000000000000000000000000000000000', '0000000000000000000000000000000000000000000000000000000000000080',
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85'];
  for (const h of torsion) {
    const pk = new Uint8Array(Buffer.from(h, 'hex'));
    assert.equal(tradPublicKeyOk('Ed25519', pk), false, h);
    assert.equal(ed25519.Point.fromBytes(pk, true).isSmallOrder(), true, `${h} has small order`);
  }
});

test('ECDSA signatures must be strict DER with 0 < r, s < n; high S is fine; wrong lengths are invalid', () => {
  const alg = 'MLDSA65-ECDSA-P256-SHA512';
  const kp = backends[1]!.signatureKeygen(alg);
  const s = backends[1]!.sign(alg, kp.secretKey, msg);
  const ml = s.subarray(0, SIZES['ML-DSA-65'].signature);
  const der = s.subarray(ml.length);
  assert.ok(ecdsaSignatureOk('P-256', der));
  // High S: s' = n − s is an equally valid ECDSA signature (the draft does not require low-S).
  const sig = p256.Signature.fromBytes(der, 'der');
  const high = new p256.Signature(sig.r, CURVES['P-256'].n - sig.s).toBytes('der');
  for (const b of backends) assert.equal(b.verify(alg, kp.publicKey, msg, new Uint8Array([...ml, ...high])), true, `${b.name} high-S / low-S pair`);
  const bad = [
    Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01), // r = 0
    Uint8Array.of(0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01), // non-minimal r
    Uint8Array.of(0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01), // negative r
    new Uint8Array([...der, 0]), // trailing byte (outer length no longer matches)
  ];
  for (const d of bad) {
    assert.equal(ecdsaSignatureOk('P-256', d), false);
    for (const b of backends) assert.equal(b.verify(alg, kp.publicKey, msg, new Uint8Array([...ml, ...d])), false);
  }
  for (const n of [0, ml.length, ml.length + 7, SIZES[alg].signature + 1]) {
    assert.equal(signatureLengthOk(alg, n), false);
    for (const b of backends) assert.equal(b.verify(alg, kp.publicKey, msg, new Uint8Array(n)), false);
  }
});

test('encodings: SPKI and PKCS#8 with the draft OIDs (1.3.6.1.5.5.7.6.N), raw bytes inside', () => {
  assert.equal(oidOf('MLDSA65-ECDSA-P256-SHA512'), '1.3.6.1.5.5.7.6.45');
  assert.equal(oidOf('MLDSA44-Ed25519-SHA512'), '1.3.6.1.5.5.7.6.39');
  assert.equal(oidOf('MLDSA87-ECDSA-P384-SHA512'), '1.3.6.1.5.5.7.6.49');
  for (const alg of COMPOSITE_ML_DSA) {
    const kp = backends[1]!.signatureKeygen(alg);
    assert.deepEqual(decodeSpki(encodeSpki(alg, kp.publicKey)), { algorithm: alg, publicKey: kp.publicKey });
    assert.deepEqual(decodePkcs8(encodePkcs8(alg, { secretKey: kp.secretKey })), { algorithm: alg, secretKey: kp.secretKey });
    assert.throws(() => encodePkcs8(alg, { seed: kp.secretKey.subarray(0, 32) }), isInput);
    const { seed } = splitSecretKey(alg, kp.secretKey);
    assert.equal(seed.length, 32);
  }
});

test('the secret-scalar range check: 0, 1, n − 1, n, n + 1, 2^k − 1 at the boundaries', () => {
  for (const trad of ['P-256', 'P-384'] as const) {
    const alg = trad === 'P-256' ? 'MLDSA65-ECDSA-P256-SHA512' : 'MLDSA65-ECDSA-P384-SHA512';
    const len = trad === 'P-256' ? 32 : 48;
    const n = CURVES[trad].n;
    const kp = backends[1]!.signatureKeygen(alg);
    const withD = (d: bigint) => { const sk = kp.secretKey.slice(); sk.set(Buffer.from(d.toString(16).padStart(2 * len, '0'), 'hex'), 39); return sk; };
    for (const [d, ok] of [[0n, false], [1n, true], [n - 1n, true], [n, false], [n + 1n, false], [(1n << BigInt(8 * len)) - 1n, false], [n >> 1n, true], [1n << 200n, true]] as const) {
      if (ok) assert.equal(splitSecretKey(alg, withD(d)).secret.length, len);
      else assert.throws(() => splitSecretKey(alg, withD(d)), isInput, `d = ${d}`);
    }
  }
});

test('hostile bytes: verify never throws an untyped error and answers false; random public keys are accepted or a CryptoInputError', () => {
  for (const alg of COMPOSITE_ML_DSA) {
    const kp = backends[1]!.signatureKeygen(alg);
    const good = backends[1]!.sign(alg, kp.secretKey, msg);
    for (const b of backends) {
      const vk = b.prepareVerifyingKey(alg, kp.publicKey);
      for (let i = 0; i < 40; i++) {
        const mutated = good.slice();
        for (let k = 0; k <= i % 4; k++) mutated[(i * 7919 + k * 104729) % mutated.length]! ^= 1 << ((i + k) % 8);
        const random = crypto.getRandomValues(new Uint8Array(SIZES[alg].signature - (i % 70)));
        for (const sig of [mutated, random, mutated.subarray(0, mutated.length - (i % 9)), new Uint8Array([...good, i])]) {
          assert.equal(vk.verify(msg, sig), false, `${alg} ${b.name} case ${i}`);
        }
        const pk = crypto.getRandomValues(new Uint8Array(SIZES[alg].publicKey));
        try { b.prepareVerifyingKey(alg, pk); } catch (e) { assert.ok(isInput(e), `${alg} ${b.name}: ${String(e)}`); }
      }
    }
  }
});
