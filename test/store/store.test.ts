/** The same store tests on both engines: PGlite (embedded) and a real PostgreSQL server. */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, migrate, isUniqueViolation, type Store } from '../../src/store/index.ts';
import { listMigrations } from '../../src/store/migrate.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';

function storeSuite(name: string, open: () => Promise<{ store: Store; reopen: () => Promise<Store>; cleanup: () => Promise<void> }>) {
  describe(`store on ${name}`, () => {
    let store: Store;
    let reopen: () => Promise<Store>;
    let cleanup: () => Promise<void>;
    before(async () => ({ store, reopen, cleanup } = await open()));
    after(async () => { await store.close(); await cleanup(); });

    test('migrations are recorded and idempotent', async () => {
      const rows = await store.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows.map((r) => r.version), listMigrations().map((m) => m.version));
      assert.deepEqual(await migrate(store), [], 'a second run applies nothing');
      assert.deepEqual(await migrate(store), []);
    });

    test('bytes round-trip as Uint8Array and text parameters are bound, not spliced', async () => {
      const bytes = new Uint8Array([0, 1, 2, 255, 0x27, 0x5c]);
      const [row] = await store.query<{ b: Uint8Array; t: string }>('SELECT $1::bytea AS b, $2::text AS t', [bytes, "x'); DROP TABLE service_meta; --"]);
      assert.ok(row!.b instanceof Uint8Array);
      assert.deepEqual([...row!.b], [...bytes]);
      assert.equal(row!.t, "x'); DROP TABLE service_meta; --");
    });

    test('transactions commit and roll back', async () => {
      await store.transaction(async (tx) => tx.query('INSERT INTO service_meta (key, value) VALUES ($1, $2)', ['committed', 'yes']));
      await assert.rejects(store.transaction(async (tx) => {
        await tx.query('INSERT INTO service_meta (key, value) VALUES ($1, $2)', ['rolled-back', 'no']);
        throw new Error('abort');
      }), /abort/);
      const keys = (await store.query<{ key: string }>('SELECT key FROM service_meta')).map((r) => r.key);
      assert.ok(keys.includes('committed'));
      assert.ok(!keys.includes('rolled-back'));
    });

    test('unique violations are recognisable on both engines', async () => {
      await store.query('INSERT INTO service_meta (key, value) VALUES ($1, $2)', ['dup', '1']);
      const err = await store.query('INSERT INTO service_meta (key, value) VALUES ($1, $2)', ['dup', '2']).catch((e: unknown) => e);
      assert.ok(isUniqueViolation(err));
    });

    test('data survives closing and reopening the store', async () => {
      await store.query('INSERT INTO service_meta (key, value) VALUES ($1, $2)', ['durable', 'v']);
      await store.close();
      store = await reopen();
      const rows = await store.query<{ value: string }>('SELECT value FROM service_meta WHERE key = $1', ['durable']);
      assert.equal(rows[0]?.value, 'v');
      assert.equal(await store.ping(), true);
    });
  });
}

storeSuite('PGlite', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-store-'));
  const reopen = () => openStore({ dataDir });
  return { store: await reopen(), reopen, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
});

storeSuite('PostgreSQL', async () => {
  const pg: TestPostgres = await startPostgres();
  const reopen = () => openStore({ dataDir: '/nonexistent', databaseUrl: pg.url });
  return { store: await reopen(), reopen, cleanup: () => pg.stop() };
});

describe('text the store cannot hold', () => {
  test('a NUL character in a parameter is a client error on PGlite, not an engine failure', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-store-'));
    const store = await openStore({ dataDir });
    try {
      await assert.rejects(store.query('SELECT $1::text AS t', ['a\u0000b']), (err: unknown) => (err as { code?: string }).code === 'invalid_input' && (err as { status?: number }).status === 400);
    } finally { await store.close(); rmSync(dataDir, { recursive: true, force: true }); }
  });
});
