/**
 * `noble` backend: @noble/post-quantum (FIPS 203/204/205), @noble/curves (X25519),
 * @noble/hashes, @noble/ciphers. Pure JavaScript, runs in browsers; the SDK always uses it.
 *
 * Caveat (from noble itself): no constant-time claim. The server defaults to `native`.
 *
 * Supports every operation of the interface: explicit ML-KEM m, deterministic / explicit-rnd
 * signing, external μ, and HashML-DSA / HashSLH-DSA with all twelve FIPS pre-hash functions.
 * noble's own `.prehash()` refuses a pre-hash weaker than the parameter set's λ; we format M'
 * ourselves (FIPS 204 Alg. 4 / FIPS 205 Alg. 23, see _prehash.ts) so conformance vectors for every
 * pre-hash pass, and leave that policy to the service (`prehashMeetsStrength` in algorithms.ts).
 */
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import {
  slh_dsa_sha2_128s, slh_dsa_sha2_128f, slh_dsa_sha2_192s, slh_dsa_sha2_192f, slh_dsa_sha2_256s, slh_dsa_sha2_256f,
  slh_dsa_shake_128s, slh_dsa_shake_128f, slh_dsa_shake_192s, slh_dsa_shake_192f, slh_dsa_shake_256s, slh_dsa_shake_256f,
} from '@noble/post-quantum/slh-dsa.js';
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { sha224, sha256, sha384, sha512, sha512_224, sha512_256 } from '@noble/hashes/sha2.js';
import { sha3_224, sha3_256, sha3_384, sha3_512, shake128, shake256 } from '@noble/hashes/sha3.js';
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import type {
  CryptoBackend, Encapsulation, KeyPair, PreparedDecapsulationKey, PreparedEncapsulationKey, PreparedSigningKey, PreparedVerifyingKey, SignOptions, VerifyOptions,
} from './backend.ts';
import type {
  AeadCipher, HashAlgorithm, KemAlgorithm, MlDsaAlgorithm, MlKemAlgorithm, PreHashAlgorithm, SignatureAlgorithm, SlhDsaAlgorithm,
} from './algorithms.ts';
import { SIZES, isComposite, isMlDsa } from './algorithms.ts';
import { CryptoInputError, DecryptionError } from '../errors.ts';
import {
  assertBytes, assertKem, assertSignature, checkAead, checkContext, checkHashLength, checkHkdf, checkMlDsaMu,
  checkMlKemPublicKey, checkMlKemSecretKey, checkRandomLength, checkX25519Output, rethrow,
} from './_validate.ts';
import { formatPrehashMessage } from './_prehash.ts';
import { xwingDecapsulate, xwingEncapsulate, xwingKeygen, xwingPrepare } from './xwing.ts';
import { compositeMethods } from './composite.ts';
import { nobleTraditional } from './_traditional-noble.ts';

/** Composite ML-DSA (composite.ts) over this backend's ML-DSA and @noble/curves Ed25519 / ECDSA. */
const composite = compositeMethods(() => nobleBackend, nobleTraditional);

const KEM = { 'ML-KEM-512': ml_kem512, 'ML-KEM-768': ml_kem768, 'ML-KEM-1024': ml_kem1024 } as const;
const DSA = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 } as const;
const SLH = {
  'SLH-DSA-SHA2-128s': slh_dsa_sha2_128s, 'SLH-DSA-SHA2-128f': slh_dsa_sha2_128f,
  'SLH-DSA-SHA2-192s': slh_dsa_sha2_192s, 'SLH-DSA-SHA2-192f': slh_dsa_sha2_192f,
  'SLH-DSA-SHA2-256s': slh_dsa_sha2_256s, 'SLH-DSA-SHA2-256f': slh_dsa_sha2_256f,
  'SLH-DSA-SHAKE-128s': slh_dsa_shake_128s, 'SLH-DSA-SHAKE-128f': slh_dsa_shake_128f,
  'SLH-DSA-SHAKE-192s': slh_dsa_shake_192s, 'SLH-DSA-SHAKE-192f': slh_dsa_shake_192f,
  'SLH-DSA-SHAKE-256s': slh_dsa_shake_256s, 'SLH-DSA-SHAKE-256f': slh_dsa_shake_256f,
} as const;

const PH: Record<PreHashAlgorithm, (m: Uint8Array) => Uint8Array> = {
  'SHA2-224': sha224, 'SHA2-256': sha256, 'SHA2-384': sha384, 'SHA2-512': sha512,
  'SHA2-512/224': sha512_224, 'SHA2-512/256': sha512_256,
  'SHA3-224': sha3_224, 'SHA3-256': sha3_256, 'SHA3-384': sha3_384, 'SHA3-512': sha3_512,
  'SHAKE-128': (m) => shake128(m, { dkLen: 32 }), 'SHAKE-256': (m) => shake256(m, { dkLen: 64 }),
};

function hash(alg: HashAlgorithm, data: Uint8Array, outputLength?: number): Uint8Array {
  assertBytes(data, 'data');
  const len = checkHashLength(alg, outputLength);
  switch (alg) {
    case 'SHA-256': return sha256(data);
    case 'SHA-384': return sha384(data);
    case 'SHA-512': return sha512(data);
    case 'SHA3-256': return sha3_256(data);
    case 'SHA3-512': return sha3_512(data);
    case 'SHAKE-128': return shake128(data, { dkLen: len });
    case 'SHAKE-256': return shake256(data, { dkLen: len });
    default: throw new CryptoInputError('unknown hash algorithm');
  }
}

/** Signing randomness for noble: `false` = deterministic, bytes = explicit, undefined = fresh. */
function extraEntropy(alg: SignatureAlgorithm, opts: Pick<SignOptions, 'deterministic' | 'random'>): Uint8Array | false | undefined {
  if (opts.random !== undefined) {
    if (opts.deterministic) throw new CryptoInputError('deterministic and random are mutually exclusive');
    checkRandomLength(alg, opts.random);
    return opts.random;
  }
  return opts.deterministic ? false : undefined;
}

/** The signer's message M' (pure or pre-hash) for the *internal* sign/verify functions. */
function messagePrime(message: Uint8Array, ctx: Uint8Array, prehash: PreHashAlgorithm | undefined): Uint8Array {
  if (prehash === undefined) {
    const out = new Uint8Array(2 + ctx.length + message.length);
    out[0] = 0; out[1] = ctx.length; out.set(ctx, 2); out.set(message, 2 + ctx.length);
    return out;
  }
  const f = PH[prehash];
  if (f === undefined) throw new CryptoInputError('unknown pre-hash algorithm');
  return formatPrehashMessage(prehash, f(message), ctx);
}

function signer(alg: SignatureAlgorithm) {
  return isMlDsa(alg) ? DSA[alg] : SLH[alg as SlhDsaAlgorithm];
}

/** The pure-JavaScript @noble backend; supports every operation (`unsupported` is empty). */
export const nobleBackend: CryptoBackend = {
  name: 'noble',
  unsupported: [],

  keygen(alg: KemAlgorithm, seed?: Uint8Array): KeyPair {
    assertKem(alg);
    if (alg === 'X-Wing') return xwingKeygen(nobleBackend, seed);
    if (seed !== undefined) assertBytes(seed, 'seed', 64);
    try {
      const kp = KEM[alg].keygen(seed?.slice());
      return { publicKey: kp.publicKey, secretKey: kp.secretKey };
    } catch (e) { return rethrow(e); }
  },

  encapsulate(alg: KemAlgorithm, publicKey: Uint8Array, m?: Uint8Array): Encapsulation {
    assertKem(alg);
    if (alg === 'X-Wing') return xwingEncapsulate(nobleBackend, publicKey, m);
    checkMlKemPublicKey(alg, publicKey);
    if (m !== undefined) assertBytes(m, 'encapsulation randomness', 32);
    try {
      const r = KEM[alg].encapsulate(publicKey, m?.slice());
      return { cipherText: r.cipherText, sharedSecret: r.sharedSecret };
    } catch (e) { return rethrow(e); }
  },

  decapsulate(alg: KemAlgorithm, cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
    assertKem(alg);
    if (alg === 'X-Wing') return xwingDecapsulate(nobleBackend, cipherText, secretKey);
    assertBytes(cipherText, 'ciphertext', SIZES[alg].cipherText);
    checkMlKemSecretKey(alg as MlKemAlgorithm, secretKey, sha3_256);
    try {
      return KEM[alg].decapsulate(cipherText, secretKey);
    } catch (e) { return rethrow(e); }
  },

  prepareDecapsulationKey(alg: KemAlgorithm, seed: Uint8Array): PreparedDecapsulationKey {
    assertKem(alg);
    if (alg === 'X-Wing') return xwingPrepare(nobleBackend, seed);
    const kp = nobleBackend.keygen(alg, seed);
    return {
      algorithm: alg,
      publicKey: kp.publicKey,
      decapsulate: (cipherText) => nobleBackend.decapsulate(alg, cipherText, kp.secretKey),
      destroy: () => kp.secretKey.fill(0),
    };
  },

  /** No independent-halves shortcut here: a random seed, expanded once (noble has no cheaper key generation). */
  generateDecapsulationKey(alg: KemAlgorithm): PreparedDecapsulationKey {
    assertKem(alg);
    const seed = nobleBackend.randomBytes(SIZES[alg].seed);
    try { return nobleBackend.prepareDecapsulationKey(alg, seed); } finally { seed.fill(0); }
  },

  /** Checks the key once (length, FIPS 203 §7.2); noble has no import step to save. */
  prepareEncapsulationKey(alg: KemAlgorithm, publicKey: Uint8Array): PreparedEncapsulationKey {
    assertKem(alg);
    const ml = alg === 'X-Wing' ? 'ML-KEM-768' : alg;
    assertBytes(publicKey, alg === 'X-Wing' ? 'X-Wing public key' : 'public key', SIZES[alg].publicKey);
    checkMlKemPublicKey(ml, publicKey.subarray(0, SIZES[ml].publicKey));
    const pk = publicKey.slice();
    return { algorithm: alg, publicKey: pk, encapsulate: () => nobleBackend.encapsulate(alg, pk) };
  },

  prepareSigningKey(alg: SignatureAlgorithm, material: Uint8Array): PreparedSigningKey {
    assertSignature(alg);
    if (isComposite(alg)) return composite.prepareSigningKey(alg, material);
    const ml = isMlDsa(alg);
    assertBytes(material, ml ? 'seed' : 'secret key', ml ? SIZES[alg].seed : SIZES[alg].secretKey);
    // ML-DSA is stored as its seed ξ and expanded once here; SLH-DSA is stored expanded (4n B, ending in PK.seed‖PK.root).
    const kp = ml ? nobleBackend.signatureKeygen(alg, material) : { secretKey: material.slice(), publicKey: material.slice(SIZES[alg].secretKey / 2) };
    return {
      algorithm: alg,
      publicKey: kp.publicKey,
      sign: (message, opts) => nobleBackend.sign(alg, kp.secretKey, message, opts),
      signMu: (mu, opts) => nobleBackend.signMu(alg, kp.secretKey, mu, opts),
      destroy: () => kp.secretKey.fill(0),
    };
  },

  prepareVerifyingKey(alg: SignatureAlgorithm, publicKey: Uint8Array): PreparedVerifyingKey {
    assertSignature(alg);
    if (isComposite(alg)) return composite.prepareVerifyingKey(alg, publicKey);
    assertBytes(publicKey, 'public key', SIZES[alg].publicKey);
    const pk = publicKey.slice();
    return {
      algorithm: alg,
      publicKey: pk,
      verify: (message, signature, opts) => nobleBackend.verify(alg, pk, message, signature, opts),
      verifyMu: (mu, signature) => nobleBackend.verifyMu(alg, pk, mu, signature),
    };
  },

  signatureKeygen(alg: SignatureAlgorithm, seed?: Uint8Array): KeyPair {
    assertSignature(alg);
    if (isComposite(alg)) return composite.keygen(alg, seed);
    if (seed !== undefined) assertBytes(seed, 'seed', SIZES[alg].seed);
    try {
      const kp = signer(alg).keygen(seed?.slice());
      return { publicKey: kp.publicKey, secretKey: kp.secretKey };
    } catch (e) { return rethrow(e); }
  },

  sign(alg: SignatureAlgorithm, secretKey: Uint8Array, message: Uint8Array, opts: SignOptions = {}): Uint8Array {
    assertSignature(alg);
    if (isComposite(alg)) return composite.sign(alg, secretKey, message, opts);
    assertBytes(secretKey, 'secret key', SIZES[alg].secretKey);
    assertBytes(message, 'message');
    const ctx = checkContext(opts.context);
    const rnd = extraEntropy(alg, opts);
    try {
      const mp = messagePrime(message, ctx, opts.prehash);
      return signer(alg).internal.sign(mp, secretKey, { extraEntropy: rnd });
    } catch (e) { return rethrow(e); }
  },

  verify(alg: SignatureAlgorithm, publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, opts: VerifyOptions = {}): boolean {
    assertSignature(alg);
    if (isComposite(alg)) return composite.verify(alg, publicKey, message, signature, opts);
    assertBytes(publicKey, 'public key', SIZES[alg].publicKey);
    assertBytes(message, 'message');
    assertBytes(signature, 'signature');
    const ctx = checkContext(opts.context);
    const mp = messagePrime(message, ctx, opts.prehash);
    if (signature.length !== SIZES[alg].signature) return false;
    try {
      return signer(alg).internal.verify(signature, mp, publicKey);
    } catch {
      // A malformed signature of the right length is simply invalid.
      return false;
    }
  },

  signMu(alg: SignatureAlgorithm, secretKey: Uint8Array, mu: Uint8Array, opts = {}): Uint8Array {
    const a = checkMlDsaMu(alg, mu);
    assertBytes(secretKey, 'secret key', SIZES[a].secretKey);
    const rnd = extraEntropy(a, opts);
    try {
      return DSA[a].internal.sign(mu, secretKey, { extraEntropy: rnd, externalMu: true });
    } catch (e) { return rethrow(e); }
  },

  verifyMu(alg: SignatureAlgorithm, publicKey: Uint8Array, mu: Uint8Array, signature: Uint8Array): boolean {
    const a: MlDsaAlgorithm = checkMlDsaMu(alg, mu);
    assertBytes(publicKey, 'public key', SIZES[a].publicKey);
    assertBytes(signature, 'signature');
    if (signature.length !== SIZES[a].signature) return false;
    try {
      return DSA[a].internal.verify(signature, mu, publicKey, { externalMu: true });
    } catch { return false; }
  },

  signInternal(alg: SignatureAlgorithm, secretKey: Uint8Array, mPrime: Uint8Array, opts = {}): Uint8Array {
    assertSignature(alg);
    if (isComposite(alg)) return composite.internal();
    assertBytes(secretKey, 'secret key', SIZES[alg].secretKey);
    assertBytes(mPrime, 'message');
    const rnd = extraEntropy(alg, opts);
    try {
      return signer(alg).internal.sign(mPrime, secretKey, { extraEntropy: rnd });
    } catch (e) { return rethrow(e); }
  },

  verifyInternal(alg: SignatureAlgorithm, publicKey: Uint8Array, mPrime: Uint8Array, signature: Uint8Array): boolean {
    assertSignature(alg);
    if (isComposite(alg)) return composite.internal();
    assertBytes(publicKey, 'public key', SIZES[alg].publicKey);
    assertBytes(mPrime, 'message');
    assertBytes(signature, 'signature');
    if (signature.length !== SIZES[alg].signature) return false;
    try {
      return signer(alg).internal.verify(signature, mPrime, publicKey);
    } catch { return false; }
  },

  x25519Keygen(secretKey?: Uint8Array): KeyPair {
    const sk = secretKey === undefined ? nobleRandomBytes(32) : (assertBytes(secretKey, 'X25519 secret key', 32), secretKey.slice());
    try {
      return { publicKey: nobleX25519.getPublicKey(sk), secretKey: sk };
    } catch (e) { return rethrow(e); }
  },

  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    assertBytes(secretKey, 'X25519 secret key', 32);
    assertBytes(publicKey, 'X25519 public key', 32);
    let out: Uint8Array;
    try {
      out = nobleX25519.getSharedSecret(secretKey, publicKey);
    } catch {
      // noble rejects low-order points up front (RFC 7748 §6.1 all-zero output).
      throw new CryptoInputError('X25519 shared secret is all-zero (low-order public key)');
    }
    return checkX25519Output(out);
  },

  hash,

  hkdf(h, ikm, salt, info, length) {
    checkHkdf(h, ikm, salt, info, length);
    return nobleHkdf(h === 'SHA-256' ? sha256 : sha512, ikm, salt, info, length);
  },

  hmac(h, key, data) {
    assertBytes(key, 'key');
    assertBytes(data, 'data');
    const f = h === 'SHA-256' ? sha256 : h === 'SHA-384' ? sha384 : h === 'SHA-512' ? sha512 : undefined;
    if (f === undefined) throw new CryptoInputError('unknown HMAC hash');
    return nobleHmac(f, key, data);
  },

  aeadSeal(alg: AeadCipher, key, nonce, plaintext, aad) {
    checkAead(alg, key, nonce, plaintext, aad);
    const c = alg !== 'ChaCha20-Poly1305' ? gcm(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
    return c.encrypt(plaintext);
  },

  aeadOpen(alg: AeadCipher, key, nonce, sealed, aad) {
    checkAead(alg, key, nonce, sealed, aad);
    if (sealed.length < 16) throw new DecryptionError();
    try {
      const c = alg !== 'ChaCha20-Poly1305' ? gcm(key, nonce, aad) : chacha20poly1305(key, nonce, aad);
      return c.decrypt(sealed);
    } catch {
      throw new DecryptionError();
    }
  },

  randomBytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0 || length > 1 << 20) throw new CryptoInputError('invalid random length');
    return nobleRandomBytes(length);
  },
};
