/**
 * The audit stream (a Vault-style audit device): committed records as JSON lines, one per record in
 * seq order per instance, to stdout or appended to a file (AUDIT_STREAM=stdout|<path>|off). The
 * Merkle log in the database stays the record of truth; the stream is a copy for log shippers, and
 * a write error is logged, never turned into a failed operation.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { AuditRecord } from './format.ts';

/** An open stream: `write` takes committed records, `close` flushes. */
export interface AuditStream {
  write(records: AuditRecord[]): void;
  close(): Promise<void>;
}

/** Opens the stream AUDIT_STREAM names, or undefined for `off`. */
export function openAuditStream(target: string, onError: (err: Error) => void): AuditStream | undefined {
  if (target === 'off') return undefined;
  if (target === 'stdout') {
    return {
      write: (records) => { process.stdout.write(records.map((r) => `${JSON.stringify(r)}\n`).join('')); },
      close: async () => undefined,
    };
  }
  const file: WriteStream = createWriteStream(target, { flags: 'a', mode: 0o600 });
  file.on('error', onError);
  return {
    write: (records) => { file.write(records.map((r) => `${JSON.stringify(r)}\n`).join('')); },
    close: () => new Promise<void>((resolve) => file.end(() => resolve())),
  };
}
