/**
 * The kex capability: signed prekeys, the handshake, the envelope and session lifecycle
 * (docs/PROTOCOL.md). No fastify import: the route layer (routes.ts) hands in the inner-request
 * runner (runner.ts); the handshake's server half runs in worker.ts.
 */
import type { CryptoBackend } from '../crypto/backend.ts';
import { base64urlDecode, base64urlEncode, concatBytes, constantTimeEqual, wipe } from '../crypto/bytes.ts';
import { AppError, DecryptionError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { isForeignKeyViolation } from '../store/index.ts';
import { publicKeyThumbprint } from '../crypto/thumbprint.ts';
import { assertJsonDepth } from '../http/json.ts';
import { SessionQuota } from './quota.ts';
import * as P from './protocol.ts';
import { checkInner, type InnerRunner } from './inner.ts';

export { checkInner, type InnerRunner } from './inner.ts';
import * as repo from './repo.ts';
import { Vault } from './vault.ts';
import { HandshakeClaims } from './claims.ts';
import { Sequencer } from './sequencer.ts';
import { MemorySessionTable, sqlSessionTable, type SessionTable } from './session-table.ts';
import { respond, type RespondInput, type RespondOutput } from './worker.ts';

/** The identity-key service the keys capability attaches to the context (ctx.systemKeys). */
export interface IdentitySigner {
  /** The current identity public key (key id, version, ML-DSA-65 public key). */
  identity(): Promise<P.Identity>;
  /** Signs `message` with the identity key under the optional ML-DSA `context`; rejects when the key is unavailable. */
  signIdentity(message: Uint8Array, context?: Uint8Array): Promise<Uint8Array>;
}

/** Lifetimes, in seconds: prekey rotation period and grace after expiry, session TTL, vault grant-key lifetime. */
export interface KexOptions {
  prekeyRotationSeconds: number;
  prekeyGraceSeconds: number;
  sessionTtlSeconds: number;
  grantKeySeconds: number;
  /** Live sessions one client address prefix may hold on this instance (default 1000). */
  maxSessionsPerAddress?: number;
  /** Live sessions this instance may hold (default 20,000). */
  maxSessions?: number;
  /** Lease of an envelope sequence window, ms (default 2000; docs/PROTOCOL.md §6.2). */
  seqLeaseMs?: number;
}

/** Sequence numbers one reservation of a window covers. */
export const SEQ_WINDOW = 1024;

/** Held sessions whose store rows the sweeper re-checks per tick: its work stays bounded however many are held. */
export const SWEEP_BATCH = 2000;

/** The public prekey as GET /v1/kex/prekey returns it (base64url bytes, ISO 8601 times). */
export interface PrekeyView {
  prekeyId: string; algorithm: 'X-Wing'; publicKey: string; notBefore: string; notAfter: string; signature: string;
  identity: { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: string };
}
/** The client hello of POST /v1/kex/sessions (base64url fields, sizes checked by {@link KexService.openSession}). */
export interface OpenSessionRequest { prekeyId: string; ciphertext: string; clientPublicKey: string; proof: string }
/** The server's handshake answer: the new session id, the server ciphertext and key confirmation, the expiry. */
export interface OpenSessionResponse { sessionId: string; ciphertext: string; confirmation: string; expiresAt: string }
/** One sealed request; `confirmation` (the client key confirmation) is required on a session's first envelope. */
export interface EnvelopeRequest { seq: number; sealed: string; confirmation?: string | undefined }
/** The sealed inner response, under the request's sequence number. */
export interface EnvelopeResponse { seq: number; sealed: string }

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const secondsOf = (d: Date) => Math.floor(d.getTime() / 1000);
const sessionSecretId = (id: string) => `s:${id}`;
const prekeySecretId = (id: string) => `p:${id}`;

function rowToPrekey(r: repo.PrekeyRow): P.Prekey {
  return {
    prekeyId: r.prekey_id, publicKey: r.public_key, notBefore: secondsOf(r.not_before), notAfter: secondsOf(r.not_after), signature: r.signature,
    identity: { keyId: r.identity_key_id, version: r.identity_version, algorithm: 'ML-DSA-65', publicKey: r.identity_public_key },
  };
}

const replayed = (): AppError => new AppError('conflict', 'this handshake was already used (replayed openSession)');

/**
 * The kex capability's state: prekeys, the session-key {@link Vault} and the envelope flow.
 *
 * @example
 * const kex = new KexService({ store, backend, signer, options, registryKey });
 * await kex.start();
 * const prekey = await kex.getPrekey();
 */
export class KexService {
  readonly vault: Vault;
  private readonly store: Store;
  private readonly b: CryptoBackend;
  private readonly signer: IdentitySigner;
  private readonly o: KexOptions;
  private creating: Promise<P.Prekey> | undefined;
  private identityCache: { at: number; id: P.Identity } | undefined;
  /** Public prekey records (immutable), to skip a store read per handshake. */
  private readonly prekeys = new Map<string, P.Prekey>();

  private readonly respond: (input: RespondInput) => Promise<RespondOutput>;
  /** Caps on the sessions this instance opened (per client address prefix and in all). */
  readonly quota: SessionQuota;
  /** Where the sweeper's re-check of held sessions resumes. */
  private sweepCursor = 0;
  /** Handshake claims, group-committed (claims.ts). */
  readonly claims: HandshakeClaims;
  /** Envelope sequence windows (sequencer.ts). */
  readonly seq: Sequencer;
  /** Session bookkeeping: the store's tables, or memory on the embedded store (session-table.ts). */
  readonly sessions: SessionTable;

  /** Whether an inner request may reach (method, path); by default every /v1/ route but kex's own. */
  private readonly envelopeAllowed: (method: string, path: string) => boolean;

  /**
   * `respond` runs the server half of the handshake (the worker pool in the service; inline by default);
   * `envelopeAllowed` refuses routes an envelope must not carry (binary bodies: src/kex/plugin.ts).
   */
  constructor(deps: {
    store: Store; backend: CryptoBackend; signer: IdentitySigner; options: KexOptions; registryKey: Uint8Array; instanceId?: string;
    respond?: (input: RespondInput) => Promise<RespondOutput>; envelopeAllowed?: (method: string, path: string) => boolean;
    /**
     * Where session bookkeeping lives (KEX_SESSION_STATE): `auto` = in memory on the embedded store
     * (one instance by construction), the store's tables on PostgreSQL; `store` = the tables always
     * (tests that share one embedded store between two app instances in a process).
     */
    sessionState?: 'auto' | 'store';
  }) {
    this.envelopeAllowed = deps.envelopeAllowed ?? (() => true);
    this.respond = deps.respond ?? (async (input) => respond(input, { backend: deps.backend }));
    this.store = deps.store;
    this.b = deps.backend;
    this.signer = deps.signer;
    this.o = deps.options;
    this.quota = new SessionQuota({ perPrefix: deps.options.maxSessionsPerAddress ?? 1000, total: deps.options.maxSessions ?? 20_000 });
    this.vault = new Vault({
      store: deps.store, backend: deps.backend, instanceId: deps.instanceId ?? crypto.randomUUID(),
      grantKeySeconds: deps.options.grantKeySeconds, staleSeconds: 30, registryKey: deps.registryKey,
    });
    this.sessions = deps.sessionState === 'store' || deps.store.kind !== 'pglite' ? sqlSessionTable(deps.store) : new MemorySessionTable(deps.store);
    this.claims = new HandshakeClaims(this.sessions);
    this.seq = new Sequencer({ table: this.sessions, instanceId: this.vault.instanceId, leaseMs: deps.options.seqLeaseMs ?? 2000, width: SEQ_WINDOW });
  }

  /** Registers this instance in the vault registry; call once before serving. Rejects on a store error. */
  async start(): Promise<void> {
    await this.vault.register();
  }

  private async identity(): Promise<P.Identity> {
    const now = Date.now();
    if (!this.identityCache || now - this.identityCache.at > 5000) this.identityCache = { at: now, id: await this.signer.identity() };
    return this.identityCache.id;
  }

  /**
   * The newest prekey this instance can serve; makes a new one when due (rotation, identity rotation, none held).
   * Rejects when the identity signer fails or the new prekey does not verify.
   */
  async currentPrekey(): Promise<P.Prekey> {
    const id = await this.identity();
    const now = Math.floor(Date.now() / 1000);
    for (const row of await repo.currentPrekeys(this.store, 0)) {
      const p = rowToPrekey(row);
      if (p.notBefore + this.o.prekeyRotationSeconds <= now) break;
      if (p.identity.keyId !== id.keyId || p.identity.version !== id.version) break;
      if (this.sessions.full(p.prekeyId)) break; // its replay digests filled their memory: rotate early
      if (await this.vault.get(prekeySecretId(p.prekeyId))) return p;
    }
    this.creating ??= this.createPrekey().finally(() => { this.creating = undefined; });
    return this.creating;
  }

  private async createPrekey(): Promise<P.Prekey> {
    const identity = await this.signer.identity();
    this.identityCache = { at: Date.now(), id: identity };
    const kp = this.b.keygen('X-Wing');
    const notBefore = Math.floor(Date.now() / 1000);
    const overlap = Math.min(this.o.prekeyRotationSeconds, 300);
    const unsigned: P.UnsignedPrekey = {
      prekeyId: base64urlEncode(this.b.randomBytes(12)), publicKey: kp.publicKey, notBefore,
      notAfter: notBefore + this.o.prekeyRotationSeconds + overlap, identity,
    };
    const signature = await this.signer.signIdentity(P.prekeySignedMessage(unsigned), P.PREKEY_SIGNATURE_CONTEXT);
    const prekey = { ...unsigned, signature };
    this.prekeys.set(prekey.prekeyId, prekey);
    // The identity may rotate between identity() and signIdentity(): never publish a prekey that does not verify.
    P.verifyPrekey(this.b, prekey, notBefore);
    await repo.insertPrekey(this.store, {
      prekey_id: prekey.prekeyId, public_key: prekey.publicKey, not_before: new Date(notBefore * 1000), not_after: new Date(prekey.notAfter * 1000),
      signature, identity_key_id: identity.keyId, identity_version: identity.version, identity_public_key: identity.publicKey,
    });
    await this.vault.put(prekeySecretId(prekey.prekeyId), kp.secretKey, new Date((prekey.notAfter + this.o.prekeyGraceSeconds) * 1000));
    wipe(kp.secretKey);
    return prekey;
  }

  /** The current prekey, encoded for the wire (see {@link currentPrekey}). */
  async getPrekey(): Promise<PrekeyView> {
    const p = await this.currentPrekey();
    return {
      prekeyId: p.prekeyId, algorithm: 'X-Wing', publicKey: base64urlEncode(p.publicKey), notBefore: iso(p.notBefore), notAfter: iso(p.notAfter),
      signature: base64urlEncode(p.signature),
      identity: { keyId: p.identity.keyId, version: p.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlEncode(p.identity.publicKey) },
    };
  }

  /**
   * Runs the server half of the handshake and stores the new session.
   *
   * @throws AppError `invalid_input` (wrong sizes), `gone` (unknown or expired prekey), `decryption_failed`
   * (any bad handshake), `conflict` (replayed hello), `overloaded` (prekey secret not yet here; retry).
   */
  async openSession(req: OpenSessionRequest, clientPrefix = 'unknown'): Promise<OpenSessionResponse> {
    const hello: P.ClientHello = {
      prekeyId: req.prekeyId,
      ciphertext: base64urlDecode(req.ciphertext),
      clientPublicKey: base64urlDecode(req.clientPublicKey),
      proof: base64urlDecode(req.proof),
    };
    if (hello.ciphertext.length !== P.SIZES.cipherText) throw new AppError('invalid_input', `ciphertext must be ${P.SIZES.cipherText} bytes`, { field: 'body.ciphertext' });
    if (hello.clientPublicKey.length !== P.SIZES.publicKey) throw new AppError('invalid_input', `clientPublicKey must be ${P.SIZES.publicKey} bytes`, { field: 'body.clientPublicKey' });
    if (hello.proof.length !== P.SIZES.proof) throw new AppError('invalid_input', `proof must be ${P.SIZES.proof} bytes`, { field: 'body.proof' });
    let prekey = this.prekeys.get(req.prekeyId);
    if (!prekey) {
      const row = await repo.findPrekey(this.store, req.prekeyId);
      if (row) this.prekeys.set(req.prekeyId, prekey = rowToPrekey(row));
    }
    const gone = () => new AppError('gone', 'unknown or expired prekeyId; fetch GET /v1/kex/prekey again');
    if (!prekey || prekey.notAfter * 1000 <= Date.now()) throw gone();
    const secret = await this.vault.get(prekeySecretId(req.prekeyId));
    if (!secret) throw new AppError('overloaded', 'this prekey is not yet available on this instance; retry', { retryAfter: 1 });
    const digest = this.b.hash('SHA-256', concatBytes(P.lp(req.prekeyId), P.lp(hello.ciphertext)));
    const sessionId = base64urlEncode(this.b.randomBytes(16));
    // Whole seconds (PROTOCOL.md §1: times are RFC 3339 without fractions).
    const expiresAt = new Date(Math.ceil((Date.now() + this.o.sessionTtlSeconds * 1000) / 1000) * 1000);
    const claim = { digest, prekeyId: req.prekeyId, sessionId, expiresAt, clientKeyThumbprint: publicKeyThumbprint(hello.clientPublicKey) };
    // Only the per-prefix cap before any work; making room (eviction) only for a hello that proved itself.
    this.quota.check(clientPrefix);
    // The replay guard comes before any KEM operation: the digest's primary key decides across instances.
    let claimed: Awaited<ReturnType<HandshakeClaims['claim']>>;
    try {
      claimed = await this.claims.claim(claim);
    } catch (err) {
      if (isForeignKeyViolation(err)) throw gone(); // the prekey was retired meanwhile
      throw err;
    }
    if (claimed === 'busy') throw new AppError('overloaded', 'a handshake with this hello is still running; retry', { retryAfter: 1 });
    if (claimed === 'replay') throw replayed();
    let result: RespondOutput;
    try {
      result = await this.respond({ prekey, prekeySecret: secret.slice(), hello, sessionId });
    } catch (err) {
      // A refused hello changes nothing: its claim is undone.
      await this.claims.unclaim(claim);
      // Whatever part of the client's message was wrong, one fixed answer; a full pool stays a 503.
      if (err instanceof AppError && err.status < 500) throw new AppError('decryption_failed', 'handshake failed');
      throw err;
    }
    let evicted: string | undefined;
    try {
      evicted = this.quota.admit(clientPrefix);
    } catch (err) {
      wipe(result.packedKeys);
      await this.claims.unclaim(claim);
      throw err;
    }
    if (evicted !== undefined) await this.evict(evicted);
    this.claims.settle(claim);
    const packed = result.packedKeys;
    const confirmation = P.packedField(packed, 'serverConfirmation');
    try {
      await this.vault.put(sessionSecretId(sessionId), packed, expiresAt);
    } finally {
      wipe(packed);
    }
    this.quota.add(sessionId, clientPrefix, expiresAt.getTime());
    return { sessionId, ciphertext: base64urlEncode(result.ciphertext), confirmation: base64urlEncode(confirmation), expiresAt: expiresAt.toISOString().replace('.000Z', 'Z') };
  }

  /**
   * The session's keys. Fast path: keys held in memory (the sequencer then decides on the number).
   * Otherwise the row is read first, so unknown sessions cost no crypto.
   */
  private async session(sessionId: string): Promise<P.SessionKeys> {
    if (!SESSION_ID.test(sessionId)) throw new AppError('not_found', 'unknown or expired session');
    const secretId = sessionSecretId(sessionId);
    if (!this.vault.has(secretId) && !await this.sessions.exists(sessionId)) throw new AppError('not_found', 'unknown or expired session');
    const packed = await this.vault.get(secretId);
    if (!packed) {
      // Keys past their expiry were just dropped: an expired session is a 404, not a retry.
      if (!await this.sessions.exists(sessionId)) throw new AppError('not_found', 'unknown or expired session');
      throw new AppError('overloaded', 'session keys are not yet available on this instance; retry', { retryAfter: 1 });
    }
    return P.unpackKeys(packed);
  }

  /** A session the sequencer found gone (closed or expired elsewhere): this instance drops its keys too. */
  private forgetOnNotFound(sessionId: string) {
    return (err: unknown): never => { if (err instanceof AppError && err.code === 'not_found') this.vault.drop([sessionSecretId(sessionId)]); throw err; };
  }

  /**
   * Opens, checks and runs one envelope; answers with the sealed inner response under the same sequence number.
   *
   * @throws AppError `not_found` (unknown or expired session), `conflict` with `nextSeq` (replayed, reordered
   * or skipped seq), `decryption_failed` (bad seal or confirmation), `invalid_input` (bad inner request or
   * missing first confirmation), `forbidden` (inner route not allowed), `overloaded` (keys not yet on this
   * instance, or another instance's sequence lease; retry).
   */
  async sendEnvelope(sessionId: string, req: EnvelopeRequest, run: InnerRunner): Promise<EnvelopeResponse> {
    const keys = await this.session(sessionId);
    try {
      // A confirmation, when present, must be right; whether one is required is decided by the sequencer.
      if (req.confirmation !== undefined && !constantTimeEqual(base64urlDecode(req.confirmation), keys.clientConfirmation)) throw new DecryptionError();
      const plaintext = P.openEnvelope(this.b, keys, 'request', sessionId, req.seq, base64urlDecode(req.sealed));
      let text: string;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext); } catch { throw new AppError('invalid_input', 'inner request is not UTF-8 JSON'); }
      assertJsonDepth(text, 'inner');
      let parsed: unknown;
      try { parsed = JSON.parse(text); } catch { throw new AppError('invalid_input', 'inner request is not UTF-8 JSON'); }
      const inner = checkInner(parsed);
      if (!this.envelopeAllowed(inner.method, inner.path.split('?')[0]!)) {
        throw new AppError('forbidden', 'this route takes or returns binary data and cannot be called through an envelope; it is public: call it directly');
      }
      const binding = await this.seq.accept(sessionId, req.seq, req.confirmation !== undefined).catch(this.forgetOnNotFound(sessionId));
      const response = await run(inner, binding);
      return { seq: req.seq, sealed: base64urlEncode(P.sealEnvelope(this.b, keys, 'response', sessionId, req.seq, response)) };
    } finally {
      P.wipeKeys(keys);
    }
  }

  /**
   * Closes a session (a sealed, empty 'close' message) and erases its keys.
   *
   * @throws AppError `not_found`, `conflict` with `nextSeq` (replayed seq), `decryption_failed`,
   * `invalid_input` (non-empty plaintext), `overloaded` (another instance's sequence lease; retry).
   */
  async closeSession(sessionId: string, req: { seq: number; sealed: string }): Promise<void> {
    const keys = await this.session(sessionId);
    try {
      const plaintext = P.openEnvelope(this.b, keys, 'close', sessionId, req.seq, base64urlDecode(req.sealed));
      if (plaintext.length !== 0) throw new AppError('invalid_input', 'a close message has an empty plaintext');
    } finally {
      P.wipeKeys(keys);
    }
    try {
      await this.seq.close(sessionId, req.seq);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') await this.erase([sessionSecretId(sessionId)]);
      throw err;
    }
    this.quota.remove(sessionId);
    await this.erase([sessionSecretId(sessionId)]);
  }

  /** Ends a live session to make room (SessionQuota): its row and its keys, on every instance through the grants. */
  private async evict(sessionId: string): Promise<void> {
    await this.sessions.remove(sessionId, 0, { me: this.vault.instanceId, force: true }); // whatever any lease says
    await this.erase([sessionSecretId(sessionId)]);
  }

  private async erase(secretIds: string[]): Promise<void> {
    for (const id of secretIds) if (id.startsWith('s:')) this.seq.forget(id.slice(2));
    this.vault.drop(secretIds);
    await repo.deleteGrants(this.store, secretIds);
  }

  /** Sweeper: expired sessions, sessions closed on other instances, retired prekeys, grant keys. */
  async maintain(): Promise<void> {
    this.quota.expire();
    const expired = await this.sessions.removeExpired(SWEEP_BATCH);
    await this.erase(expired.map(sessionSecretId));
    // Sessions closed or expired on another instance: re-check a bounded slice of the held ones per tick.
    const allHeld = this.vault.ids('s:');
    if (this.sweepCursor >= allHeld.length) this.sweepCursor = 0;
    const held = allHeld.slice(this.sweepCursor, this.sweepCursor + SWEEP_BATCH).map((s) => s.slice(2));
    this.sweepCursor += SWEEP_BATCH;
    const alive = await this.sessions.existing(held);
    this.vault.drop(held.filter((id) => !alive.has(id)).map(sessionSecretId));
    this.seq.sweep((id) => this.vault.has(sessionSecretId(id)));
    for (const [id, p] of this.prekeys) if ((p.notAfter + this.o.prekeyGraceSeconds) * 1000 <= Date.now()) this.prekeys.delete(id);
    const retired = await repo.deleteRetiredPrekeys(this.store, this.o.prekeyGraceSeconds);
    this.sessions.prekeysRetired(retired);
    for (const id of retired) this.prekeys.delete(id);
    await this.erase(retired.map(prekeySecretId));
    await repo.deleteExpiredGrants(this.store);
    await repo.deleteStaleInstances(this.store, 30);
    await this.vault.maintain();
  }

  /** Closes the vault (drops held keys, deregisters this instance). */
  async close(): Promise<void> {
    await this.vault.close();
  }
}
