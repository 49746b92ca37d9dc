/**
 * pqzk-kex/v1: the hybrid X-Wing handshake and the encrypted envelope (docs/PROTOCOL.md).
 * Pure module, shared by the server (native backend) and the SDK (noble backend): no `node:` import.
 *
 *   client                                              server (identity sk_id, prekey sk_P)
 *   verify Sig(sk_id, prekey) against the pinned key
 *   (pk_C, sk_C) = X-Wing.KeyGen()  (ephemeral: a backend handle, see clientStart)
 *   (ct1, ss1)   = X-Wing.Encaps(pk_P)
 *   T1 = transcript prefix; proof = early proof(ss1, T1)
 *                 ── {prekeyId, ct1, pk_C, proof} ──▶  ss1 = Decaps(sk_P, ct1); check proof
 *                                                      (ct2, ss2) = X-Wing.Encaps(pk_C)
 *                                                      T = T1 ‖ sessionId ‖ ct2; keys = HKDF(ss1‖ss2, SHA-512(T))
 *                 ◀── {sessionId, ct2, server confirmation} ──
 *   ss2 = Decaps(sk_C, ct2); erase sk_C; check confirmation
 *   first envelope carries the client confirmation
 *
 * Every secret leaves these functions in a fresh buffer the caller owns and should `wipe()`.
 */
import type { CryptoBackend, PreparedDecapsulationKey, PreparedEncapsulationKey } from '../crypto/backend.ts';
import { concatBytes, constantTimeEqual, lp, u64, wipe } from '../crypto/bytes.ts';
import { CryptoInputError, DecryptionError } from '../errors.ts';

/** The slice of the crypto backend the protocol uses (client and server halves). */
export type KexBackend = Pick<CryptoBackend,
  'encapsulate' | 'decapsulate' | 'prepareDecapsulationKey' | 'generateDecapsulationKey' | 'prepareEncapsulationKey'
  | 'hash' | 'hkdf' | 'hmac' | 'aeadSeal' | 'aeadOpen' | 'randomBytes' | 'verify'>;

const enc = new TextEncoder();
function utf8(s: string): Uint8Array { return enc.encode(s); }

/** Protocol label: the first field of every domain-separated input (signatures, KDF, AAD). */
export const PROTOCOL = 'pqzk-kex/v1';
/** The KEM of prekeys and client ephemeral keys. */
export const KEM = 'X-Wing';
/** The signature algorithm of the identity key that signs prekeys. */
export const IDENTITY_ALGORITHM = 'ML-DSA-65';
/** The envelope AEAD. */
export const AEAD = 'AES-256-GCM';
/** FIPS 204 context string of the prekey signature. */
export const PREKEY_SIGNATURE_CONTEXT = utf8(`${PROTOCOL} prekey`);
/** Wire sizes in bytes: X-Wing public key and ciphertext, shared secret, early proof, confirmation, AEAD key, IV and tag. */
export const SIZES = { publicKey: 1216, cipherText: 1120, sharedSecret: 32, proof: 32, confirmation: 32, key: 32, iv: 12, tag: 16 } as const;
/** Largest sequence number (2^53 − 1: exact in JSON numbers). */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;


/** Length-prefix and big-endian u64 encoders (re-exported from crypto/bytes.ts for SDKs and tests). */
export { lp, u64 };

/** lp(f[0]) ‖ lp(f[1]) ‖ … written into one allocation (the transcripts are ~9 KB: one copy, not two). */
function fields(...f: (Uint8Array | string)[]): Uint8Array {
  const parts = f.map((x) => (typeof x === 'string' ? utf8(x) : x));
  let len = 0;
  for (const p of parts) len += 4 + p.length;
  const out = new Uint8Array(len);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const p of parts) {
    view.setUint32(off, p.length);
    out.set(p, off + 4);
    off += 4 + p.length;
  }
  return out;
}

/** The identity public key a prekey is signed under. */
export interface Identity { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array }

/** A signed prekey (the public record; its secret is in the vault). */
export interface Prekey {
  prekeyId: string;
  publicKey: Uint8Array;
  /** Unix seconds. */
  notBefore: number;
  notAfter: number;
  signature: Uint8Array;
  identity: Identity;
}

/** A prekey before signing (the input of {@link prekeySignedMessage}). */
export type UnsignedPrekey = Omit<Prekey, 'signature'>;

/** PROTOCOL.md §3: the bytes the identity key signs (context PREKEY_SIGNATURE_CONTEXT). */
export function prekeySignedMessage(p: UnsignedPrekey): Uint8Array {
  return fields(`${PROTOCOL} prekey`, p.prekeyId, KEM, p.publicKey, u64(p.notBefore), u64(p.notAfter),
    p.identity.algorithm, p.identity.keyId, u64(p.identity.version), p.identity.publicKey);
}

/**
 * Checks the prekey signature and validity window; throws CryptoInputError otherwise.
 * The caller decides whether `identity.publicKey` is trusted (pinning), see the SDK.
 */
export function verifyPrekey(b: KexBackend, p: Prekey, nowSeconds: number): void {
  if (p.identity.algorithm !== IDENTITY_ALGORITHM) throw new CryptoInputError('unsupported identity algorithm');
  if (p.publicKey.length !== SIZES.publicKey) throw new CryptoInputError('prekey has the wrong length');
  if (!b.verify(IDENTITY_ALGORITHM, p.identity.publicKey, prekeySignedMessage(p), p.signature, { context: PREKEY_SIGNATURE_CONTEXT })) {
    throw new CryptoInputError('prekey signature verification failed');
  }
  if (nowSeconds < p.notBefore - 300 || nowSeconds > p.notAfter) throw new CryptoInputError('prekey is outside its validity window');
}

/** PROTOCOL.md §4: T1, the transcript up to the client's message. */
export function transcriptPrefix(p: Prekey, clientPublicKey: Uint8Array, ct1: Uint8Array): Uint8Array {
  return fields(`${PROTOCOL} transcript`, p.identity.algorithm, p.identity.keyId, u64(p.identity.version), p.identity.publicKey,
    p.prekeyId, KEM, p.publicKey, u64(p.notBefore), u64(p.notAfter), p.signature, clientPublicKey, ct1);
}

/** T = T1 ‖ lp(sessionId) ‖ lp(ct2). */
export function transcriptFull(t1: Uint8Array, sessionId: string, ct2: Uint8Array): Uint8Array {
  return concatBytes(t1, lp(sessionId), lp(ct2));
}

const hkdfInfo = (label: string) => fields(PROTOCOL, label);

/** Proof that the client holds ss1 (lets the server refuse a ciphertext made for another prekey). */
export function earlyProof(b: KexBackend, ss1: Uint8Array, th1: Uint8Array): Uint8Array {
  const k = b.hkdf('SHA-512', ss1, th1, hkdfInfo('early proof key'), 32);
  const tag = b.hmac('SHA-256', k, concatBytes(lp(`${PROTOCOL} early proof`), th1));
  wipe(k);
  return tag;
}

/** Per-session keys: one AES-256-GCM key and IV per direction, and both key confirmations. */
export interface SessionKeys {
  c2sKey: Uint8Array;
  s2cKey: Uint8Array;
  c2sIv: Uint8Array;
  s2cIv: Uint8Array;
  serverConfirmation: Uint8Array;
  clientConfirmation: Uint8Array;
}

/** PROTOCOL.md §5: OKM = HKDF-SHA-512(IKM = ss1 ‖ ss2, salt = TH, info = lp(PROTOCOL) ‖ lp("session keys"), 152). */
export function deriveSessionKeys(b: KexBackend, ss1: Uint8Array, ss2: Uint8Array, th: Uint8Array): SessionKeys {
  const ikm = concatBytes(ss1, ss2);
  const okm = b.hkdf('SHA-512', ikm, th, hkdfInfo('session keys'), 152);
  const kcServer = okm.slice(88, 120);
  const kcClient = okm.slice(120, 152);
  const keys: SessionKeys = {
    c2sKey: okm.slice(0, 32),
    s2cKey: okm.slice(32, 64),
    c2sIv: okm.slice(64, 76),
    s2cIv: okm.slice(76, 88),
    serverConfirmation: b.hmac('SHA-256', kcServer, concatBytes(lp(`${PROTOCOL} server confirm`), th)),
    clientConfirmation: b.hmac('SHA-256', kcClient, concatBytes(lp(`${PROTOCOL} client confirm`), th)),
  };
  wipe(ikm, okm, kcServer, kcClient);
  return keys;
}

/** Byte ranges of each key in the 152-byte packed form of SessionKeys (packKeys). */
const PACKED_LAYOUT = {
  c2sKey: [0, 32], s2cKey: [32, 64], c2sIv: [64, 76], s2cIv: [76, 88], serverConfirmation: [88, 120], clientConfirmation: [120, 152],
} as const satisfies Record<keyof SessionKeys, readonly [number, number]>;
/** Length of the packed form of {@link SessionKeys}. */
export const PACKED_KEYS_BYTES = 152;

/** The 152-byte packed form of SessionKeys, the unit the server hands between its instances. */
export function packKeys(k: SessionKeys): Uint8Array {
  return concatBytes(k.c2sKey, k.s2cKey, k.c2sIv, k.s2cIv, k.serverConfirmation, k.clientConfirmation);
}

/** One key (a copy) out of the packed form. */
export const packedField = (p: Uint8Array, name: keyof SessionKeys): Uint8Array => p.slice(...PACKED_LAYOUT[name]);

/** Splits the packed form into fresh copies of the keys. Throws CryptoInputError on a wrong length. */
export function unpackKeys(p: Uint8Array): SessionKeys {
  if (p.length !== PACKED_KEYS_BYTES) throw new CryptoInputError('packed session keys have the wrong length');
  const keys = {} as SessionKeys;
  for (const name of Object.keys(PACKED_LAYOUT) as Array<keyof SessionKeys>) keys[name] = packedField(p, name);
  return keys;
}
/** Zeroes every key in place (no-op for undefined). */
export function wipeKeys(k: SessionKeys | undefined): void {
  if (k) wipe(k.c2sKey, k.s2cKey, k.c2sIv, k.s2cIv, k.serverConfirmation, k.clientConfirmation);
}

// ---------------------------------------------------------------- handshake, client side

/** Step 1's message (client to server): prekey id, X-Wing ciphertext ct1, client ephemeral public key, early proof. */
export interface ClientHello { prekeyId: string; ciphertext: Uint8Array; clientPublicKey: Uint8Array; proof: Uint8Array }
/**
 * Client state between steps 1 and 3 (holds secrets: {@link clientFinish} or {@link clientAbort}
 * erases them). `clientKey` is the ephemeral X-Wing decapsulation key as a backend handle.
 */
export interface ClientPending { prekey: Prekey; t1: Uint8Array; ss1: Uint8Array; clientKey: PreparedDecapsulationKey; hello: ClientHello }
/** Explicit randomness, for the test vector only. */
export interface ClientRandomness { clientSeed: Uint8Array; encapsSeed: Uint8Array }

/** How many prekeys' prepared encapsulation keys a client keeps per backend (current, overlap, grace). */
export const PREKEY_ENCAPSULATION_CACHE_MAX = 8;
const encapsulationKeys = new WeakMap<KexBackend, Map<string, PreparedEncapsulationKey>>();

/**
 * The prekey's public key checked and imported once per backend and prekey id (native: ML-KEM and
 * X25519 KeyObjects, the FIPS 203 §7.2 check done once), reused by later handshakes to the same
 * prekey. Public data only; an entry is used only when its key equals `prekey.publicKey` byte for
 * byte, so a reused id or a changed key is prepared afresh.
 */
function prekeyEncapsulationKey(b: KexBackend, prekey: Prekey): PreparedEncapsulationKey {
  let cache = encapsulationKeys.get(b);
  if (!cache) encapsulationKeys.set(b, (cache = new Map()));
  const hit = cache.get(prekey.prekeyId);
  cache.delete(prekey.prekeyId);
  const key = hit && constantTimeEqual(hit.publicKey, prekey.publicKey) ? hit : b.prepareEncapsulationKey(KEM, prekey.publicKey);
  while (cache.size >= PREKEY_ENCAPSULATION_CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(prekey.prekeyId, key); // most recently used at the back
  return key;
}

/**
 * Step 1 (client): ephemeral key pair, encapsulation to the (already verified) prekey, early proof.
 * Without `rand` the ephemeral key is `generateDecapsulationKey` (never leaves the backend; on
 * native its ML-KEM and X25519 halves come from independent randomness, PROTOCOL.md §2) and the
 * prekey's encapsulation key is cached per prekey id. With `rand` (the test vector) the key is
 * expanded from `clientSeed` as in the X-Wing draft and ct1 uses `encapsSeed`.
 */
export function clientStart(b: KexBackend, prekey: Prekey, rand?: ClientRandomness): ClientPending {
  const eph = rand ? b.prepareDecapsulationKey(KEM, rand.clientSeed) : b.generateDecapsulationKey(KEM);
  let ss1: Uint8Array | undefined;
  try {
    const e = rand ? b.encapsulate(KEM, prekey.publicKey, rand.encapsSeed) : prekeyEncapsulationKey(b, prekey).encapsulate();
    ss1 = e.sharedSecret;
    const ct1 = e.cipherText;
    const t1 = transcriptPrefix(prekey, eph.publicKey, ct1);
    const th1 = b.hash('SHA-512', t1);
    const proof = earlyProof(b, ss1, th1);
    return { prekey, t1, ss1, clientKey: eph, hello: { prekeyId: prekey.prekeyId, ciphertext: ct1, clientPublicKey: eph.publicKey.slice(), proof } };
  } catch (e) {
    wipe(ss1);
    eph.destroy();
    throw e;
  }
}

/** Erases a pending handshake that will not be finished (the server refused it, the request failed). */
export function clientAbort(pending: ClientPending): void {
  wipe(pending.ss1);
  pending.clientKey.destroy();
}

/** Step 2's message (server to client): session id, ciphertext ct2, server key confirmation. */
export interface ServerHello { sessionId: string; ciphertext: Uint8Array; confirmation: Uint8Array }

/**
 * Step 3 (client): decapsulates ct2, erases the ephemeral secret and ss1/ss2, checks the server
 * confirmation. Throws DecryptionError (fixed message) when the server's answer does not match.
 */
export function clientFinish(b: KexBackend, pending: ClientPending, reply: ServerHello): SessionKeys {
  let ss2: Uint8Array | undefined;
  try {
    if (reply.ciphertext.length !== SIZES.cipherText) throw new DecryptionError();
    ss2 = pending.clientKey.decapsulate(reply.ciphertext);
    const th = b.hash('SHA-512', transcriptFull(pending.t1, reply.sessionId, reply.ciphertext));
    const keys = deriveSessionKeys(b, pending.ss1, ss2, th);
    if (!constantTimeEqual(keys.serverConfirmation, reply.confirmation)) {
      wipeKeys(keys);
      throw new DecryptionError();
    }
    return keys;
  } finally {
    wipe(ss2);
    clientAbort(pending);
  }
}

// ---------------------------------------------------------------- handshake, server side

/** What {@link serverRespond} returns: ct2 for the client and the derived session keys. */
export interface ServerResult { ciphertext: Uint8Array; keys: SessionKeys }

/**
 * Step 2 (server): decapsulates ct1 with the prekey secret, checks the early proof (a ciphertext
 * made for another prekey fails here, before any state), encapsulates to the client key, derives keys.
 * Throws DecryptionError when the proof does not verify. `prekeySecret` is the prekey's 32-byte
 * X-Wing seed or its prepared decapsulation key (the worker keeps one per prekey).
 */
export function serverRespond(
  b: KexBackend, prekey: Prekey, prekeySecret: Uint8Array | Pick<PreparedDecapsulationKey, 'decapsulate'>, hello: ClientHello, sessionId: string, encapsSeed?: Uint8Array,
): ServerResult {
  if (hello.ciphertext.length !== SIZES.cipherText || hello.clientPublicKey.length !== SIZES.publicKey || hello.proof.length !== SIZES.proof) {
    throw new CryptoInputError('handshake field has the wrong length');
  }
  const ss1 = prekeySecret instanceof Uint8Array ? b.decapsulate(KEM, hello.ciphertext, prekeySecret) : prekeySecret.decapsulate(hello.ciphertext);
  let ss2: Uint8Array | undefined;
  try {
    const t1 = transcriptPrefix(prekey, hello.clientPublicKey, hello.ciphertext);
    const expected = earlyProof(b, ss1, b.hash('SHA-512', t1));
    if (!constantTimeEqual(expected, hello.proof)) throw new DecryptionError();
    const e = b.encapsulate(KEM, hello.clientPublicKey, encapsSeed);
    ss2 = e.sharedSecret;
    const th = b.hash('SHA-512', transcriptFull(t1, sessionId, e.cipherText));
    return { ciphertext: e.cipherText, keys: deriveSessionKeys(b, ss1, ss2, th) };
  } finally {
    wipe(ss1, ss2);
  }
}

// ---------------------------------------------------------------- envelope

/** c2s = client to server (requests, close), s2c = server to client (responses). */
export type Direction = 'c2s' | 's2c';
/** Which message an envelope is; bound into the AAD and selecting the direction's key. */
export type EnvelopeKind = 'request' | 'response' | 'close';

/** nonce = iv XOR (0^32 ‖ u64be(seq)), TLS 1.3 style (RFC 8446 §5.3). */
export function envelopeNonce(iv: Uint8Array, seq: number): Uint8Array {
  const n = iv.slice();
  const s = u64(seq);
  for (let i = 0; i < 8; i++) n[4 + i]! ^= s[i]!;
  return n;
}

/** AAD of an envelope: lp(PROTOCOL envelope) ‖ lp(kind) ‖ lp(sessionId) ‖ lp(u64be(seq)). */
export function envelopeAad(kind: EnvelopeKind, sessionId: string, seq: number): Uint8Array {
  return fields(`${PROTOCOL} envelope`, kind, sessionId, u64(seq));
}

const direction = (kind: EnvelopeKind): Direction => (kind === 'response' ? 's2c' : 'c2s');

function keyFor(keys: SessionKeys, kind: EnvelopeKind): { key: Uint8Array; iv: Uint8Array } {
  return direction(kind) === 'c2s' ? { key: keys.c2sKey, iv: keys.c2sIv } : { key: keys.s2cKey, iv: keys.s2cIv };
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) throw new CryptoInputError('sequence number out of range');
}

/** AES-256-GCM under the direction's key; the sequence number is in the nonce and the AAD. */
export function sealEnvelope(b: KexBackend, keys: SessionKeys, kind: EnvelopeKind, sessionId: string, seq: number, plaintext: Uint8Array): Uint8Array {
  checkSeq(seq);
  const { key, iv } = keyFor(keys, kind);
  return b.aeadSeal(AEAD, key, envelopeNonce(iv, seq), plaintext, envelopeAad(kind, sessionId, seq));
}

/** Throws DecryptionError (fixed message) on any tampering, truncation or wrong seq/kind/session. */
export function openEnvelope(b: KexBackend, keys: SessionKeys, kind: EnvelopeKind, sessionId: string, seq: number, sealed: Uint8Array): Uint8Array {
  checkSeq(seq);
  if (sealed.length < SIZES.tag) throw new DecryptionError();
  const { key, iv } = keyFor(keys, kind);
  return b.aeadOpen(AEAD, key, envelopeNonce(iv, seq), sealed, envelopeAad(kind, sessionId, seq));
}

/** Inner request (JSON, UTF-8), PROTOCOL.md §6. */
export interface InnerRequest { method: string; path: string; headers?: Record<string, string>; body?: unknown }
/** Inner response: `body` when the route answered JSON, `bodyBase64` (base64url) otherwise. */
export interface InnerResponse { status: number; headers: Record<string, string>; body?: unknown; bodyBase64?: string }

/** UTF-8 JSON bytes of a value (inner requests and responses). */
export const encodeJson = (v: unknown): Uint8Array => utf8(JSON.stringify(v));
/** Parses UTF-8 JSON bytes; throws on invalid UTF-8 or JSON. */
export const decodeJson = (b: Uint8Array): unknown => JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));
