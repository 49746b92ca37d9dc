/**
 * The audit log end to end over a real socket: the SDK (generated client) verifies checkpoints
 * under the pinned identity key, inclusion of the records of its own operations and consistency
 * between checkpoints; a tenant's view is its own records only; the `pqzk audit` CLI (run from
 * source) saves a checkpoint, verifies inclusion and consistency (exit 0), and exits 1 with an
 * `audit_integrity` error once a record has been rewritten in the database.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listeningTestApp, ADMIN_TOKEN, type TestApp } from '../support/app.ts';
import { createClient, type PqzkClient } from '../../src/client/index.ts';
import { AuditVerificationError } from '../../src/client/audit.ts';
import { decodeRecord, encodeRecord } from '../../src/audit/format.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
let t: TestApp & { baseUrl: string };
let admin: PqzkClient;
let alice: PqzkClient;
let identity: Uint8Array;
const dir = mkdtempSync(join(tmpdir(), 'pqzk-audit-e2e-'));

before(async () => {
  t = await listeningTestApp({ AUDIT_CHECKPOINT_MS: '0' });
  identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  admin = createClient(t.baseUrl, { token: ADMIN_TOKEN });
  alice = createClient(t.baseUrl, { token: (await t.app.ctx.tokens.mint('alice')).token });
});
after(async () => t?.close());

function pqzk(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PQZK_URL: t.baseUrl, PQZK_TOKEN: ADMIN_TOKEN, PQZK_IDENTITY_KEY: base64urlEncode(identity) };
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => { stdout += d; });
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
    c.stdin.end();
  });
}

test('SDK: own operations are recorded, included in a verified checkpoint, and the log stays consistent', async () => {
  const first = await admin.audit.createCheckpoint(identity);
  await alice.keys.create({ name: 'rel', algorithm: 'ML-DSA-44' });
  const { signature } = await alice.keys.sign('rel', { message: new TextEncoder().encode('artifact') });
  assert.match(signature, /^v1:/);
  const cp = await admin.audit.createCheckpoint(identity);
  const mine = await alice.audit.records({ from: 0 });
  assert.ok(mine.records.every((r) => r.principal === 'tenant:alice'));
  assert.deepEqual(mine.records.map((r) => r.operation), ['createKey', 'sign']);
  for (const r of mine.records) await alice.audit.proveInclusion(r, cp);
  await alice.audit.proveConsistency(first, cp);
  await alice.audit.proveConsistency(cp, cp);
  const forged = { ...mine.records[1]!, operation: 'verify' };
  await assert.rejects(alice.audit.proveInclusion(forged, cp), AuditVerificationError);
  await assert.rejects(admin.audit.checkpoint(new Uint8Array(identity.length)), AuditVerificationError);
  // The public checkpoint: anyone may fetch and verify it.
  const anon = createClient(t.baseUrl);
  assert.ok((await anon.audit.checkpoint(identity)).treeSize >= cp.treeSize);
});

test('CLI: checkpoint --out, verify-inclusion, verify-consistency; a rewritten record exits 1', async () => {
  await admin.keys.create({ name: 'cli', algorithm: 'ML-DSA-44' });
  const saved = join(dir, 'cp1.json');
  const c1 = await pqzk(['audit', 'checkpoint', '--create', '--out', saved]);
  assert.equal(c1.code, 0, c1.stderr);
  assert.match(c1.stdout, /^verified checkpoint: tree size \d+/);
  const page = await admin.audit.records({ from: 0, limit: 1000 });
  const target = page.records.find((r) => r.operation === 'createKey' && r.key === 'cli')!;
  const inc = await pqzk(['audit', 'verify-inclusion', String(target.seq), '--checkpoint', saved]);
  assert.equal(inc.code, 0, inc.stderr);
  assert.match(inc.stdout, /is included in the signed tree/);
  await admin.keys.sign('cli', { message: new TextEncoder().encode('x') });
  await admin.audit.createCheckpoint(identity);
  const cons = await pqzk(['audit', 'verify-consistency', '--old', saved]);
  assert.equal(cons.code, 0, cons.stderr);
  const listed = await pqzk(['audit', 'records', '--from', String(target.seq), '--limit', '1']);
  assert.match(listed.stdout, new RegExp(`^${target.seq} \\S+ admin createKey cli v1 → 201\\n$`));

  // An insider rewrites the record in the database: inclusion against the saved checkpoint fails.
  const [row] = await t.store.query<{ leaf: Uint8Array }>('SELECT leaf FROM audit_records WHERE seq = $1', [target.seq]);
  const forged = { ...decodeRecord(new Uint8Array(row!.leaf)), principal: 'tenant:mallory' };
  await t.store.query('UPDATE audit_records SET leaf = $1 WHERE seq = $2', [encodeRecord(forged), target.seq]);
  const bad = await pqzk(['audit', 'verify-inclusion', String(target.seq), '--checkpoint', saved]);
  assert.equal(bad.code, 1, bad.stdout + bad.stderr);
  assert.match(bad.stderr.trim(), /^error: audit_integrity: record \d+ is not included/);
  // Usage errors: exit 2.
  assert.equal((await pqzk(['audit', 'verify-inclusion', 'x', '--checkpoint', saved])).code, 2);
  assert.equal((await pqzk(['audit', 'verify-consistency', '--old', join(dir, 'missing.json')])).code, 2);
});
