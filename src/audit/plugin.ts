/**
 * The audit capability: the AuditService (ctx.audit, the sink of the central capture hook in
 * src/http/audit-capture.ts) on the identity key it requires (src/audit/api.ts), the JSON-lines
 * stream (AUDIT_STREAM), and the checkpoint timer (AUDIT_CHECKPOINT_MS; 0 = on demand only).
 * On close: the timer stops, queued records are written, the stream is flushed.
 */
import type { CapabilityPlugin } from '../context.ts';
import { every } from '../http/periodic.ts';
import type { AuditRequires } from './api.ts';
import { AuditService } from './service.ts';
import { auditHandlers } from './routes.ts';
import { openAuditStream } from './stream.ts';

/** The audit capability plugin; binds the audit operations. */
export const auditPlugin: CapabilityPlugin<AuditRequires> = async (scope, { ctx, deps, bind }) => {
  const stream = openAuditStream(ctx.config.auditStream, (err) => ctx.log.error({ err: { message: err.message } }, 'audit stream write failed'));
  const audit = new AuditService({
    store: ctx.store, signer: deps.identity, maxBatch: ctx.config.auditMaxBatch, batchWaitMs: ctx.config.auditBatchWaitMs, maxRange: ctx.config.auditMaxRange,
    ...(stream ? { onCommit: (records) => stream.write(records) } : {}),
  });
  ctx.audit = audit;
  const timer = ctx.config.auditCheckpointMs > 0
    ? every(ctx.config.auditCheckpointMs, () => audit.maintain(), (err) => ctx.log.warn({ err }, 'audit checkpoint failed'))
    : undefined;
  scope.addHook('onClose', async () => {
    await timer?.stop();
    await audit.close();
    await stream?.close();
  });
  await bind(scope, auditHandlers(audit));
};
