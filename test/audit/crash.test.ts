/**
 * The audit log survives kill -9 (PGlite in DATA_DIR, the real service as a child process): in each
 * iteration concurrent signs (each with a distinct message, so its record is recognisable by the
 * input hash) run until the process is killed at a random moment. After every restart:
 * - every acknowledged sign (200) has exactly one record (operation sign, status 200, its input hash);
 * - seqs are 0..n−1 with no gap, the head says n, and the stored subtree hashes give the same root
 *   as the RFC 9162 definition over all leaves (no half-written batch);
 * - every checkpoint signed before a kill verifies and is consistent with the tree after it.
 * FAULT_ITERATIONS (default 3 here), FAULT_SEED.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from '../support/spawn.ts';
import { Rng } from '../support/malform.ts';
import { http, ADMIN } from '../faults/_http.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { decodeRecord } from '../../src/audit/format.ts';
import { leafHash, referenceRoot } from '../../src/audit/merkle.ts';
import { verifyCheckpoint, type Checkpoint } from '../../src/client/audit.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';

const ITERATIONS = Math.max(1, Number(process.env.FAULT_ITERATIONS ?? 3));
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-audit-crash-'));
let svc: ServiceProcess | undefined;
after(async () => {
  await svc?.kill9();
  rmSync(dataDir, { recursive: true, force: true });
});

const bodyOf = (i: number) => ({ message: base64urlEncode(new TextEncoder().encode(`audit crash message ${i}`)) });
const inputHash = (i: number) => createHash('sha256').update(JSON.stringify(bodyOf(i))).digest('hex');

test(`audit: kill -9 during concurrent audited signs, ${ITERATIONS}×, loses no acknowledged record (seed ${SEED})`, { timeout: 300_000 }, async (t) => {
  const rng = new Rng(SEED);
  svc = await spawnService({ DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, WORKERS: '2', RATE_LIMIT_MAX: '1000000', AUDIT_CHECKPOINT_MS: '0' });
  assert.equal((await http(svc.url, 'POST', '/v1/keys', { name: 'crash', algorithm: 'ML-DSA-44' })).status, 201);
  const acked = new Set<number>();
  const checkpoints: Checkpoint[] = [];
  let next = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const i = next++;
        const r = await http(svc!.url, 'POST', '/v1/keys/crash/sign', bodyOf(i), { timeoutMs: 10_000 });
        if (r.status === 200) acked.add(i);
        if (r.status === 0) return;
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // A checkpoint mid-run (it must stay consistent with whatever survives the kill).
    await new Promise((r) => setTimeout(r, 300 + rng.int(700)));
    const cp = await http(svc.url, 'POST', '/v1/audit/checkpoints');
    if (cp.status === 201) checkpoints.push(cp.body as Checkpoint);
    await new Promise((r) => setTimeout(r, 200 + rng.int(1500)));
    await svc.kill9();
    stop = true;
    await Promise.all(workers);
    await svc.restart();
    const { records, size } = await readLog(svc.url);
    const signs = new Map<string, number>();
    for (const r of records) if (r.operation === 'sign' && r.status === 200 && r.inputSha256) signs.set(r.inputSha256, (signs.get(r.inputSha256) ?? 0) + 1);
    for (const i of acked) assert.equal(signs.get(inputHash(i)), 1, `acknowledged sign ${i} has exactly one record`);
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: size }, (_, k) => k), 'seq 0..n-1, no gap');
    t.diagnostic(`iteration ${it}: ${acked.size} acknowledged signs, ${size} records, ${checkpoints.length} checkpoints`);
  }
  const identity = base64urlDecode((checkpoints[0] ?? (await http(svc.url, 'GET', '/v1/audit/checkpoint')).body as Checkpoint).identity.publicKey);
  assert.ok(acked.size > 0 && checkpoints.length > 0, 'the run acknowledged signs and signed checkpoints');
  const stopped = await svc.stop();
  assert.equal(stopped.code, 0);

  // The store itself: head, records, nodes, root, and every checkpoint consistent with the tree now.
  const store = await openPglite(join(dataDir, 'pglite'));
  try {
    const [head] = await store.query<{ size: number }>('SELECT size FROM audit_head');
    const leaves = await store.query<{ seq: number; leaf: Uint8Array }>('SELECT seq, leaf FROM audit_records ORDER BY seq');
    const n = Number(head!.size);
    assert.equal(leaves.length, n);
    const hashes = leaves.map((l) => leafHash(new Uint8Array(l.leaf)));
    const [{ count }] = await store.query<{ count: number }>('SELECT count(*)::int AS count FROM audit_nodes') as [{ count: number }];
    const expectedNodes = Array.from({ length: 64 }, (_, L) => Math.floor(n / 2 ** L)).reduce((a, b) => a + b, 0);
    assert.equal(count, expectedNodes, 'exactly the perfect subtrees of n leaves are stored');
    const root = referenceRoot(hashes);
    for (const cp of checkpoints) {
      verifyCheckpoint(cp, identity);
      assert.ok(cp.treeSize <= n);
      assert.deepEqual(referenceRoot(hashes.slice(0, cp.treeSize)), base64urlDecode(cp.rootHash), `checkpoint of ${cp.treeSize} matches the surviving tree`);
    }
    t.diagnostic(`store: ${n} records, ${count} nodes, root ${base64urlEncode(root).slice(0, 12)}…`);
  } finally {
    await store.close();
  }
});

async function readLog(url: string): Promise<{ records: Array<ReturnType<typeof decodeRecord>>; size: number }> {
  const out: Array<ReturnType<typeof decodeRecord>> = [];
  let from = 0;
  let size = 0;
  for (;;) {
    const r = await http(url, 'GET', `/v1/audit/records?from=${from}&limit=1000`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const page = r.body as { treeSize: number; records: Array<ReturnType<typeof decodeRecord>>; next?: number };
    out.push(...page.records);
    size = page.treeSize;
    if (page.next === undefined) break;
    from = page.next;
  }
  return { records: out, size };
}
