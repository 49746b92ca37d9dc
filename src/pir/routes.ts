/**
 * pir handlers (thin) and set-up: a binary body parser (application/octet-stream) with a body
 * limit raised to PIR_MAX_DB_BYTES for putPirDatabase only, the main-thread WASM kernel, the
 * service (ctx.pir) and a sweep that purges versions past their grace period.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Handlers } from '../http/openapi.ts';
import { AppError } from '../errors.ts';
import { loadWasmKernel } from './wasm-kernel.ts';
import { PirService, type PirSigner } from './service.ts';

declare module '../context.ts' {
  interface AppContext {
    pir: PirService;
  }
}

const SWEEP_MS = 30_000;
const OCTET = 'application/octet-stream';

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function binaryBody(req: FastifyRequest): Uint8Array {
  if (!(req.body instanceof Uint8Array)) throw new AppError('unsupported_media_type', `the body must be ${OCTET}`);
  return req.body;
}

export async function setupPir(ctx: AppContext, app: FastifyInstance): Promise<Handlers> {
  const signer = (ctx as AppContext & { systemKeys?: PirSigner }).systemKeys;
  if (!signer) throw new Error('the pir capability needs the identity key (ctx.systemKeys from the keys capability)');

  if (!app.hasContentTypeParser(OCTET)) {
    app.addContentTypeParser(OCTET, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  }
  // Route-level limit: only the upload may exceed the global BODY_LIMIT.
  app.addHook('onRoute', (route) => {
    if ((route.config as { operationId?: string } | undefined)?.operationId === 'putPirDatabase') {
      route.bodyLimit = Math.max(ctx.config.pirMaxDbBytes, ctx.config.bodyLimit);
    }
  });

  const pir = new PirService({
    store: ctx.store,
    pool: ctx.pool,
    backend: ctx.backend,
    log: ctx.log,
    signer,
    kernel: await loadWasmKernel(),
    maxDbBytes: ctx.config.pirMaxDbBytes,
    graceSeconds: ctx.config.pirGraceSeconds,
    inlineScanBytes: ctx.config.pirInlineScanBytes,
  });
  ctx.pir = pir;

  const timer = setInterval(() => {
    pir.sweep().catch((err: unknown) => ctx.log.warn({ err }, 'pir sweep failed'));
  }, SWEEP_MS);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  type NameParams = { name: string };
  return {
    putPirDatabase: async (req: FastifyRequest, reply: FastifyReply) => {
      if (req.principal.kind !== 'admin') throw new AppError('forbidden', 'only the admin uploads PIR databases');
      const { name } = req.params as NameParams;
      const { recordSize } = req.query as { recordSize: number };
      const config = await pir.put(name, recordSize, binaryBody(req));
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(config);
    },
    getPirConfig: async (req: FastifyRequest, reply: FastifyReply) => {
      const config = await pir.config((req.params as NameParams).name);
      // Short: a new version must reach clients soon; the signature makes any copy verifiable.
      reply.header('cache-control', 'public, max-age=5');
      return config;
    },
    getPirHint: async (req: FastifyRequest, reply: FastifyReply) => {
      const { version } = req.query as { version?: number };
      const h = await pir.hint((req.params as NameParams).name, version);
      const etag = `"${h.sha256}"`;
      reply.header('etag', etag).header('x-pir-version', String(h.version)).header('x-content-sha256', h.sha256)
        .header('cache-control', version === undefined ? 'public, max-age=5' : 'public, max-age=31536000, immutable');
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type(OCTET).send(toBuffer(h.bytes));
    },
    pirQuery: async (req: FastifyRequest, reply: FastifyReply) => {
      const { version } = req.query as { version: number };
      const out = await pir.query((req.params as NameParams).name, version, binaryBody(req));
      reply.header('cache-control', 'no-store').header('x-pir-version', String(out.version));
      return reply.type(OCTET).send(toBuffer(out.answer));
    },
  } as unknown as Handlers;
}
