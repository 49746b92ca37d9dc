/**
 * The group-commit appender on PGlite: sequential appends each resolve (no record waits for a later
 * one), concurrent appends share transactions, two appenders on one store (two instances) keep
 * one gap-free order through the head check, and a failed batch rejects every record and writes none.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { memoryStore } from '../support/app.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { decodeRecord, type PendingRecord } from '../../src/audit/format.ts';
import { leafHash, referenceRoot, rangeHash } from '../../src/audit/merkle.ts';
import { getNodes, headSize } from '../../src/audit/repo.ts';
import { perfectCover } from '../../src/audit/merkle.ts';

const rec = (i: number): PendingRecord => ({ time: '2026-01-01T00:00:00.000Z', principal: 'admin', operation: 'sign', status: 200, requestId: `r${i}` });

async function assertTree(store: Awaited<ReturnType<typeof memoryStore>>, n: number): Promise<void> {
  assert.equal(await headSize(store), n);
  const rows = await store.query<{ seq: number; leaf: Uint8Array }>('SELECT seq, leaf FROM audit_records ORDER BY seq');
  assert.deepEqual(rows.map((r) => Number(r.seq)), Array.from({ length: n }, (_, i) => i));
  const nodes = await getNodes(store, perfectCover({ start: 0, end: n }));
  const root = rangeHash({ start: 0, end: n }, (l, i) => nodes.get(`${l}:${i}`)!);
  assert.deepEqual(root, referenceRoot(rows.map((r) => leafHash(new Uint8Array(r.leaf)))));
}

test('sequential appends each resolve with consecutive seqs (the drain loop re-checks its queue)', { timeout: 60_000 }, async () => {
  const store = await memoryStore();
  const log = new AuditLog({ store, maxBatch: 16 });
  for (let i = 0; i < 20; i++) assert.equal(await log.append(rec(i)), i);
  await assertTree(store, 20);
  await store.close();
});

test('concurrent appends share transactions (group commit), bounded by maxBatch', { timeout: 60_000 }, async () => {
  const store = await memoryStore();
  const committed: number[] = [];
  const log = new AuditLog({ store, maxBatch: 16, onCommit: (rs) => committed.push(...rs.map((r) => r.seq)) });
  const seqs = await Promise.all(Array.from({ length: 100 }, (_, i) => log.append(rec(i))));
  assert.deepEqual([...seqs].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.ok(log.stats.commits < 100 && log.stats.commits >= 100 / 16, `commits: ${log.stats.commits}`);
  assert.deepEqual(committed, Array.from({ length: 100 }, (_, i) => i), 'the stream sees every record once, in order');
  await assertTree(store, 100);
  await store.close();
});

test('two appenders on one store: the head check sends a stale one through the locked path', { timeout: 60_000 }, async () => {
  const store = await memoryStore();
  const a = new AuditLog({ store, maxBatch: 8 });
  const b = new AuditLog({ store, maxBatch: 8 });
  for (let i = 0; i < 30; i++) await (i % 3 === 0 ? b : a).append(rec(i));
  await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append(rec(100 + i))));
  assert.ok(a.stats.headMoved + b.stats.headMoved > 0, 'a stale cached head was detected');
  await assertTree(store, 70);
  const ids = (await store.query<{ leaf: Uint8Array }>('SELECT leaf FROM audit_records')).map((r) => decodeRecord(new Uint8Array(r.leaf)).requestId);
  assert.equal(new Set(ids).size, 70, 'no record twice');
  await store.close();
});

test('a malformed record fails alone; a failed transaction rejects its batch and writes none', { timeout: 60_000 }, async () => {
  const store = await memoryStore();
  const log = new AuditLog({ store, maxBatch: 4 });
  await log.append(rec(0));
  const bad = { ...rec(1), inputSha256: 'not hex' };
  const results = await Promise.allSettled([log.append(rec(1)), log.append(bad), log.append(rec(2))]);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  await assertTree(store, 3);
  // The database refuses the next batch (its table is gone): every record of it is rejected, nothing written.
  await store.query('ALTER TABLE audit_records RENAME TO audit_records_away');
  const failed = await Promise.allSettled([log.append(rec(3)), log.append(rec(4))]);
  assert.deepEqual(failed.map((r) => r.status), ['rejected', 'rejected']);
  await store.query('ALTER TABLE audit_records_away RENAME TO audit_records');
  await assertTree(store, 3);
  assert.equal(await log.append(rec(9)), 3);
  await log.close();
  await assert.rejects(log.append(rec(10)), /closed/);
  await store.close();
});
