/**
 * The envelope's inner-request runner: an inner request goes through the whole app (same routes,
 * same auth hook, same rate limits) with light-my-request, as if it came from the outer client.
 */
import type { FastifyInstance } from 'fastify';
import { base64urlEncode } from '../crypto/bytes.ts';
import { AppError, toProblem } from '../errors.ts';
import { SESSION_BINDING_HEADER, sessionBindingValue } from '../http/auth.ts';
import { INNER_REQUEST_HEADER, innerRequestMark } from '../http/access-log.ts';
import * as P from './protocol.ts';
import type { InnerResponse } from './protocol.ts';
import type { InnerRunner } from './service.ts';

/** Whether `text` is exactly one JSON value (JSON.parse refuses trailing members, commas, garbage). */
function isOneJsonValue(text: string): boolean {
  try { JSON.parse(text); return true; } catch { return false; }
}

/** Response headers an inner response carries back; every other one is dropped. */
const PASS_HEADERS = ['content-type', 'retry-after', 'www-authenticate', 'location', 'allow'];

/** The problem an envelope carries back instead of an inner response over the cap (nothing large is encoded). */
function tooLarge(size: number, max: number): InnerResponse {
  const problem = toProblem(new AppError('payload_too_large', `the inner response (${size} bytes) exceeds the envelope limit of ${max} bytes (KEX_MAX_INNER_RESPONSE_BYTES)`));
  return { status: problem.status, headers: { 'content-type': 'application/problem+json' }, body: problem };
}

/**
 * A runner for one outer request from `remoteAddress`. `inject` enters at the root of the app
 * whichever scope it is called on, so an inner request reaches every capability's routes.
 */
export function innerRunner(inject: FastifyInstance['inject'], remoteAddress: string, opts: { maxResponseBytes: number }): InnerRunner {
  return async (inner, binding) => {
    // checkInner admits only authorization/accept/content-type; strip the binding header anyway, then
    // set it ourselves: it is how the auth hook learns the session's client key (src/http/auth.ts).
    const headers: Record<string, string> = { ...inner.headers };
    for (const name of Object.keys(headers)) if (name.toLowerCase() === SESSION_BINDING_HEADER) delete headers[name];
    if (binding.clientKeyThumbprint !== null) headers[SESSION_BINDING_HEADER] = sessionBindingValue(binding.clientKeyThumbprint);
    headers[INNER_REQUEST_HEADER] = innerRequestMark(); // the access log then records the operation only, never the path
    const res = await inject({
      method: inner.method as 'GET',
      url: inner.path,
      remoteAddress,
      headers: { ...headers, ...(inner.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(inner.body !== undefined ? { payload: JSON.stringify(inner.body) } : {}),
    });
    if (res.rawPayload.length > opts.maxResponseBytes) return P.encodeJson(tooLarge(res.rawPayload.length, opts.maxResponseBytes));
    const outHeaders: Record<string, string> = {};
    for (const h of PASS_HEADERS) {
      const v = res.headers[h];
      if (v !== undefined) outHeaders[h] = String(v);
    }
    const head = JSON.stringify({ status: res.statusCode, headers: outHeaders });
    if (res.rawPayload.length === 0) return new TextEncoder().encode(head);
    // A JSON answer is spliced in as it is (no re-stringify), once it parsed as exactly one JSON value;
    // anything else, whatever its content-type says, travels as bytes, so no body can reshape the envelope.
    const json = /^application\/([a-z.+-]*\+)?json\s*(;|$)/.test(outHeaders['content-type'] ?? '') && isOneJsonValue(res.body);
    const tail = json ? `,"body":${res.body}}` : `,"bodyBase64":"${base64urlEncode(new Uint8Array(res.rawPayload))}"}`;
    return new TextEncoder().encode(head.slice(0, -1) + tail);
  };
}
