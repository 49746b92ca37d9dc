/**
 * Crash safety on the embedded store (PGlite in DATA_DIR, the default): kill -9 the real service
 * during its first start-up, then in a loop during key creation, rotation and PIR uploads; every
 * acknowledged write survives and the service starts cleanly (see _crash.ts).
 * FAULT_ITERATIONS (default 5), FAULT_SEED.
 *
 * PGlite runs PostgreSQL with fsync off and WASM cannot fsync: a committed transaction is in the
 * OS page cache when the response leaves, so it survives a process crash (tested here), not a
 * kernel crash or power loss (use PostgreSQL for that).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnService, type ServiceProcess } from '../support/spawn.ts';
import { openPglite } from '../../src/store/pglite.ts';
import { ADMIN, ITERATIONS, SEED, Ledger, Rng, crashLoop, servesPir, verifyStore, assertCleanLog } from './_crash.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'pqzk-crash-pglite-'));
let svc: ServiceProcess | undefined;
after(async () => {
  await svc?.kill9();
  rmSync(dataDir, { recursive: true, force: true });
});

test(`PGlite: kill -9 during first start-up and ${ITERATIONS}× during writes loses no acknowledged write (seed ${SEED})`, { timeout: 170_000 }, async (t) => {
  const rng = new Rng(SEED);
  const ledger = new Ledger();
  const env = { DATA_DIR: dataDir, ADMIN_TOKEN: ADMIN, WORKERS: '2', RATE_LIMIT_MAX: '1000000' };

  // First start creates the cluster (initdb), the schema and the service's own keys: kill it midway.
  svc = await spawnService(env, { waitReady: false });
  const killAt = 500 + rng.int(8000);
  await new Promise((r) => setTimeout(r, killAt));
  await svc.kill9();
  await svc.restart();
  assertCleanLog(svc.output(), 'start after a kill during the first start-up');
  t.diagnostic(`first start-up killed after ${killAt} ms; the next start is clean`);

  const pir = await servesPir(svc);
  if (!pir) t.diagnostic('putPirDatabase is not served: PIR uploads are not part of this run');
  await crashLoop(t, svc, ledger, rng, { pir });

  const stopped = await svc.stop();
  assert.equal(stopped.code, 0, `graceful stop: ${JSON.stringify(stopped)}`);
  const store = await openPglite(join(dataDir, 'pglite'));
  try {
    const s = await verifyStore(store);
    t.diagnostic(`store: ${s.keys} key rows (with the service's own), ${s.pirVersions} live PIR versions, all complete`);
    assert.ok(s.keys >= ledger.keys.size);
  } finally {
    await store.close();
  }
});
