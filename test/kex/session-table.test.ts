/**
 * The embedded store's memory session table (src/kex/session-table.ts): replay digests are bounded
 * per prekey — beyond the cap they go to kex_handshakes and replays are still refused exactly, the
 * prekey reports itself full (the service then rotates it early) — and the SQL twin answers the
 * same claims the same way.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store/index.ts';
import { MemorySessionTable, sqlSessionTable, type SessionTable } from '../../src/kex/session-table.ts';
import type { HandshakeClaim } from '../../src/kex/repo.ts';

let store: Store;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pqzk-st-'));
  store = await openStore({ dataDir: dir });
  for (const id of ['p1', 'p2', 'p3']) {
    await store.query(`INSERT INTO kex_prekeys (prekey_id, public_key, not_before, not_after, signature, identity_key_id, identity_version, identity_public_key)
      VALUES ($1, '\\x00', now(), now() + interval '1 hour', '\\x00', 'id', 1, '\\x00')`, [id]);
  }
});
after(async () => { await store?.close(); rmSync(dir, { recursive: true, force: true }); });

let n = 0;
const claim = (prekeyId: string, byte: number): HandshakeClaim => ({
  digest: new Uint8Array(32).fill(byte), prekeyId, sessionId: `st${n++}`.padEnd(22, '0'), expiresAt: new Date(Date.now() + 60_000), clientKeyThumbprint: 't',
});

test('memory: digests beyond the cap go to the store; replays are refused on both sides; the prekey is full', async () => {
  const table = new MemorySessionTable(store, 2);
  const [a, b, c] = [claim('p1', 1), claim('p1', 2), claim('p1', 3)];
  const made = await table.claim([a, b, c]);
  assert.deepEqual([...made].sort(), [a.sessionId, b.sessionId, c.sessionId].sort());
  assert.equal(table.full('p1'), true);
  assert.equal(table.full('p2'), false);
  assert.equal((await store.query('SELECT 1 FROM kex_handshakes WHERE prekey_id = $1', ['p1'])).length, 1, 'the third digest went to the store');
  // Replays of a memory digest and of the stored one: nothing created.
  assert.equal((await table.claim([{ ...claim('p1', 1) }, { ...claim('p1', 3) }])).size, 0);
  // Undoing the overflowed claim removes its stored digest: the same hello may come again.
  await table.unclaim(c.sessionId, c.digest);
  assert.equal((await store.query('SELECT 1 FROM kex_handshakes WHERE prekey_id = $1', ['p1'])).length, 0);
  assert.equal((await table.claim([claim('p1', 3)])).size, 1);
  // Retiring the prekey forgets its memory digests.
  table.prekeysRetired(['p1']);
  assert.equal(table.full('p1'), false);
});

for (const kind of ['sql', 'memory'] as const) {
  test(`${kind}: the same claims get the same answers (duplicates, replays, unclaim, expiry sweep)`, async () => {
    const table: SessionTable = kind === 'sql' ? sqlSessionTable(store) : new MemorySessionTable(store);
    const prekey = kind === 'sql' ? 'p2' : 'p3';
    const first = claim(prekey, 10);
    assert.equal((await table.claim([first])).size, 1);
    assert.equal((await table.claim([claim(prekey, 10)])).size, 0, 'replay');
    assert.equal(await table.exists(first.sessionId), true);
    await table.unclaim(first.sessionId, first.digest);
    assert.equal(await table.exists(first.sessionId), false);
    const again = claim(prekey, 10);
    assert.equal((await table.claim([again])).size, 1, 'an undone claim may be made again');
    const short = { ...claim(prekey, 11), expiresAt: new Date(Date.now() - 1) };
    assert.equal((await table.claim([short])).size, 1);
    assert.equal(await table.exists(short.sessionId), false, 'expired');
    assert.deepEqual(await table.removeExpired(100), [short.sessionId]);
    assert.deepEqual([...await table.existing([again.sessionId, short.sessionId])], [again.sessionId]);
    const snap = await table.snapshot();
    assert.ok(snap.sessions.some((s) => s.sessionId === again.sessionId && s.recvSeq === 0 && !s.confirmed));
  });
}
