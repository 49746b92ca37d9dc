/**
 * Poseidon over BN254 Fr (circomlib convention) against `poseidon-lite`, the JS Poseidon the SDK uses
 * for the ZK login. Backend label 'js'. Vectors: kat/poseidon/poseidon_bn254_circomlib.json (SOURCES.md §5).
 */
import * as P from 'poseidon-lite';
import type { Job, Rec, Row } from './lib.ts';
import { readJson, sampled } from './lib.ts';

type PoseidonFn = (inputs: bigint[], nOuts?: number) => bigint | bigint[];
const FNS: PoseidonFn[] = [P.poseidon1, P.poseidon2, P.poseidon3, P.poseidon4, P.poseidon5, P.poseidon6, P.poseidon7, P.poseidon8,
  P.poseidon9, P.poseidon10, P.poseidon11, P.poseidon12, P.poseidon13, P.poseidon14, P.poseidon15, P.poseidon16] as unknown as PoseidonFn[];
/** poseidon-lite has one function per input count 1..16; more inputs go to the largest one, which must refuse them. */
const fnFor = (n: number): PoseidonFn => FNS[Math.min(Math.max(n, 1), FNS.length) - 1] as PoseidonFn;
const asList = (r: bigint | bigint[]): bigint[] => (Array.isArray(r) ? r : [r]);
const NO_INIT_STATE = 'poseidon-lite has no initState (capacity element) parameter; the SDK always uses 0';

function check(row: Row, id: string, body: () => string | true): void {
  try {
    const r = body();
    if (r === true) row.pass(); else row.fail(id, r);
  } catch (e) {
    row.fail(id, `threw ${(e as Error).message}`);
  }
}

function expectSame(got: bigint[], want: string[]): string | true {
  if (got.length < want.length) return `${got.length} outputs, expected ${want.length}`;
  for (let i = 0; i < want.length; i++) if (got[i] !== BigInt(want[i] as string)) return `output ${i} differs`;
  return true;
}

export const poseidonJobs = (): Job[] => [{
  id: 'poseidon/bn254-circomlib', kind: 'js', files: ['poseidon/poseidon_bn254_circomlib.json'],
  run(ctx) {
    const doc = readJson<Rec>(ctx.dir, 'poseidon/poseidon_bn254_circomlib.json');
    const p = BigInt(doc['field']['p'] as string);
    const rows = {
      hash: ctx.tally.row('poseidon', 'Poseidon-BN254', 'hash', 'js'),
      perm: ctx.tally.row('poseidon', 'Poseidon-BN254', 'permutation', 'js'),
      bad: ctx.tally.row('poseidon', 'Poseidon-BN254', 'reject invalid', 'js'),
    };
    const hashes = doc['hash'] as Rec[];
    const perms = doc['permutation'] as Rec[];
    const invalids = doc['invalid'] as Rec[];

    sampled(hashes, ctx.sample).forEach((h, i) => {
      if (BigInt(h['initState'] ?? '0') !== 0n) { rows.hash.na(NO_INIT_STATE); return; }
      const inputs = (h['inputs'] as string[]).map(BigInt);
      const nOut = (h['nOut'] as number) ?? 1;
      check(rows.hash, `hash[${i}]`, () => {
        const got = asList(fnFor(inputs.length)(inputs, nOut));
        if (got.length !== nOut) return `${got.length} outputs, expected ${nOut}`;
        return h['expected'] ? expectSame(got, h['expected'] as string[]) : expectSame(got, [h['expectedFirstOnly'] as string]);
      });
    });

    // The permutation on [0, x1..xn] is poseidon_n(x1..xn) with all t outputs (state[0] is the capacity).
    sampled(perms, ctx.sample).forEach((pm, i) => {
      const input = (pm['input'] as string[]).map(BigInt);
      if (input[0] !== 0n) { rows.perm.na(NO_INIT_STATE); return; }
      check(rows.perm, `${pm['name'] ?? i}`, () => expectSame(asList(fnFor(input.length - 1)(input.slice(1), input.length)), pm['output'] as string[]));
    });

    sampled(invalids, ctx.sample).forEach((v, i) => {
      const id = `invalid[${i}]`;
      if (v['initState'] !== undefined) { rows.bad.na(NO_INIT_STATE); return; }
      const inputs = (v['inputs'] as string[]).map(BigInt);
      const nOut = (v['nOut'] as number | undefined) ?? 1;
      let out: bigint[];
      try {
        out = asList(fnFor(inputs.length)(inputs, nOut));
      } catch {
        rows.bad.pass(); // refused: 17 inputs, nOut > t
        return;
      }
      if (inputs.some((x) => x >= p)) {
        // poseidon-lite (like circomlibjs) reduces inputs mod p instead of refusing them. Pin that documented
        // behaviour (so a change is noticed) and report the case n/a: the range check is the caller's policy.
        const reduced = asList(fnFor(inputs.length)(inputs.map((x) => x % p), nOut));
        if (out.every((x, k) => x === reduced[k])) rows.bad.na('poseidon-lite reduces inputs ≥ p mod p instead of rejecting; the caller (src/zk) must range-check field elements');
        else rows.bad.fail(id, 'out-of-field input neither rejected nor reduced mod p');
        return;
      }
      rows.bad.fail(id, 'accepted an invalid input');
    });
    return hashes.length + perms.length + invalids.length;
  },
}];
