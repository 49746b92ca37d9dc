/**
 * Security headers, computed once. helmet decides which headers a response carries; this module
 * runs helmet's middleware a single time at start-up against a recording stub and then sets the
 * recorded headers on every reply in one `onRequest` hook. @fastify/helmet instead rebuilds the
 * helmet middleware (re-parsing every CSP directive) on every request, which cost ~12 % of the CPU of
 * a `GET /v1/health` (issue 13). The headers are identical for every route: no route sets its own.
 */
import helmet, { type HelmetOptions } from 'helmet';
import type { FastifyInstance } from 'fastify';
import { isInnerRequest } from './access-log.ts';

/** The headers helmet sets for `options`, as a plain name → value map (names lower-case). */
export function helmetHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader(name: string, value: string | number | readonly string[]) { headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value); },
    removeHeader(name: string) { delete headers[name.toLowerCase()]; },
    getHeader(name: string) { return headers[name.toLowerCase()]; },
  };
  let failure: unknown;
  helmet(options)({} as never, res as never, (err?: unknown) => { failure = err; });
  if (failure) throw failure;
  return headers;
}

/**
 * Registers one `onRequest` hook on `app` (root scope) setting the precomputed helmet headers on every
 * reply, except an envelope's inner requests: their headers never reach a browser (the runner keeps
 * only content-type, retry-after, www-authenticate, location and allow; the outer answer has them).
 */
export function registerSecurityHeaders(app: FastifyInstance, options: Readonly<HelmetOptions>): void {
  const headers = helmetHeaders(options);
  app.addHook('onRequest', (req, reply, done) => { if (!isInnerRequest(req)) reply.headers(headers); done(); });
}
