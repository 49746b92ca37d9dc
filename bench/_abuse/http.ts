/**
 * HTTP for the abuse bench: node:http with a keep-alive agent bound to one loopback source address
 * (`localAddress`, e.g. 127.0.0.12), so the service sees each attacker and the victim as a distinct
 * client address. Every answer is tallied by status, with whether 429/503 carried `Retry-After`;
 * transport failures are tallied by error code. `fetch` adapts it to the fetch API for the SDK.
 */
import http from 'node:http';

export interface Tally {
  /** Answers by status code ("200", "429", …) and by inner status of envelope calls ("inner 400", …). */
  statuses: Record<string, number>;
  /** Of the 429/503 answers (outer or inner), how many carried Retry-After, by status. */
  retryAfter: Record<string, number>;
  /** Transport failures by code (ECONNRESET, timeout, aborted, …). */
  errors: Record<string, number>;
  requests: number;
}

export const newTally = (): Tally => ({ statuses: {}, retryAfter: {}, errors: {}, requests: 0 });
export const bump = (m: Record<string, number>, k: string, n = 1): void => { m[k] = (m[k] ?? 0) + n; };

/** Records one answer (outer, or an inner envelope answer with `prefix` "inner "). */
export function record(t: Tally, status: number, headers: Record<string, unknown>, prefix = ''): void {
  bump(t.statuses, `${prefix}${status}`);
  if ((status === 429 || status === 503) && headers['retry-after'] !== undefined) bump(t.retryAfter, `${prefix}${status}`);
}

export interface Answer { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

export interface Transport {
  readonly tally: Tally;
  /** One request; rejects on transport failure or timeout (tallied). Never retries. */
  request(method: string, url: string, opts?: { headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number }): Promise<Answer>;
  /** The same transport as a fetch implementation (for the SDK's `fetch` option). */
  fetch: typeof globalThis.fetch;
  /** Aborts everything in flight and refuses new requests from now on. */
  shutdown(): void;
  /** Forgets the counts so far (set-up traffic). */
  reset(): void;
}

export function transport(o: { localAddress: string; maxSockets: number; timeoutMs: number; maxBodyBytes?: number }): Transport {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.maxSockets, localAddress: o.localAddress } as http.AgentOptions);
  const tally = newTally();
  const inflight = new Set<http.ClientRequest>();
  let closed = false;
  const maxBody = o.maxBodyBytes ?? 64 * 1024 * 1024;

  function request(method: string, url: string, r: { headers?: Record<string, string>; body?: string | Uint8Array; timeoutMs?: number } = {}): Promise<Answer> {
    tally.requests++;
    if (closed) { bump(tally.errors, 'shutdown'); return Promise.reject(new Error('unfinished at the end of the phase')); }
    return new Promise<Answer>((resolve, reject) => {
      const body = r.body === undefined ? undefined : typeof r.body === 'string' ? Buffer.from(r.body) : Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength);
      const req = http.request(url, {
        method, agent, localAddress: o.localAddress,
        headers: { ...(r.headers ?? {}), ...(body !== undefined ? { 'content-length': String(body.length) } : {}) },
      });
      inflight.add(req);
      let done = false;
      const fail = (code: string, err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        inflight.delete(req);
        bump(tally.errors, code);
        reject(err);
      };
      const timer = setTimeout(() => { fail('timeout', new Error(`timeout after ${r.timeoutMs ?? o.timeoutMs} ms`)); req.destroy(); }, r.timeoutMs ?? o.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => fail(closed ? 'aborted' : (err.code ?? 'error'), closed ? new Error('unfinished at the end of the phase') : err));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBody) { fail('body too large', new Error('response body too large')); req.destroy(); return; }
          chunks.push(c);
        });
        res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'error', err));
        res.on('end', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          inflight.delete(req);
          const status = res.statusCode ?? 0;
          record(tally, status, res.headers);
          resolve({ status, headers: res.headers, body: Buffer.concat(chunks) });
        });
      });
      req.end(body);
    });
  }

  const fetchImpl = (async (input: Parameters<typeof globalThis.fetch>[0], init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const headers: Record<string, string> = {};
    req.headers.forEach((v, k) => { headers[k] = v; });
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const a = await request(req.method, req.url, { headers, ...(body !== undefined ? { body } : {}) });
    const h = new Headers();
    for (const [k, v] of Object.entries(a.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : String(v));
    const nullBody = a.status === 204 || a.status === 304 || req.method === 'HEAD';
    return new Response(nullBody ? null : new Uint8Array(a.body), { status: a.status, headers: h });
  }) as typeof globalThis.fetch;

  return {
    tally, request, fetch: fetchImpl,
    reset() { Object.assign(tally, newTally()); },
    shutdown() {
      closed = true;
      for (const r of inflight) r.destroy();
      agent.destroy();
    },
  };
}

/** Nearest-rank percentile of an ascending array (NaN when empty). */
export const pct = (sorted: readonly number[], p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
