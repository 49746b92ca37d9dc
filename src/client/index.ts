/**
 * The SDK: a typed client for the service generated from openapi.yaml (openapi-fetch over
 * src/client/schema.ts), plus the client-side cryptography of each capability.
 * Imports no `node:` module: it runs in Node and in browsers.
 *
 * @example
 * const client = createClient('http://127.0.0.1:8080', { token: process.env.TOKEN });
 * const { data } = await client.api.GET('/v1/algorithms');
 * // Several instances on one PostgreSQL: requests rotate over them, with failover (see createClient).
 * const cluster = createClient(['http://10.0.0.1:8080', 'http://10.0.0.2:8080'], { token });
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths, components } from './schema.ts';
import { keysApi, type KeysApi } from './keys.ts';
import { openSecureSession, type SecureSession, type SecureSessionOptions } from './kex.ts';
import { zkApi, type ZkApi } from './zk.ts';
import { pirApi, type PirApi } from './pir.ts';

export type { paths, components } from './schema.ts';
export type Problem = components['schemas']['Problem'];

export interface ClientOptions {
  /** Bearer credential sent on every call (admin token or a tenant access token). */
  token?: string | undefined;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof globalThis.fetch;
}

/** Thrown by the SDK helpers when the service answers with a problem+json error. */
export class ServiceError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(`${problem.code}: ${problem.detail}`);
    this.name = 'ServiceError';
    this.status = problem.status;
    this.problem = problem;
  }
}

export interface PqzkClient {
  /** The (first) base URL. */
  readonly baseUrl: string;
  /** Raw typed access to every operation of openapi.yaml. */
  readonly api: Client<paths>;
  /** Replaces the bearer credential used by later calls. */
  setToken(token: string | undefined): void;
  health(): Promise<components['schemas']['Health']>;
  algorithms(): Promise<components['schemas']['AlgorithmList']>;
  /** Opens an encrypted, forward-secret session (X-Wing handshake, src/client/kex.ts). */
  openSecureSession(opts?: SecureSessionOptions): Promise<SecureSession>;
  /** Managed keys and signatures (src/client/keys.ts). */
  keys: KeysApi;
  /** Zero-knowledge login: register, login (Groth16 proof with snarkjs), rotate (src/client/zk.ts). */
  zk: ZkApi;
  /** Private information retrieval: open a database, get(index) privately (src/client/pir.ts). */
  pir: PirApi;
  // @sdk-fields-end (capability SDK members above this line; implement them in src/client/<capability>.ts)
}

/** Unwraps an openapi-fetch result: the data, or a ServiceError carrying the problem. */
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
 */
function rotatingFetch(bases: readonly string[], inner: typeof globalThis.fetch): typeof globalThis.fetch {
  let next = 0;
  // As the Request constructor spells it (default port dropped, host lower-cased).
  const prefix = new Request(bases[0]!).url.replace(/\/$/, '');
  return async (input, init) => {
    const req = new Request(input, init);
    if (!req.url.startsWith(prefix)) return inner(req);
    const rest = req.url.slice(prefix.length);
    const body = req.body ? await req.arrayBuffer() : undefined;
    const first = next++ % bases.length;
    let lastError: unknown;
    for (let i = 0; i < bases.length; i++) {
      try {
        return await inner(new Request(bases[(first + i) % bases.length] + rest, {
          method: req.method, headers: req.headers, body, signal: req.signal, redirect: req.redirect, credentials: req.credentials,
        }));
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
 * Creates a client for the service at `baseUrl`; `token` is sent as a bearer credential on every call.
 * Given several base URLs (instances of one cluster), requests are spread round-robin over them and
 * fail over to the next one on network errors when that is safe (see rotatingFetch); a secure session,
 * a ZK challenge or a PIR database opened through one instance is served by any other.
 */
export function createClient(baseUrl: string | readonly string[], options: ClientOptions = {}): PqzkClient {
  const bases = (typeof baseUrl === 'string' ? [baseUrl] : [...baseUrl]).map((u) => u.replace(/\/$/, ''));
  if (bases.length === 0) throw new TypeError('createClient needs at least one base URL');
  const fetchImpl = bases.length > 1 ? rotatingFetch(bases, options.fetch ?? ((i, o) => globalThis.fetch(i, o))) : options.fetch;
  let token = options.token;
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
    openSecureSession: (opts) => openSecureSession(bases[0]!, fetchImpl, () => token, opts),
    keys: keysApi(api, unwrap),
    zk: zkApi(api, unwrap),
    pir: pirApi(api, unwrap),
    // @sdk-impl-end
  };
}
