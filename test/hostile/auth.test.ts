/**
 * Auth enumeration: every operation of openapi.yaml that is not public is called without
 * credentials, with malformed ones, an expired token, a token signed by another key, an
 * `alg: none` token and another tenant's token. All are rejected and nothing changes.
 * A protected operation missing from CASES fails the test: new operations must be covered here.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ml_dsa65 } from '@noble/post-quantum/ml-dsa.js';
import { testApp, problemOf, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { storeDigest } from '../support/digest.ts';
import { loadSpec } from '../../src/http/openapi.ts';
import { TokenService } from '../../src/keys/tokens.ts';

const b64u = (b: Uint8Array | string) => Buffer.from(b).toString('base64url');

/** Per protected operation: a request against tenant alice's resources, and what bob (another tenant) gets. */
interface Case { url: string; payload?: unknown; contentType?: string; otherTenant: 404 | 403 | 'own-namespace' }
const CASES: Record<string, Case> = {
  createKey: { url: '/v1/keys', payload: { name: 'fresh-key', algorithm: 'ML-DSA-44' }, otherTenant: 'own-namespace' },
  listKeys: { url: '/v1/keys', otherTenant: 'own-namespace' },
  getKey: { url: '/v1/keys/alice-key', otherTenant: 404 },
  updateKey: { url: '/v1/keys/alice-key', payload: { deletionAllowed: true }, otherTenant: 404 },
  deleteKey: { url: '/v1/keys/alice-key', otherTenant: 404 },
  rotateKey: { url: '/v1/keys/alice-key/rotate', otherTenant: 404 },
  destroyKeyVersion: { url: '/v1/keys/alice-key/versions/1', otherTenant: 404 },
  getPublicKey: { url: '/v1/keys/alice-key/public', otherTenant: 404 },
  exportKey: { url: '/v1/keys/alice-key/export', payload: {}, otherTenant: 404 },
  sign: { url: '/v1/keys/alice-key/sign', payload: { message: b64u('hello') }, otherTenant: 404 },
  verify: { url: '/v1/keys/alice-key/verify', payload: { message: b64u('hello'), signature: `v1:${b64u(new Uint8Array(2420))}` }, otherTenant: 404 },
  // HPKE operations (issue 14): the bearer check runs before the key is read, so a signature key serves.
  encrypt: { url: '/v1/keys/alice-key/encrypt', payload: { plaintext: b64u('hello') }, otherTenant: 404 },
  decrypt: { url: '/v1/keys/alice-key/decrypt', payload: { ciphertext: `v1:${b64u(new Uint8Array(1104))}` }, otherTenant: 404 },
  rewrap: { url: '/v1/keys/alice-key/rewrap', payload: { ciphertext: `v1:${b64u(new Uint8Array(1104))}` }, otherTenant: 404 },
  generateDataKey: { url: '/v1/keys/alice-key/datakey', payload: {}, otherTenant: 404 },
  createImportJob: { url: '/v1/import-jobs', payload: {}, otherTenant: 'own-namespace' },
  getImportJob: { url: '/v1/import-jobs/00000000-0000-4000-8000-000000000000', otherTenant: 404 },
  importKeyVersion: { url: '/v1/keys/alice-key/import', payload: { importJob: 'x', wrappedKey: 'AAAA' }, otherTenant: 404 },
  decapsulate: { url: '/v1/keys/alice-key/decapsulate', payload: { ciphertext: b64u(new Uint8Array(1088)) }, otherTenant: 404 },
  putPirDatabase: { url: '/v1/pir/databases/alice-db?recordSize=4', payload: Buffer.alloc(64, 7), contentType: 'application/octet-stream', otherTenant: 403 },
  // The audit log (issue 15): a tenant reads its own records only; proofs carry hashes, never records.
  createAuditCheckpoint: { url: '/v1/audit/checkpoints', otherTenant: 403 },
  // (limit=1: bob's first record, his createKey; his later ones name alice-key, as he asked for it.)
  getAuditRecords: { url: '/v1/audit/records?limit=1', otherTenant: 'own-namespace' },
  getAuditInclusionProof: { url: '/v1/audit/proofs/inclusion?seq=0&treeSize=1', otherTenant: 'own-namespace' },
  getAuditConsistencyProof: { url: '/v1/audit/proofs/consistency?from=1&to=1', otherTenant: 'own-namespace' },
  patchPirDatabase: { url: '/v1/pir/databases/alice-db?baseVersion=1', payload: Buffer.from([0, 0, 0, 0, 0]), contentType: 'application/octet-stream', otherTenant: 403 },
  // Key directory (issue 16): bob cannot publish alice's key nor remove an entry he does not own.
  publishDirectoryEntry: { url: '/v1/pir/directory/alice-entry', payload: { keyName: 'alice-key' }, otherTenant: 404 },
  unpublishDirectoryEntry: { url: '/v1/pir/directory/alice-entry', otherTenant: 404 },
  listDirectoryEntries: { url: '/v1/pir/directory', otherTenant: 'own-namespace' },
};

let t: TestApp;
let alice: string;
let bob: string;
let expired: string;
let forged: string;
let algNone: string;

before(async () => {
  t = await testApp({ RATE_LIMIT_MAX: '1000000' });
  await t.app.ready();
  const tokens = t.app.ctx.tokens;
  alice = (await tokens.mint('alice')).token;
  bob = (await tokens.mint('bob')).token;
  // A genuine signature by the real token key, two hours in the past.
  const past = new TokenService(t.app.ctx, t.app.ctx.keys, { now: () => Date.now() - 2 * 3600_000 });
  expired = (await past.mint('alice', { ttl: 600 })).token;
  // Same header and claims as alice's token, signed by a key the service never issued.
  const [h, p] = alice.split('.') as [string, string];
  const other = ml_dsa65.keygen();
  forged = `${h}.${p}.${b64u(ml_dsa65.sign(new TextEncoder().encode(`${h}.${p}`), other.secretKey))}`;
  algNone = `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`;
  const res = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${alice}` }, payload: { name: 'alice-key', algorithm: 'ML-DSA-44' } });
  assert.equal(res.statusCode, 201, res.body);
});
after(() => t.close());

function call(operationId: string, method: string, authorization?: string) {
  const c = CASES[operationId]!;
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (c.payload !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
  const payload = c.payload === undefined ? undefined : Buffer.isBuffer(c.payload) ? c.payload : JSON.stringify(c.payload);
  return t.app.inject({ method: method as 'GET', url: c.url, headers, ...(payload !== undefined ? { payload } : {}) });
}

test('every protected operation is covered by this test', () => {
  const spec = loadSpec();
  const protectedOps = spec.operations.filter((op) => !(op.security.length === 0 || op.security.some((r) => Object.keys(r).length === 0)));
  assert.ok(protectedOps.length >= 10);
  const missing = protectedOps.map((op) => op.operationId).filter((id) => !CASES[id]);
  assert.deepEqual(missing, [], `protected operations without an auth-enumeration case: ${missing.join(', ')}`);
});

test('bad credentials are rejected with 401 problem+json on every protected operation, changing nothing', async (tt) => {
  const spec = loadSpec();
  const before = await storeDigest(t.store);
  for (const op of spec.operations) {
    if (!CASES[op.operationId]) continue;
    await tt.test(op.operationId, async () => {
      const attempts: Array<[string, string | undefined]> = [
        ['no credentials', undefined],
        ['malformed scheme', 'Token abc'],
        ['empty bearer', 'Bearer '],
        ['garbage bearer', 'Bearer not-a-token'],
        ['garbage JWT', 'Bearer aaa.bbb.ccc'],
        ['expired token', `Bearer ${expired}`],
        ['token signed by another key', `Bearer ${forged}`],
        ['alg none', `Bearer ${algNone}`],
        ['truncated signature', `Bearer ${alice.slice(0, -10)}`],
        ['admin token with a suffix', `Bearer ${ADMIN_TOKEN}x`],
      ];
      for (const [what, authorization] of attempts) {
        const res = await call(op.operationId, op.method, authorization);
        assert.equal(res.statusCode, 401, `${op.operationId} with ${what}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        assert.equal(problemOf(res).code, 'unauthorized');
      }
    });
  }
  assert.equal(await storeDigest(t.store), before, 'rejected calls changed the store');
});

test("another tenant's token never reaches alice's resources", async (tt) => {
  const spec = loadSpec();
  for (const op of spec.operations) {
    const c = CASES[op.operationId];
    if (!c) continue;
    await tt.test(op.operationId, async () => {
      const before = await storeDigest(t.store);
      const res = await call(op.operationId, op.method, `Bearer ${bob}`);
      if (c.otherTenant === 'own-namespace') {
        assert.ok(res.statusCode < 400, `${op.operationId}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        assert.doesNotMatch(res.body, /alice-key/, 'bob sees nothing of alice');
        return;
      }
      assert.equal(res.statusCode, c.otherTenant, `${op.operationId}: ${res.body.slice(0, 200)}`);
      const p = problemOf(res);
      if (c.otherTenant === 404) assert.doesNotMatch(p.detail, /alice/, 'no existence leak');
      assert.equal(await storeDigest(t.store), before, `${op.operationId} changed the store for another tenant`);
    });
  }
  // alice's key is intact and still hers.
  const res = await t.app.inject({ method: 'GET', url: '/v1/keys/alice-key', headers: { authorization: `Bearer ${alice}` } });
  assert.equal(res.statusCode, 200);
});
