/**
 * One access-log line per request instead of fastify's two (the start of each too at debug level), at a volume an attacker cannot
 * inflate: successful health / readiness probes are only counted, and 429 / 503 refusals are
 * summed into one line per window (`requests refused`) instead of one line each. Query strings are
 * logged with the values of parameters outside a known-harmless list replaced by `[redacted]`.
 * (Counts of every request by operation and status are in /metrics.)
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { nativeBackend } from '../crypto/index.ts';
import { base64urlEncode } from '../crypto/bytes.ts';

/** Query parameters whose values are never secret (the contract's paging, versions and formats). */
const HARMLESS_QUERY = new Set(['version', 'format', 'limit', 'after', 'owner', 'recordSize']);
const PROBES = new Set(['getHealth', 'getReady']);

/** The URL as logged: the path, and the query with values of non-harmless parameters redacted. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || HARMLESS_QUERY.has(name)) return pair;
    return `${name.slice(0, 64)}=[redacted]`;
  });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/**
 * Inner requests of an envelope carry this header with a per-process secret (src/kex/runner.ts): their
 * paths name keys, users and jobs the envelope exists to hide, so only their operation is logged.
 */
export const INNER_REQUEST_HEADER = 'x-pqzk-inner';
const INNER_MARK = base64urlEncode(nativeBackend.randomBytes(16));
/** The header value that marks an inner request (never sent outside the process). */
export const innerRequestMark = (): string => INNER_MARK;
/** Whether `req` is an envelope's inner request (run in-process by src/kex/runner.ts). */
export const isInnerRequest = (req: FastifyRequest): boolean => req.headers[INNER_REQUEST_HEADER] === INNER_MARK;
const isInner = isInnerRequest;

const operationOf = (req: FastifyRequest): string | undefined => (req.routeOptions.config as { operationId?: string } | undefined)?.operationId;

/** Adds the access log (use with fastify's `disableRequestLogging: true`). */
export function registerAccessLog(app: FastifyInstance, opts: { windowMs?: number; now?: () => number } = {}): void {
  const windowMs = opts.windowMs ?? 10_000;
  const now = opts.now ?? Date.now;
  let windowStart = now();
  let refused: Record<string, number> = {};
  const flush = () => {
    if (Object.keys(refused).length > 0) app.log.warn({ refused, windowSeconds: Math.round((now() - windowStart) / 1000) }, 'requests refused');
    refused = {};
    windowStart = now();
  };
  // At debug level, the start of every request too (the hook exists only then: it runs on every request).
  if (app.log.level === 'debug' || app.log.level === 'trace') {
    app.addHook('onRequest', (req, _reply, done) => {
      if (!isInner(req)) req.log.debug({ req: { method: req.method, url: loggableUrl(req.url), remoteAddress: req.ip } }, 'incoming request');
      done();
    });
  }
  app.addHook('onResponse', (req, reply, done) => {
    done(); // the response is out already: log after (callback style, no promise per request)
    const status = reply.statusCode;
    if (status === 429 || status === 503) {
      if (now() - windowStart >= windowMs) flush();
      refused[status] = (refused[status] ?? 0) + 1;
      return;
    }
    const operation = operationOf(req);
    if (status < 400 && operation !== undefined && PROBES.has(operation)) return;
    if (isInner(req)) {
      req.log.info({ inner: true, operation, res: { statusCode: status }, responseTime: Math.round(reply.elapsedTime * 10) / 10 }, 'inner request completed');
      return;
    }
    req.log.info({
      // (pino's req serializer keeps method, url and the address; the operation goes beside it.)
      req: { method: req.method, url: loggableUrl(req.url), ip: req.ip }, operation,
      res: { statusCode: status }, responseTime: Math.round(reply.elapsedTime * 10) / 10,
    }, 'request completed');
  });
  app.addHook('onClose', async () => flush());
}
