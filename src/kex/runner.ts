/**
 * The envelope's inner-request runner: an inner request goes through the whole app (same routes,
 * same auth hook, same rate limits) with light-my-request, as if it came from the outer client.
 */
import type { FastifyInstance } from 'fastify';
import { base64urlEncode } from '../crypto/bytes.ts';
import { SESSION_BINDING_HEADER, sessionBindingValue } from '../http/auth.ts';
import type { InnerResponse } from './protocol.ts';
import type { InnerRunner } from './service.ts';

/** Response headers an inner response carries back; every other one is dropped. */
const PASS_HEADERS = ['content-type', 'retry-after', 'www-authenticate', 'location', 'allow'];

/**
 * A runner for one outer request from `remoteAddress`. `inject` enters at the root of the app
 * whichever scope it is called on, so an inner request reaches every capability's routes.
 */
export function innerRunner(inject: FastifyInstance['inject'], remoteAddress: string): InnerRunner {
  return async (inner, binding) => {
    // checkInner admits only authorization/accept/content-type; strip the binding header anyway, then
    // set it ourselves: it is how the auth hook learns the session's client key (src/http/auth.ts).
    const headers: Record<string, string> = { ...inner.headers };
    for (const name of Object.keys(headers)) if (name.toLowerCase() === SESSION_BINDING_HEADER) delete headers[name];
    if (binding.clientKeyThumbprint !== null) headers[SESSION_BINDING_HEADER] = sessionBindingValue(binding.clientKeyThumbprint);
    const res = await inject({
      method: inner.method as 'GET',
      url: inner.path,
      remoteAddress,
      headers: { ...headers, ...(inner.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(inner.body !== undefined ? { payload: JSON.stringify(inner.body) } : {}),
    });
    const outHeaders: Record<string, string> = {};
    for (const h of PASS_HEADERS) {
      const v = res.headers[h];
      if (v !== undefined) outHeaders[h] = String(v);
    }
    const out: InnerResponse = { status: res.statusCode, headers: outHeaders };
    const type = outHeaders['content-type'] ?? '';
    if (res.rawPayload.length > 0) {
      if (/^application\/([a-z.+-]*\+)?json/.test(type)) out.body = JSON.parse(res.body) as unknown;
      else out.bodyBase64 = base64urlEncode(new Uint8Array(res.rawPayload));
    }
    return out;
  };
}
