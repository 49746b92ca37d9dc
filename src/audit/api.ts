/**
 * The audit capability's interface module: what it needs (the identity key that signs checkpoints,
 * provided by keys) and what it offers (ctx.audit, the sink the central capture hook of
 * src/http/audit-capture.ts appends to). Other modules import nothing else from src/audit/.
 */
import type { AuditService, AuditSigner } from './service.ts';
import type { PendingRecord } from './format.ts';

export type { AuditSigner } from './service.ts';
export type { AuditRecord, PendingRecord, AuditCheckpoint } from './format.ts';

/** Where the capture hook appends: resolves with the record's seq once it is committed. */
export interface AuditSink {
  append(record: PendingRecord): Promise<number>;
}

/** The audit capability's dependencies. */
export interface AuditRequires {
  identity: AuditSigner;
}

declare module '../context.ts' {
  interface AppContext {
    /** The audit log (set by the audit capability; AUDIT_LOG=off only stops the capture hook). */
    audit?: AuditService | undefined;
  }
}
