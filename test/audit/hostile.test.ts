/**
 * Hostile input against the audit log: malformed, out-of-range and oversized proof and range
 * queries are 4xx problems and change nothing; the SDK verifiers and the leaf decoder refuse
 * malformed data with their own error types (never a crash, never "valid"); odd but legal request
 * values (Unicode names, admin `?owner=`) are recorded and verify; and the capture itself under
 * malformed requests to every audited operation (test/hostile/fuzz.test.ts runs with the log off):
 * no 5xx, and exactly one record per answer.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import fc from 'fast-check';
import { ADMIN_TOKEN, callAs, problemOf, testApp, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import { AuditVerificationError, verifyCheckpoint, verifyCheckpointConsistency, verifyRecordInclusion, type Checkpoint } from '../../src/client/audit.ts';
import { decodeRecord, encodeRecord, type AuditRecord } from '../../src/audit/format.ts';
import { CryptoInputError } from '../../src/errors.ts';
import { loadSpec, type Operation } from '../../src/http/openapi.ts';
import { isAudited } from '../../src/http/audit-capture.ts';
import { Rng, malformedRequests, type SchemaLike } from '../support/malform.ts';

let t: TestApp;
let cp: Checkpoint;
let identity: Uint8Array;
before(async () => {
  t = await testApp({ AUDIT_CHECKPOINT_MS: '0', AUDIT_MAX_RANGE: '50' });
  identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  for (let i = 0; i < 5; i++) await callAs(t, 'POST', '/v1/keys', { name: `h${i}`, algorithm: 'ML-DSA-44' }, ADMIN_TOKEN);
  cp = (await callAs(t, 'POST', '/v1/audit/checkpoints', undefined, ADMIN_TOKEN)).body as Checkpoint;
});
after(async () => t.close());

test('malformed and out-of-range queries: 4xx problems, nothing changed', async () => {
  const size = ((await callAs(t, 'GET', '/v1/audit/records?limit=1', undefined, ADMIN_TOKEN)).body as { treeSize: number }).treeSize;
  const urls = [
    '/v1/audit/proofs/inclusion', '/v1/audit/proofs/inclusion?seq=0', '/v1/audit/proofs/inclusion?treeSize=1',
    '/v1/audit/proofs/inclusion?seq=1.5&treeSize=3', '/v1/audit/proofs/inclusion?seq=0&treeSize=0',
    '/v1/audit/proofs/inclusion?seq=0&treeSize=9007199254740992', '/v1/audit/proofs/inclusion?seq=0&treeSize=1e3',
    `/v1/audit/proofs/inclusion?seq=${size + 1}&treeSize=${size}`, `/v1/audit/proofs/inclusion?seq=0&treeSize=${size + 1}`,
    '/v1/audit/proofs/inclusion?seq=0&treeSize=9007199254740991', '/v1/audit/proofs/inclusion?seq=0&seq=1&treeSize=2',
    '/v1/audit/proofs/inclusion?seq=%00&treeSize=1', '/v1/audit/proofs/consistency?from=2&to=1',
    `/v1/audit/proofs/consistency?from=1&to=${size + 1}`, '/v1/audit/proofs/consistency?from=-1&to=1',
    '/v1/audit/proofs/consistency?from=x&to=y', '/v1/audit/records?limit=51', '/v1/audit/records?limit=0',
    '/v1/audit/records?limit=100001', '/v1/audit/records?from=-1', '/v1/audit/records?from=9007199254740992',
  ];
  const before = await storeDigest(t.store, ['kex_instances', 'kex_grants']);
  for (const url of urls) {
    const { res } = await callAs(t, 'GET', url, undefined, ADMIN_TOKEN);
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    problemOf(res);
  }
  assert.equal(await storeDigest(t.store, ['kex_instances', 'kex_grants']), before, 'refused reads changed nothing, the log included');
  // A body where none is taken, a tenant on the admin-only checkpoint operation: refused, and audited.
  const alice = (await t.app.ctx.tokens.mint('alice')).token;
  assert.equal((await callAs(t, 'POST', '/v1/audit/checkpoints', undefined, alice)).res.statusCode, 403);
  assert.equal((await t.app.inject({ method: 'POST', url: '/v1/audit/checkpoints', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' }, payload: 'x' })).statusCode, 415);
  assert.equal(await storeDigest(t.store, ['kex_instances', 'kex_grants']) === before, false, 'the two refused POSTs were recorded');
  const page = (await callAs(t, 'GET', `/v1/audit/records?from=${size}&limit=10`, undefined, ADMIN_TOKEN)).body as { records: AuditRecord[] };
  // Both were refused before authentication finished (the scheme check, the media type): the
  // principal is the anonymous address prefix, as the service knew it.
  assert.deepEqual(page.records.map((r) => [r.operation, r.status, r.principal]), [['createAuditCheckpoint', 403, 'anon:127.0.0.0/24'], ['createAuditCheckpoint', 415, 'anon:127.0.0.0/24']]);
  // A range past the end is an empty page, not an error.
  assert.deepEqual((await callAs(t, 'GET', '/v1/audit/records?from=1000000', undefined, ADMIN_TOKEN)).body.records, []);
});

test('reads (GET) of the log change nothing at all', async () => {
  const before = await storeDigest(t.store, ['kex_instances', 'kex_grants']);
  for (const url of ['/v1/audit/records', `/v1/audit/proofs/inclusion?seq=0&treeSize=${cp.treeSize}`, `/v1/audit/proofs/consistency?from=1&to=${cp.treeSize}`, '/v1/audit/checkpoint']) {
    assert.equal((await callAs(t, 'GET', url, undefined, ADMIN_TOKEN)).res.statusCode, 200, url);
  }
  assert.equal(await storeDigest(t.store, ['kex_instances', 'kex_grants']), before);
});

test('SDK verifiers refuse malformed checkpoints, records and proofs with AuditVerificationError', async () => {
  const record = ((await callAs(t, 'GET', '/v1/audit/records?limit=1', undefined, ADMIN_TOKEN)).body as { records: AuditRecord[] }).records[0]!;
  const proof = (await callAs(t, 'GET', `/v1/audit/proofs/inclusion?seq=0&treeSize=${cp.treeSize}`, undefined, ADMIN_TOKEN)).body;
  verifyRecordInclusion(record as never, proof, cp);
  const bad: unknown[] = [
    { ...cp, rootHash: '!!!' }, { ...cp, rootHash: 'AAAA' }, { ...cp, signature: 42 }, { ...cp, treeSize: -1 }, { ...cp, treeSize: 1.5 },
    { ...cp, identity: { ...cp.identity, algorithm: 'ML-DSA-44' } }, { ...cp, identity: null }, { ...cp, time: 7 }, { ...cp, signature: '' },
    { ...cp, identity: { ...cp.identity, publicKey: 'AA' } },
  ];
  for (const b of bad) assert.throws(() => verifyCheckpoint(b as Checkpoint, identity), AuditVerificationError, JSON.stringify(b).slice(0, 80));
  const badProofs: unknown[] = [
    { ...proof, proof: ['!!'] }, { ...proof, proof: [] }, { ...proof, proof: [...proof.proof, proof.proof[0]] }, { ...proof, seq: 1 }, { ...proof, treeSize: 1 },
  ];
  for (const p of badProofs) assert.throws(() => verifyRecordInclusion(record as never, p as never, cp), AuditVerificationError);
  for (const r of [{ ...record, inputSha256: 'zz' }, { ...record, seq: -1 }, { ...record, status: 'x' }, { ...record, version: 2 ** 60 }]) {
    assert.throws(() => verifyRecordInclusion(r as never, { ...proof, seq: (r as { seq: number }).seq }, cp), AuditVerificationError);
  }
  assert.throws(() => verifyCheckpointConsistency(cp, { ...cp, treeSize: cp.treeSize - 1 }, { from: 0, to: 0, fromRootHash: '', toRootHash: '', proof: [] }), AuditVerificationError);
  assert.throws(() => verifyCheckpointConsistency({ ...cp, treeSize: 1 }, cp, { from: 1, to: cp.treeSize, fromRootHash: '', toRootHash: '', proof: ['%%'] }), AuditVerificationError);
});

test('the leaf decoder refuses arbitrary bytes with CryptoInputError; encode/decode round-trips', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    try { decodeRecord(bytes); } catch (err) { assert.ok(err instanceof CryptoInputError || err instanceof TypeError, String(err)); }
  }), { numRuns: 500 });
  const str = fc.string({ maxLength: 40 });
  fc.assert(fc.property(fc.record({
    seq: fc.nat(), time: str, principal: str, operation: str, status: fc.integer({ min: 100, max: 599 }), requestId: str,
    key: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }), version: fc.option(fc.integer({ min: 1, max: 2 ** 31 }), { nil: undefined }),
    nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => base64urlEncode(b)),
  }), (r) => {
    const clean = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as AuditRecord;
    assert.deepEqual(decodeRecord(encodeRecord(clean)), clean);
  }), { numRuns: 300 });
});

test('odd but legal values are recorded faithfully and verify', async () => {
  const name = 'Ünïcödé.name-1';
  const alice = (await t.app.ctx.tokens.mint('alice@example.org')).token;
  // The name pattern is ASCII: a Unicode name is a 400, and that refusal is recorded too.
  assert.equal((await callAs(t, 'POST', '/v1/keys', { name, algorithm: 'ML-DSA-44' }, alice)).res.statusCode, 400);
  assert.equal((await callAs(t, 'POST', '/v1/keys/h1/rotate?owner=admin', undefined, ADMIN_TOKEN)).res.statusCode, 200);
  const fresh = (await callAs(t, 'POST', '/v1/audit/checkpoints', undefined, ADMIN_TOKEN)).body as Checkpoint;
  const all = ((await callAs(t, 'GET', '/v1/audit/records?from=0&limit=50', undefined, ADMIN_TOKEN)).body as { records: AuditRecord[] }).records;
  const refused = all.find((r) => r.principal === 'tenant:alice@example.org' && r.operation === 'createKey')!;
  assert.equal(refused.key, name);
  assert.equal(refused.status, 400);
  assert.equal(refused.problem, 'validation_failed');
  const rotated = all.find((r) => r.operation === 'rotateKey')!;
  assert.deepEqual([rotated.key, rotated.owner, rotated.version], ['h1', 'admin', 2]);
  for (const r of [refused, rotated]) {
    const proof = (await callAs(t, 'GET', `/v1/audit/proofs/inclusion?seq=${r.seq}&treeSize=${fresh.treeSize}`, undefined, ADMIN_TOKEN)).body;
    verifyRecordInclusion(r as never, proof, fresh);
  }
});

/** The operation's body, path and query schemas (as test/hostile/fuzz.test.ts derives them). */
function schemasOf(op: Operation): { body?: SchemaLike; bodyType?: string; params: SchemaLike[]; query: SchemaLike[] } {
  type Param = { in: string; name: string; schema: SchemaLike; required?: boolean };
  const raw = loadSpec().raw as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: SchemaLike }> }; parameters?: Param[] }> & { parameters?: Param[] }>; components: { schemas: Record<string, SchemaLike> } };
  const deref = (x: SchemaLike | undefined): SchemaLike | undefined => (x && typeof x.$ref === 'string' ? deref(raw.components.schemas[x.$ref.split('/').pop()!]) : x);
  const def = raw.paths[op.path]![op.method.toLowerCase()]!;
  const [bodyType, media] = Object.entries(def.requestBody?.content ?? {})[0] ?? [];
  const shared = (raw.paths[op.path]!.parameters ?? []) as Param[];
  const params = [...shared.filter((p) => !(def.parameters ?? []).some((q) => q.name === p.name && q.in === p.in)), ...(def.parameters ?? [])]
    .map((p) => ({ ...deref(p.schema), 'x-name': p.name, 'x-in': p.in, 'x-required': p.required ?? false } as SchemaLike));
  return { ...(media ? { body: deref(media.schema)!, bodyType: bodyType! } : {}), params: params.filter((p) => p['x-in'] === 'path'), query: params.filter((p) => p['x-in'] === 'query') };
}

const CAPTURE_FUZZ = Number(process.env.AUDIT_FUZZ_COUNT ?? 150);

test(`capture under ${CAPTURE_FUZZ} malformed requests per audited operation: no 5xx, one record per answer`, { timeout: 900_000 }, async (tt) => {
  const rng = new Rng(Number(process.env.FUZZ_SEED ?? 0xa0d17));
  const ops = loadSpec().operations.filter(isAudited);
  assert.ok(ops.length >= 15, `audited operations: ${ops.length}`);
  for (const op of ops) {
    await tt.test(op.operationId, async () => {
      const before = ((await callAs(t, 'GET', '/v1/audit/records?limit=1', undefined, ADMIN_TOKEN)).body as { treeSize: number }).treeSize;
      let answered = 0;
      for (const req of malformedRequests(rng, op, schemasOf(op), CAPTURE_FUZZ, ADMIN_TOKEN)) {
        const res = await t.app.inject(req);
        assert.ok(res.statusCode < 500, `${op.operationId}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        // A path parameter over the router's maxParamLength (200) never reaches the operation
        // (app.ts frameworkErrors answers 400): no operation ran, so there is nothing to record.
        const routed = String(req.url).split('?')[0]!.split('/').every((seg) => seg.length <= 200);
        if (res.statusCode !== 429 && routed) answered++;
      }
      const after = ((await callAs(t, 'GET', '/v1/audit/records?limit=1', undefined, ADMIN_TOKEN)).body as { treeSize: number }).treeSize;
      assert.equal(after - before, answered, `${op.operationId}: one record per answer`);
      const page = (await callAs(t, 'GET', `/v1/audit/records?from=${after - 1}&limit=1`, undefined, ADMIN_TOKEN)).body as { records: AuditRecord[] };
      assert.equal(page.records[0]?.operation, op.operationId);
    });
  }
});

test('every record gets its own random nonce: equal fields, different leaves; a record without one does not encode', async () => {
  const { newNonce, recordLeafHash } = await import('../../src/audit/format.ts');
  const base = { seq: 7, time: '2026-12-01T00:00:00.000Z', principal: 'tenant:victim', operation: 'rotateKey', key: 'payroll', status: 200, requestId: 'req-3' };
  const [n1, n2] = [newNonce(), newNonce()];
  assert.notEqual(n1, n2);
  assert.notDeepEqual(recordLeafHash({ ...base, nonce: n1 }), recordLeafHash({ ...base, nonce: n2 }));
  assert.throws(() => encodeRecord(base as unknown as AuditRecord), CryptoInputError);
  assert.throws(() => encodeRecord({ ...base, nonce: 'short' }), CryptoInputError);
  // Stored records carry theirs, so a reader allowed to see a record can recompute its leaf.
  const page = (await callAs(t, 'GET', '/v1/audit/records?limit=5', undefined, ADMIN_TOKEN)).body as { records: AuditRecord[] };
  assert.ok(page.records.length > 0 && page.records.every((r) => /^[A-Za-z0-9_-]{22}$/.test(r.nonce)));
  assert.equal(new Set(page.records.map((r) => r.nonce)).size, page.records.length);
});

test('records name what was acted on: the destroyed version from the path; an ?owner= of any length is not copied', async () => {
  assert.equal((await callAs(t, 'POST', '/v1/keys', { name: 'd1', algorithm: 'ML-DSA-44' }, ADMIN_TOKEN)).res.statusCode, 201);
  for (let i = 0; i < 2; i++) assert.equal((await callAs(t, 'POST', '/v1/keys/d1/rotate', undefined, ADMIN_TOKEN)).res.statusCode, 200);
  assert.equal((await callAs(t, 'DELETE', '/v1/keys/d1/versions/1', undefined, ADMIN_TOKEN)).res.statusCode, 200);
  const long = 'tenant:' + 'x'.repeat(12_000);
  const refused = await t.app.inject({ method: 'POST', url: `/v1/keys?owner=${long}`, payload: { name: 'd2', algorithm: 'ML-DSA-44' } });
  assert.ok(refused.statusCode >= 400 && refused.statusCode < 500);
  const size = ((await callAs(t, 'GET', '/v1/audit/records?limit=1', undefined, ADMIN_TOKEN)).body as { treeSize: number }).treeSize;
  const page = (await callAs(t, 'GET', `/v1/audit/records?from=${Math.max(0, size - 50)}&limit=50`, undefined, ADMIN_TOKEN)).body as { records: AuditRecord[] };
  const destroyed = page.records.filter((r) => r.operation === 'destroyKeyVersion' && r.key === 'd1');
  assert.deepEqual(destroyed.map((r) => r.version), [1]);
  const last = page.records.filter((r) => r.operation === 'createKey').at(-1)!;
  assert.equal(last.owner, undefined);
  assert.ok(encodeRecord(last).length < 1024, 'a refused request leaves a small record');
});
