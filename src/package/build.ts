/**
 * Builds the installable client package `@pqzk/client` (issue 17) from src/client/ (the SDK), the
 * pure modules it imports (src/crypto, src/kex/protocol.ts, src/pir, src/zk/poseidon.ts, src/audit/merkle.ts and format.ts) and
 * src/cli/ (the `pqzk` command): tsc emits ES2022 JavaScript, `.d.ts` types and source maps with
 * the sources inlined, rewriting the `.ts` import specifiers to `.js`. The package.json is written
 * here, its dependency versions taken from the repository's, so the two never drift apart.
 *
 *   node src/package/build.ts [--out DIR] [--pack DEST] [--no-cache]
 *
 * Defaults: DIR = node_modules/.cache/pqzk-client/package; `--pack` runs `npm pack` into DEST and
 * prints the tarball's path. A build is cached under node_modules/.cache/pqzk-client/builds/, keyed
 * by a digest of everything it is made from (every file under src/, package.json, the compiler's and
 * @types/node's versions): an unchanged tree is copied, not compiled again (the test files that each
 * install the package share one build; concurrent builders wait for the first). `--no-cache` or
 * PQZK_BUILD_CACHE=0 compiles regardless. Lives outside src/client/ because it (like the CLI) uses node: modules,
 * which the SDK may not reach (.dependency-cruiser.cjs, client-no-core-module).
 */
import { spawnSync } from 'node:child_process';
import { sha256Hex } from '../crypto/hash.ts';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = join(ROOT, 'src', 'package');
/** The package name and the default build directory. */
export const PACKAGE_NAME = '@pqzk/client';
export const DEFAULT_OUT = join(ROOT, 'node_modules', '.cache', 'pqzk-client', 'package');
const CACHE = join(ROOT, 'node_modules', '.cache', 'pqzk-client', 'builds');

/** npm packages the built code imports at run time (the SDK's and the CLI's); nothing of the server. */
const RUNTIME_DEPENDENCIES = [
  '@noble/ciphers', '@noble/curves', '@noble/hashes', '@noble/post-quantum', 'openapi-fetch', 'poseidon-lite', 'snarkjs', 'circom_runtime', 'commander',
];

function manifest(): Record<string, unknown> {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
  const dependencies = Object.fromEntries(RUNTIME_DEPENDENCIES.map((d) => {
    const v = root.dependencies[d];
    if (v === undefined) throw new Error(`${d} is not a dependency of the repository's package.json`);
    return [d, v];
  }));
  const sdk = { types: './dist/client/sdk.d.ts', browser: './dist/client/sdk.js', node: './dist/client/sdk.js', default: './dist/client/sdk.js' };
  return {
    name: PACKAGE_NAME,
    version: root.version,
    description: 'Client SDK and `pqzk` CLI for the pqzk service: X-Wing secure sessions, ML-DSA/SLH-DSA managed keys, Groth16 login, SimplePIR',
    license: 'MIT',
    type: 'module',
    sideEffects: false,
    engines: { node: '>=20.19' },
    exports: { '.': sdk, './package.json': './package.json' },
    main: './dist/client/sdk.js',
    types: './dist/client/sdk.d.ts',
    bin: { pqzk: './dist/cli/main.js' },
    files: ['dist', 'README.md', 'LICENSE'],
    keywords: ['post-quantum', 'ml-dsa', 'slh-dsa', 'x-wing', 'ml-kem', 'groth16', 'zero-knowledge', 'pir', 'kms'],
    dependencies,
  };
}

/**
 * tsc rewrites `.ts` specifiers in the JavaScript it emits but leaves them in `.d.ts` files;
 * a consumer's compiler must find the shipped `.js`/`.d.ts` pair, so they become `.js` there too.
 */
function rewriteDeclarationSpecifiers(dist: string): void {
  for (const e of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.d.ts')) continue;
    const file = join(e.parentPath, e.name);
    const text = readFileSync(file, 'utf8');
    const next = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g, '$1$2.js$3');
    if (next !== text) writeFileSync(file, next);
  }
}

/**
 * tsc writes each map's `sources` relative to where it was built (a path into the builder's
 * checkout); rewritten as if the sources sat in the package's `src/` (they are inlined, not shipped),
 * the maps are the same wherever the package was built or installed.
 */
function rewriteSourceMaps(dist: string): void {
  const src = join(ROOT, 'src');
  for (const e of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.js.map')) continue;
    const file = join(e.parentPath, e.name);
    const map = JSON.parse(readFileSync(file, 'utf8')) as { sources: string[]; sourceRoot?: string };
    map.sources = map.sources.map((source) => {
      const original = resolve(e.parentPath, map.sourceRoot ?? '', source);
      return relative(e.parentPath, join(dist, '..', 'src', relative(src, original))).split(sep).join('/');
    });
    delete map.sourceRoot;
    writeFileSync(file, JSON.stringify(map));
  }
}

function compile(out: string, entries: string[], env: Record<string, unknown>): void {
  const tsconfig = join(out, '..', `tsconfig.build-${process.pid}.json`);
  writeFileSync(tsconfig, JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
      strict: true, verbatimModuleSyntax: true, erasableSyntaxOnly: true, rewriteRelativeImportExtensions: true,
      skipLibCheck: true, resolveJsonModule: true, ...env,
      rootDir: join(ROOT, 'src'), outDir: join(out, 'dist'),
      declaration: true, sourceMap: true, inlineSources: true, removeComments: false, newLine: 'lf',
    },
    files: entries.map((e) => join(ROOT, e)),
  }, null, 2));
  try {
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], { encoding: 'utf8' });
    if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  } finally {
    rmSync(tsconfig, { force: true });
  }
}

/** Compiles and lays out the package in `out` (emptied first). */
function compilePackage(out: string): void {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // Two passes over the same sources: the CLI with Node's types, then the SDK again with only the
  // DOM's, so the SDK's declarations (what package users see) never name a NodeJS type.
  // src/zk/_vendor.d.ts: the repository's own declarations of the snarkjs functions the SDK calls.
  compile(out, ['src/cli/main.ts', 'src/zk/_vendor.d.ts'], { lib: ['ES2023'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] });
  compile(out, ['src/client/sdk.ts', 'src/zk/_vendor.d.ts'], { lib: ['ES2023', 'DOM'], types: [] });
  rewriteDeclarationSpecifiers(join(out, 'dist'));
  rewriteSourceMaps(join(out, 'dist'));
  writeFileSync(join(out, 'package.json'), JSON.stringify(manifest(), null, 2) + '\n');
  copyFileSync(join(HERE, 'README.md'), join(out, 'README.md'));
  copyFileSync(join(HERE, 'LICENSE'), join(out, 'LICENSE'));
}

/** A digest of everything a build is made from: each file under src/ (path and bytes), package.json, the compiler and Node types. */
function inputsDigest(): string {
  const files = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)).sort();
  const lines = [...files, join(ROOT, 'package.json'), join(ROOT, 'node_modules', 'typescript', 'package.json'), join(ROOT, 'node_modules', '@types', 'node', 'package.json')]
    .map((f) => `${relative(ROOT, f)}\0${sha256Hex(readFileSync(f))}`);
  return sha256Hex(lines.join('\n')).slice(0, 32);
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
/** A lock older than this is a builder that died: taken over. */
const STALE_LOCK_MS = 180_000;
/** Completed builds kept in the cache besides the current one. */
const KEEP = 3;

function prune(current: string): void {
  const old = readdirSync(CACHE).filter((n) => /^[0-9a-f]{32}$/.test(n) && n !== current)
    .map((n) => ({ n, t: statSync(join(CACHE, n)).mtimeMs })).sort((a, b) => b.t - a.t).slice(KEEP);
  for (const { n } of old) rmSync(join(CACHE, n), { recursive: true, force: true });
}

/**
 * Lays out the built package in `out` (emptied first) and returns `out`: copied from the cache when
 * the inputs are unchanged, else compiled (by one process at a time per input digest) and cached.
 */
export function buildPackage(out: string = DEFAULT_OUT, { cache = process.env.PQZK_BUILD_CACHE !== '0' }: { cache?: boolean } = {}): string {
  rmSync(out, { recursive: true, force: true });
  if (!cache) {
    compilePackage(out);
    return out;
  }
  const digest = inputsDigest();
  const entry = join(CACHE, digest);
  const lock = `${entry}.lock`;
  mkdirSync(CACHE, { recursive: true });
  while (!existsSync(entry)) {
    try {
      mkdirSync(lock);
    } catch {
      let age = 0;
      try { age = Date.now() - statSync(lock).mtimeMs; } catch { continue; }
      if (age > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      else sleep(100);
      continue;
    }
    const tmp = `${entry}.tmp-${process.pid}`;
    try {
      compilePackage(tmp);
      if (inputsDigest() !== digest) {
        // Sources changed while compiling: this build is used once, not cached under either digest.
        cpSync(tmp, out, { recursive: true });
        return out;
      }
      renameSync(tmp, entry);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(lock, { recursive: true, force: true });
    }
    prune(digest);
  }
  cpSync(entry, out, { recursive: true });
  return out;
}

/** What `npm pack` reports of the tarball. */
export interface Packed { tarball: string; size: number; unpackedSize: number; files: string[] }

/** `npm pack` of a built package directory into `dest`. */
export function packPackage(dir: string, dest: string): Packed {
  mkdirSync(dest, { recursive: true });
  const npm = spawnSync('npm', ['pack', '--json', '--pack-destination', dest], { cwd: dir, encoding: 'utf8' });
  if (npm.status !== 0) throw new Error(`npm pack failed:\n${npm.stderr}`);
  const [info] = JSON.parse(npm.stdout) as Array<{ filename: string; size: number; unpackedSize: number; files: Array<{ path: string }> }>;
  return { tarball: join(dest, info!.filename), size: info!.size, unpackedSize: info!.unpackedSize, files: info!.files.map((f) => f.path) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (flag: string) => { const i = process.argv.indexOf(flag); return i > 0 ? process.argv[i + 1] : undefined; };
  const out = buildPackage(resolve(arg('--out') ?? DEFAULT_OUT), process.argv.includes('--no-cache') ? { cache: false } : {});
  console.log(`built ${PACKAGE_NAME} in ${out}`);
  const dest = arg('--pack');
  if (dest !== undefined) {
    const p = packPackage(out, resolve(dest));
    console.log(`${p.tarball} (${p.files.length} files, ${(p.size / 1024).toFixed(1)} KiB packed, ${(p.unpackedSize / 1024).toFixed(1)} KiB unpacked)`);
  }
}
