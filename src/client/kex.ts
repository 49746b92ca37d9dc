/**
 * SDK half of pqzk-kex/v1 (docs/PROTOCOL.md): fetch the signed prekey, check its identity key
 * against a pinned one (or trust it on first use, only when asked to), verify its signature and
 * validity window, run the X-Wing handshake with the noble backend, then send API calls through
 * the AEAD envelope with the bearer token inside. The shared protocol code is src/kex/protocol.ts.
 * No `node:` import: runs in Node and in browsers.
 *
 * @example
 *
 * ```ts
 * const s = await client.openSecureSession({ identityKey: pinnedIdentityPublicKey });
 * const { status, body } = await s.call('POST', '/v1/keys/k1/sign', { message: 'aGk' });
 * await s.close();
 * ```
 *
 * @example
 *
 * ZK login: the access token is bound to this session's client key (cnf.skt) and the server
 * accepts it only inside this session.
 *
 * ```ts
 * const s = await client.openSecureSession({ identityKey });
 * const { accessToken } = await client.zk.login('alice', secret, s.clientPublicKey);
 * s.setToken(accessToken);
 * await s.call('GET', '/v1/keys');
 * ```
 */
import createFetchClient from 'openapi-fetch';
import type { paths, components } from './schema.ts';
import { nobleBackend } from '../crypto/noble.ts';
import { base64urlDecode, base64urlEncode, constantTimeEqual } from '../crypto/bytes.ts';
import * as P from '../kex/protocol.ts';

type Problem = components['schemas']['Problem'];

/** How many times one GET follows a `nextSeq` skip (the session moved instance) before failing. */
const MAX_SKIPS = 2;
/** The furthest a 409's `nextSeq` may move the counter (the problem is not authenticated). */
const MAX_SKIP_DISTANCE = 2 ** 32;

/** Options of `client.openSecureSession`: how the server identity is trusted. */
export interface SecureSessionOptions {
  /** The server identity public key (ML-DSA-65, raw bytes or base64url) to pin. */
  identityKey?: Uint8Array | string;
  /**
   * Accept whatever identity the server presents (trust on first use). Only with this set may
   * `identityKey` be omitted; read `session.identity` afterwards and pin it for next time.
   */
  trustOnFirstUse?: boolean;
}

/**
 * The answer to one call inside a session: the inner status and headers, and the body as parsed
 * JSON (or bytes when the inner answer was binary). An error status is returned, not thrown.
 */
export interface SecureResponse { status: number; body: unknown; headers: Record<string, string> }

/** An open session: what `client.openSecureSession` resolves to. */
export interface SecureSession {
  /** The session id the server assigned. */
  readonly sessionId: string;
  /** When the server forgets the session (ISO 8601); calls after it fail. */
  readonly expiresAt: string;
  /** The identity that signed the prekey (pin `publicKey` after a trust-on-first-use session). */
  readonly identity: { keyId: string; version: number; algorithm: 'ML-DSA-65'; publicKey: Uint8Array };
  /**
   * The X-Wing client public key sent in openSession (a copy). Pass it to `client.zk.login` to get an
   * access token bound to this session: the server accepts that token only on this session's calls.
   */
  readonly clientPublicKey: Uint8Array;
  /**
   * The bearer token sent inside this session's calls, overriding the client's token
   * (`undefined` falls back to the client's token again).
   */
  setToken(token: string | undefined): void;
  /** One API call through the envelope, with the client's bearer token inside. Calls are serialised. */
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<SecureResponse>;
  /** Closes the session on the server (its keys are erased there) and wipes the local keys. */
  close(): Promise<void>;
}

/**
 * Thrown when opening, using or closing a session fails: `status` 0 and a fixed message for a
 * check made here (identity pin, prekey signature, key confirmation, sealed response), or the HTTP
 * status and the service's problem when the service refused the outer request.
 */
export class SecureSessionError extends Error {
  /** The HTTP status of the refused outer request, 0 for a failed local check. */
  readonly status: number;
  /** The service's problem+json body, when it sent one. */
  readonly problem: Problem | undefined;
  constructor(message: string, status = 0, problem?: Problem) {
    super(problem ? `${problem.code}: ${problem.detail}` : message);
    this.name = 'SecureSessionError';
    this.status = status;
    this.problem = problem;
  }
}

function fail(res: { error?: unknown; response: Response }, what: string): never {
  const p = res.error as Problem | undefined;
  throw new SecureSessionError(`${what} failed: HTTP ${res.response.status}`, res.response.status, p && typeof p === 'object' && 'code' in p ? p : undefined);
}

/**
 * Opens a secure session (what `client.openSecureSession` calls). The outer requests carry no
 * bearer token: the token (`getToken()` at each call, unless `setToken` overrides it) only travels
 * inside the envelope. Rejects with a SecureSessionError when neither `identityKey` nor
 * `trustOnFirstUse: true` is given, when the identity does not match the pin, or when the prekey
 * or the server's key confirmation does not verify.
 *
 * @example
 *
 * ```ts
 * const s = await openSecureSession('http://127.0.0.1:8080', undefined, () => token, { identityKey });
 * ```
 *
 * @param baseUrl The service URL.
 * @param fetchImpl A fetch implementation, or undefined for the global one.
 * @param getToken The bearer token to send inside each call.
 * @param opts How the server identity is trusted.
 */
export async function openSecureSession(
  baseUrl: string, fetchImpl: typeof globalThis.fetch | undefined, getToken: () => string | undefined, opts: SecureSessionOptions = {},
): Promise<SecureSession> {
  const b = nobleBackend;
  const api = createFetchClient<paths>({ baseUrl: baseUrl.replace(/\/$/, ''), ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  if (opts.identityKey === undefined && opts.trustOnFirstUse !== true) {
    throw new SecureSessionError('pin the server identity (identityKey) or set trustOnFirstUse: true explicitly');
  }
  const pre = await api.GET('/v1/kex/prekey');
  if (!pre.data) fail(pre, 'getPrekey');
  const d = pre.data;
  const prekey: P.Prekey = {
    prekeyId: d.prekeyId, publicKey: base64urlDecode(d.publicKey),
    notBefore: Math.floor(Date.parse(d.notBefore) / 1000), notAfter: Math.floor(Date.parse(d.notAfter) / 1000),
    signature: base64urlDecode(d.signature),
    identity: { keyId: d.identity.keyId, version: d.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlDecode(d.identity.publicKey) },
  };
  if (opts.identityKey !== undefined) {
    const pinned = typeof opts.identityKey === 'string' ? base64urlDecode(opts.identityKey) : opts.identityKey;
    if (!constantTimeEqual(pinned, prekey.identity.publicKey)) throw new SecureSessionError('the server identity key does not match the pinned key');
  }
  try {
    P.verifyPrekey(b, prekey, Math.floor(Date.now() / 1000));
  } catch {
    throw new SecureSessionError('the prekey signature or validity window does not verify');
  }

  const pending = P.clientStart(b, prekey);
  const opened = await api.POST('/v1/kex/sessions', {
    body: {
      prekeyId: pending.hello.prekeyId, ciphertext: base64urlEncode(pending.hello.ciphertext),
      clientPublicKey: base64urlEncode(pending.hello.clientPublicKey), proof: base64urlEncode(pending.hello.proof),
    },
  });
  if (!opened.data) {
    P.clientAbort(pending);
    fail(opened, 'openSession');
  }
  const { sessionId, expiresAt } = opened.data;
  let keys: P.SessionKeys | undefined;
  try {
    keys = P.clientFinish(b, pending, { sessionId, ciphertext: base64urlDecode(opened.data.ciphertext), confirmation: base64urlDecode(opened.data.confirmation) });
  } catch {
    throw new SecureSessionError('the server failed key confirmation');
  }
  const clientPublicKey = pending.hello.clientPublicKey.slice();
  let sessionToken: string | undefined;
  let seq = 0;
  /** The next sequence number: never one used before, even for a refused message (the AES-GCM nonce). */
  const next = () => (seq += 1);
  /**
   * A 409 whose problem names the session's next usable number: move the counter there (bounded:
   * the problem is not authenticated) and say so. Only a GET is then sealed again automatically: a
   * 409 cannot prove that the refused request did not run (its answer may have been lost and the
   * same bytes delivered again to another instance, or the 409 forged on the way), so any other
   * method fails with the 409 and the caller decides (PROTOCOL.md §6.2).
   */
  const skipTo = (res: { error?: unknown; response: Response }): boolean => {
    const p = res.error as Problem | undefined;
    if (res.response.status !== 409 || typeof p?.nextSeq !== 'number' || !Number.isSafeInteger(p.nextSeq)) return false;
    if (p.nextSeq <= seq + 1 || p.nextSeq - seq > MAX_SKIP_DISTANCE) return false;
    seq = p.nextSeq - 1;
    return true;
  };
  let confirmed = false;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
  const live = (): P.SessionKeys => {
    if (!keys) throw new SecureSessionError('the session is closed');
    return keys;
  };

  return {
    sessionId, expiresAt, identity: prekey.identity,
    get clientPublicKey() { return clientPublicKey.slice(); },
    setToken(t) { sessionToken = t; },
    call: (method, path, body) => serial(async () => {
      const k = live();
      const token = sessionToken ?? getToken();
      const inner: P.InnerRequest = {
        method, path, headers: { accept: 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
        ...(body !== undefined ? { body } : {}),
      };
      const plaintext = P.encodeJson(inner);
      for (let attempt = 0; ; attempt++) {
        const mySeq = next();
        const sealed = P.sealEnvelope(b, k, 'request', sessionId, mySeq, plaintext);
        const res = await api.POST('/v1/kex/sessions/{id}/envelope', {
          params: { path: { id: sessionId } },
          body: { seq: mySeq, sealed: base64urlEncode(sealed), ...(confirmed ? {} : { confirmation: base64urlEncode(k.clientConfirmation) }) },
        });
        // The request moved to an instance whose numbers start higher: it did not run; seal it again (§6.2).
        if (!res.data && skipTo(res) && method === 'GET' && attempt < MAX_SKIPS) continue;
        if (!res.data) fail(res, 'sendEnvelope');
        if (res.data.seq !== mySeq) throw new SecureSessionError('the server answered with another sequence number');
        let out: P.InnerResponse;
        try {
          out = P.decodeJson(P.openEnvelope(b, k, 'response', sessionId, mySeq, base64urlDecode(res.data.sealed))) as P.InnerResponse;
        } catch {
          throw new SecureSessionError('the sealed response does not verify');
        }
        confirmed = true;
        return { status: out.status, headers: out.headers ?? {}, body: out.body !== undefined ? out.body : out.bodyBase64 !== undefined ? base64urlDecode(out.bodyBase64) : undefined };
      }
    }),
    close: () => serial(async () => {
      if (!keys) return;
      const k = keys;
      keys = undefined;
      try {
        for (let attempt = 0; ; attempt++) {
          const mySeq = next();
          const sealed = P.sealEnvelope(b, k, 'close', sessionId, mySeq, new Uint8Array(0));
          const res = await api.DELETE('/v1/kex/sessions/{id}', { params: { path: { id: sessionId } }, body: { seq: mySeq, sealed: base64urlEncode(sealed) } });
          // A close may be repeated: a second one of a closed session is a 404, which we take as closed.
          if (!res.data && skipTo(res) && attempt < MAX_SKIPS) continue;
          if (!res.data && attempt > 0 && res.response.status === 404) return;
          if (!res.data) fail(res, 'closeSession');
          return;
        }
      } finally {
        P.wipeKeys(k);
      }
    }),
  };
}
