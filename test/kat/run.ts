/**
 * `npm run kat`: the known-answer suite on both crypto backends.
 *
 *   node test/kat/run.ts [--backend native|noble|all] [--suite SUBSTR] [--sample K] [--json FILE]
 *                        [--vectors DIR] [--differential N]
 *
 * Progress goes to stderr; the table (suite × algorithm × function × backend), totals, n/a reasons and
 * failures go to stdout. Exit code 1 on any failure, on any job that read zero cases, or (with CI=true)
 * on missing vector files.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getBackend } from '../../src/crypto/index.ts';
import type { CryptoBackend } from '../../src/crypto/backend.ts';
import { allJobs } from './jobs.ts';
import { missingFiles, Tally, upstreamOf, vectorDir, type Job, type KatRow } from './lib.ts';

const USAGE = 'usage: node test/kat/run.ts [--backend native|noble|all] [--suite SUBSTR] [--sample K] [--json FILE] [--vectors DIR] [--differential [N]]';

/** `--differential` with no count means the default: 10,000 cases per algorithm (fewer for SLH-DSA signing). */
export const DEFAULT_DIFFERENTIAL_N = 10_000;

function withDefaultCount(argv: string[]): string[] {
  return argv.flatMap((a, i) => (a === '--differential' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--')) ? [a, String(DEFAULT_DIFFERENTIAL_N)] : [a]));
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: withDefaultCount(process.argv.slice(2)),
    options: {
      backend: { type: 'string', default: 'all' },
      suite: { type: 'string' },
      sample: { type: 'string' },
      json: { type: 'string' },
      vectors: { type: 'string' },
      differential: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); return 0; }
  const backendNames = values.backend === 'all' ? ['native', 'noble'] as const
    : values.backend === 'native' || values.backend === 'noble' ? [values.backend] as const : undefined;
  const sample = values.sample !== undefined ? Number(values.sample) : undefined;
  const diffN = values.differential !== undefined ? Number(values.differential) : undefined;
  if (!backendNames || (sample !== undefined && !(Number.isInteger(sample) && sample > 0)) || (diffN !== undefined && !(Number.isInteger(diffN) && diffN > 0))) {
    console.error(USAGE);
    return 2;
  }

  const dir = vectorDir(values.vectors);
  const jobs = allJobs().filter((j) => !values.suite || j.id.includes(values.suite));
  const missing = new Map<string, string>();
  const runnable = jobs.filter((j) => {
    const m = missingFiles(dir, j.files);
    for (const f of m) missing.set(f, upstreamOf(f));
    return m.length === 0;
  });
  const tally = new Tally();
  const started = performance.now();
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  log(`kat: vectors ${dir}; ${runnable.length}/${jobs.length} jobs runnable; backends ${backendNames.join(', ')}${sample ? `; sample ${sample}/group` : ''}`);

  const runJob = (job: Job, backend: CryptoBackend, backendName: string): void => {
    const t0 = performance.now();
    let read = 0;
    try {
      read = job.run({ backend, backendName, dir, sample, tally, progress: (m) => log(`  [${backendName}] ${job.id}: ${m}`) });
    } catch (e) {
      tally.problems.push(`[${backendName}] ${job.id}: aborted: ${(e as Error).message}`);
    }
    if (read === 0) tally.problems.push(`[${backendName}] ${job.id}: read zero cases`);
    log(`[${backendName}] ${job.id}: ${read} cases read, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };

  for (const name of backendNames) {
    let backend: CryptoBackend;
    try {
      backend = getBackend(name);
    } catch (e) {
      tally.problems.push(`backend ${name} unavailable: ${(e as Error).message}`);
      continue;
    }
    for (const job of runnable) if (job.kind === 'crypto') runJob(job, backend, name);
  }
  // Backend-independent jobs (poseidon-lite) run once, labelled 'js'.
  const jsJobs = runnable.filter((j) => j.kind === 'js');
  if (jsJobs.length) {
    const noBackend = new Proxy({}, { get: () => { throw new Error('js jobs take no CryptoBackend'); } }) as CryptoBackend;
    for (const job of jsJobs) runJob(job, noBackend, 'js');
  }

  if (diffN !== undefined && (!values.suite || 'differential'.includes(values.suite))) {
    try {
      // Specifier in a variable: differential.ts is written separately and may not exist yet.
      const spec = './differential.ts';
      const mod = await import(spec) as { runDifferential(o: { n: number; onProgress?: (m: string) => void }): Promise<KatRow[]> };
      const t0 = performance.now();
      const rows = await mod.runDifferential({ n: diffN, onProgress: (m) => log(`  [differential] ${m}`) });
      tally.addRows(rows);
      if (rows.reduce((s, r) => s + r.passed + r.failed + r.notApplicable, 0) === 0) tally.problems.push('differential: zero cases');
      for (const r of rows) if (r.failed > 0) tally.failures.push({ row: `${r.backend} ${r.suite} ${r.algorithm} ${r.function}`, id: '-', detail: `${r.failed} differential mismatches` });
      log(`[differential] ${rows.length} rows, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      tally.problems.push(`differential: ${(e as Error).message}`);
    }
  }

  const rows = report(tally);
  const seconds = (performance.now() - started) / 1000;
  console.log(`elapsed ${seconds.toFixed(1)} s`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify(rows, null, 2)}\n`);

  if (missing.size) {
    console.log(`\nMISSING VECTOR FILES (${missing.size}) under ${dir} — these jobs were skipped:`);
    for (const [f, where] of missing) console.log(`  ${f}\n      get it from: ${where}`);
    console.log('  (details and SHA-256 digests: kat/SOURCES.md; point elsewhere with --vectors DIR or KAT_VECTORS)');
  }
  const failed = rows.reduce((s, r) => s + r.failed, 0);
  const ci = process.env['CI'] === 'true';
  if (failed > 0 || tally.problems.length > 0) return 1;
  if (missing.size && ci) { console.log('CI=true: missing vectors are a failure'); return 1; }
  return 0;
}

function report(tally: Tally): KatRow[] {
  const suiteOrder = new Map<string, number>();
  for (const r of tally.rows.values()) if (!suiteOrder.has(r.suite)) suiteOrder.set(r.suite, suiteOrder.size);
  const rows = [...tally.rows.values()].sort((a, b) =>
    (suiteOrder.get(a.suite)! - suiteOrder.get(b.suite)!) || a.algorithm.localeCompare(b.algorithm) || a.function.localeCompare(b.function) || a.backend.localeCompare(b.backend));
  const head = ['suite', 'algorithm', 'function', 'backend', 'passed', 'failed', 'n/a'];
  const cells = rows.map((r) => [r.suite, r.algorithm, r.function, r.backend, String(r.passed), String(r.failed), String(r.notApplicable)]);
  const totals = new Map<string, [number, number, number]>();
  for (const r of rows) {
    for (const k of [r.backend, 'ALL']) {
      const t = totals.get(k) ?? [0, 0, 0];
      t[0] += r.passed; t[1] += r.failed; t[2] += r.notApplicable;
      totals.set(k, t);
    }
  }
  const totalCells = [...totals].map(([k, t]) => ['TOTAL', '', '', k, String(t[0]), String(t[1]), String(t[2])]);
  const width = head.map((h, i) => Math.max(h.length, ...[...cells, ...totalCells].map((c) => (c[i] as string).length)));
  const line = (c: string[]): string => c.map((s, i) => (i >= 4 ? s.padStart(width[i]!) : s.padEnd(width[i]!))).join('  ');
  const rule = width.map((w) => '-'.repeat(w)).join('  ');
  console.log(line(head));
  console.log(rule);
  let prev = '';
  for (const c of cells) {
    if (prev && c[0] !== prev) console.log('');
    prev = c[0]!;
    console.log(line(c));
  }
  console.log(rule);
  for (const c of totalCells) console.log(line(c));

  if (tally.reasons.size) {
    console.log('\nnot applicable (reason → count, where):');
    for (const r of [...tally.reasons.values()].sort((a, b) => a.backend.localeCompare(b.backend) || a.suite.localeCompare(b.suite))) {
      const where = [...r.where];
      console.log(`  [${r.backend}] ${r.suite}: ${r.reason} → ${r.count} (${where.slice(0, 6).join('; ')}${where.length > 6 ? `; +${where.length - 6} more` : ''})`);
    }
  }
  if (tally.failures.length) {
    console.log(`\nFAILURES (${tally.failures.length}; first 60):`);
    for (const f of tally.failures.slice(0, 60)) console.log(`  ${f.row} #${f.id}: ${f.detail}`);
  }
  if (tally.problems.length) {
    console.log('\nPROBLEMS:');
    for (const p of tally.problems) console.log(`  ${p}`);
  }
  return rows;
}

process.exitCode = await main();
