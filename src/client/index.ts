/**
 * The SDK entry point. `createClient` returns a typed client for every operation of openapi.yaml
 * (openapi-fetch over the generated src/client/schema.ts) and, per capability, helpers that do the
 * client-side cryptography: managed keys (keys.ts), secure sessions (kex.ts), zero-knowledge login
 * (zk.ts) and private information retrieval (pir.ts). Neither this module nor anything it imports
 * uses a `node:` module (test/architecture/deps.test.ts checks it): it runs in Node and in browsers.
 *
 * @example
 *
 * ```ts
 * const client = createClient('http://127.0.0.1:8080', { token: adminToken });
 * const { data } = await client.api.GET('/v1/algorithms');   // raw typed access
 * const key = await client.keys.create({ name: 'release', algorithm: 'ML-DSA-65' });
 * // Several instances on one PostgreSQL: requests rotate over them, with failover (see createClient).
 * const cluster = createClient(['http://10.0.0.1:8080', 'http://10.0.0.2:8080'], { token });
 * ```
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths, components } from './schema.ts';
import { keysApi, type KeysApi } from './keys.ts';
import { openSecureSession, type SecureSession, type SecureSessionOptions } from './kex.ts';
import { zkApi, type ZkApi } from './zk.ts';
import { pirApi, type PirApi } from './pir.ts';
import { auditApi, type AuditApi } from './audit.ts';

/** The generated contract types: `paths` (one entry per route of openapi.yaml) and `components` (its schemas). */
export type { paths, components } from './schema.ts';
/** An error body (application/problem+json) as the service sends it; switch on its stable `code`. */
export type Problem = components['schemas']['Problem'];

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Bearer credential sent on every call (admin token or a tenant access token). */
  token?: string | undefined;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof globalThis.fetch;
}

/**
 * Thrown by the SDK helpers (and {@link unwrap}) when the service answers with an error status.
 * The message is `<code>: <detail>` of the problem the service sent.
 *
 * @example
 *
 * ```ts
 * try {
 *   await client.keys.get('release');
 * } catch (err) {
 *   if (err instanceof ServiceError && err.status === 404) await client.keys.create({ name: 'release', algorithm: 'ML-DSA-65' });
 *   else throw err;
 * }
 * ```
 */
export class ServiceError extends Error {
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The problem+json body (built from the status line when the service sent none). */
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = 'ServiceError';
    this.status = problem.status;
    this.problem = problem;
  }
}

/** What {@link createClient} returns: raw typed access to every operation, plus one helper object per capability. */
export interface PqzkClient {
  /** The (first) base URL. */
  readonly baseUrl: string;
  /** Raw typed access to every operation of openapi.yaml. */
  readonly api: Client<paths>;
  /** Replaces the bearer credential used by later calls. */
  setToken(token: string | undefined): void;
  /** GET /v1/health: liveness. */
  health(): Promise<components['schemas']['Health']>;
  /** GET /v1/algorithms: the algorithms offered, their sizes and the crypto backend in use. */
  algorithms(): Promise<components['schemas']['AlgorithmList']>;
  /** Opens an encrypted, forward-secret session (X-Wing handshake, src/client/kex.ts). */
  openSecureSession(opts?: SecureSessionOptions): Promise<SecureSession>;
  /** Managed keys and signatures (src/client/keys.ts). */
  keys: KeysApi;
  /** Zero-knowledge login: register, login (Groth16 proof with snarkjs), rotate (src/client/zk.ts). */
  zk: ZkApi;
  /** Private information retrieval: open a database, get(index) privately (src/client/pir.ts). */
  pir: PirApi;
  /** The tamper-evident audit log: verified checkpoints, inclusion and consistency proofs (src/client/audit.ts). */
  audit: AuditApi;
  // @sdk-fields-end (capability SDK members above this line; implement them in src/client/<capability>.ts)
}

/**
 * Unwraps an openapi-fetch result: its data on a 2xx answer, otherwise throws a {@link ServiceError}
 * carrying the problem (for use with `client.api`).
 *
 * @example
 *
 * ```ts
 * const key = unwrap(await client.api.GET('/v1/keys/{name}', { params: { path: { name: 'release' } } }));
 * ```
 */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const e = result.error as Partial<Problem> | undefined;
    throw new ServiceError({
      type: e?.type ?? 'about:blank', title: e?.title ?? result.response.statusText, status: result.response.status,
      code: e?.code ?? 'unknown', detail: e?.detail ?? `HTTP ${result.response.status}`, ...e,
    } as Problem);
  }
  return result.data as T;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * A fetch over several base URLs (instances sharing one PostgreSQL): each request goes to the next
 * URL in turn; when no answer comes back (network error: refused, reset, DNS), it is retried on the
 * other URLs if that cannot repeat an effect: always for idempotent methods, and for POST/PATCH only
 * when the connection was refused (the request never reached a server). HTTP error statuses are
 * answers, never retried. Requests are built against `bases[0]`; only the prefix is swapped.
 * `sticky`: every request goes to the URL that answered last (starting at `start`), the next one only
 * after a network error — what a secure session uses, so its envelopes stay on one instance
 * (PROTOCOL.md §6.2: a move costs a wait, and a non-GET call that moves fails once with 409).
 */
function rotatingFetch(bases: readonly string[], inner: typeof globalThis.fetch, opts: { sticky?: boolean; start?: number } = {}): typeof globalThis.fetch {
  let next = opts.start ?? 0;
  // As the Request constructor spells it (default port dropped, host lower-cased).
  const prefix = new Request(bases[0]!).url.replace(/\/$/, '');
  return async (input, init) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(prefix)) return inner(req);
    const rest = req.url.slice(prefix.length);
    const body = req.body ? await req.arrayBuffer() : undefined;
    const first = opts.sticky ? next % bases.length : next++ % bases.length;
    let lastError: unknown;
    for (let i = 0; i < bases.length; i++) {
      try {
        const res = await inner(new Request(bases[(first + i) % bases.length] + rest, {
          method: req.method, headers: req.headers, body, signal: req.signal, redirect: req.redirect, credentials: req.credentials,
        }));
        if (opts.sticky) next = first + i; // stay where an answer came from
        return res;
      } catch (err) {
        const refused = (err as { cause?: { code?: unknown } })?.cause?.code === 'ECONNREFUSED';
        if (req.signal.aborted || !(IDEMPOTENT.has(req.method) || refused)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  };
}

/**
 * Creates a client for the service at `baseUrl`. `options.token` (later `setToken`) is sent as a
 * bearer credential on every call, except the outer requests of a secure session, where it travels
 * only inside the envelope. Given several base URLs (instances of one cluster), requests are spread
 * round-robin over them and fail over to the next one on network errors when that is safe (see
 * rotatingFetch); a ZK challenge or a PIR database opened through one instance is served by any
 * other; a secure session stays on one instance (round-robin between sessions) and moves only when
 * that instance stops answering. Throws a TypeError for an empty list of URLs.
 *
 * @example
 *
 * ```ts
 * const client = createClient('http://127.0.0.1:8080', { token: adminToken });
 * const { signature } = await client.keys.sign('release', { message: bytes });
 * client.setToken(undefined);   // later calls are anonymous
 * ```
 *
 * @param baseUrl The service URL, or the URLs of several instances sharing one database.
 * @param options The bearer token and a fetch implementation.
 */
export function createClient(baseUrl: string | readonly string[], options: ClientOptions = {}): PqzkClient {
  const bases = (typeof baseUrl === 'string' ? [baseUrl] : [...baseUrl]).map((u) => u.replace(/\/$/, ''));
  if (bases.length === 0) throw new TypeError('createClient needs at least one base URL');
  const fetchImpl = bases.length > 1 ? rotatingFetch(bases, options.fetch ?? ((i, o) => globalThis.fetch(i, o))) : options.fetch;
  let token = options.token;
  let sessions = 0;
  const sessionFetch = () => (bases.length > 1 ? rotatingFetch(bases, options.fetch ?? ((i, o) => globalThis.fetch(i, o)), { sticky: true, start: sessions++ }) : options.fetch);
  const api = createFetchClient<paths>({ baseUrl: bases[0]!, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  api.use({
    onRequest({ request }) {
      if (token !== undefined) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return {
    baseUrl: bases[0]!,
    api,
    setToken(t) { token = t; },
    health: async () => unwrap(await api.GET('/v1/health')),
    algorithms: async () => unwrap(await api.GET('/v1/algorithms')),
    // Sessions are spread over the instances, each one staying on its instance (sticky).
    openSecureSession: (opts) => openSecureSession(bases[0]!, sessionFetch(), () => token, opts),
    keys: keysApi(api, unwrap),
    zk: zkApi(api, unwrap),
    pir: pirApi(api, unwrap),
    audit: auditApi(api, unwrap),
    // @sdk-impl-end
  };
}
