// Architecture rules (issue 11 item 5): dependency-cruiser with .dependency-cruiser.cjs over src/,
// a control cruise over a throw-away tree that breaks every rule once (so a rule that stopped
// matching fails here instead of passing silently), and the 400-line limit on src/ files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RULES_FILE = join(ROOT, '.dependency-cruiser.cjs');
const MAX_LINES = 400;
const GENERATED = new Set(['src/client/schema.ts']);

async function cruiseTree(baseDir: string): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(RULES_FILE);
  options.baseDir = baseDir;
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const { output } = await cruise(['src'], options, {}, { tsConfig });
  assert.equal(typeof output, 'object', 'cruise returned a report, not a result');
  return output as ICruiseResult;
}

/** The offending edge, or the whole cycle / path for cycle and reachability rules. */
function edgeOf(v: IViolation): string {
  const hops = v.cycle?.length ? v.cycle : v.via?.length ? v.via : [];
  if (hops.length === 0) return `${v.from} → ${v.to}`;
  const typeOnly = hops.every((h) => h.dependencyTypes.includes('type-only'));
  return [v.from, ...hops.map((h) => h.name)].join(' → ') + (typeOnly ? '  (type-only imports)' : '');
}

/** Violations grouped by rule, each rule with its reason, each edge on its own line. */
function report(violations: IViolation[], comments: Map<string, string>): string {
  const byRule = new Map<string, string[]>();
  for (const v of violations) byRule.set(v.rule.name, [...(byRule.get(v.rule.name) ?? []), edgeOf(v)]);
  return [...byRule]
    .map(([rule, edges]) => `${rule} — ${comments.get(rule) ?? ''}\n${edges.map((e) => `    ${e}`).join('\n')}`)
    .join('\n');
}

async function ruleComments(): Promise<Map<string, string>> {
  const { ruleSet } = await extractDepcruiseOptions(RULES_FILE);
  return new Map((ruleSet?.forbidden ?? []).map((r) => [r.name ?? '', r.comment ?? '']));
}

/** Lines as `wc -l` counts them, plus a last line without its newline. */
function lineCount(text: string): number {
  return text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/'));
}

test('every rule has a name and a one-line reason', async () => {
  const comments = await ruleComments();
  // issue 11 item 5 names six rules; the SDK one is split in two (core modules, server modules)
  assert.ok(comments.size >= 7, `expected at least the seven rules of issue 11, found ${comments.size}`);
  for (const [name, comment] of comments) {
    assert.match(name, /^[a-z-]+$/, `rule name ${JSON.stringify(name)}`);
    assert.ok(comment.length > 20 && !comment.includes('\n'), `rule ${name} needs a one-line comment`);
  }
});

test('src/ obeys the architecture rules in .dependency-cruiser.cjs', async () => {
  const result = await cruiseTree(ROOT);
  // a cruise that saw nothing would pass every rule: every .ts file under src/ must be in it
  const seen = new Set(result.modules.map((m) => m.source));
  const missing = filesUnder(join(ROOT, 'src')).filter((f) => f.endsWith('.ts') && !seen.has(f));
  assert.deepEqual(missing, [], 'files under src/ that the cruise did not reach');

  const { violations, totalCruised } = result.summary;
  assert.equal(
    violations.length,
    0,
    `${violations.length} architecture violation(s) in src/ (${totalCruised} modules cruised):\n` +
      report(violations, await ruleComments()),
  );
});

/** A tree that breaks each rule once, next to imports that every rule must allow. */
const CONTROL_TREE: Record<string, string> = {
  'src/store/db.ts': 'export const db = 1;\n',
  'src/store/bad.ts': "import { rows } from '../zk/repo.ts';\nexport const n = rows;\n",
  'src/crypto/bytes.ts': 'export const toHex = (b: Uint8Array) => b.join();\n',
  'src/crypto/native.ts': "import { randomBytes } from 'node:crypto';\nexport const rand = randomBytes;\n",
  'src/crypto/hash.ts': "import { db } from '../store/db.ts';\nexport const h = db;\n",
  'src/crypto/leak.ts': "import type { Keys } from '../keys/api.ts';\nexport type K = Keys;\n",
  'src/http/auth.ts': "import { timingSafeEqual } from 'node:crypto';\nexport const eq = timingSafeEqual;\n",
  'src/http/legacy.ts': "import { createHash } from 'crypto';\nexport const ch = createHash;\n",
  'src/http/sneaky.ts': "export const c = process.getBuiltinModule('node:crypto');\n",
  'src/zk/repo.ts': 'export const rows = 1;\n',
  'src/keys/api.ts': 'export interface Keys { sign(m: Uint8Array): Uint8Array }\n',
  'src/keys/service.ts': 'export class KeyService {}\n',
  'src/kex/service.ts':
    "import type { Keys } from '../keys/api.ts';\nimport type { KeyService } from '../keys/service.ts';\n" +
    'export type S = [Keys, KeyService];\n',
  'src/kex/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
  'src/kex/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
  'src/kex/typo.ts': "import { x } from './missing.ts';\nexport const y = x;\n",
  'src/kex/protocol.ts': "import { pool } from '../workers/pool.ts';\nexport const p = pool;\n",
  'src/workers/pool.ts': 'export const pool = 1;\n',
  'src/pir/client.ts': "import { m } from './math.ts';\nexport const q = m;\n",
  'src/pir/math.ts': "import { readFileSync } from 'node:fs';\nexport const m = readFileSync;\n",
  'src/client/index.ts': "import { q } from '../pir/client.ts';\nimport { p } from '../kex/protocol.ts';\nexport const c = [q, p];\n",
  'src/client/db.ts': "import pg from 'pg';\nexport const d = pg;\n",
  'src/client/ok.ts': "import { toHex } from '../crypto/bytes.ts';\nexport const ok = toHex;\n",
  'node_modules/pg/package.json': '{"name":"pg","version":"0.0.0","main":"index.js"}\n',
  'node_modules/pg/index.js': 'module.exports = {};\n',
};

test('control: each rule reports a deliberately forbidden import and allows the permitted ones', async () => {
  const base = mkdtempSync(join(tmpdir(), 'pqzk-depcruise-'));
  try {
    for (const [file, text] of Object.entries(CONTROL_TREE)) {
      mkdirSync(join(base, dirname(file)), { recursive: true });
      writeFileSync(join(base, file), text);
    }
    const result = await cruiseTree(base);
    const found = result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    const listed = `violations found:\n  ${found.join('\n  ')}`;

    const expected = [
      'crypto-imports-nothing-above: src/crypto/hash.ts → src/store/db.ts',
      'crypto-imports-nothing-above: src/crypto/leak.ts → src/keys/api.ts',
      'store-imports-no-capability: src/store/bad.ts → src/zk/repo.ts',
      'capability-only-through-api: src/kex/service.ts → src/keys/service.ts',
      'node-crypto-only-in-crypto: src/http/auth.ts → crypto',
      'node-crypto-only-in-crypto: src/http/legacy.ts → crypto',
      'node-crypto-only-in-crypto: src/http/sneaky.ts → crypto',
      'client-no-core-module: src/client/index.ts → fs',
      'client-no-server-module: src/client/index.ts → src/workers/pool.ts',
      'client-no-server-module: src/client/db.ts → node_modules/pg/index.js',
      'no-unresolvable: src/kex/typo.ts → ./missing.ts',
    ];
    for (const e of expected) assert.ok(found.includes(e), `expected "${e}"\n${listed}`);
    // the core module is two imports away from the SDK: the rule follows the whole path
    const viaPir = result.summary.violations.find((v) => v.rule.name === 'client-no-core-module');
    assert.deepEqual(viaPir?.via?.map((h) => h.name), ['src/pir/client.ts', 'src/pir/math.ts', 'fs'], listed);
    assert.ok(
      found.some((f) => /^no-circular: src\/kex\/(a|b)\.ts → src\/kex\/(a|b)\.ts$/.test(f)),
      `expected the cycle src/kex/a.ts ↔ src/kex/b.ts\n${listed}`,
    );

    const allowed = [
      'src/kex/service.ts → src/keys/api.ts', // a capability through the other's interface
      'src/crypto/native.ts → crypto', // node:crypto inside src/crypto/
      'src/client/ok.ts → src/crypto/bytes.ts', // the SDK on a pure crypto module
      'src/pir/client.ts → src/pir/math.ts', // inside one capability
    ];
    for (const a of allowed) {
      assert.ok(!found.some((f) => f.endsWith(`: ${a}`)), `"${a}" must be allowed\n${listed}`);
    }
    const rulesHit = new Set(result.summary.violations.map((v) => v.rule.name));
    const comments = await ruleComments();
    assert.deepEqual([...comments.keys()].filter((r) => !rulesHit.has(r)), [], 'rules the control tree did not trigger');
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test(`no file under src/ other than the generated client schema exceeds ${MAX_LINES} lines`, () => {
  const files = filesUnder(join(ROOT, 'src'));
  assert.ok(files.length > 50, `expected the source tree, found ${files.length} files`);
  const tooLong = files
    .filter((f) => !GENERATED.has(f))
    .map((f) => ({ f, lines: lineCount(readFileSync(join(ROOT, f), 'utf8')) }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ f, lines }) => `${f}: ${lines} lines`);
  assert.deepEqual(tooLong, [], `files over ${MAX_LINES} lines`);
});
