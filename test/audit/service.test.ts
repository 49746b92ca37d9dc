/**
 * The audit log in one app (in-memory PGlite): what is captured (and what is not), tenant
 * visibility, signed checkpoints and proofs verified by the SDK, proof and range refusals, the
 * tamper test (a record rewritten in the database, then the whole tree rebuilt over it), and fail
 * closed / fail open when the log cannot be written.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, callAs, problemOf, testApp, type TestApp } from '../support/app.ts';
import { verifyCheckpoint, verifyCheckpointConsistency, verifyRecordInclusion, AuditVerificationError, type Checkpoint } from '../../src/client/audit.ts';
import { decodeRecord, encodeRecord } from '../../src/audit/format.ts';
import { appendNodes, leafHash } from '../../src/audit/merkle.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';
import { nobleBackend } from '../../src/crypto/noble.ts';
import * as P from '../../src/kex/protocol.ts';
import { envelopeBody, handshake, openResponse, send } from '../kex/_client.ts';

let t: TestApp;
let alice: string;
let identity: Uint8Array;
const admin = (method: string, url: string, body?: unknown) => callAs(t, method, url, body, ADMIN_TOKEN);
const records = async (token = ADMIN_TOKEN, from = 0, limit = 1000) => (await callAs(t, 'GET', `/v1/audit/records?from=${from}&limit=${limit}`, undefined, token)).body as { treeSize: number; records: Array<Record<string, unknown> & { seq: number; operation: string }> };
const checkpointNow = async () => (await admin('POST', '/v1/audit/checkpoints')).body as Checkpoint;

before(async () => {
  t = await testApp({ AUDIT_CHECKPOINT_MS: '0' });
  alice = (await t.app.ctx.tokens.mint('alice')).token;
  identity = (await t.app.ctx.systemKeys.identity()).publicKey;
});
after(async () => t.close());

test('a secure session is transport: the requests inside envelopes are recorded, the handshake, envelopes and close are not', async () => {
  const before = (await records()).treeSize;
  const s = await handshake(t.app);
  const res = await send(t.app, s, envelopeBody(s, 1, { method: 'POST', path: '/v1/keys', headers: { authorization: `Bearer ${alice}` }, body: { name: 'through-envelope', algorithm: 'ML-DSA-44' } }));
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(openResponse(s, 1, (res.json() as { sealed: string }).sealed).status, 201);
  const close = await t.app.inject({ method: 'DELETE', url: `/v1/kex/sessions/${s.sessionId}`, payload: { seq: 2, sealed: base64urlEncode(P.sealEnvelope(nobleBackend, s.keys, 'close', s.sessionId, 2, new Uint8Array(0))) } });
  assert.equal(close.statusCode, 200, close.body);
  const mine = (await records()).records.filter((r) => r.seq >= before);
  assert.deepEqual(mine.map((r) => [r.operation, r.status, r.key, r.principal]), [['createKey', 201, 'through-envelope', 'tenant:alice']]);
});

test('state-changing and secret-using operations are recorded, reads and verifications are not', async () => {
  const before = (await records()).treeSize;
  assert.equal((await callAs(t, 'POST', '/v1/keys', { name: 'k1', algorithm: 'ML-DSA-44' }, alice)).res.statusCode, 201);
  const signed = await callAs(t, 'POST', '/v1/keys/k1/sign', { message: base64urlEncode(new TextEncoder().encode('hello')) }, alice);
  assert.equal(signed.res.statusCode, 200);
  await callAs(t, 'GET', '/v1/keys/k1', undefined, alice);
  await callAs(t, 'POST', '/v1/keys/k1/verify', { message: base64urlEncode(new TextEncoder().encode('hello')), signature: signed.body.signature }, alice);
  assert.equal((await callAs(t, 'POST', '/v1/keys/nope/sign', { message: 'aGk' }, alice)).res.statusCode, 404);
  assert.equal((await callAs(t, 'POST', '/v1/keys/k1/sign', { message: 'aGk' }, 'not-a-token')).res.statusCode, 401);
  const page = await records();
  const mine = page.records.filter((r) => r.seq >= before);
  assert.deepEqual(mine.map((r) => [r.operation, r.status]), [['createKey', 201], ['sign', 200], ['sign', 404], ['sign', 401]]);
  const sign = mine[1]!;
  assert.equal(sign.principal, 'tenant:alice');
  assert.equal(sign.key, 'k1');
  assert.equal(sign.version, 1);
  assert.match(String(sign.inputSha256), /^[0-9a-f]{64}$/);
  assert.match(String(sign.requestId), /./);
  assert.equal(mine[2]!.problem, 'not_found');
  assert.match(String(mine[3]!.principal), /^anon:/);
  // Never the signature, message or token.
  const text = JSON.stringify(page);
  assert.equal(text.includes(signed.body.signature.slice(3, 40)), false);
  assert.equal(text.includes(alice.slice(-40)), false);
});

test('a tenant sees only its own records; anonymous callers none', async () => {
  const bob = (await t.app.ctx.tokens.mint('bob')).token;
  await callAs(t, 'POST', '/v1/keys', { name: 'b1', algorithm: 'ML-DSA-44' }, bob);
  const seen = await records(bob);
  assert.ok(seen.records.length >= 1);
  assert.ok(seen.records.every((r) => r.principal === 'tenant:bob'));
  assert.ok((await records(alice)).records.every((r) => r.principal === 'tenant:alice'));
  assert.equal((await callAs(t, 'GET', '/v1/audit/records', undefined, undefined)).res.statusCode, 401);
});

test('checkpoints verify under the identity key; every record is included; consistency holds', async () => {
  const cp1 = verifyCheckpoint(await checkpointNow(), identity);
  await callAs(t, 'POST', '/v1/keys', { name: 'k2', algorithm: 'ML-DSA-44' }, alice);
  const cp2 = verifyCheckpoint(await checkpointNow(), identity);
  assert.ok(cp2.treeSize > cp1.treeSize);
  const latest = (await callAs(t, 'GET', '/v1/audit/checkpoint', undefined, undefined)).body as Checkpoint;
  verifyCheckpoint(latest, identity);
  assert.ok(latest.treeSize >= cp2.treeSize);
  for (const r of (await records()).records.filter((r) => r.seq < cp2.treeSize)) {
    const proof = (await admin('GET', `/v1/audit/proofs/inclusion?seq=${r.seq}&treeSize=${cp2.treeSize}`)).body;
    verifyRecordInclusion(r as never, proof, cp2);
    assert.throws(() => verifyRecordInclusion({ ...r, status: 299 } as never, proof, cp2), AuditVerificationError);
  }
  const cons = (await admin('GET', `/v1/audit/proofs/consistency?from=${cp1.treeSize}&to=${cp2.treeSize}`)).body;
  verifyCheckpointConsistency(cp1, cp2, cons);
  // A forged signature, a foreign pin, a changed root: refused.
  assert.throws(() => verifyCheckpoint({ ...cp2, treeSize: cp2.treeSize + 1 }, identity), AuditVerificationError);
  assert.throws(() => verifyCheckpoint(cp2, new Uint8Array(identity.length)), AuditVerificationError);
  const otherRoot = base64urlEncode(leafHash(new Uint8Array(1)));
  assert.throws(() => verifyCheckpointConsistency(cp1, { ...cp2, rootHash: otherRoot }, cons), AuditVerificationError);
});

test('proofs beyond the tree and ranges over the limit are 400 problems', async () => {
  const size = (await records()).treeSize;
  for (const url of [
    `/v1/audit/proofs/inclusion?seq=0&treeSize=${size + 5}`,
    `/v1/audit/proofs/inclusion?seq=${size}&treeSize=${size}`,
    `/v1/audit/proofs/consistency?from=1&to=${size + 5}`,
    `/v1/audit/proofs/consistency?from=${size}&to=1`,
    '/v1/audit/proofs/consistency?from=0&to=1',
    '/v1/audit/proofs/inclusion?seq=-1&treeSize=1',
    '/v1/audit/records?limit=1001',
    '/v1/audit/records?from=abc',
  ]) {
    const { res } = await admin('GET', url);
    assert.equal(res.statusCode, 400, url);
    problemOf(res);
  }
});

test('tamper: a record rewritten in the database fails inclusion; a rebuilt tree fails consistency', async () => {
  const cp1 = verifyCheckpoint(await checkpointNow(), identity);
  const victim = (await records()).records.find((r) => r.operation === 'sign' && r.status === 200)!;
  // 1. Rewrite the record only (an insider hiding a signature: the sign becomes a 404).
  const rewritten = { ...decodeRecord(encodeRecord(victim as never)), status: 404, problem: 'not_found' };
  delete (rewritten as { version?: number }).version;
  await t.store.query('UPDATE audit_records SET leaf = $1 WHERE seq = $2', [encodeRecord(rewritten), victim.seq]);
  const served = (await records()).records.find((r) => r.seq === victim.seq)!;
  assert.equal(served.status, 404, 'the service now serves the rewritten record');
  const proof = (await admin('GET', `/v1/audit/proofs/inclusion?seq=${victim.seq}&treeSize=${cp1.treeSize}`)).body;
  assert.throws(() => verifyRecordInclusion(served as never, proof, cp1), AuditVerificationError);
  verifyRecordInclusion(victim as never, proof, cp1); // the original still matches the signed root
  // 2. Rebuild every stored hash over the rewritten leaves and sign a new checkpoint.
  const rows = await t.store.query<{ seq: number; leaf: Uint8Array }>('SELECT seq, leaf FROM audit_records ORDER BY seq');
  await t.store.transaction(async (tx) => {
    await tx.query('DELETE FROM audit_nodes');
    const { nodes } = appendNodes(0, [], rows.map((r) => leafHash(new Uint8Array(r.leaf))));
    for (const n of nodes) await tx.query('INSERT INTO audit_nodes (level, idx, hash) VALUES ($1, $2, $3)', [n.level, n.index, n.hash]);
  });
  const cp2 = verifyCheckpoint(await checkpointNow(), identity);
  const cons = (await admin('GET', `/v1/audit/proofs/consistency?from=${cp1.treeSize}&to=${cp2.treeSize}`)).body;
  assert.throws(() => verifyCheckpointConsistency(cp1, cp2, cons), AuditVerificationError);
  // The rewritten record is now "included" in the rebuilt tree: only the old checkpoint exposes it.
  const proof2 = (await admin('GET', `/v1/audit/proofs/inclusion?seq=${victim.seq}&treeSize=${cp2.treeSize}`)).body;
  verifyRecordInclusion(served as never, proof2, cp2);
  assert.notDeepEqual(base64urlDecode(cp2.rootHash), base64urlDecode(cp1.rootHash));
});

test('fail closed: no audit record, no answer (503 audit_unavailable, the signature withheld); fail open answers', async () => {
  const closed = await testApp({ AUDIT_CHECKPOINT_MS: '0' });
  const open = await testApp({ AUDIT_CHECKPOINT_MS: '0', AUDIT_FAIL_MODE: 'open' });
  try {
    for (const x of [closed, open]) {
      await callAs(x, 'POST', '/v1/keys', { name: 's', algorithm: 'ML-DSA-44' }, ADMIN_TOKEN);
      await x.store.query('ALTER TABLE audit_head RENAME TO audit_head_gone');
    }
    const a = await callAs(closed, 'POST', '/v1/keys/s/sign', { message: 'aGk' }, ADMIN_TOKEN);
    assert.equal(a.res.statusCode, 503);
    assert.equal(problemOf(a.res).code, 'audit_unavailable');
    assert.equal(a.res.body.includes('signature'), false);
    const b = await callAs(open, 'POST', '/v1/keys/s/sign', { message: 'aGk' }, ADMIN_TOKEN);
    assert.equal(b.res.statusCode, 200);
    assert.match(b.body.signature, /^v1:/);
    // Reads are not audited: they keep working.
    assert.equal((await callAs(closed, 'GET', '/v1/keys/s', undefined, ADMIN_TOKEN)).res.statusCode, 200);
  } finally {
    await closed.close();
    await open.close();
  }
});
