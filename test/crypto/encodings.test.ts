/**
 * encodings.ts against node:crypto: DER we write is accepted by createPublicKey/createPrivateKey,
 * DER/JWK that OpenSSL writes is parsed by us, and the keys agree with the noble backend.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  decodePkcs8, decodeSpki, encodePkcs8, encodeSpki, fromJwk, getBackend, oidOf, toJwk, ML_DSA, ML_KEM, SLH_DSA, SIZES,
} from '../../src/crypto/index.ts';
import type { EncodableAlgorithm } from '../../src/crypto/index.ts';
import { CryptoInputError } from '../../src/errors.ts';

const noble = getBackend('noble');
const nodeType = (a: string) => a.toLowerCase();
const raw = (k: ReturnType<typeof createPublicKey>, format: string) => new Uint8Array(k.export({ format } as never) as Buffer);
const isInput = (e: unknown) => e instanceof CryptoInputError;

describe('OIDs', () => {
  test('match what OpenSSL writes for every algorithm (incl. the SLH-DSA order)', () => {
    for (const a of [...ML_KEM, ...ML_DSA, ...SLH_DSA] as EncodableAlgorithm[]) {
      const { publicKey } = generateKeyPairSync(nodeType(a) as 'ml-dsa-44');
      assert.equal(decodeSpki(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }))).algorithm, a);
    }
    assert.equal(oidOf('ML-DSA-65'), '2.16.840.1.101.3.4.3.18');
    assert.equal(oidOf('ML-KEM-1024'), '2.16.840.1.101.3.4.4.3');
    assert.equal(oidOf('SLH-DSA-SHAKE-256f'), '2.16.840.1.101.3.4.3.31');
  });
});

describe('ML-KEM and ML-DSA: SPKI and PKCS#8 seed form', () => {
  for (const a of [...ML_KEM, ...ML_DSA] as EncodableAlgorithm[]) {
    test(a, () => {
      const seed = noble.randomBytes(SIZES[a].seed);
      const kp = a.startsWith('ML-KEM') ? noble.keygen(a as 'ML-KEM-512', seed) : noble.signatureKeygen(a as 'ML-DSA-44', seed);
      // ours → OpenSSL
      const pub = createPublicKey({ key: Buffer.from(encodeSpki(a, kp.publicKey)), format: 'der', type: 'spki' });
      assert.deepEqual(raw(pub, 'raw-public'), kp.publicKey);
      const priv = createPrivateKey({ key: Buffer.from(encodePkcs8(a, { seed })), format: 'der', type: 'pkcs8' });
      assert.deepEqual(raw(priv, 'raw-seed'), seed);
      assert.deepEqual(raw(createPublicKey(priv), 'raw-public'), kp.publicKey);
      // the expandedKey and both forms are accepted too
      for (const form of [{ secretKey: kp.secretKey }, { seed, secretKey: kp.secretKey }]) {
        const k = createPrivateKey({ key: Buffer.from(encodePkcs8(a, form)), format: 'der', type: 'pkcs8' });
        assert.deepEqual(raw(createPublicKey(k), 'raw-public'), kp.publicKey);
      }
      // OpenSSL → ours
      assert.deepEqual(decodeSpki(new Uint8Array(pub.export({ format: 'der', type: 'spki' }))), { algorithm: a, publicKey: kp.publicKey });
      const p8 = decodePkcs8(new Uint8Array(priv.export({ format: 'der', type: 'pkcs8' })));
      assert.equal(p8.algorithm, a);
      assert.deepEqual(p8.seed, seed);
      if (p8.secretKey) assert.deepEqual(p8.secretKey, kp.secretKey);
      // our own round trip, seed form
      assert.deepEqual(decodePkcs8(encodePkcs8(a, { seed })), { algorithm: a, seed });
    });
  }
});

describe('SLH-DSA: SPKI and PKCS#8 (raw 4n-byte key)', () => {
  test('round trips with OpenSSL', () => {
    for (const a of ['SLH-DSA-SHA2-128f', 'SLH-DSA-SHAKE-256s'] as const) {
      const { privateKey, publicKey } = generateKeyPairSync(nodeType(a) as 'slh-dsa-sha2-128f');
      const sk = raw(privateKey, 'raw-private'), pk = raw(publicKey, 'raw-public');
      assert.deepEqual(decodePkcs8(new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }))), { algorithm: a, secretKey: sk });
      const k = createPrivateKey({ key: Buffer.from(encodePkcs8(a, { secretKey: sk })), format: 'der', type: 'pkcs8' });
      assert.deepEqual(raw(createPublicKey(k), 'raw-public'), pk);
      const p = createPublicKey({ key: Buffer.from(encodeSpki(a, pk)), format: 'der', type: 'spki' });
      assert.deepEqual(raw(p, 'raw-public'), pk);
      assert.throws(() => encodePkcs8(a, { seed: new Uint8Array(SIZES[a].seed) }), isInput);
    }
  });
});

describe('JWK AKP (RFC 9964)', () => {
  for (const a of ML_DSA) {
    test(a, () => {
      const seed = noble.randomBytes(32);
      const kp = noble.signatureKeygen(a, seed);
      const jwk = toJwk(a, kp.publicKey, seed);
      const k = createPrivateKey({ key: jwk as never, format: 'jwk' });
      assert.deepEqual(raw(k, 'raw-seed'), seed);
      const exported = k.export({ format: 'jwk' }) as Record<string, unknown>;
      assert.deepEqual(fromJwk(exported), { algorithm: a, publicKey: kp.publicKey, seed });
      assert.equal(exported.kty, 'AKP');
      assert.equal(exported.alg, a);
      const pubOnly = toJwk(a, kp.publicKey);
      assert.equal('priv' in pubOnly, false);
      assert.deepEqual(raw(createPublicKey({ key: pubOnly as never, format: 'jwk' }), 'raw-public'), kp.publicKey);
    });
  }
});

describe('hostile DER is rejected with CryptoInputError', () => {
  test('truncation, trailing bytes, wrong lengths, parameters present, bad JWK', () => {
    const kp = noble.signatureKeygen('ML-DSA-44');
    const spki = encodeSpki('ML-DSA-44', kp.publicKey);
    for (let cut = 0; cut < spki.length; cut += 97) assert.throws(() => decodeSpki(spki.subarray(0, cut)), isInput);
    assert.throws(() => decodeSpki(new Uint8Array([...spki, 0])), isInput);
    const p8 = encodePkcs8('ML-DSA-44', { seed: new Uint8Array(32) });
    for (let cut = 0; cut < p8.length; cut++) assert.throws(() => decodePkcs8(p8.subarray(0, cut)), isInput);
    // AlgorithmIdentifier with NULL parameters
    const withNull = new Uint8Array([0x30, 0x0f, 0x30, 0x0d, ...p8.subarray(7, 18), 0x05, 0x00]);
    assert.throws(() => decodeSpki(withNull), isInput);
    assert.throws(() => encodeSpki('ML-DSA-44', kp.publicKey.subarray(1)), isInput);
    assert.throws(() => decodePkcs8(encodePkcs8('ML-DSA-65', { seed: new Uint8Array(32) }).map((b, i) => (i === 17 ? 0x7f : b))), isInput);
    assert.throws(() => fromJwk({ kty: 'AKP', alg: 'ML-DSA-44', pub: 'AA' }), isInput);
    assert.throws(() => fromJwk({ kty: 'OKP', alg: 'ML-DSA-44', pub: '' }), isInput);
    assert.throws(() => fromJwk({ ...toJwk('ML-DSA-44', kp.publicKey), priv: 'AAAA' }), isInput);
    assert.throws(() => fromJwk(null), isInput);
  });
});
