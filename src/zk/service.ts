/**
 * The zk login service (no fastify): registration, challenges, login and commitment rotation.
 *
 * Login never trusts a client-supplied public signal other than loginTag (the circuit's second
 * output, which the proof itself pins): commitment comes from zk_users, challenge and
 * sessionKeyHash from the challenge row. Every failure after request validation is one generic
 * 401 ("login failed"); an unregistered username runs the same code path as a bad proof (same
 * query, a dummy commitment, a full verification). A challenge is consumed only by a proof that
 * verifies, with one atomic DELETE … RETURNING, so of two concurrent logins with one challenge
 * exactly one gets a token, also across instances on one PostgreSQL; failed attempts change nothing.
 */
import type { Store } from '../store/index.ts';
import { isUniqueViolation } from '../store/index.ts';
import { AppError, CryptoInputError } from '../errors.ts';
import { base64urlDecode, base64urlEncode } from '../crypto/bytes.ts';
import { nativeBackend } from '../crypto/index.ts';
import { publicKeyThumbprint } from '../crypto/thumbprint.ts';
import { formatFieldElement, parseFieldElement, randomFieldElement, rotationBinding, sessionKeyHash } from './poseidon.ts';
import { loginPublicSignals } from './verifier.ts';
import { zkRepo, type ChallengeRow } from './repo.ts';

/** What the service needs from the token service (src/keys/tokens.ts TokenService satisfies it). */
export interface TokenMinter {
  /** Mints an access token for `sub`, bound to `cnf` (a key thumbprint) when given, for `ttl` seconds. */
  mint(sub: string, opts: { cnf?: string | Uint8Array | undefined; ttl?: number | undefined }): Promise<{ token: string; expiresIn: number }>;
}
/** Verifies one proof against server-built signals (the batcher, or a direct verifier in tests). */
export type ProofVerifier = (proof: unknown, publicSignals: bigint[]) => Promise<boolean>;

/** Dependencies and lifetimes (seconds) of a {@link ZkService}. */
export interface ZkServiceOptions {
  store: Store;
  verify: ProofVerifier;
  tokens: TokenMinter;
  challengeTtlSeconds: number;
  tokenTtlSeconds: number;
}

/** Allowed usernames: 1-64 of a-z 0-9 . _ @ + -, starting with a letter or digit. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@+-]{0,63}$/;
/** Session public keys: 16..4096 bytes (room for ML-DSA-87 / SLH-DSA / X-Wing keys). */
export const SESSION_KEY_MIN = 16;
/** Largest accepted session public key, bytes (see {@link SESSION_KEY_MIN}). */
export const SESSION_KEY_MAX = 4096;

/** A login or rotation proof: the challenge it answers, the Groth16 proof, the loginTag public signal. */
export interface LoginRequest {
  challengeId: string;
  proof: unknown;
  loginTag: string;
}
/** Asks for a challenge: exactly one of `sessionPublicKey` (base64url, login) or `newCommitment` (rotation). */
export interface ChallengeRequest {
  username: string;
  sessionPublicKey?: string;
  newCommitment?: string;
}

const loginFailed = (): AppError => new AppError('unauthorized', 'login failed');

/**
 * The zk login flow over the store; proofs are checked by the injected {@link ProofVerifier}.
 *
 * @example
 * const zk = new ZkService({ store, verify, tokens, challengeTtlSeconds: 120, tokenTtlSeconds: 900 });
 * const { challengeId, challenge, sessionKeyHash } = await zk.createChallenge({ username: 'alice', sessionPublicKey });
 */
export class ZkService {
  readonly #o: ZkServiceOptions;

  constructor(opts: ZkServiceOptions) {
    this.#o = opts;
  }

  /**
   * Stores a canonical commitment under a new username.
   *
   * @throws AppError `invalid_input` (bad username or commitment), `conflict` (username taken).
   */
  async register(username: string, commitmentText: string): Promise<{ username: string; commitment: string; createdAt: string }> {
    checkUsername(username);
    const c = formatFieldElement(parseFieldElement(commitmentText, 'commitment'));
    try {
      const row = await zkRepo.insertUser(this.#o.store, username, c);
      return { username, commitment: c, createdAt: row.created_at.toISOString() };
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('conflict', 'username is already registered');
      throw err;
    }
  }

  /**
   * Issues a single-use challenge for any username (existence is not revealed here), bound to a
   * session public key (login) or to a new commitment (rotation).
   *
   * @throws AppError `invalid_input` (bad username, not exactly one binding, bad key size or commitment).
   */
  async createChallenge(req: ChallengeRequest): Promise<{ challengeId: string; challenge: string; sessionKeyHash: string; purpose: 'login' | 'rotate'; expiresAt: string; expiresIn: number }> {
    checkUsername(req.username);
    if ((req.sessionPublicKey === undefined) === (req.newCommitment === undefined)) {
      throw new AppError('invalid_input', 'give exactly one of sessionPublicKey (login) or newCommitment (rotation)', { field: 'body' });
    }
    let purpose: 'login' | 'rotate';
    let skh: bigint;
    let skt: string | null = null;
    let newCommitment: string | null = null;
    if (req.sessionPublicKey !== undefined) {
      let pk: Uint8Array;
      try {
        pk = base64urlDecode(req.sessionPublicKey);
      } catch {
        throw new AppError('invalid_input', 'sessionPublicKey must be base64url', { field: 'body.sessionPublicKey' });
      }
      if (pk.length < SESSION_KEY_MIN || pk.length > SESSION_KEY_MAX) {
        throw new AppError('invalid_input', `sessionPublicKey must be ${SESSION_KEY_MIN}..${SESSION_KEY_MAX} bytes`, { field: 'body.sessionPublicKey' });
      }
      purpose = 'login';
      skh = sessionKeyHash(pk);
      skt = publicKeyThumbprint(pk);
    } else {
      purpose = 'rotate';
      const nc = parseFieldElement(req.newCommitment, 'newCommitment');
      newCommitment = formatFieldElement(nc);
      skh = rotationBinding(nc);
    }
    const challengeId = base64urlEncode(nativeBackend.randomBytes(16));
    const challenge = formatFieldElement(randomFieldElement());
    const { expires_at } = await zkRepo.insertChallenge(this.#o.store, {
      challenge_id: challengeId, username: req.username, purpose, challenge,
      session_key_hash: formatFieldElement(skh), session_key_thumbprint: skt, new_commitment: newCommitment,
    }, this.#o.challengeTtlSeconds);
    return {
      challengeId, challenge, sessionKeyHash: formatFieldElement(skh), purpose,
      expiresAt: expires_at.toISOString(), expiresIn: this.#o.challengeTtlSeconds,
    };
  }

  /** Reads the challenge and verifies the proof; returns the row only if the proof holds. */
  async #check(req: LoginRequest, purpose: 'login' | 'rotate'): Promise<ChallengeRow> {
    const row = await zkRepo.findChallenge(this.#o.store, req.challengeId);
    if (!row || row.purpose !== purpose) throw loginFailed();
    let tag: bigint;
    try {
      tag = parseFieldElement(req.loginTag, 'loginTag');
    } catch (err) {
      if (err instanceof CryptoInputError) throw loginFailed();
      throw err;
    }
    // Unknown user: a random commitment nobody can open, verified like any other (same path, same cost).
    const commitment = row.commitment === null ? randomFieldElement() : parseFieldElement(row.commitment);
    const signals = loginPublicSignals({
      commitment,
      loginTag: tag,
      challenge: parseFieldElement(row.challenge),
      sessionKeyHash: parseFieldElement(row.session_key_hash),
    });
    const ok = await this.#o.verify(req.proof, signals);
    if (!ok || row.commitment === null) throw loginFailed();
    return row;
  }

  /**
   * Verifies the proof, consumes the challenge, issues the access token bound to the session key.
   *
   * @throws AppError `unauthorized` ("login failed") for every failure: unknown/used challenge, bad proof, unknown user.
   */
  async login(req: LoginRequest): Promise<{ accessToken: string; tokenType: 'Bearer'; expiresIn: number }> {
    const row = await this.#check(req, 'login');
    if (!(await zkRepo.consumeChallenge(this.#o.store, row.challenge_id))) throw loginFailed();
    const { token, expiresIn } = await this.#o.tokens.mint(row.username, { cnf: row.session_key_thumbprint ?? undefined, ttl: this.#o.tokenTtlSeconds });
    return { accessToken: token, tokenType: 'Bearer', expiresIn };
  }

  /**
   * Replaces a user's commitment, authorised by a proof of the OLD secret made for a rotation
   * challenge (whose sessionKeyHash slot binds the new commitment). Consuming the challenge and the
   * compare-and-set on the commitment happen in one transaction.
   *
   * @throws AppError `invalid_input` (bad username), `unauthorized` ("login failed") for any other failure.
   */
  async rotate(username: string, req: LoginRequest): Promise<{ username: string; commitment: string; updatedAt: string }> {
    checkUsername(username);
    const row = await this.#check(req, 'rotate');
    if (row.username !== username || row.new_commitment === null || row.commitment === null) throw loginFailed();
    const updated = await this.#o.store.transaction(async (tx) => {
      if (!(await zkRepo.consumeChallenge(tx, row.challenge_id))) return undefined;
      const u = await zkRepo.replaceCommitment(tx, username, row.commitment!, row.new_commitment!);
      if (!u) throw loginFailed(); // rolled back: the commitment changed since the proof was checked
      return u;
    });
    if (!updated) throw loginFailed();
    return { username, commitment: row.new_commitment, updatedAt: updated.updated_at.toISOString() };
  }

  /** Deletes challenges that expired more than a minute ago; resolves to how many were deleted. */
  sweep(): Promise<number> {
    return zkRepo.sweepExpired(this.#o.store);
  }
}

function checkUsername(username: unknown): asserts username is string {
  if (typeof username !== 'string' || !USERNAME_PATTERN.test(username)) {
    throw new AppError('invalid_input', 'username must be 1-64 characters of a-z 0-9 . _ @ + - starting with a letter or digit', { field: 'username' });
  }
}
