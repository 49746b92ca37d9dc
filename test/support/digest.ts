/**
 * A digest of every row of every table in the store: equal digests = unchanged state.
 * Two tables change on their own, with no request: kex_instances (each instance's heartbeat and
 * grant-key rotation) and kex_grants (secrets re-shared to those rotating keys). They are
 * housekeeping, not client-visible state, so they are left out. So are the audit log's tables:
 * every audited request, refused ones included, appends a record (that is the log's purpose);
 * test/audit checks what they hold.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../../src/store/index.ts';

export const HOUSEKEEPING_TABLES = ['kex_instances', 'kex_grants', 'audit_records', 'audit_nodes', 'audit_head', 'audit_checkpoints'];

export async function storeDigest(store: Store, exclude: readonly string[] = HOUSEKEEPING_TABLES): Promise<string> {
  const tables = await store.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name");
  const h = createHash('sha256');
  for (const { table_name: t } of tables) {
    if (exclude.includes(t)) continue;
    // Hashing inside SQL keeps large tables (PIR blobs) off the JavaScript heap.
    const [row] = await store.query<{ d: string | null; n: number }>(
      `SELECT md5(string_agg(md5(x::text), ',' ORDER BY md5(x::text))) AS d, count(*)::int AS n FROM "${t.replace(/"/g, '')}" x`);
    h.update(`${t}:${row?.n}:${row?.d ?? ''}\n`);
  }
  return h.digest('hex');
}
