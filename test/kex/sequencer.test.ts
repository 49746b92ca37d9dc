/**
 * The envelope sequencer (src/kex/sequencer.ts, PROTOCOL.md §6.2), on both session tables
 * (src/kex/session-table.ts: the store's SQL tables, and the embedded store's memory twin): two or
 * three sequencers with their own instance ids share one table, as instances share one database. Windows are served from
 * memory (one reservation per window), a number is accepted at most once across both, a refused
 * number (409 with nextSeq) is never accepted later anywhere — including by the instance whose
 * window held it — and closes follow the same rules.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/index.ts';
import { Sequencer } from '../../src/kex/sequencer.ts';
import { AppError } from '../../src/errors.ts';
import { MemorySessionTable, sqlSessionTable, type SessionTable } from '../../src/kex/session-table.ts';

let store: Store;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pqzk-seq-'));
  store = await openStore({ dataDir: dir });
  await store.query(`INSERT INTO kex_prekeys (prekey_id, public_key, not_before, not_after, signature, identity_key_id, identity_version, identity_public_key)
    VALUES ('pk', '\\x00', now(), now() + interval '1 hour', '\\x00', 'id', 1, '\\x00')`);
});
after(async () => { await store?.close(); rmSync(dir, { recursive: true, force: true }); });

let n = 0;
const LEASE = 150;

for (const kind of ['sql', 'memory'] as const) {
let table: SessionTable;
async function newSession(): Promise<string> {
  table ??= kind === 'sql' ? sqlSessionTable(store) : new MemorySessionTable(store);
  const id = `sess${n++}`.padEnd(22, '0');
  const made = await table.claim([{ digest: new Uint8Array(32).fill(n), prekeyId: 'pk', sessionId: id, expiresAt: new Date(Date.now() + 3_600_000), clientKeyThumbprint: 't' }]);
  assert.ok(made.has(id));
  return id;
}
const seqr = (instanceId: string, width = 16) => new Sequencer({ table, instanceId, leaseMs: LEASE, width });

/** The outcome of one accept: 'ok', or the refusal's code (and nextSeq for a 409). */
async function outcome(s: Sequencer, id: string, seq: number, confirming = true): Promise<{ ok: true } | { ok: false; code: string; nextSeq?: number }> {
  try {
    await s.accept(id, seq, confirming);
    return { ok: true };
  } catch (err) {
    assert.ok(err instanceof AppError, String(err));
    return { ok: false, code: err.code, ...(typeof err.extra?.nextSeq === 'number' ? { nextSeq: err.extra.nextSeq } : {}) };
  }
}

test(`${kind}: one instance: a window is served from memory; replays and reordering are refused with nextSeq`, async () => {
  const id = await newSession();
  const a = seqr('A', 64);
  assert.deepEqual(await outcome(a, id, 1, false), { ok: false, code: 'invalid_input' }, 'the first accepted number needs the confirmation');
  for (let seq = 1; seq <= 50; seq++) assert.deepEqual(await outcome(a, id, seq), { ok: true });
  assert.equal(a.stats.reservations, 1, 'fifty numbers, one store write');
  assert.deepEqual(await outcome(a, id, 50), { ok: false, code: 'conflict', nextSeq: 51 });
  assert.deepEqual(await outcome(a, id, 7), { ok: false, code: 'conflict', nextSeq: 51 });
  // Beyond the window: one more reservation, gaps allowed.
  assert.deepEqual(await outcome(a, id, 500), { ok: true });
  assert.equal(a.stats.reservations, 2);
  // After the lease: the same instance renews its window (nobody else reserved).
  await new Promise((r) => setTimeout(r, LEASE + 20));
  assert.deepEqual(await outcome(a, id, 501), { ok: true });
  assert.equal(a.stats.reservations, 3);
});

test(`${kind}: two instances: moving waits for the lease, skips ahead, and the refused number is dead everywhere`, async () => {
  const id = await newSession();
  const a = seqr('A');
  const b = seqr('B');
  assert.deepEqual(await outcome(a, id, 1), { ok: true });
  assert.deepEqual(await outcome(a, id, 2), { ok: true });
  const t0 = performance.now();
  const refused = await outcome(b, id, 3);
  assert.ok(performance.now() - t0 >= LEASE * 0.5, 'B waited for A\'s lease');
  assert.deepEqual(refused, { ok: false, code: 'conflict', nextSeq: 17 }, 'A reserved 1..16');
  // 3 was inside A's window: A must not take it now (its lease ended and B took the fence over).
  assert.deepEqual(await outcome(a, id, 3), { ok: false, code: 'conflict', nextSeq: 17 });
  assert.deepEqual(await outcome(b, id, 3), { ok: false, code: 'conflict', nextSeq: 17 });
  assert.deepEqual(await outcome(b, id, 17), { ok: true });
  assert.deepEqual(await outcome(b, id, 18), { ok: true });
  assert.equal(b.stats.waits, 1);
});

test(`${kind}: raced and interleaved at random: no number accepted twice, no refused number accepted later`, async () => {
  const id = await newSession();
  const inst = [seqr('A', 8), seqr('B', 8), seqr('C', 8)];
  const accepted = new Set<number>();
  const refused = new Set<number>();
  let rng = 12345;
  const rand = (k: number) => { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; return (rng >>> 0) % k; };
  let next = 1;
  for (let round = 0; round < 40; round++) {
    // Each round: a few numbers, some sent to two instances at once (a replay race), some reused.
    const batch = Array.from({ length: 3 }, () => (rand(4) === 0 && next > 1 ? 1 + rand(next - 1) : next++));
    // In completion order: a refusal may only come before (or without) an acceptance of its number.
    const results: Array<{ seq: number; r: Awaited<ReturnType<typeof outcome>> }> = [];
    await Promise.all(batch.flatMap((seq) => {
      const targets = rand(3) === 0 ? [inst[rand(3)]!, inst[rand(3)]!] : [inst[rand(3)]!];
      return targets.map(async (s) => { results.push({ seq, r: await outcome(s, id, seq) }); });
    }));
    for (const { seq, r } of results) {
      if (r.ok) {
        assert.ok(!accepted.has(seq), `seq ${seq} accepted twice`);
        assert.ok(!refused.has(seq), `seq ${seq} accepted after a 409 with nextSeq`);
        accepted.add(seq);
      } else if (r.code === 'conflict') {
        refused.add(seq);
        assert.ok(r.nextSeq! > seq);
        next = Math.max(next, r.nextSeq!);
      } else assert.equal(r.code, 'overloaded');
    }
  }
  assert.ok(accepted.size > 10, `only ${accepted.size} accepted`);
  assert.ok(inst.reduce((k, s) => k + s.stats.local, 0) > 0, 'some numbers came from memory');
});

test(`${kind}: close: inside the own window at once; elsewhere after the lease, with the same refusals; then not found`, async () => {
  const id = await newSession();
  const a = seqr('A');
  const b = seqr('B');
  assert.deepEqual(await outcome(a, id, 1), { ok: true });
  await assert.rejects(b.close(id, 2), (err: AppError) => err.code === 'conflict' && err.extra?.nextSeq === 17);
  await b.close(id, 17);
  assert.deepEqual(await outcome(a, id, 18), { ok: false, code: 'not_found' });
  const id2 = await newSession();
  assert.deepEqual(await outcome(a, id2, 1), { ok: true });
  await a.close(id2, 2);
  assert.deepEqual(await outcome(b, id2, 3), { ok: false, code: 'not_found' });
});
}
