/**
 * The access log: one line per request, none for successful probes, one summary line per window
 * for 429 / 503 refusals, and query values outside the harmless list redacted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { testApp } from '../support/app.ts';
import { loggableUrl } from '../../src/http/access-log.ts';

test('loggableUrl keeps the path and harmless parameters, redacts the other values', () => {
  assert.equal(loggableUrl('/v1/keys/a/public?version=2&format=pem'), '/v1/keys/a/public?version=2&format=pem');
  assert.equal(loggableUrl('/v1/x?token=s3cret&limit=5&flag'), '/v1/x?token=[redacted]&limit=5&flag');
  assert.equal(loggableUrl('/v1/health'), '/v1/health');
});

test('probes are not logged, refusals are summed, other requests are one line each', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  const t = await testApp({ RATE_LIMIT_MAX: '3' }, { logger: { level: 'info', stream } });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/v1/health' })).statusCode, 200);
    for (let i = 0; i < 20; i++) assert.equal((await t.app.inject({ method: 'GET', url: '/v1/algorithms?secret=x' })).statusCode, 429);
  } finally { await t.close(); }
  const completed = lines.filter((l) => l.msg === 'request completed');
  assert.equal(completed.length, 0, 'no line for the three successful probes nor for the twenty 429s');
  const summaries = lines.filter((l) => l.msg === 'requests refused');
  assert.equal(summaries.length, 1);
  assert.deepEqual(summaries[0]!.refused, { 429: 20 });
  assert.ok(!JSON.stringify(lines).includes('secret=x'));
});

test('an ordinary request is one line with a redacted query', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  const t = await testApp({}, { logger: { level: 'info', stream } });
  try {
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/keys?token=abc' })).statusCode, 401);
  } finally { await t.close(); }
  const completed = lines.filter((l) => l.msg === 'request completed');
  assert.equal(completed.length, 1);
  assert.equal((completed[0]!.req as { url: string }).url, '/v1/keys?token=[redacted]');
  assert.equal((completed[0]!.res as { statusCode: number }).statusCode, 401);
});

test('an envelope inner request is logged by operation only: its path (key names, users) never reaches the log', async () => {
  const { handshake, envelopeBody, send } = await import('../kex/_client.ts');
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
  const t = await testApp({}, { logger: { level: 'debug', stream } });
  try {
    const s = await handshake(t.app);
    assert.equal((await send(t.app, s, envelopeBody(s, 1, { method: 'GET', path: '/v1/keys/secret-key-name-xyz/public' }))).statusCode, 200);
  } finally { await t.close(); }
  const inner = lines.filter((l) => l.msg === 'inner request completed');
  assert.equal(inner.length, 1);
  assert.equal(inner[0]!.operation, 'getPublicKey');
  assert.ok(!JSON.stringify(lines).includes('secret-key-name-xyz'), 'the inner path is not in the log');
  assert.ok(lines.some((l) => l.msg === 'request completed' && /\/envelope$/.test((l.req as { url?: string }).url ?? '')), 'the outer envelope request is logged');
});
