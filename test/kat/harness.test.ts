/**
 * The KAT harness must not be vacuous: a backend that corrupts outputs or accepts everything has to
 * produce failures, and an UnsupportedError has to count as notApplicable, never as a pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.ts';
import type { CryptoBackend } from '../../src/crypto/backend.ts';
import { UnsupportedError } from '../../src/errors.ts';
import { allJobs } from './jobs.ts';
import { Tally, fromHex, invalid, missingFiles, sampled, valid, vectorDir } from './lib.ts';

const dir = vectorDir();

function runWith(backend: CryptoBackend, ids: string[]): Tally {
  const tally = new Tally();
  for (const job of allJobs().filter((j) => ids.includes(j.id))) {
    const read = job.run({ backend, backendName: 'test', dir, sample: 3, tally, progress: () => {} });
    assert.ok(read > 0, `${job.id} read zero cases`);
  }
  return tally;
}
const sum = (t: Tally, k: 'passed' | 'failed' | 'notApplicable'): number => [...t.rows.values()].reduce((s, r) => s + r[k], 0);

/** A backend whose byte outputs are flipped in their first byte. */
function corrupting(b: CryptoBackend): CryptoBackend {
  const flip = (x: Uint8Array): Uint8Array => { const y = x.slice(); if (y.length) y[0] = (y[0] as number) ^ 1; return y; };
  return new Proxy(b, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (typeof v !== 'function' || prop === 'randomBytes') return v;
      return (...args: unknown[]) => {
        const r = v.apply(target, args);
        return r instanceof Uint8Array ? flip(r) : r;
      };
    },
  });
}

// Sends stderr FAIL lines from the harness to nowhere during these deliberate failures.
const quiet = <T>(fn: () => T): T => {
  const w = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try { return fn(); } finally { process.stderr.write = w; }
};

test('a corrupting backend fails the RFC vectors', () => {
  const t = quiet(() => runWith(corrupting(getBackend('noble')), ['rfc/vectors']));
  assert.ok(sum(t, 'failed') > 0);
  assert.equal(sum(t, 'passed'), 0);
});

test('the same RFC vectors pass on the real backend', () => {
  const t = runWith(getBackend('native'), ['rfc/vectors']);
  assert.equal(sum(t, 'failed'), 0);
  assert.ok(sum(t, 'passed') >= 8);
});

test('outcome rules: unsupported is n/a, untyped errors and accepted invalid inputs fail', () => {
  const t = new Tally();
  const row = t.row('s', 'a', 'f', 'b');
  assert.equal(valid(row, 1, () => { throw new UnsupportedError('nope'); }), 'na');
  assert.equal(quiet(() => valid(row, 2, () => { throw new Error('boom'); })), 'fail');
  assert.equal(quiet(() => valid(row, 3, () => 'mismatch')), 'fail');
  assert.equal(valid(row, 4, () => true), 'pass');
  assert.equal(invalid(row, 5, () => false), 'pass');
  assert.equal(quiet(() => invalid(row, 6, () => true)), 'fail');
  assert.equal(quiet(() => invalid(row, 7, () => { throw new TypeError('untyped'); })), 'fail');
  assert.equal(invalid(row, 8, () => { throw new UnsupportedError('nope'); }), 'na');
  assert.deepEqual([row.data.passed, row.data.failed, row.data.notApplicable], [2, 4, 2]);
  assert.equal([...t.reasons.values()][0]?.count, 2);
});

test('helpers: strict hex, even sampling', () => {
  assert.deepEqual([...fromHex('00fF')], [0, 255]);
  assert.throws(() => fromHex('abc'));
  assert.throws(() => fromHex('zz'));
  assert.deepEqual(sampled([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3), [0, 3, 6]);
  assert.deepEqual(sampled([1, 2], 5), [1, 2]);
});

const wpSkip = missingFiles(dir, ['wycheproof/testvectors_v1/hkdf_sha256_test.json', 'wycheproof/testvectors_v1/mldsa_44_verify_test.json']).length
  ? `Wycheproof vectors missing under ${dir}` : false;

test('an accept-everything verifier fails the Wycheproof invalid cases', { skip: wpSkip }, () => {
  const lax = new Proxy(getBackend('noble'), {
    get: (target, prop, recv) => (prop === 'verify' ? () => true : Reflect.get(target, prop, recv)),
  });
  const t = quiet(() => runWith(lax, ['wycheproof/mldsa_44_verify']));
  assert.ok(sum(t, 'failed') > 0, 'invalid signatures accepted without failures');
});

const compositeSkip = missingFiles(dir, ['composite/draft-ietf-lamps-pq-composite-sigs/testvectors.json']).length
  ? `composite vectors missing under ${dir}` : false;
const COMPOSITE_JOB = 'composite/draft-ietf-lamps-pq-composite-sigs';

test('composite: a verifier that checks only the ML-DSA component fails the traditional-part negatives', { skip: compositeSkip }, async () => {
  const { COMPOSITE, SIZES, isComposite } = await import('../../src/crypto/index.ts');
  const { compositeLabel, compositeMessage } = await import('../../src/crypto/composite.ts');
  const real = getBackend('noble');
  const mlOnly = new Proxy(real, {
    get: (target, prop, recv) => (prop !== 'verify' ? Reflect.get(target, prop, recv)
      : (alg: string, pk: Uint8Array, m: Uint8Array, sig: Uint8Array, opts?: { context?: Uint8Array }) => {
        if (!isComposite(alg)) return real.verify(alg as 'ML-DSA-44', pk, m, sig, opts);
        const { mldsa } = COMPOSITE[alg];
        const mp = compositeMessage(alg, m, opts?.context, (h, d) => real.hash(h, d));
        return real.verify(mldsa, pk.subarray(0, SIZES[mldsa].publicKey), mp, sig.subarray(0, SIZES[mldsa].signature), { context: compositeLabel(alg) });
      }),
  });
  const t = quiet(() => runWith(mlOnly, [COMPOSITE_JOB]));
  const failedRows = [...t.rows.values()].filter((r) => r.failed > 0).map((r) => r.function);
  assert.ok(failedRows.includes('reject: bit flipped in traditional part'), `rows that failed: ${failedRows.join(', ')}`);
  assert.ok(failedRows.includes('downgrade / strip / swap'));
});

test('composite: an accept-everything verifier fails, and a vector file with zero cases fails the run', { skip: compositeSkip }, async () => {
  const lax = new Proxy(getBackend('noble'), { get: (target, prop, recv) => (prop === 'verify' ? () => true : Reflect.get(target, prop, recv)) });
  const t = quiet(() => runWith(lax, [COMPOSITE_JOB]));
  assert.ok(sum(t, 'failed') > 10);
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { spawnSync } = await import('node:child_process');
  const tmp = mkdtempSync(join(tmpdir(), 'kat-empty-'));
  try {
    mkdirSync(join(tmp, 'composite/draft-ietf-lamps-pq-composite-sigs'), { recursive: true });
    writeFileSync(join(tmp, 'composite/draft-ietf-lamps-pq-composite-sigs/testvectors.json'), JSON.stringify({ m: '', ctx: '', tests: [] }));
    const job = allJobs().find((j) => j.id === COMPOSITE_JOB)!;
    assert.equal(job.run({ backend: getBackend('noble'), backendName: 'noble', dir: tmp, sample: undefined, tally: new Tally(), progress: () => {} }), 0);
    const r = spawnSync(process.execPath, [new URL('./run.ts', import.meta.url).pathname, '--suite', 'composite', '--vectors', tmp, '--backend', 'noble'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /read zero cases/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
