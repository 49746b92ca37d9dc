/**
 * Access tokens: compact JWS (RFC 7515) JWTs (RFC 7519) signed with the service's ML-DSA-65
 * token key, as RFC 9964 specifies ML-DSA for JOSE: header {alg: "ML-DSA-65", kid, typ: "JWT"},
 * pure ML-DSA over ASCII(header.payload) with the empty context. Public keys are published as
 * AKP JWKs at /.well-known/jwks.json; kid = RFC 7638 thumbprint of the AKP JWK (members alg, kty, pub).
 *
 * Claims: sub (tenant id), iat, exp, jti, and optionally cnf {skt}: the base64url SHA-256 of the
 * raw session public key the token is bound to (RFC 7800 confirmation; filled by the ZK login).
 *
 * Rotation: `rotate()` adds a version; tokens are minted with the newest one at once, and an older
 * kid stays in the JWKS (and verifies) until every token it signed has expired:
 * created_at(next version) + MAX_TTL + LEEWAY.
 *
 * @example
 * const { token } = await ctx.tokens.mint('alice', { cnf: sessionPublicKey });
 * const claims = await ctx.tokens.verify(token); // { sub: 'alice', jti, iat, exp, cnf }
 */
import type { AppContext } from '../context.ts';
import type { AccessTokenVerifier } from '../http/auth.ts';
import { AppError } from '../errors.ts';
import { SIZES } from '../crypto/algorithms.ts';
import type { PreparedVerifyingKey } from '../crypto/backend.ts';
import { base64urlDecode, base64urlEncode } from '../crypto/bytes.ts';
import type { AkpJwk } from '../crypto/encodings.ts';
import { randomId } from '../crypto/hash.ts';
import { jwkThumbprint, publicKeyThumbprint } from '../crypto/thumbprint.ts';
import type { KeyService } from './service.ts';
import { SYSTEM_OWNER } from './owners.ts';
import { SYSTEM_KEY_ALG, TOKEN_KEY } from './system.ts';
import { integrityError } from './integrity.ts';

/** The JOSE `alg` of access tokens (RFC 9964). */
export const TOKEN_ALG = SYSTEM_KEY_ALG;
/** The system key that signs access tokens. */
export const TOKEN_KEY_NAME = TOKEN_KEY;
/** Default and maximum token lifetime (seconds). */
export const DEFAULT_TTL = 900;
export const MAX_TTL = 3600;
/** Clock skew tolerated on exp / iat (seconds). */
export const LEEWAY = 30;
export const SUB_PATTERN = /^[A-Za-z0-9._@:+-]{1,128}$/;
const MAX_TOKEN_CHARS = 8192;

const utf8 = new TextEncoder();

export { jwkThumbprint };
/** The confirmation value binding a token to a session public key: base64url SHA-256 of its raw bytes. */
export const sessionKeyThumbprint = publicKeyThumbprint;

export interface TokenClaims { sub: string; iat: number; exp: number; jti: string; cnf?: { skt: string } }
export interface VerifiedToken { sub: string; jti: string; iat: number; exp: number; cnf?: string | undefined }
export interface MintedToken { token: string; expiresIn: number; expiresAt: number; jti: string; kid: string }
export interface MintOptions {
  /** Session public key (bytes) or its thumbprint (base64url SHA-256, 43 chars). */
  cnf?: Uint8Array | string | undefined;
  /** Lifetime in seconds, 1..MAX_TTL (default DEFAULT_TTL). */
  ttl?: number | undefined;
}

interface KidEntry { kid: string; version: number; publicKey: Uint8Array; notAfter: number; prepared?: PreparedVerifyingKey }

const unauthorized = (detail = 'invalid access token'): AppError => new AppError('unauthorized', detail);

function decodeJson(part: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(base64urlDecode(part)));
  } catch {
    throw unauthorized();
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw unauthorized();
  return v as Record<string, unknown>;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

export class TokenService implements AccessTokenVerifier {
  readonly #ctx: AppContext;
  readonly #keys: KeyService;
  #kids = new Map<string, KidEntry>();
  #latest: KidEntry | undefined;
  #loadedAt = 0;
  #loading: Promise<void> | undefined;
  readonly now: () => number;

  constructor(ctx: AppContext, keys: KeyService, opts: { now?: () => number } = {}) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.now = opts.now ?? Date.now;
  }

  /** Re-reads the token key versions (coalesced: concurrent callers share one query). */
  async #reload(): Promise<void> {
    this.#loading ??= (async () => {
      try {
        // Only versions whose MAC verifies (integrity.ts): a public key swapped in the store names no kid.
        const { versions, dropped } = await this.#keys.intactVersions(SYSTEM_OWNER, TOKEN_KEY_NAME);
        const kids = new Map<string, KidEntry>();
        let latest: KidEntry | undefined;
        versions.forEach((v, i) => {
          const next = versions[i + 1];
          const notAfter = next ? new Date(next.created_at).getTime() + (MAX_TTL + LEEWAY) * 1000 : Number.POSITIVE_INFINITY;
          const e = { kid: jwkThumbprint(TOKEN_ALG, v.public_key), version: v.version, publicKey: v.public_key, notAfter };
          kids.set(e.kid, e);
          latest = e;
        });
        this.#kids = kids;
        // Never mint with an older version because the newest one failed its check.
        this.#latest = latest && !dropped.some((v) => v > latest!.version) ? latest : undefined;
        this.#loadedAt = Date.now();
      } finally {
        this.#loading = undefined;
      }
    })();
    return this.#loading;
  }

  /** The kids a token may name now (also the JWKS content). */
  async #active(forceReload = false): Promise<KidEntry[]> {
    if (forceReload || this.#kids.size === 0 || Date.now() - this.#loadedAt > 60_000) await this.#reload();
    const now = this.now();
    return [...this.#kids.values()].filter((e) => e.notAfter > now);
  }

  /** JWK Set of the token keys (RFC 7517 §5; AKP keys per RFC 9964). */
  async jwks(): Promise<{ keys: Array<AkpJwk & { kid: string; use: 'sig' }> }> {
    const active = await this.#active();
    return { keys: active.reverse().map((e) => ({ kty: 'AKP', alg: TOKEN_ALG, pub: base64urlEncode(e.publicKey), kid: e.kid, use: 'sig' })) };
  }

  /** Issues a token for tenant `sub`, optionally bound to a session key. */
  async mint(sub: string, opts: MintOptions = {}): Promise<MintedToken> {
    if (typeof sub !== 'string' || !SUB_PATTERN.test(sub)) throw new AppError('invalid_input', 'token subject must be 1-128 characters of A-Z a-z 0-9 . _ @ : + -');
    const ttl = opts.ttl ?? DEFAULT_TTL;
    if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TTL) throw new AppError('invalid_input', `token ttl must be 1..${MAX_TTL} seconds`);
    let cnf: string | undefined;
    if (opts.cnf instanceof Uint8Array) cnf = sessionKeyThumbprint(opts.cnf);
    else if (typeof opts.cnf === 'string') {
      if (!/^[A-Za-z0-9_-]{43}$/.test(opts.cnf)) throw new AppError('invalid_input', 'cnf must be a base64url SHA-256 thumbprint (43 characters)');
      cnf = opts.cnf;
    }
    // Always mint with the newest version: read it fresh (another instance may have rotated).
    await this.#reload();
    const key = this.#latest;
    if (!key) throw integrityError();
    const iat = Math.floor(this.now() / 1000);
    const jti = randomId();
    const claims: TokenClaims = { sub, iat, exp: iat + ttl, jti, ...(cnf ? { cnf: { skt: cnf } } : {}) };
    const signingInput = `${base64urlEncode(utf8.encode(JSON.stringify({ alg: TOKEN_ALG, kid: key.kid, typ: 'JWT' })))}.${base64urlEncode(utf8.encode(JSON.stringify(claims)))}`;
    const { signature } = await this.#keys.signRaw(SYSTEM_OWNER, TOKEN_KEY_NAME, utf8.encode(signingInput), undefined, key.version);
    return { token: `${signingInput}.${base64urlEncode(signature)}`, expiresIn: ttl, expiresAt: claims.exp, jti, kid: key.kid };
  }

  /**
   * Verifies a token: exactly alg ML-DSA-65 (never "none" or any other), typ JWT, no `crit`,
   * a kid of an active token key, an ML-DSA-65 signature that verifies, then exp / iat with
   * LEEWAY and a lifetime of at most MAX_TTL. Throws AppError('unauthorized') with fixed messages.
   */
  async verify(token: string): Promise<VerifiedToken> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_CHARS) throw unauthorized();
    const parts = token.split('.');
    if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) throw unauthorized();
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJson(h);
    if (header.alg !== TOKEN_ALG || typeof header.kid !== 'string') throw unauthorized();
    if (Object.keys(header).some((k) => k !== 'alg' && k !== 'kid' && k !== 'typ') || (header.typ !== undefined && header.typ !== 'JWT')) throw unauthorized();
    let key = (await this.#active()).find((e) => e.kid === header.kid);
    // An unknown kid may come from a rotation on another instance: re-read at most once a second.
    if (!key && Date.now() - this.#loadedAt > 1000) key = (await this.#active(true)).find((e) => e.kid === header.kid);
    if (!key) throw unauthorized();
    let signature: Uint8Array;
    try { signature = base64urlDecode(s); } catch { throw unauthorized(); }
    if (signature.length !== SIZES[TOKEN_ALG].signature) throw unauthorized();
    // ~0.1 ms with OpenSSL: cheaper inline than a round trip to the worker pool.
    if (!this.#verifySignature(key, utf8.encode(`${h}.${p}`), signature)) throw unauthorized();
    const c = decodeJson(p);
    if (typeof c.sub !== 'string' || !SUB_PATTERN.test(c.sub) || typeof c.jti !== 'string' || !isInt(c.iat) || !isInt(c.exp)) throw unauthorized();
    const now = Math.floor(this.now() / 1000);
    if (c.exp <= now - LEEWAY) throw unauthorized('access token expired');
    if (c.iat > now + LEEWAY || c.exp <= c.iat || c.exp - c.iat > MAX_TTL) throw unauthorized();
    let cnf: string | undefined;
    if (c.cnf !== undefined) {
      const skt = (c.cnf as { skt?: unknown } | null)?.skt;
      if (typeof skt !== 'string') throw unauthorized();
      cnf = skt;
    }
    return { sub: c.sub, jti: c.jti, iat: c.iat, exp: c.exp, cnf };
  }

  /** Pure ML-DSA-65, empty context, inline (~0.1 ms with OpenSSL): each kid's key is prepared once (importing costs ~1/5 of a verify). */
  #verifySignature(key: KidEntry, message: Uint8Array, signature: Uint8Array): boolean {
    key.prepared ??= this.#ctx.backend.prepareVerifyingKey(TOKEN_ALG, key.publicKey);
    return key.prepared.verify(message, signature);
  }

  /** Adds a token key version; new tokens use it at once, old kids remain until their tokens expire. */
  async rotate(): Promise<void> {
    await this.#keys.rotate(SYSTEM_OWNER, TOKEN_KEY_NAME);
    await this.#reload();
  }
}
