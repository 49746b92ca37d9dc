/**
 * Known-answer suite: shared plumbing (hex, tallies, case outcomes, vector loading).
 *
 * Outcome rules (the lead's contract for `npm run kat`):
 * - valid case: passes only when the output matches; `UnsupportedError` → notApplicable with its reason;
 *   any other exception or mismatch → failure.
 * - invalid case: passes only when the backend rejects it (returns false or throws a typed `AppError`);
 *   an untyped exception or an accepted input is a failure.
 * Vector files are read from the shared directory at run time, never copied into the repo.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CryptoBackend } from '../../src/crypto/backend.ts';
import { AppError } from '../../src/errors.ts';

/** One line of the KAT table (also what `--json` writes and what differential.ts returns). */
export interface KatRow {
  suite: string;
  algorithm: string;
  function: string;
  backend: string;
  passed: number;
  failed: number;
  notApplicable: number;
}

// ---------- bytes ----------

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new Error(`vector: malformed hex (length ${s.length})`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export const toHex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Test-only equality on public vector data (not constant time, nothing secret here). */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A mismatch description that names lengths and the first differing byte offset, never full values. */
export function diff(what: string, got: Uint8Array, want: Uint8Array): string | true {
  if (equal(got, want)) return true;
  if (got.length !== want.length) return `${what}: length ${got.length}, expected ${want.length}`;
  let i = 0;
  while (got[i] === want[i]) i++;
  return `${what}: differs from byte ${i}`;
}

/** Combine several checks; the first mismatch wins. */
export const all = (...checks: (string | true)[]): string | true => checks.find((c) => c !== true) ?? true;

// ---------- tallies ----------

export interface Failure { row: string; id: string; detail: string }

export class Tally {
  readonly rows = new Map<string, KatRow>();
  /** key `backend\u0000suite\u0000reason` → count and the functions it covered. */
  readonly reasons = new Map<string, { backend: string; suite: string; reason: string; count: number; where: Set<string> }>();
  readonly failures: Failure[] = [];
  readonly problems: string[] = [];

  row(suite: string, algorithm: string, fn: string, backend: string): Row {
    const key = [suite, algorithm, fn, backend].join('\u0000');
    let r = this.rows.get(key);
    if (!r) {
      r = { suite, algorithm, function: fn, backend, passed: 0, failed: 0, notApplicable: 0 };
      this.rows.set(key, r);
    }
    return new Row(this, r);
  }

  addRows(rows: KatRow[]): void {
    for (const r of rows) {
      const t = this.row(r.suite, r.algorithm, r.function, r.backend).data;
      t.passed += r.passed; t.failed += r.failed; t.notApplicable += r.notApplicable;
    }
  }
}

export class Row {
  readonly tally: Tally;
  readonly data: KatRow;
  constructor(tally: Tally, data: KatRow) { this.tally = tally; this.data = data; }

  pass(): void { this.data.passed++; }

  fail(id: string | number, detail: string): void {
    this.data.failed++;
    const { suite, algorithm, backend } = this.data;
    const f = { row: `${backend} ${suite} ${algorithm} ${this.data.function}`, id: String(id), detail };
    this.tally.failures.push(f);
    // Only the first few failures per row go to stderr while running; the summary lists them too.
    if (this.data.failed <= 3) process.stderr.write(`  FAIL ${f.row} #${f.id}: ${detail}\n`);
  }

  na(reason: string, count = 1): void {
    this.data.notApplicable += count;
    const key = [this.data.backend, this.data.suite, reason].join('\u0000');
    let r = this.tally.reasons.get(key);
    if (!r) {
      r = { backend: this.data.backend, suite: this.data.suite, reason, count: 0, where: new Set() };
      this.tally.reasons.set(key, r);
    }
    r.count += count;
    r.where.add(`${this.data.algorithm} ${this.data.function}`);
  }
}

// ---------- outcomes ----------

export const isUnsupported = (e: unknown): e is AppError => e instanceof AppError && e.code === 'unsupported_operation';
export const isTyped = (e: unknown): e is AppError => e instanceof AppError;
const describe = (e: unknown): string =>
  e instanceof AppError ? `${e.name}(${e.code}): ${e.message}` : e instanceof Error ? `untyped ${e.name}: ${e.message}` : `thrown ${typeof e}`;

export type Check = string | true;
/** Maps an exception to a notApplicable reason when it is a documented policy refusal; undefined otherwise. */
export type Policy = (e: unknown) => string | undefined;

export type Outcome = 'pass' | 'fail' | 'na';

/** Expected-valid case: body returns true when the output matches, or a mismatch description. */
export function valid(row: Row, id: string | number, body: () => Check, policy?: Policy): Outcome {
  try {
    const r = body();
    if (r === true) { row.pass(); return 'pass'; }
    row.fail(id, r);
    return 'fail';
  } catch (e) {
    if (isUnsupported(e)) { row.na(e.message); return 'na'; }
    const p = policy?.(e);
    if (p !== undefined) { row.na(p); return 'na'; }
    row.fail(id, describe(e));
    return 'fail';
  }
}

/**
 * Expected-invalid case: body performs the operation and returns whether the backend ACCEPTED it
 * (e.g. verify's result, or true after a sign/encapsulate that returned). Passing needs a rejection.
 */
export function invalid(row: Row, id: string | number, body: () => boolean): Outcome {
  try {
    if (!body()) { row.pass(); return 'pass'; }
    row.fail(id, 'accepted an invalid input');
    return 'fail';
  } catch (e) {
    if (isUnsupported(e)) { row.na(e.message); return 'na'; }
    if (isTyped(e)) { row.pass(); return 'pass'; }
    row.fail(id, `rejected with an ${describe(e)}`);
    return 'fail';
  }
}

/** Runs `op`, mapping "threw a typed error" to false; for the `invalid` body when the op returns a value. */
export const accepted = (op: () => unknown): boolean => { op(); return true; };

// ---------- jobs ----------

export interface JobContext {
  backend: CryptoBackend;
  /** 'native' | 'noble' | 'js' */
  backendName: string;
  dir: string;
  sample: number | undefined;
  tally: Tally;
  progress(msg: string): void;
}

export interface Job {
  /** e.g. 'acvp/ml-kem-keyGen'; `--suite` matches a substring of it. */
  id: string;
  /** 'crypto' jobs run once per CryptoBackend; 'js' jobs once with backend 'js'. */
  kind: 'crypto' | 'js';
  /** Files (relative to the vector dir) the job needs. */
  files: string[];
  /** Runs the job and returns how many cases it READ (before sampling); zero is a failure. */
  run(ctx: JobContext): number;
}

/** `--sample K`: at most K cases per group, spread evenly so that trailing invalid cases are also seen. */
export function sampled<T>(items: T[], k: number | undefined): T[] {
  if (k === undefined || items.length <= k) return items;
  const out: T[] = [];
  for (let i = 0; i < k; i++) out.push(items[Math.floor((i * items.length) / k)] as T);
  return out;
}

// ---------- vector files ----------

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** `--vectors DIR`, else env KAT_VECTORS, else `../shared/kat` relative to the repo root. */
export function vectorDir(cli?: string): string {
  return resolve(cli ?? process.env['KAT_VECTORS'] ?? join(repoRoot, '..', 'shared', 'kat'));
}

export function readJson<T = any>(dir: string, rel: string): T {
  return JSON.parse(readFileSync(join(dir, rel), 'utf8')) as T;
}

export function readGzipLines(dir: string, rel: string): string[] {
  return gunzipSync(readFileSync(join(dir, rel))).toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
}

export const missingFiles = (dir: string, files: string[]): string[] => files.filter((f) => !existsSync(join(dir, f)));

/** Where each vector family comes from (kat/SOURCES.md), for the "missing vectors" message. */
export const UPSTREAM: Array<[prefix: string, where: string]> = [
  ['ml-kem/acvp', 'NIST ACVP-Server v1.1.0.43 gen-val/json-files/<DIR>/ (usnistgov/ACVP-Server@975de31e; gzip mirror paulmillr/acvp-vectors acvp/<DIR>/)'],
  ['ml-dsa/acvp', 'NIST ACVP-Server v1.1.0.43 gen-val/json-files/<DIR>/ (usnistgov/ACVP-Server@975de31e; gzip mirror paulmillr/acvp-vectors acvp/<DIR>/)'],
  ['slh-dsa/acvp-v1.1.0.43', 'NIST ACVP-Server v1.1.0.43 gen-val/json-files/SLH-DSA-keyGen-FIPS205/ (or paulmillr/acvp-vectors)'],
  ['slh-dsa/acvp-2024-08', 'NIST ACVP Aug-2024 SLH-DSA-sigGen-FIPS205 (cloudflare/circl@92fbb9ad, zip-compressed)'],
  ['slh-dsa/acvp-v1.1.0.37', 'NIST ACVP v1.1.0.37 SLH-DSA-sigVer-FIPS205 (cloudflare/circl@a4bd2bf6, zip-compressed)'],
  ['sha3/acvp', 'NIST ACVP-Server v1.1.0.43 gen-val/json-files/<DIR>/ (or paulmillr/acvp-vectors)'],
  ['x25519/acvp', 'NIST ACVP-Server v1.1.0.43 gen-val/json-files/XECDH-*-RFC7748/ (or paulmillr/acvp-vectors)'],
  ['wycheproof/', 'C2SP/wycheproof@dac1dd47 testvectors_v1/'],
  ['ml-kem/cctv', 'C2SP/CCTV@1e3d2860 ML-KEM/modulus/'],
  ['ml-dsa/cctv', 'C2SP/CCTV@1e3d2860 ML-DSA/accumulated/README.md (values transcribed into JSON; see kat/SOURCES.md §3)'],
  ['xwing/draft-connolly', 'dconnolly/draft-connolly-cfrg-xwing-kem spec/test-vectors.json'],
  ['xwing/draft-irtf', 'cfrg/draft-irtf-cfrg-concrete-hybrid-kems test-vectors.json @ e3ad2cb4'],
  ['hpke/draft-ietf-hpke-pq', 'hpkewg/hpke-pq@74dafaa6 test-vectors.json (kat/SOURCES.md §5b)'],
  ['composite/draft-ietf-lamps-pq-composite-sigs', 'lamps-wg/draft-composite-sigs@60fcb1e8 src/testvectors.json (kat/SOURCES.md §5c)'],
  ['poseidon/', 'assembled from iden3/circomlibjs test/poseidon.js, iden3/go-iden3-crypto poseidon_test.go, paulmillr/noble-curves test/poseidon.test.ts (kat/SOURCES.md §5)'],
];

export const upstreamOf = (rel: string): string => UPSTREAM.find(([p]) => rel.startsWith(p))?.[1] ?? 'see kat/SOURCES.md';

// ---------- ACVP ----------

export type Rec = Record<string, any>;
export interface AcvpCase { tcId: number; p: Rec; e: Rec; ip: Rec | undefined }
export interface AcvpGroup { tgId: number; g: Rec; ipg: Rec | undefined; tests: AcvpCase[] }

/**
 * Joins prompt / expectedResults (/ internalProjection) on (tgId, tcId). Group parameters come from the
 * prompt; expectedResults carries answers only (kat/SOURCES.md §1.3).
 */
export function loadAcvp(dir: string, base: string, withIp = false): AcvpGroup[] {
  const prompt = readJson(dir, `${base}/prompt.json`);
  const expected = readJson(dir, `${base}/expectedResults.json`);
  const ip = withIp ? readJson(dir, `${base}/internalProjection.json`) : undefined;
  const index = (doc: Rec): Map<string, Rec> => {
    const m = new Map<string, Rec>();
    for (const g of doc['testGroups'] as Rec[]) {
      m.set(`g${g['tgId']}`, g);
      for (const t of g['tests'] as Rec[]) m.set(`${g['tgId']}/${t['tcId']}`, t);
    }
    return m;
  };
  const eIdx = index(expected);
  const ipIdx = ip ? index(ip) : undefined;
  return (prompt['testGroups'] as Rec[]).map((g) => {
    const tgId = g['tgId'] as number;
    const tests = (g['tests'] as Rec[]).map((t) => {
      const key = `${tgId}/${t['tcId']}`;
      const e = eIdx.get(key);
      if (!e) throw new Error(`${base}: tgId ${tgId} tcId ${t['tcId']} missing from expectedResults`);
      const i = ipIdx?.get(key);
      if (ipIdx && !i) throw new Error(`${base}: tgId ${tgId} tcId ${t['tcId']} missing from internalProjection`);
      return { tcId: t['tcId'] as number, p: t, e, ip: i };
    });
    return { tgId, g, ipg: ipIdx?.get(`g${tgId}`), tests };
  });
}

// ---------- Wycheproof ----------

export interface WpTest { tcId: number; comment?: string; flags?: string[]; result: 'valid' | 'invalid' | 'acceptable'; [k: string]: any }
export interface WpGroup { type: string; tests: WpTest[]; [k: string]: any }
export interface WpFile { algorithm: string; numberOfTests: number; testGroups: WpGroup[] }

export function loadWycheproof(dir: string, name: string): WpFile {
  const f = readJson<WpFile>(dir, `wycheproof/testvectors_v1/${name}`);
  const n = f.testGroups.reduce((s, g) => s + g.tests.length, 0);
  if (n !== f.numberOfTests) throw new Error(`${name}: numberOfTests ${f.numberOfTests} but ${n} tests read`);
  return f;
}

export const hasFlag = (t: WpTest, flag: string): boolean => (t.flags ?? []).includes(flag);
