/**
 * Contract-driven fuzzing: for every operation in openapi.yaml, thousands of malformed requests
 * (wrong types, missing and extra fields, boundary and oversize values, bad base64url, random
 * bytes for binary bodies, bad auth headers). Asserts: no 5xx, every error is problem+json,
 * and the store is unchanged (digest of every table before and after).
 *
 * FUZZ_COUNT (default 10000) requests per operation; FUZZ_SEED makes a run reproducible.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { loadSpec, type Operation } from '../../src/http/openapi.ts';
import { storeDigest } from '../support/digest.ts';
import { Rng, malformedRequests, type SchemaLike } from '../support/malform.ts';

const COUNT = Number(process.env.FUZZ_COUNT ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);

let t: TestApp;
before(async () => {
  // AUDIT_LOG=off: each audited request would add one audit transaction (≈ 1–3 ms on PGlite) to
  // hundreds of thousands of requests; the capture under malformed input is fuzzed on its own in
  // test/audit/hostile.test.ts (no 5xx, exactly one record per answer).
  t = await testApp({ RATE_LIMIT_MAX: '1000000000', ZK_REGISTER_PER_MINUTE: '100000', BODY_LIMIT: '262144', AUDIT_LOG: 'off' });
  await t.app.ready();
});
after(() => t.close());

interface OpSchemas { body?: SchemaLike; bodyType?: string; params: SchemaLike[]; query: SchemaLike[] }

function schemasOf(op: Operation): OpSchemas {
  type Param = { in: string; name: string; schema: SchemaLike; required?: boolean };
  const raw = loadSpec().raw as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: SchemaLike }> }; parameters?: Param[] }> & { parameters?: Param[] }>; components: { schemas: Record<string, SchemaLike> } };
  const deref = (s: SchemaLike | undefined): SchemaLike | undefined => {
    if (!s) return s;
    if (typeof s.$ref === 'string') return deref(raw.components.schemas[s.$ref.split('/').pop()!]);
    return s;
  };
  const def = raw.paths[op.path]![op.method.toLowerCase()]!;
  const [bodyType, media] = Object.entries(def.requestBody?.content ?? {})[0] ?? [];
  // Parameters declared on the path item apply to every operation under it (OpenAPI 3.1 §4.8.9).
  const shared = (raw.paths[op.path]!.parameters ?? []) as Param[];
  const params = [...shared.filter((p) => !(def.parameters ?? []).some((q) => q.name === p.name && q.in === p.in)), ...(def.parameters ?? [])].map((p) => ({ ...deref(p.schema), 'x-name': p.name, 'x-in': p.in, 'x-required': p.required ?? false } as SchemaLike));
  return {
    ...(media ? { body: deref(media.schema)!, bodyType: bodyType! } : {}),
    params: params.filter((p) => p['x-in'] === 'path'),
    query: params.filter((p) => p['x-in'] === 'query'),
  };
}

test(`every operation survives ${COUNT} malformed requests (seed ${SEED})`, { timeout: 1_800_000 }, async (tt) => {
  const spec = loadSpec();
  assert.ok(spec.operations.length >= 3);
  const rng = new Rng(SEED);
  // The first prekey is made lazily by the first getPrekey: make it before taking the digest.
  assert.equal((await t.app.inject({ method: 'GET', url: '/v1/kex/prekey' })).statusCode, 200);
  const before = await storeDigest(t.store);
  for (const op of spec.operations) {
    await tt.test(`${op.operationId} (${op.method} ${op.path})`, async () => {
      const schemas = schemasOf(op);
      let n = 0;
      const statuses = new Map<number, number>();
      for (const req of malformedRequests(rng, op, schemas, COUNT, ADMIN_TOKEN)) {
        const res = await t.app.inject(req);
        n++;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 500) {
          assert.fail(`${op.operationId}: ${res.statusCode} for ${JSON.stringify({ ...req, payload: String(req.payload ?? '').slice(0, 300) })}: ${res.body.slice(0, 300)}`);
        }
        if (res.statusCode >= 400) {
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `${op.operationId}: error without problem+json: ${res.body.slice(0, 200)}`);
          const p = JSON.parse(res.body) as { code?: unknown; status?: unknown };
          assert.equal(typeof p.code, 'string');
          assert.equal(p.status, res.statusCode);
        }
      }
      assert.equal(n, COUNT);
      tt.diagnostic(`${op.operationId}: ${[...statuses].sort().map(([s, c]) => `${s}×${c}`).join(' ')}`);
    });
  }
  assert.equal(await storeDigest(t.store), before, 'malformed requests changed the store');
});

test('every operation: a body of an undeclared media type is 415, a JSON body nested 10,000 deep is 400; nothing changes', async (tt) => {
  const spec = loadSpec();
  const before = await storeDigest(t.store);
  const deep = `{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  let checked = 0;
  for (const op of spec.operations) {
    const url = op.path.replace(/\{[^}]+\}/g, 'x');
    const declared = op.requestMediaTypes;
    const wrong = ['text/plain', 'application/octet-stream', 'application/json', 'application/x-www-form-urlencoded'].filter((m) => !declared.includes(m));
    for (const type of wrong) {
      const res = await t.app.inject({ method: op.method as 'POST', url, headers: { ...auth, 'content-type': type }, payload: 'zzz' });
      assert.equal(res.statusCode, 415, `${op.operationId} with ${type}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      assert.equal((JSON.parse(res.body) as { code: string }).code, 'unsupported_media_type');
      checked++;
    }
    if (declared.includes('application/json')) {
      const res = await t.app.inject({ method: op.method as 'POST', url, headers: { ...auth, 'content-type': 'application/json' }, payload: deep });
      assert.ok(res.statusCode === 400 || res.statusCode === 429, `${op.operationId} deep JSON: ${res.statusCode} ${res.body.slice(0, 200)}`);
      if (res.statusCode === 400) assert.equal((JSON.parse(res.body) as { code: string }).code, 'validation_failed');
      checked++;
    }
  }
  tt.diagnostic(`${checked} media-type and depth cases over ${spec.operations.length} operations`);
  assert.ok(checked > spec.operations.length);
  assert.equal(await storeDigest(t.store), before, 'refused requests changed the store');
});
