/**
 * Crash safety on PostgreSQL (DATABASE_URL): kill -9 the real service in a loop during key
 * creation, rotation and PIR uploads; every acknowledged write survives, the store holds no
 * half-written key or PIR version after any kill (SQL check each time), and the service starts
 * cleanly (see _crash.ts). FAULT_ITERATIONS (default 5), FAULT_SEED; TEST_DATABASE_URL to use an
 * existing server.
 */
import { test, after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from '../support/spawn.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { openPostgres } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/index.ts';
import { ADMIN, ITERATIONS, SEED, Ledger, Rng, crashLoop, servesPir, verifyStore } from './_crash.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-crash-pg-'));
let svc: ServiceProcess | undefined;
let pg: TestPostgres | undefined;
let sql: Store | undefined;
after(async () => {
  await svc?.kill9();
  await sql?.close();
  await pg?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test(`PostgreSQL: ${ITERATIONS}× kill -9 during writes loses no acknowledged write (seed ${SEED})`, { timeout: 170_000 }, async (t) => {
  pg = await startPostgres();
  const rng = new Rng(SEED);
  const ledger = new Ledger();
  svc = await spawnService({ DATA_DIR: dataDir, DATABASE_URL: pg.url, ADMIN_TOKEN: ADMIN, WORKERS: '2', RATE_LIMIT_MAX: '1000000' });
  const pir = await servesPir(svc);
  if (!pir) t.diagnostic('putPirDatabase is not served: PIR uploads are not part of this run');
  sql = await openPostgres(pg.url, { max: 2 });
  const store = sql;
  let checks = 0;
  await crashLoop(t, svc, ledger, rng, { pir, check: async () => { await verifyStore(store); checks++; } });
  const s = await verifyStore(store);
  t.diagnostic(`store: ${s.keys} key rows (with the service's own), ${s.pirVersions} live PIR versions, complete after each of ${checks} kills`);
});
