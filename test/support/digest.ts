/** A digest of every row of every table in the store: equal digests = unchanged state. */
import { createHash } from 'node:crypto';
import type { Store } from '../../src/store/index.ts';

export async function storeDigest(store: Store): Promise<string> {
  const tables = await store.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name");
  const h = createHash('sha256');
  for (const { table_name: t } of tables) {
    const rows = await store.query(`SELECT * FROM "${t.replace(/"/g, '')}"`);
    const lines = rows.map((r) => JSON.stringify(r, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : typeof v === 'bigint' ? v.toString() : v))).sort();
    h.update(`${t}\n${lines.join('\n')}\n`);
  }
  return h.digest('hex');
}
