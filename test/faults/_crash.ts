/**
 * Crash-safety loop shared by crash-pglite.test.ts and crash-postgres.test.ts (issue 8, item 6).
 *
 * Each iteration: (re)start the real service, verify everything acknowledged so far, fire
 * concurrent createKey / rotateKey / putPirDatabase requests, record which were acknowledged
 * (2xx), and kill -9 the process at a random moment. After the last iteration the store is
 * inspected with SQL as well. What must hold after every restart:
 * - the service starts cleanly (ready, no error-level log lines while it is verified);
 * - every acknowledged key, version and public key is present and unchanged;
 * - no half-written key: every key has exactly the versions 1..latestVersion, and every version
 *   signs (its wrapped seed unwraps under the master key) with a signature that verifies against
 *   the public key that was acknowledged;
 * - no key or PIR version appears that nobody asked for;
 * - every PIR database opens through the SDK (signed config, hint hash), serves the records of the
 *   acknowledged (or a later attempted) upload, and never goes back below an acknowledged version.
 *
 * FAULT_ITERATIONS (default 5) sets the number of kills; FAULT_SEED makes the schedule reproducible.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { ServiceProcess } from '../support/spawn.ts';
import { Rng } from '../support/malform.ts';
import { createClient } from '../../src/client/index.ts';
import { base64urlEncode } from '../../src/crypto/index.ts';
import type { Queryable } from '../../src/store/index.ts';
import { http, ADMIN } from './_http.ts';

export { http, ADMIN };

export const ITERATIONS = Math.max(1, Number(process.env.FAULT_ITERATIONS ?? 5));
export const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);

const ALGS = ['ML-DSA-44', 'ML-DSA-44', 'ML-DSA-65', 'SLH-DSA-SHA2-128f'] as const;
const PIR_NAMES = ['crash-db-a', 'crash-db-b'];
const PIR_RECORD_SIZE = 24;
const REQUEST_TIMEOUT_MS = 30_000;

interface KeyVersion { version: number; publicKey: string }
interface KeyBody { name: string; algorithm: string; latestVersion: number; minVersion: number; versions: KeyVersion[] }

/** What the service has acknowledged (or shown us), which must survive every later crash. */
export class Ledger {
  /** name → algorithm of every createKey ever sent (acknowledged or not). */
  readonly attempted = new Map<string, string>();
  /** name → version → public key (base64url) acknowledged. */
  readonly keys = new Map<string, Map<number, string>>();
  /** PIR: upload tag → the records sent; name → highest acknowledged version and its tag. */
  readonly uploads = new Map<number, { name: string; records: Uint8Array }>();
  readonly pirAcked = new Map<string, { version: number; tag: number }>();
  readonly pirAttempted = new Set<string>();
  identity: Uint8Array | undefined;
  counts = { create: 0, rotate: 0, upload: 0, acked: 0, refused: 0, recovered: 0 };

  ack(body: KeyBody): void {
    const versions = this.keys.get(body.name) ?? new Map<number, string>();
    for (const v of body.versions) {
      const prior = versions.get(v.version);
      assert.ok(prior === undefined || prior === v.publicKey, `${body.name} v${v.version}: public key changed`);
      versions.set(v.version, v.publicKey);
    }
    this.keys.set(body.name, versions);
  }
}

/** Records of one upload: record 0 starts with the tag, everything else derives from it. */
export function pirRecords(tag: number, count: number): Uint8Array {
  const out = new Uint8Array(count * PIR_RECORD_SIZE);
  for (let i = 0; i < count; i++) {
    const h = createHash('sha256').update(`pir-${tag}-${i}`).digest();
    out.set(h.subarray(0, PIR_RECORD_SIZE), i * PIR_RECORD_SIZE);
  }
  new DataView(out.buffer).setUint32(0, tag);
  return out;
}

/** Concurrent writers until `stop()` is called; every 2xx goes into the ledger. */
export function workload(base: string, ledger: Ledger, rng: Rng, iteration: number, opts: { pir: boolean; concurrency: number }) {
  let stopped = false;
  let seq = 0;
  const touched = new Set<string>();
  async function one(): Promise<void> {
    const known = [...ledger.keys.keys()];
    const r = rng.next();
    if (opts.pir && r < 0.15) {
      const name = rng.pick(PIR_NAMES);
      const tag = iteration * 100_000 + seq++;
      const records = pirRecords(tag, 64 + rng.int(256));
      ledger.uploads.set(tag, { name, records });
      ledger.pirAttempted.add(name);
      ledger.counts.upload++;
      const res = await http(base, 'PUT', `/v1/pir/databases/${name}?recordSize=${PIR_RECORD_SIZE}`, undefined, { octet: records });
      if (res.status === 201) {
        const version = (res.body as { version: number }).version;
        const prior = ledger.pirAcked.get(name);
        if (!prior || prior.version < version) ledger.pirAcked.set(name, { version, tag });
        ledger.counts.acked++;
      // 409 = another upload of the same database won the race (the API asks to retry): refused, not acknowledged.
      } else if (res.status === 503 || (res.status === 409 && (res.body as { code?: string } | undefined)?.code === 'conflict')) ledger.counts.refused++;
      else if (res.status !== 0 && !stopped) throw new Error(`PUT pir ${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      return;
    }
    if (known.length === 0 || r < 0.6) {
      const name = `k${iteration}-${seq++}`;
      const algorithm = rng.pick(ALGS);
      ledger.attempted.set(name, algorithm);
      touched.add(name);
      ledger.counts.create++;
      const res = await http(base, 'POST', '/v1/keys', { name, algorithm });
      if (res.status === 201) { ledger.ack(res.body as KeyBody); ledger.counts.acked++; }
      else if (res.status === 503) ledger.counts.refused++;
      else if (res.status !== 0 && !stopped) throw new Error(`createKey ${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      return;
    }
    const name = rng.pick(known);
    touched.add(name);
    ledger.counts.rotate++;
    const res = await http(base, 'POST', `/v1/keys/${name}/rotate`);
    if (res.status === 200) { ledger.ack(res.body as KeyBody); ledger.counts.acked++; }
    else if (res.status === 503) ledger.counts.refused++;
      else if (res.status !== 0 && !stopped) throw new Error(`rotateKey ${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  const loops = Array.from({ length: opts.concurrency }, async () => {
    while (!stopped) await one();
  });
  return {
    touched,
    stop() { stopped = true; },
    done: Promise.all(loops),
  };
}

/** Runs the workload and kills the service -9 after a random delay; returns the keys touched. */
export async function crashOnce(svc: ServiceProcess, ledger: Ledger, rng: Rng, iteration: number, opts: { pir: boolean }): Promise<Set<string>> {
  const w = workload(svc.url, ledger, rng, iteration, { pir: opts.pir, concurrency: 4 });
  const delay = 150 + rng.int(2500);
  await new Promise((r) => setTimeout(r, delay));
  await svc.kill9();
  w.stop();
  await w.done;
  return w.touched;
}

const MESSAGE = base64urlEncode(new TextEncoder().encode('crash-safety probe'));

/** Checks keys and PIR databases through the API; `signAll` signs with every version of every key. */
export async function verifyService(svc: ServiceProcess, ledger: Ledger, touched: Set<string>, opts: { pir: boolean; signAll: boolean }): Promise<{ keys: number; versions: number; signed: number }> {
  const base = svc.url;
  // Every key the admin owns, paginated.
  const names: string[] = [];
  let after: string | undefined;
  for (;;) {
    const res = await http(base, 'GET', `/v1/keys?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    assert.equal(res.status, 200, `listKeys: ${JSON.stringify(res.body).slice(0, 300)}`);
    const page = res.body as { keys: Array<{ name: string; owner: string }>; next?: string };
    for (const k of page.keys) if (k.owner === 'admin') names.push(k.name);
    if (!page.next) break;
    after = page.next;
  }
  const present = new Set(names);
  for (const name of ledger.keys.keys()) assert.ok(present.has(name), `acknowledged key ${name} is missing after restart`);
  for (const name of present) assert.ok(ledger.attempted.has(name), `key ${name} exists but was never requested`);

  let versions = 0;
  let signed = 0;
  for (const name of present) {
    const res = await http(base, 'GET', `/v1/keys/${name}`);
    assert.equal(res.status, 200, `getKey ${name}: ${JSON.stringify(res.body).slice(0, 300)}`);
    const key = res.body as KeyBody;
    assert.equal(key.algorithm, ledger.attempted.get(name), `${name}: algorithm`);
    assert.equal(key.minVersion, 1);
    assert.deepEqual(key.versions.map((v) => v.version), Array.from({ length: key.latestVersion }, (_, i) => i + 1),
      `${name}: versions must be exactly 1..latestVersion (${key.latestVersion}), got ${key.versions.map((v) => v.version).join(',')}`);
    const acked = ledger.keys.get(name);
    if (acked) {
      for (const [v, pk] of acked) {
        const found = key.versions.find((x) => x.version === v);
        assert.ok(found, `${name}: acknowledged version ${v} is missing (latest ${key.latestVersion})`);
        assert.equal(found.publicKey, pk, `${name} v${v}: public key differs from the acknowledged one`);
      }
    } else {
      ledger.counts.recovered++; // an unacknowledged create that committed before the kill
    }
    // What we have now seen committed must survive the next crash too.
    ledger.ack(key);
    versions += key.versions.length;
    if (!opts.signAll && !touched.has(name)) continue;
    for (const v of key.versions) {
      const s = await http(base, 'POST', `/v1/keys/${name}/sign`, { message: MESSAGE, version: v.version });
      assert.equal(s.status, 200, `sign ${name} v${v.version}: ${JSON.stringify(s.body).slice(0, 300)}`);
      const sig = (s.body as { signature: string }).signature;
      assert.ok(sig.startsWith(`v${v.version}:`), `sign ${name} v${v.version}: prefix of ${sig.slice(0, 10)}`);
      const check = await http(base, 'POST', '/v1/verify', { algorithm: key.algorithm, publicKey: v.publicKey, message: MESSAGE, signature: sig });
      assert.equal(check.status, 200, `verify ${name} v${v.version}: ${JSON.stringify(check.body).slice(0, 300)}`);
      assert.equal((check.body as { valid: boolean }).valid, true, `${name} v${v.version}: signature does not verify under the stored public key`);
      signed++;
    }
  }

  if (opts.pir) await verifyPir(base, ledger);
  return { keys: present.size, versions, signed };
}

async function verifyPir(base: string, ledger: Ledger): Promise<void> {
  const timedFetch = (input: Request) => fetch(new Request(input, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }));
  const client = createClient(base, { token: ADMIN, fetch: timedFetch as typeof fetch });
  for (const name of ledger.pirAttempted) {
    const acked = ledger.pirAcked.get(name);
    const cfg = await http(base, 'GET', `/v1/pir/databases/${name}`);
    if (!acked && cfg.status === 404) continue; // no upload of it ever committed
    assert.equal(cfg.status, 200, `getPirConfig ${name}: ${JSON.stringify(cfg.body).slice(0, 300)}`);
    const version = (cfg.body as { version: number }).version;
    if (acked) assert.ok(version >= acked.version, `${name}: version ${version} is below the acknowledged ${acked.version}`);
    // open() checks the ML-DSA-65 signature (pinned to the identity seen first) and the hint's SHA-256.
    const db = await client.pir.open(name, ledger.identity ? { identityPublicKey: ledger.identity } : {});
    ledger.identity ??= db.identity.publicKey;
    const first = await db.get(0);
    const tag = new DataView(first.buffer, first.byteOffset).getUint32(0);
    const upload = ledger.uploads.get(tag);
    assert.ok(upload && upload.name === name, `${name} v${version}: record 0 names upload ${tag}, which was not sent to this database`);
    if (acked && version === acked.version) assert.equal(tag, acked.tag, `${name} v${version}: serves another upload than the acknowledged one`);
    const count = upload.records.length / PIR_RECORD_SIZE;
    assert.equal(db.params.recordCount, count, `${name}: record count`);
    const last = count - 1;
    assert.deepEqual(await db.get(last), upload.records.subarray(last * PIR_RECORD_SIZE, count * PIR_RECORD_SIZE), `${name} v${version}: record ${last} differs from the upload`);
    ledger.pirAcked.set(name, { version, tag });
  }
}

/** Store invariants checked with SQL (no half-written key or PIR version, every blob complete). */
export async function verifyStore(db: Queryable): Promise<{ keys: number; pirVersions: number }> {
  const broken = await db.query<{ owner: string; name: string; latest_version: number; n: number; max: number | null }>(
    `SELECT k.owner, k.name, k.latest_version, COUNT(v.version)::int AS n, MAX(v.version) AS max
     FROM keys k LEFT JOIN key_versions v ON v.key_id = k.id
     GROUP BY k.id, k.owner, k.name, k.latest_version
     HAVING COUNT(v.version) <> k.latest_version OR MAX(v.version) IS DISTINCT FROM k.latest_version OR MIN(v.version) IS DISTINCT FROM 1`);
  assert.deepEqual(broken, [], `half-written keys: ${JSON.stringify(broken)}`);
  const empty = await db.query('SELECT key_id, version FROM key_versions WHERE length(wrapped_secret) = 0 OR length(public_key) = 0');
  assert.deepEqual(empty, [], 'key versions with empty material');
  const pir = await db.query<{ name: string; version: number; ok: boolean }>(
    `SELECT d.name, d.version,
       COALESCE((SELECT SUM(length(b.bytes)) FROM pir_blobs b WHERE b.name = d.name AND b.version = d.version AND b.kind = 'records'), 0) = d.records_bytes
       AND (SELECT sha256(string_agg(b.bytes, ''::bytea ORDER BY b.seq)) FROM pir_blobs b WHERE b.name = d.name AND b.version = d.version AND b.kind = 'hint') = d.hint_sha256
       AND (SELECT sha256(string_agg(b.bytes, ''::bytea ORDER BY b.seq)) FROM pir_blobs b WHERE b.name = d.name AND b.version = d.version AND b.kind = 'records') = d.records_sha256
       AS ok
     FROM pir_databases d WHERE d.purged_at IS NULL`).catch((err: Error) => {
    if (/pir_databases|pir_blobs/.test(err.message)) return [];
    throw err;
  });
  for (const p of pir) assert.ok(p.ok, `PIR ${p.name} v${p.version}: blobs incomplete or hashes differ`);
  const keys = await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM keys');
  return { keys: keys[0]!.n, pirVersions: pir.length };
}

/** No error-level (50) or fatal (60) pino line in a service's output. */
export function assertCleanLog(output: string, what: string): void {
  const bad = output.split('\n').filter((l) => /"level":(50|60)/.test(l));
  assert.deepEqual(bad.slice(0, 5), [], `${what}: error-level log lines`);
}

export { Rng };

/** True when the service serves putPirDatabase (GET of an unknown database is then a 404, not a 405). */
export async function servesPir(svc: ServiceProcess): Promise<boolean> {
  const res = await http(svc.url, 'GET', '/v1/pir/databases/none');
  return res.status === 404 || res.status === 200;
}

/**
 * The loop: ITERATIONS × (workload, kill -9 at a random moment, restart, verify). `check` runs after
 * each verification (SQL invariants where the store is reachable while the service runs).
 */
export async function crashLoop(t: { diagnostic(msg: string): void }, svc: ServiceProcess, ledger: Ledger, rng: Rng,
  opts: { pir: boolean; check?: () => Promise<void> }): Promise<void> {
  for (let i = 1; i <= ITERATIONS; i++) {
    const touched = await crashOnce(svc, ledger, rng, i, { pir: opts.pir });
    const started = Date.now();
    await svc.restart();
    const restartMs = Date.now() - started;
    const r = await verifyService(svc, ledger, touched, { pir: opts.pir, signAll: i === ITERATIONS });
    assertCleanLog(svc.output(), `after restart ${i}`);
    await opts.check?.();
    t.diagnostic(`kill ${i}: restart ${restartMs} ms; ${r.keys} keys, ${r.versions} versions present, ${r.signed} signatures checked`);
  }
  const c = ledger.counts;
  t.diagnostic(`requests: ${c.create} creates, ${c.rotate} rotations, ${c.upload} PIR uploads; ${c.acked} acknowledged, all present; ${c.refused} refused (503); ${c.recovered} unacknowledged creates found committed`);
  assert.ok(ledger.keys.size > 0, 'the workload got no key acknowledged: nothing was tested');
  if (opts.pir) assert.ok(ledger.pirAcked.size > 0, 'no PIR upload was acknowledged: nothing was tested');
}
