/**
 * Two service instances on one real (embedded) PostgreSQL, sharing one master key and admin token:
 * the set-up of every multi-instance test. `listen` also serves both on loopback ports.
 */
import { randomBytes } from 'node:crypto';
import { testApp, ADMIN_TOKEN, type TestApp } from './app.ts';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { openStore, type Store } from '../../src/store/index.ts';

/** The pair: both apps, their stores, the database, and the base URLs when listening. */
export interface InstancePair { pg: TestPostgres; stores: Store[]; a: TestApp; b: TestApp; urlA: string; urlB: string; close(): Promise<void> }

/** Starts PostgreSQL and two instances with `env` (plus a high rate limit); `listen` puts both on sockets. */
export async function twoInstances(env: Record<string, string> = {}, opts: { listen?: boolean } = {}): Promise<InstancePair> {
  const pg = await startPostgres();
  const stores = await Promise.all([0, 1].map(() => openStore({ dataDir: '/nonexistent', databaseUrl: pg.url })));
  const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
  const [a, b] = await Promise.all(stores.map((store) => testApp({ RATE_LIMIT_MAX: '1000000', ...env }, { store, secrets }))) as [TestApp, TestApp];
  const urlA = opts.listen ? await a.app.listen({ port: 0, host: '127.0.0.1' }) : '';
  const urlB = opts.listen ? await b.app.listen({ port: 0, host: '127.0.0.1' }) : '';
  return {
    pg, stores, a, b, urlA, urlB,
    async close() {
      await b.close();
      await a.close();
      for (const s of stores) await s.close();
      await pg.stop();
    },
  };
}
