/**
 * The pir capability: in its own scope, a binary body parser (application/octet-stream) and a
 * body limit raised to PIR_MAX_DB_BYTES for putPirDatabase only; the main-thread WASM kernel, the
 * service (ctx.pir) on the identity key it requires (src/pir/api.ts), and a sweep that purges
 * versions past their grace period.
 */
import type { CapabilityPlugin } from '../context.ts';
import { every } from '../http/periodic.ts';
import type { PirRequires } from './api.ts';
import { loadWasmKernel } from './wasm-kernel.ts';
import { PirService } from './service.ts';
import { OCTET, pirHandlers } from './routes.ts';
import { chargerOf } from '../http/charge.ts';

const SWEEP_MS = 30_000;

/** The pir capability plugin; binds the pir operations, starts the purge sweep, stops it on close. */
export const pirPlugin: CapabilityPlugin<PirRequires> = async (scope, { ctx, deps, bind }) => {
  // Encapsulated: only the pir routes accept binary bodies.
  scope.addContentTypeParser(OCTET, { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const pir = new PirService({
    store: ctx.store,
    pool: ctx.pool,
    backend: ctx.backend,
    log: ctx.log,
    signer: deps.identity,
    kernel: await loadWasmKernel(),
    maxDbBytes: ctx.config.pirMaxDbBytes,
    graceSeconds: ctx.config.pirGraceSeconds,
    inlineScanBytes: ctx.config.pirInlineScanBytes,
  });
  ctx.pir = pir;

  const sweeper = every(SWEEP_MS, () => pir.sweep(), (err) => ctx.log.warn({ err }, 'pir sweep failed'));
  scope.addHook('onClose', async () => sweeper.stop());

  // Only the upload and the patch may exceed the global BODY_LIMIT.
  await bind(scope, pirHandlers(pir, chargerOf(ctx)), { bodyLimit: { putPirDatabase: Math.max(ctx.config.pirMaxDbBytes, ctx.config.bodyLimit), patchPirDatabase: Math.max(ctx.config.pirMaxDbBytes, ctx.config.bodyLimit) } });
};
