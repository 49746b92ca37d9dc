/**
 * kex handlers (thin) and set-up: builds the KexService on the keys capability's identity key,
 * starts the sweeper, runs envelope inner requests through app.inject (same routes, same auth).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Handlers } from '../http/openapi.ts';
import { base64urlEncode } from '../crypto/bytes.ts';
import { SESSION_BINDING_HEADER, sessionBindingValue } from '../http/auth.ts';
import type { InnerResponse } from './protocol.ts';
import { KexService, type EnvelopeRequest, type IdentitySigner, type InnerRunner, type OpenSessionRequest } from './service.ts';

declare module '../context.ts' {
  interface AppContext {
    kex: KexService;
  }
}

/** Sweeper period, milliseconds. */
const TICK_MS = 2000;
const PASS_HEADERS = ['content-type', 'retry-after', 'www-authenticate', 'location', 'allow'];

export async function setupKex(ctx: AppContext, app: FastifyInstance): Promise<Handlers> {
  const signer = (ctx as AppContext & { systemKeys?: IdentitySigner }).systemKeys;
  if (!signer) throw new Error('the kex capability needs the identity key (ctx.systemKeys from the keys capability)');
  const kex = new KexService({
    store: ctx.store, backend: ctx.backend, signer,
    registryKey: ctx.backend.hkdf('SHA-256', ctx.secrets.masterKey, new Uint8Array(0), new TextEncoder().encode('pqzk kex instance registry v1'), 32),
    respond: (input) => ctx.pool.run('kex.respond', input),
    options: {
      prekeyRotationSeconds: ctx.config.prekeyRotationSeconds, prekeyGraceSeconds: ctx.config.prekeyGraceSeconds,
      sessionTtlSeconds: ctx.config.sessionTtlSeconds, grantKeySeconds: ctx.config.kexGrantKeySeconds,
    },
  });
  await kex.start();
  ctx.kex = kex;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= kex.maintain().catch((err: unknown) => ctx.log.warn({ err }, 'kex sweeper failed')).finally(() => { running = undefined; });
  }, TICK_MS);
  timer.unref();
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
    await kex.close();
  });

  const runner = (req: FastifyRequest): InnerRunner => async (inner, binding) => {
    // checkInner admits only authorization/accept/content-type; strip the binding header anyway, then
    // set it ourselves: it is how the auth hook learns the session's client key (src/http/auth.ts).
    const headers: Record<string, string> = { ...inner.headers };
    for (const name of Object.keys(headers)) if (name.toLowerCase() === SESSION_BINDING_HEADER) delete headers[name];
    if (binding.clientKeyThumbprint !== null) headers[SESSION_BINDING_HEADER] = sessionBindingValue(binding.clientKeyThumbprint);
    const res = await app.inject({
      method: inner.method as 'GET',
      url: inner.path,
      remoteAddress: req.ip,
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

  return {
    getPrekey: async () => kex.getPrekey(),
    openSession: async (req: FastifyRequest) => kex.openSession(req.body as OpenSessionRequest),
    sendEnvelope: async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return kex.sendEnvelope((req.params as { id: string }).id, req.body as EnvelopeRequest, runner(req));
    },
    closeSession: async (req: FastifyRequest) => {
      await kex.closeSession((req.params as { id: string }).id, req.body as { seq: number; sealed: string });
      return { closed: true };
    },
  };
}
