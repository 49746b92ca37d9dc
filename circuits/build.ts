/**
 * Builds the Groth16 login circuit and runs a LOCAL, development-only trusted setup.
 *
 *   npm run circuits              compile, phase 1 (powers of tau), phase 2, verify, export, checksums
 *   node circuits/build.ts --check [--artifacts DIR]
 *                                  CI: recompile into a temp dir and compare with the committed
 *                                  r1cs/wasm/sym byte for byte, re-verify the committed ptau and
 *                                  zkey (against the r1cs), re-export the vk and compare, check
 *                                  SHA256SUMS. Writes nothing in the repository.
 *
 * Everything runs locally; nothing is downloaded. A setup whose toxic waste was ever on this
 * machine is for development only: docs/ZK.md says how an operator swaps in artifacts from a
 * public ceremony.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { createRequire } from 'node:module';
import * as snarkjs from 'snarkjs';
import type { Logger } from 'snarkjs';
import { buildBn128 } from 'ffjavascript';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const argDir = process.argv.indexOf('--artifacts');
/** Artifacts folder; `--artifacts DIR` points --check at another set (e.g. from a public ceremony). */
const ART = argDir > 0 && process.argv[argDir + 1] ? resolve(process.argv[argDir + 1]!) : join(here, 'artifacts');
const SOURCE = join(here, 'login.circom');
const INCLUDE = join(root, 'node_modules', 'circomlib', 'circuits');
const require = createRequire(import.meta.url);

/** Files committed under circuits/artifacts/ and listed in SHA256SUMS. */
const ARTIFACTS = {
  r1cs: 'login.r1cs',
  sym: 'login.sym',
  wasm: 'login.wasm',
  ptau: 'pot_final.ptau',
  zkey: 'login.zkey',
  vk: 'verification_key.json',
  ceremony: 'ceremony.json',
} as const;

/**
 * Beacons: a public, documented value applied last in each phase (snarkjs "beacon", 2^10
 * iterations of SHA-256). Here it is the SHA-256 of a fixed ASCII label, so anyone can recompute
 * it; it is NOT unpredictable, which a real ceremony's beacon (e.g. a future block hash) must be.
 */
const BEACON = {
  phase1Label: 'pqzk.zk-login local development ceremony v1: phase 1 beacon',
  phase2Label: 'pqzk.zk-login local development ceremony v1: phase 2 beacon',
  iterationsExp: 10,
} as const;
const pkgVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const sha256hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

const t0 = performance.now();
const stamp = (): string => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
const say = (msg: string): void => console.log(`${stamp()} ${msg}`);
const timings: Array<[string, number]> = [];
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  say(`${name} ...`);
  const s = performance.now();
  const out = await fn();
  const ms = performance.now() - s;
  timings.push([name, ms]);
  say(`${name}: done in ${(ms / 1000).toFixed(2)} s`);
  return out;
}
/** snarkjs logger: info lines indented under the current step, debug dropped. */
const logger: Logger = {
  debug: () => {},
  info: (m) => console.log(`           ${m}`),
  warn: (m) => console.warn(`           WARN ${m}`),
  error: (m) => console.error(`           ERROR ${m}`),
};

/** Runs circom2 (the WASM build of circom from npm) with the Node running this script. */
function circom(outDir: string, inspect: boolean): Promise<string> {
  const cli = require.resolve('circom2/cli.js');
  // circom2 resolves paths relative to cwd through WASI preopens, so pass relative paths.
  const args = [cli, relative(root, SOURCE), '--O2', '--r1cs', '--wasm', '--sym', '-l', relative(root, INCLUDE), '-o', relative(root, outDir)];
  if (inspect) args.push('--inspect');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
      if (code !== 0) return reject(new Error(`circom2 exited with ${code}:\n${plain}`));
      if (/warning/i.test(plain)) return reject(new Error(`circom2 --inspect reported warnings:\n${plain}`));
      resolve(plain);
    });
  });
}

async function compile(outDir: string): Promise<void> {
  const report = await circom(outDir, true);
  for (const line of report.split('\n')) if (/constraints|inputs|outputs|wires/.test(line)) logger.info(line.trim());
  // circom writes <out>/login_js/login.wasm; keep the flat layout of artifacts/.
  renameSync(join(outDir, 'login_js', 'login.wasm'), join(outDir, ARTIFACTS.wasm));
  rmSync(join(outDir, 'login_js'), { recursive: true, force: true });
}

/** Smallest power of tau that newZKey accepts for this r1cs (same formula as snarkjs). */
async function powerFor(r1csPath: string): Promise<number> {
  const info = await snarkjs.r1cs.info(r1csPath);
  const n = info.nConstraints + info.nPubInputs + info.nOutputs;
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

function writeChecksums(): void {
  const names: string[] = Object.values(ARTIFACTS);
  const lines = names.map((n) => `${sha256hex(readFileSync(join(ART, n)))}  ${n}`);
  writeFileSync(join(ART, 'SHA256SUMS'), lines.join('\n') + '\n');
}

/** Parses SHA256SUMS and checks every line; returns the list of mismatches. */
function checkChecksums(dir = ART): string[] {
  const bad: string[] = [];
  const listed = new Set<string>();
  for (const line of readFileSync(join(dir, 'SHA256SUMS'), 'utf8').split('\n').filter(Boolean)) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (!m) {
      bad.push(`malformed line: ${line}`);
      continue;
    }
    listed.add(m[2]!);
    const p = join(dir, m[2]!);
    if (!existsSync(p)) bad.push(`missing: ${m[2]}`);
    else if (sha256hex(readFileSync(p)) !== m[1]) bad.push(`checksum mismatch: ${m[2]}`);
  }
  for (const n of Object.values(ARTIFACTS)) if (!listed.has(n)) bad.push(`not listed in SHA256SUMS: ${n}`);
  return bad;
}

async function terminateCurves(): Promise<void> {
  const g = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await g.curve_bn128?.terminate();
}

async function build(): Promise<void> {
  mkdirSync(ART, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'pqzk-circuits-'));
  try {
    await step('compile login.circom (circom2 --O2 --inspect)', () => compile(work));
    const power = await powerFor(join(work, ARTIFACTS.r1cs));
    say(`smallest power of tau for this circuit: 2^${power}`);
    const curve = await buildBn128();
    const p = (n: string): string => join(work, n);
    const beacon1 = sha256hex(BEACON.phase1Label);
    const beacon2 = sha256hex(BEACON.phase2Label);
    const hex = (h: Uint8Array | false | unknown): string => (h instanceof Uint8Array ? Buffer.from(h).toString('hex') : 'n/a');

    // Phase 1. contribute() mixes 64 bytes from the CSPRNG into the entropy string we pass, so the
    // contribution's secret exists only in this process's memory and is never written.
    await step(`phase 1: new accumulator (bn128, 2^${power})`, () => snarkjs.powersOfTau.newAccumulator(curve, power, p('pot_0.ptau'), logger));
    const c1 = await step('phase 1: contribution', () =>
      snarkjs.powersOfTau.contribute(p('pot_0.ptau'), p('pot_1.ptau'), 'pqzk local contribution 1', randomBytes(32).toString('hex'), logger),
    );
    const b1 = await step('phase 1: beacon', () =>
      snarkjs.powersOfTau.beacon(p('pot_1.ptau'), p('pot_2.ptau'), 'pqzk local beacon (phase 1)', beacon1, BEACON.iterationsExp, logger),
    );
    await step('phase 1: prepare phase 2', () => snarkjs.powersOfTau.preparePhase2(p('pot_2.ptau'), p(ARTIFACTS.ptau), logger));
    const ptauOk = await step('phase 1: verify ptau', () => snarkjs.powersOfTau.verify(p(ARTIFACTS.ptau), logger));
    if (ptauOk !== true) throw new Error('powers of tau verification failed');

    // Phase 2 (circuit specific).
    await step('phase 2: new zkey', () => snarkjs.zKey.newZKey(p(ARTIFACTS.r1cs), p(ARTIFACTS.ptau), p('login_0.zkey'), logger));
    const c2 = await step('phase 2: contribution', () =>
      snarkjs.zKey.contribute(p('login_0.zkey'), p('login_1.zkey'), 'pqzk local contribution 1', randomBytes(32).toString('hex'), logger),
    );
    const b2 = await step('phase 2: beacon', () =>
      snarkjs.zKey.beacon(p('login_1.zkey'), p(ARTIFACTS.zkey), 'pqzk local beacon (phase 2)', beacon2, BEACON.iterationsExp, logger),
    );
    const zkOk = await step('phase 2: verify zkey against r1cs and ptau', () =>
      snarkjs.zKey.verifyFromR1cs(p(ARTIFACTS.r1cs), p(ARTIFACTS.ptau), p(ARTIFACTS.zkey), logger),
    );
    if (zkOk !== true) throw new Error('zkey verification failed');
    const vk = await step('export verification key', () => snarkjs.zKey.exportVerificationKey(p(ARTIFACTS.zkey), logger));
    writeFileSync(p(ARTIFACTS.vk), JSON.stringify(vk, null, 1) + '\n');

    const ceremony = {
      warning: 'LOCAL development setup: not for production. See docs/ZK.md to use a public ceremony.',
      circuit: 'circuits/login.circom',
      compiler: `circom2 npm ${pkgVersion('circom2')}, --O2`,
      snarkjs: pkgVersion('snarkjs'),
      curve: 'bn128',
      power,
      phase1: {
        contributionHash: hex(c1),
        beacon: { label: BEACON.phase1Label, hashSha256: beacon1, iterationsExp: BEACON.iterationsExp, responseHash: hex(b1) },
      },
      phase2: {
        contributionHash: hex(c2),
        beacon: { label: BEACON.phase2Label, hashSha256: beacon2, iterationsExp: BEACON.iterationsExp, responseHash: hex(b2) },
      },
    };
    writeFileSync(p(ARTIFACTS.ceremony), JSON.stringify(ceremony, null, 2) + '\n');

    for (const n of Object.values(ARTIFACTS)) copyFileSync(p(n), join(ART, n));
    writeChecksums();
    say('artifacts:');
    for (const n of [...Object.values(ARTIFACTS), 'SHA256SUMS']) logger.info(`${n.padEnd(24)} ${String(statSync(join(ART, n)).size).padStart(9)} bytes`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function check(): Promise<boolean> {
  const failures: string[] = [];
  const work = mkdtempSync(join(tmpdir(), 'pqzk-circuits-check-'));
  try {
    const bad = await step('check SHA256SUMS', async () => checkChecksums());
    failures.push(...bad);
    await step('recompile into a temp dir', () => compile(work));
    for (const n of [ARTIFACTS.r1cs, ARTIFACTS.wasm, ARTIFACTS.sym]) {
      const same = readFileSync(join(work, n)).equals(readFileSync(join(ART, n)));
      logger.info(`${n}: ${same ? 'byte-identical' : 'DIFFERS'}`);
      if (!same) failures.push(`recompiled ${n} differs from the committed one`);
    }
    const a = (n: string): string => join(ART, n);
    const seen: string[] = [];
    const capture: Logger = { ...logger, info: (m) => (seen.push(m), logger.info(m)) };
    const ptauOk = await step('verify committed ptau (phase 1 chain and beacon)', () => snarkjs.powersOfTau.verify(a(ARTIFACTS.ptau), capture));
    if (ptauOk !== true) failures.push('ptau verification failed');
    // The last contribution of each phase must be the beacon documented in ceremony.json (snarkjs
    // recomputed it; it lists contributions newest first). A ceremony without a beacon says null.
    const ceremony = JSON.parse(readFileSync(a(ARTIFACTS.ceremony), 'utf8')) as Record<'phase1' | 'phase2', { beacon: { hashSha256: string } | null }>;
    const beaconSeen = (phase: 'phase1' | 'phase2'): boolean => {
      const want = ceremony[phase].beacon?.hashSha256;
      const got = seen.find((m) => m.startsWith('Beacon generator:'));
      if (want !== undefined) logger.info(`${phase} beacon: ${got === `Beacon generator: ${want}` ? 'matches ceremony.json' : 'DOES NOT match ceremony.json'}`);
      return want === undefined || got === `Beacon generator: ${want}`;
    };
    if (!beaconSeen('phase1')) failures.push('ptau does not end with the beacon documented in ceremony.json');
    seen.length = 0;
    const zkOk = await step('verify committed zkey against committed r1cs and ptau', () =>
      snarkjs.zKey.verifyFromR1cs(a(ARTIFACTS.r1cs), a(ARTIFACTS.ptau), a(ARTIFACTS.zkey), capture),
    );
    if (zkOk !== true) failures.push('zkey verification failed');
    if (!beaconSeen('phase2')) failures.push('zkey does not end with the beacon documented in ceremony.json');
    const vk = await step('re-export vk from committed zkey', () => snarkjs.zKey.exportVerificationKey(a(ARTIFACTS.zkey)));
    const committedVk = JSON.parse(readFileSync(a(ARTIFACTS.vk), 'utf8')) as unknown;
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(vk)), committedVk)) failures.push('verification_key.json does not match the zkey');
    else logger.info('verification_key.json matches the zkey');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  for (const f of failures) console.error(`FAIL: ${f}`);
  say(failures.length === 0 ? 'circuits check: OK' : `circuits check: ${failures.length} failure(s)`);
  return failures.length === 0;
}

let ok = true;
try {
  if (process.argv.includes('--check')) ok = await check();
  else await build();
} catch (err) {
  ok = false;
  console.error(err);
} finally {
  await terminateCurves();
}
for (const [name, ms] of timings) console.log(`  ${(ms / 1000).toFixed(2).padStart(8)} s  ${name}`);
process.exitCode = ok ? 0 : 1;
