/**
 * Audit records of what the service does on its own (issue 15 §3): automatic rotations and the
 * retention destroys they cause. Requests are recorded by the central capture hook
 * (src/http/audit-capture.ts); a sweeper has no request, so the keys plugin appends these itself,
 * after the rotation's transaction committed, with principal `system` and the key's owner in `owner`.
 * A crash between that commit and the append loses the record (the rotation itself is in the
 * key's version list); an append failure is logged, never retried blindly.
 */
import type { AuditSink, PendingRecord } from '../audit/api.ts';
import type { RotationEvent } from './rotation.ts';

/** The principal of records the service makes on its own. */
export const SYSTEM_PRINCIPAL = 'system';

/** The records of one rotation: `automaticRotation`, and one `retentionDestroy` per version its retention destroyed. */
export function rotationRecords(e: RotationEvent, instanceId: string, now = new Date()): PendingRecord[] {
  const base = { time: now.toISOString(), principal: SYSTEM_PRINCIPAL, key: e.name, owner: e.owner, requestId: `sweeper:${instanceId}` };
  return [
    { ...base, operation: 'automaticRotation', version: e.version, status: 201 },
    ...e.destroyed.map((version) => ({ ...base, operation: 'retentionDestroy', version, status: 204 })),
  ];
}

/** Appends the records of `events` to `sink` (if the audit log is set up); failures go to `warn`. */
export async function auditRotations(sink: AuditSink | undefined, events: readonly RotationEvent[], instanceId: string, warn: (obj: object, msg: string) => void): Promise<void> {
  if (!sink || events.length === 0) return;
  const records = events.flatMap((e) => rotationRecords(e, instanceId));
  const results = await Promise.allSettled(records.map((r) => sink.append(r)));
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) warn({ failed, of: records.length }, 'audit records of automatic rotations not written');
}
