/**
 * The SDK: a typed client for the service generated from openapi.yaml (openapi-fetch over
 * src/client/schema.ts), plus the client-side cryptography of each capability.
 * Imports no `node:` module: it runs in Node and in browsers.
 *
 * @example
 * const client = createClient('http://127.0.0.1:8080', { token: process.env.TOKEN });
 * const { data } = await client.api.GET('/v1/algorithms');
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

/** Creates a client for the service at `baseUrl`; `token` is sent as a bearer credential on every call. */
export function createClient(baseUrl: string, options: ClientOptions = {}): PqzkClient {
  let token = options.token;
  const api = createFetchClient<paths>({ baseUrl: baseUrl.replace(/\/$/, ''), ...(options.fetch ? { fetch: options.fetch } : {}) });
  api.use({
    onRequest({ request }) {
      if (token !== undefined) request.headers.set('authorization', `Bearer ${token}`);
      return request;
    },
  });
  return {
    baseUrl,
    api,
    setToken(t) { token = t; },
    health: async () => unwrap(await api.GET('/v1/health')),
    algorithms: async () => unwrap(await api.GET('/v1/algorithms')),
    openSecureSession: (opts) => openSecureSession(baseUrl, options.fetch, () => token, opts),
    keys: keysApi(api, unwrap),
    zk: zkApi(api, unwrap),
    pir: pirApi(api, unwrap),
    // @sdk-impl-end
  };
}
