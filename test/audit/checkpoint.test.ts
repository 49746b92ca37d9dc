/**
 * Checkpoints on a timer (AUDIT_CHECKPOINT_MS): signed when the log grew, not again while it did
 * not; the latest is what getAuditCheckpoint serves; after an identity rotation new checkpoints are
 * signed by the new version and old ones still verify under the old public key.
 */
import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, callAs, testApp, type TestApp } from '../support/app.ts';
import { verifyCheckpoint, type Checkpoint } from '../../src/client/audit.ts';
import { base64urlDecode } from '../../src/crypto/bytes.ts';

let t: TestApp;
before(async () => { t = await testApp({ AUDIT_CHECKPOINT_MS: '200' }); });
after(async () => t.close());

const count = async () => Number((await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_checkpoints'))[0]!.n);
const waitFor = async (pred: () => Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (await pred()) return; await new Promise((r) => setTimeout(r, 100)); }
  assert.fail('condition not reached in time');
};

test('the timer signs when the log grew, and not again while it did not', async () => {
  await callAs(t, 'POST', '/v1/keys', { name: 'c1', algorithm: 'ML-DSA-44' }, ADMIN_TOKEN);
  await waitFor(async () => ((await callAs(t, 'GET', '/v1/audit/checkpoint', undefined, undefined)).body as Checkpoint).treeSize >= 1);
  const n = await count();
  await new Promise((r) => setTimeout(r, 1000)); // five periods with nothing new
  assert.equal(await count(), n, 'no checkpoint without growth');
  const identity = (await t.app.ctx.systemKeys.identity()).publicKey;
  const cp = (await callAs(t, 'GET', '/v1/audit/checkpoint', undefined, undefined)).body as Checkpoint;
  verifyCheckpoint(cp, identity);
});

test('after an identity rotation: new checkpoints name the new version; old ones verify under the old key', async () => {
  const old = (await callAs(t, 'POST', '/v1/audit/checkpoints', undefined, ADMIN_TOKEN)).body as Checkpoint;
  const oldKey = base64urlDecode(old.identity.publicKey);
  await t.app.ctx.systemKeys.rotateIdentity();
  const fresh = (await callAs(t, 'POST', '/v1/audit/checkpoints', undefined, ADMIN_TOKEN)).body as Checkpoint;
  assert.equal(fresh.identity.version, old.identity.version + 1);
  verifyCheckpoint(fresh, (await t.app.ctx.systemKeys.identity()).publicKey);
  verifyCheckpoint(old, oldKey);
  assert.throws(() => verifyCheckpoint(old, base64urlDecode(fresh.identity.publicKey)));
});
