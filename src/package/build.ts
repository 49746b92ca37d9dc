/**
 * Builds the installable client package `@pqzk/client` (issue 17) from src/client/ (the SDK), the
 * pure modules it imports (src/crypto, src/kex/protocol.ts, src/pir, src/zk/poseidon.ts) and
 * src/cli/ (the `pqzk` command): tsc emits ES2022 JavaScript, `.d.ts` types and source maps with
 * the sources inlined, rewriting the `.ts` import specifiers to `.js`. The package.json is written
 * here, its dependency versions taken from the repository's, so the two never drift apart.
 *
 *   node src/package/build.ts [--out DIR] [--pack DEST]
 *
 * Defaults: DIR = node_modules/.cache/pqzk-client/package; `--pack` runs `npm pack` into DEST and
 * prints the tarball's path. Lives outside src/client/ because it (like the CLI) uses node: modules,
 * which the SDK may not reach (.dependency-cruiser.cjs, client-no-core-module).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = join(ROOT, 'src', 'package');
/** The package name and the default build directory. */
export const PACKAGE_NAME = '@pqzk/client';
export const DEFAULT_OUT = join(ROOT, 'node_modules', '.cache', 'pqzk-client', 'package');

/** npm packages the built code imports at run time (the SDK's and the CLI's); nothing of the server. */
const RUNTIME_DEPENDENCIES = [
  '@noble/ciphers', '@noble/curves', '@noble/hashes', '@noble/post-quantum', 'openapi-fetch', 'poseidon-lite', 'snarkjs', 'commander',
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

/** Compiles and lays out the package in `out` (emptied first); returns `out`. */
export function buildPackage(out: string = DEFAULT_OUT): string {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // Two passes over the same sources: the CLI with Node's types, then the SDK again with only the
  // DOM's, so the SDK's declarations (what package users see) never name a NodeJS type.
  // src/zk/_vendor.d.ts: the repository's own declarations of the snarkjs functions the SDK calls.
  compile(out, ['src/cli/main.ts', 'src/zk/_vendor.d.ts'], { lib: ['ES2023'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] });
  compile(out, ['src/client/sdk.ts', 'src/zk/_vendor.d.ts'], { lib: ['ES2023', 'DOM'], types: [] });
  rewriteDeclarationSpecifiers(join(out, 'dist'));
  writeFileSync(join(out, 'package.json'), JSON.stringify(manifest(), null, 2) + '\n');
  copyFileSync(join(HERE, 'README.md'), join(out, 'README.md'));
  copyFileSync(join(HERE, 'LICENSE'), join(out, 'LICENSE'));
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
  const out = buildPackage(resolve(arg('--out') ?? DEFAULT_OUT));
  console.log(`built ${PACKAGE_NAME} in ${out}`);
  const dest = arg('--pack');
  if (dest !== undefined) {
    const p = packPackage(out, resolve(dest));
    console.log(`${p.tarball} (${p.files.length} files, ${(p.size / 1024).toFixed(1)} KiB packed, ${(p.unpackedSize / 1024).toFixed(1)} KiB unpacked)`);
  }
}
