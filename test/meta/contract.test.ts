/** The contract and the code agree: openapi.yaml lints clean, every operation declares security and has a handler, types check. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadSpec } from '../../src/http/openapi.ts';

test('openapi.yaml passes `redocly lint` (npm run lint:api)', () => {
  const res = spawnSync(process.execPath, ['node_modules/@redocly/cli/bin/cli.js', 'lint', 'openapi.yaml', '--format=stylish'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(res.status, 0, res.stdout + res.stderr);
});

test('every operation has an operationId, declared security and a 2xx response schema', () => {
  const spec = loadSpec();
  assert.ok(spec.operations.length >= 3);
  const paths = spec.raw.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>;
  for (const op of spec.operations) {
    assert.ok(Array.isArray(op.security), `${op.operationId} declares security`);
    const responses = paths[op.path]![op.method.toLowerCase()]!.responses;
    const ok = Object.entries(responses).filter(([code]) => /^2/.test(code));
    assert.ok(ok.length > 0, `${op.operationId} has a 2xx response`);
    for (const [code, r] of ok) {
      if (code === '204') continue;
      const schemas = Object.values(r.content ?? {}).map((c) => c.schema);
      assert.ok(schemas.length > 0 && schemas.every(Boolean), `${op.operationId} ${code} has a response schema`);
    }
  }
});

test('TypeScript strict type check passes (npm run typecheck)', () => {
  const res = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(res.status, 0, res.stdout + res.stderr);
});
