/**
 * Algorithm registry: the standard names the service offers and their sizes in bytes.
 * FIPS 203 (ML-KEM), draft-connolly-cfrg-xwing-kem (X-Wing), FIPS 204 (ML-DSA), FIPS 205 (SLH-DSA),
 * draft-ietf-lamps-pq-composite-sigs-19 (composite ML-DSA; the construction is in composite.ts).
 */
export const ML_KEM = ['ML-KEM-512', 'ML-KEM-768', 'ML-KEM-1024'] as const;
/** Every KEM: ML-KEM (FIPS 203) and X-Wing. */
export const KEM_ALGORITHMS = [...ML_KEM, 'X-Wing'] as const;
/** ML-DSA parameter sets (FIPS 204 §4). */
export const ML_DSA = ['ML-DSA-44', 'ML-DSA-65', 'ML-DSA-87'] as const;
/** SLH-DSA parameter sets (FIPS 205 §11), SHA2 and SHAKE, small (s) and fast (f). */
export const SLH_DSA = [
  'SLH-DSA-SHA2-128s', 'SLH-DSA-SHA2-128f', 'SLH-DSA-SHA2-192s', 'SLH-DSA-SHA2-192f',
  'SLH-DSA-SHA2-256s', 'SLH-DSA-SHA2-256f', 'SLH-DSA-SHAKE-128s', 'SLH-DSA-SHAKE-128f',
  'SLH-DSA-SHAKE-192s', 'SLH-DSA-SHAKE-192f', 'SLH-DSA-SHAKE-256s', 'SLH-DSA-SHAKE-256f',
] as const;
/** Composite ML-DSA signature algorithms (draft-ietf-lamps-pq-composite-sigs-19 §6, names without `id-`). */
export const COMPOSITE_ML_DSA = [
  'MLDSA44-Ed25519-SHA512', 'MLDSA44-ECDSA-P256-SHA256', 'MLDSA65-Ed25519-SHA512',
  'MLDSA65-ECDSA-P256-SHA512', 'MLDSA65-ECDSA-P384-SHA512', 'MLDSA87-ECDSA-P384-SHA512',
] as const;
/** Every signature algorithm: ML-DSA, SLH-DSA and composite ML-DSA. */
export const SIGNATURE_ALGORITHMS = [...ML_DSA, ...SLH_DSA, ...COMPOSITE_ML_DSA] as const;

/** An ML-KEM parameter set name. */
export type MlKemAlgorithm = (typeof ML_KEM)[number];
/** A KEM name (ML-KEM or X-Wing). */
export type KemAlgorithm = (typeof KEM_ALGORITHMS)[number];
/** An ML-DSA parameter set name. */
export type MlDsaAlgorithm = (typeof ML_DSA)[number];
/** An SLH-DSA parameter set name. */
export type SlhDsaAlgorithm = (typeof SLH_DSA)[number];
/** A composite ML-DSA algorithm name. */
export type CompositeAlgorithm = (typeof COMPOSITE_ML_DSA)[number];
/** A signature algorithm name (ML-DSA, SLH-DSA or composite ML-DSA). */
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];
/** Any algorithm a key of the service may have. */
export type Algorithm = KemAlgorithm | SignatureAlgorithm;

/** FIPS 204 §5.4 / FIPS 205 §10.2 pre-hash functions (ACVP names). */
export const PREHASH_ALGORITHMS = [
  'SHA2-224', 'SHA2-256', 'SHA2-384', 'SHA2-512', 'SHA2-512/224', 'SHA2-512/256',
  'SHA3-224', 'SHA3-256', 'SHA3-384', 'SHA3-512', 'SHAKE-128', 'SHAKE-256',
] as const;
/** A pre-hash function name of HashML-DSA / HashSLH-DSA. */
export type PreHashAlgorithm = (typeof PREHASH_ALGORITHMS)[number];

/** Hashes and XOFs of PrimitiveBackend.hash (FIPS 180-4, FIPS 202). */
export const HASH_ALGORITHMS = ['SHA-256', 'SHA-384', 'SHA-512', 'SHA3-256', 'SHA3-512', 'SHAKE-128', 'SHAKE-256'] as const;
/** A hash or XOF name of PrimitiveBackend.hash. */
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** AEADs with 32-byte keys the service itself uses (AES-256-GCM, ChaCha20-Poly1305 RFC 8439). */
export const AEAD_ALGORITHMS = ['AES-256-GCM', 'ChaCha20-Poly1305'] as const;
/** An AEAD name of AEAD_ALGORITHMS. */
export type AeadAlgorithm = (typeof AEAD_ALGORITHMS)[number];
/** Every AEAD the backends open and seal: AEAD_ALGORITHMS (32-byte keys, the service's own uses) plus AES-128-GCM (16-byte key, for HPKE suites, RFC 9180 §7.3). */
export const AEAD_CIPHERS = [...AEAD_ALGORITHMS, 'AES-128-GCM'] as const;
/** Any AEAD the backends seal and open. */
export type AeadCipher = (typeof AEAD_CIPHERS)[number];
/** Key length in bytes of each AEAD cipher. */
export const AEAD_KEY_BYTES: Record<AeadCipher, number> = { 'AES-128-GCM': 16, 'AES-256-GCM': 32, 'ChaCha20-Poly1305': 32 };
/** HMAC hashes of PrimitiveBackend.hmac. */
export type HmacHash = 'SHA-256' | 'SHA-384' | 'SHA-512';

/** Byte sizes of a KEM: seed, keys, ciphertext and shared secret. */
export interface KemSizes { kind: 'kem'; seed: number; publicKey: number; secretKey: number; cipherText: number; sharedSecret: number }
/** Byte sizes of a signature algorithm, and its NIST security category. */
export interface SignatureSizes { kind: 'signature'; seed: number; publicKey: number; secretKey: number; signature: number; securityCategory: 1 | 2 | 3 | 5 }

/** The traditional component of a composite: Ed25519 (RFC 8032, pure) or ECDSA on a NIST curve (FIPS 186-5). */
export type TraditionalAlgorithm = 'Ed25519' | 'P-256' | 'P-384';

/** A composite's parameters (draft-ietf-lamps-pq-composite-sigs-19 §6 and §7: OID arc, Label, PH, components). */
export interface CompositeParams {
  mldsa: MlDsaAlgorithm;
  trad: TraditionalAlgorithm;
  /** OID 1.3.6.1.5.5.7.6.<oidArc>. */
  oidArc: number;
  /** ASCII Label: "COMPSIG-" + the name; the ML-DSA component's FIPS 204 context. */
  label: string;
  /** The pre-hash PH(M) inside M'. */
  ph: 'SHA-256' | 'SHA-512';
  /** Hash ECDSA applies to M' (none for Ed25519). */
  ecdsaHash?: 'SHA-256' | 'SHA-384';
}

const comp = (mldsa: MlDsaAlgorithm, trad: TraditionalAlgorithm, oidArc: number, name: string, ph: CompositeParams['ph'] = 'SHA-512'): CompositeParams => ({
  mldsa, trad, oidArc, label: `COMPSIG-${name}`, ph,
  ...(trad === 'Ed25519' ? {} : { ecdsaHash: trad === 'P-256' ? 'SHA-256' as const : 'SHA-384' as const }),
});

/** The composites offered, by name. */
export const COMPOSITE: Record<CompositeAlgorithm, CompositeParams> = {
  'MLDSA44-Ed25519-SHA512': comp('ML-DSA-44', 'Ed25519', 39, 'MLDSA44-Ed25519-SHA512'),
  'MLDSA44-ECDSA-P256-SHA256': comp('ML-DSA-44', 'P-256', 40, 'MLDSA44-ECDSA-P256-SHA256', 'SHA-256'),
  'MLDSA65-Ed25519-SHA512': comp('ML-DSA-65', 'Ed25519', 48, 'MLDSA65-Ed25519-SHA512'),
  'MLDSA65-ECDSA-P256-SHA512': comp('ML-DSA-65', 'P-256', 45, 'MLDSA65-ECDSA-P256-SHA512'),
  'MLDSA65-ECDSA-P384-SHA512': comp('ML-DSA-65', 'P-384', 46, 'MLDSA65-ECDSA-P384-SHA512'),
  'MLDSA87-ECDSA-P384-SHA512': comp('ML-DSA-87', 'P-384', 49, 'MLDSA87-ECDSA-P384-SHA512'),
};

/**
 * Sizes of the traditional components (§4, §5): public key (Ed25519 raw; ECDSA uncompressed 04‖X‖Y),
 * secret key (Ed25519 raw; ECDSA RFC 5915 ECPrivateKey DER with the fixed-length scalar and the named
 * curve, no public key) and signature (Ed25519 64 B; ECDSA DER Ecdsa-Sig-Value, 8 B up to its maximum).
 */
export const TRADITIONAL_SIZES: Record<TraditionalAlgorithm, { publicKey: number; secretKey: number; scalar: number; signatureMin: number; signatureMax: number }> = {
  Ed25519: { publicKey: 32, secretKey: 32, scalar: 32, signatureMin: 64, signatureMax: 64 },
  'P-256': { publicKey: 65, secretKey: 51, scalar: 32, signatureMin: 8, signatureMax: 72 },
  'P-384': { publicKey: 97, secretKey: 64, scalar: 48, signatureMin: 8, signatureMax: 104 },
};

const ML_DSA_SIZES: Record<MlDsaAlgorithm, SignatureSizes> = {
  'ML-DSA-44': { kind: 'signature', seed: 32, publicKey: 1312, secretKey: 2560, signature: 2420, securityCategory: 2 },
  'ML-DSA-65': { kind: 'signature', seed: 32, publicKey: 1952, secretKey: 4032, signature: 3309, securityCategory: 3 },
  'ML-DSA-87': { kind: 'signature', seed: 32, publicKey: 2592, secretKey: 4896, signature: 4627, securityCategory: 5 },
};

/** Composite sizes: keys and signatures are the concatenations of §4 (signature: the maximum; ECDSA's DER varies). */
const compSizes = (a: CompositeAlgorithm): SignatureSizes => {
  const { mldsa, trad } = COMPOSITE[a];
  const m = ML_DSA_SIZES[mldsa], t = TRADITIONAL_SIZES[trad];
  const sk = 32 + t.secretKey;
  return { kind: 'signature', seed: sk, publicKey: m.publicKey + t.publicKey, secretKey: sk, signature: m.signature + t.signatureMax, securityCategory: m.securityCategory };
};

const slh = (n: 16 | 24 | 32, signature: number): SignatureSizes =>
  ({ kind: 'signature', seed: 3 * n, publicKey: 2 * n, secretKey: 4 * n, signature, securityCategory: n === 16 ? 1 : n === 24 ? 3 : 5 });

/** Sizes in bytes of every algorithm (FIPS 203 §8, FIPS 204 §4, FIPS 205 §11, X-Wing draft). */
export const SIZES: Record<KemAlgorithm, KemSizes> & Record<SignatureAlgorithm, SignatureSizes> = {
  'ML-KEM-512': { kind: 'kem', seed: 64, publicKey: 800, secretKey: 1632, cipherText: 768, sharedSecret: 32 },
  'ML-KEM-768': { kind: 'kem', seed: 64, publicKey: 1184, secretKey: 2400, cipherText: 1088, sharedSecret: 32 },
  'ML-KEM-1024': { kind: 'kem', seed: 64, publicKey: 1568, secretKey: 3168, cipherText: 1568, sharedSecret: 32 },
  'X-Wing': { kind: 'kem', seed: 32, publicKey: 1216, secretKey: 32, cipherText: 1120, sharedSecret: 32 },
  ...ML_DSA_SIZES,
  'SLH-DSA-SHA2-128s': slh(16, 7856), 'SLH-DSA-SHA2-128f': slh(16, 17088),
  'SLH-DSA-SHA2-192s': slh(24, 16224), 'SLH-DSA-SHA2-192f': slh(24, 35664),
  'SLH-DSA-SHA2-256s': slh(32, 29792), 'SLH-DSA-SHA2-256f': slh(32, 49856),
  'SLH-DSA-SHAKE-128s': slh(16, 7856), 'SLH-DSA-SHAKE-128f': slh(16, 17088),
  'SLH-DSA-SHAKE-192s': slh(24, 16224), 'SLH-DSA-SHAKE-192f': slh(24, 35664),
  'SLH-DSA-SHAKE-256s': slh(32, 29792), 'SLH-DSA-SHAKE-256f': slh(32, 49856),
  ...(Object.fromEntries(COMPOSITE_ML_DSA.map((a) => [a, compSizes(a)])) as Record<CompositeAlgorithm, SignatureSizes>),
};

/** Whether `a` names a KEM of the registry. */
export const isKemAlgorithm = (a: string): a is KemAlgorithm => (KEM_ALGORITHMS as readonly string[]).includes(a);
/** Whether `a` names a signature algorithm of the registry. */
export const isSignatureAlgorithm = (a: string): a is SignatureAlgorithm => (SIGNATURE_ALGORITHMS as readonly string[]).includes(a);
/** Whether `a` names an ML-DSA parameter set. */
export const isMlDsa = (a: string): a is MlDsaAlgorithm => (ML_DSA as readonly string[]).includes(a);
/** Whether `a` names a composite ML-DSA algorithm. */
export const isComposite = (a: string): a is CompositeAlgorithm => (COMPOSITE_ML_DSA as readonly string[]).includes(a);

/**
 * Whether `n` bytes can be a signature of `alg`: the exact size, or for an ECDSA composite the
 * ML-DSA size plus 8 up to the maximum DER length of the ECDSA part.
 */
export function signatureLengthOk(alg: SignatureAlgorithm, n: number): boolean {
  if (!isComposite(alg)) return n === SIZES[alg].signature;
  const { mldsa, trad } = COMPOSITE[alg];
  const t = n - SIZES[mldsa].signature;
  return t >= TRADITIONAL_SIZES[trad].signatureMin && t <= TRADITIONAL_SIZES[trad].signatureMax;
}

/** Claimed classical security strength λ (bits) of a signature parameter set: 128, 192 or 256. */
export const securityStrength = (alg: SignatureAlgorithm): 128 | 192 | 256 => {
  const c = SIZES[alg].securityCategory;
  return c === 5 ? 256 : c === 3 ? 192 : 128;
};

/** Pre-hash output length in bytes (FIPS 204 §5.4.1: SHAKE-128 → 32, SHAKE-256 → 64). */
export const PREHASH_OUTPUT_BYTES: Record<PreHashAlgorithm, number> = {
  'SHA2-224': 28, 'SHA2-256': 32, 'SHA2-384': 48, 'SHA2-512': 64, 'SHA2-512/224': 28, 'SHA2-512/256': 32,
  'SHA3-224': 28, 'SHA3-256': 32, 'SHA3-384': 48, 'SHA3-512': 64, 'SHAKE-128': 32, 'SHAKE-256': 64,
};

/**
 * Pre-hash policy (the one noble enforces, FIPS 204 §5.4 "should"): the pre-hash must offer at least
 * λ bits of collision resistance, i.e. outputBits / 2 ≥ λ. The backends implement every FIPS pre-hash
 * (so ACVP vectors pass); the service applies this policy before signing.
 *
 * @example prehashMeetsStrength('ML-DSA-65', 'SHA2-256') // false: 128-bit collision resistance < 192
 */
export const prehashMeetsStrength = (alg: SignatureAlgorithm, ph: PreHashAlgorithm): boolean =>
  PREHASH_OUTPUT_BYTES[ph] * 4 >= securityStrength(alg);
