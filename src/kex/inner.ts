/**
 * The inner request of an envelope (docs/PROTOCOL.md §6): its shape, checked before the sequence
 * number is used, and the runner type that executes it against the service's own routes.
 */
import { AppError } from '../errors.ts';
import type * as P from './protocol.ts';

/**
 * Runs an inner request against the service's own routes, with the same auth rules. `binding` is
 * the session's client key thumbprint (base64url SHA-256 of the X-Wing client public key; null for
 * sessions opened before migration 006): a token with cnf {skt} is accepted only when they match.
 * Resolves with the inner response's plaintext: UTF-8 JSON of a P.InnerResponse (PROTOCOL.md §6).
 */
export type InnerRunner = (
  req: Required<Pick<P.InnerRequest, 'method' | 'path'>> & { headers: Record<string, string>; body?: unknown },
  binding: { clientKeyThumbprint: string | null },
) => Promise<Uint8Array>;

const INNER_METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);
const INNER_HEADERS = new Set(['authorization', 'accept', 'content-type']);
const INNER_PATH = /^\/v1\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*(\?[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?$/;

/**
 * Checks an inner request's shape and that its route may be reached through an envelope.
 *
 * @throws AppError `invalid_input` (bad shape, header or path), `forbidden` (a /v1/kex route or a dot segment).
 */
export function checkInner(v: unknown): Parameters<InnerRunner>[0] {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AppError('invalid_input', 'inner request must be a JSON object');
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!['method', 'path', 'headers', 'body'].includes(k)) throw new AppError('invalid_input', `inner request has an unknown field ${k.slice(0, 32)}`);
  if (typeof r.method !== 'string' || !INNER_METHODS.has(r.method)) throw new AppError('invalid_input', 'inner method must be one of GET, POST, PUT, PATCH, DELETE');
  if (typeof r.path !== 'string' || r.path.length > 2048) throw new AppError('invalid_input', 'inner path must be an absolute /v1/ path');
  // PROTOCOL.md §6: a well-formed absolute path outside /v1/ (docs, metrics) is refused, not malformed.
  if (/^\/(?!\/)/.test(r.path) && !r.path.startsWith('/v1/')) throw new AppError('forbidden', 'only /v1/ routes can be called through an envelope');
  if (!INNER_PATH.test(r.path)) throw new AppError('invalid_input', 'inner path must be an absolute /v1/ path');
  const pathOnly = r.path.split('?')[0]!;
  if (pathOnly.includes('//') || pathOnly.split('/').some((s) => s === '.' || s === '..') || /^\/v1\/kex(\/|$)/i.test(pathOnly)) {
    throw new AppError('forbidden', 'this route cannot be called through an envelope');
  }
  const headers: Record<string, string> = {};
  if (r.headers !== undefined) {
    if (typeof r.headers !== 'object' || r.headers === null || Array.isArray(r.headers)) throw new AppError('invalid_input', 'inner headers must be an object');
    for (const [k, val] of Object.entries(r.headers)) {
      const name = k.toLowerCase();
      if (!INNER_HEADERS.has(name)) throw new AppError('invalid_input', 'inner headers may only be authorization, accept and content-type');
      if (typeof val !== 'string' || val.length > 8192 || /[\r\n\0]/.test(val)) throw new AppError('invalid_input', 'inner header values must be single-line strings');
      if (name === 'content-type' && val !== 'application/json') throw new AppError('invalid_input', 'inner content-type must be application/json');
      headers[name] = val;
    }
  }
  return { method: r.method, path: r.path, headers, ...(r.body !== undefined ? { body: r.body } : {}) };
}

