/**
 * Automatic rotations are audited although no request makes them (src/keys/audit-events.ts): the
 * sweeper's rotation and the retention destroy it causes each get a record with principal `system`
 * and the key's owner, in the same verifiable log as request records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, callAs, ADMIN_TOKEN } from '../support/app.ts';

test('a sweeper rotation and its retention destroy are in the audit log, principal system, owner named', async () => {
  const t = await testApp({ KEY_ROTATION_SWEEP_MS: '100' });
  try {
    const created = await callAs(t, 'POST', '/v1/keys', { name: 'auto', algorithm: 'ML-DSA-44', rotationPeriod: 3600, maxVersions: 1 }, ADMIN_TOKEN);
    assert.equal(created.res.statusCode, 201, created.res.body);
    await t.store.query("UPDATE keys SET next_rotation_at = now() - interval '1 minute' WHERE name = 'auto'");
    let version = 1;
    for (const end = Date.now() + 15_000; version < 2 && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 100));
      version = (await t.store.query<{ latest_version: number }>("SELECT latest_version FROM keys WHERE name = 'auto'"))[0]!.latest_version;
    }
    assert.equal(version, 2, 'the sweeper rotated the key');
    type Rec = { operation: string; principal: string; key?: string; owner?: string; version?: number; status: number; requestId: string };
    let mine: Rec[] = [];
    for (const end = Date.now() + 5_000; mine.length < 2 && Date.now() < end;) {
      const page = (await callAs(t, 'GET', '/v1/audit/records?limit=1000', undefined, ADMIN_TOKEN)).body as { records: Rec[] };
      mine = page.records.filter((r) => r.principal === 'system' && r.key === 'auto');
      if (mine.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(mine.map((r) => [r.operation, r.version, r.status, r.owner]), [['automaticRotation', 2, 201, 'admin'], ['retentionDestroy', 1, 204, 'admin']]);
    assert.match(mine[0]!.requestId, /^sweeper:[0-9a-f-]{36}$/);
  } finally {
    await t.close();
  }
});
