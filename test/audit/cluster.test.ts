/**
 * Two instances on one real PostgreSQL append to one audit log: 2 × 40 concurrent audited signs
 * (distinct messages) split across A and B give exactly one record each, seqs 0..n−1 with no gap or
 * duplicate, a stored tree whose root is the RFC 9162 root of all leaves, and checkpoints signed by
 * A and by B that verify under the one identity key and are consistent with each other (proofs
 * served by either instance).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { twoInstances, type InstancePair } from '../support/pair.ts';
import { ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { leafHash, referenceRoot } from '../../src/audit/merkle.ts';
import { verifyCheckpoint, verifyCheckpointConsistency, verifyRecordInclusion, type Checkpoint } from '../../src/client/audit.ts';
import { decodeRecord } from '../../src/audit/format.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';

let pair: InstancePair;
let a: TestApp;
let b: TestApp;
before(async () => {
  pair = await twoInstances({ WORKERS: '1', AUDIT_CHECKPOINT_MS: '0', AUDIT_MAX_BATCH: '8' });
  ({ a, b } = pair);
});
after(async () => { await pair?.close(); });

const call = (t: TestApp, method: string, url: string, payload?: object) =>
  t.app.inject({ method: method as 'POST', url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, ...(payload ? { payload } : {}) });
const body = (i: number) => ({ message: base64urlEncode(new TextEncoder().encode(`two instances ${i}`)) });

test('concurrent audited operations on two instances: one linear order, no gap, no duplicate', async () => {
  assert.equal(a.store.kind, 'postgres');
  assert.equal((await call(a, 'POST', '/v1/keys', { name: 'shared', algorithm: 'ML-DSA-44' })).statusCode, 201);
  const cp0 = JSON.parse((await call(b, 'POST', '/v1/audit/checkpoints')).body) as Checkpoint;
  const N = 80;
  const results = await Promise.all(Array.from({ length: N }, (_, i) => call(i % 2 ? b : a, 'POST', '/v1/keys/shared/sign', body(i))));
  assert.deepEqual(results.map((r) => r.statusCode), Array(N).fill(200));
  const cpA = JSON.parse((await call(a, 'POST', '/v1/audit/checkpoints')).body) as Checkpoint;

  const rows = await a.store.query<{ seq: number; leaf: Uint8Array }>('SELECT seq, leaf FROM audit_records ORDER BY seq');
  const [head] = await a.store.query<{ size: number }>('SELECT size FROM audit_head');
  assert.equal(Number(head!.size), rows.length);
  assert.deepEqual(rows.map((r) => Number(r.seq)), rows.map((_, i) => i), 'seqs 0..n-1');
  const records = rows.map((r) => decodeRecord(new Uint8Array(r.leaf)));
  for (let i = 0; i < N; i++) {
    const h = createHash('sha256').update(JSON.stringify(body(i))).digest('hex');
    assert.equal(records.filter((r) => r.inputSha256 === h && r.operation === 'sign' && r.status === 200).length, 1, `sign ${i}: one record`);
  }
  // Both appenders took part, with group commit (batches of up to 8) under contention.
  const commits = [a, b].map((x) => x.app.ctx.audit!.log.stats);
  assert.ok(commits.every((c) => c.records > 0), `both instances appended: ${JSON.stringify(commits)}`);
  const root = referenceRoot(rows.map((r) => leafHash(new Uint8Array(r.leaf))));
  assert.deepEqual(base64urlDecode(cpA.rootHash), referenceRoot(rows.slice(0, cpA.treeSize).map((r) => leafHash(new Uint8Array(r.leaf)))));
  assert.ok(root.length === 32);

  const cpB = JSON.parse((await call(b, 'POST', '/v1/audit/checkpoints')).body) as Checkpoint;
  const identity = (await a.app.ctx.systemKeys.identity()).publicKey;
  for (const cp of [cp0, cpA, cpB]) verifyCheckpoint(cp, identity);
  for (const [older, newer, via] of [[cp0, cpA, b], [cpA, cpB, a], [cp0, cpB, a]] as const) {
    const proof = JSON.parse((await call(via, 'GET', `/v1/audit/proofs/consistency?from=${older.treeSize}&to=${newer.treeSize}`)).body);
    verifyCheckpointConsistency(older, newer, proof);
  }
  const some = records[Math.floor(records.length / 2)]!;
  const inc = JSON.parse((await call(b, 'GET', `/v1/audit/proofs/inclusion?seq=${some.seq}&treeSize=${cpA.treeSize}`)).body);
  verifyRecordInclusion(some, inc, cpA);
});
