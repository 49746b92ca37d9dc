/**
 * The pir capability: in its own scope, a binary body parser (application/octet-stream) and a
 * body limit raised to PIR_MAX_DB_BYTES for putPirDatabase only; the main-thread WASM kernel, the
 * service (ctx.pir) on the identity key it requires (src/pir/api.ts), and a sweep that purges
 * versions past their grace period; keyword uploads (keyword-service.ts) and the key directory
 * (directory.ts, rebuilt debounced and on each sweep tick).
 */
import type { CapabilityPlugin } from '../context.ts';
import { every } from '../http/periodic.ts';
import type { PirRequires } from './api.ts';
import { loadWasmKernel } from './wasm-kernel.ts';
import { PirService } from './service.ts';
import { OCTET, pirHandlers } from './routes.ts';
import { chargerOf } from '../http/charge.ts';
import { KeywordPirService } from './keyword-service.ts';
import { DirectoryService } from './directory.ts';
import { directoryHandlers } from './directory-routes.ts';

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
  const keyword = new KeywordPirService({
    pir, pool: ctx.pool, backend: ctx.backend, store: ctx.store, maxDbBytes: ctx.config.pirMaxDbBytes, graceSeconds: ctx.config.pirGraceSeconds,
  });
  ctx.pirKeyword = keyword;
  const directory = new DirectoryService({ store: ctx.store, keyword, keys: deps.publicKeys, signer: deps.identity, backend: ctx.backend, log: ctx.log });
  ctx.pirDirectory = directory;
  // Each sweep tick also checks the directory: key rotations and other instances' changes.

  const sweeper = every(SWEEP_MS, async () => { await pir.sweep(); directory.scheduleRebuild(); }, (err) => ctx.log.warn({ err }, 'pir sweep failed'));
  scope.addHook('onClose', async () => { await sweeper.stop(); await directory.close(); });

  // Only the upload and the patch may exceed the global BODY_LIMIT.
  const big = Math.max(ctx.config.pirMaxDbBytes, ctx.config.bodyLimit);
  await bind(scope, { ...pirHandlers(pir, chargerOf(ctx), keyword), ...directoryHandlers(directory) },
    { bodyLimit: { putPirDatabase: big, patchPirDatabase: big } });
};
