/**
 * The committed circuit artifacts: the witness computed by login.wasm agrees with
 * src/zk/poseidon.ts, every public signal sits in a non-linear constraint of the r1cs, and the
 * checksums hold.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as snarkjs from 'snarkjs';
import { commitment, loginTag, randomFieldElement, sessionKeyHash, FIELD_MODULUS } from '../../src/zk/poseidon.ts';

const ART = new URL('../../circuits/artifacts/', import.meta.url);
const art = (n: string): string => new URL(n, ART).pathname;

after(async () => {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
});

async function witness(input: Record<string, bigint>): Promise<bigint[]> {
  const wtns: { type: 'mem'; data?: Uint8Array } = { type: 'mem' };
  const asStrings = Object.fromEntries(Object.entries(input).map(([k, v]) => [k, v.toString()]));
  await snarkjs.wtns.calculate(asStrings, art('login.wasm'), wtns);
  return (await snarkjs.wtns.exportJson(wtns)).map((v) => BigInt(v));
}

describe('login.wasm witness', () => {
  test('outputs equal commitment() and loginTag() for random inputs', async () => {
    const cases = [
      { secret: randomFieldElement(), salt: randomFieldElement(), challenge: randomFieldElement(), sessionKeyHash: sessionKeyHash(new Uint8Array([1, 2, 3])) },
      { secret: 0n, salt: 0n, challenge: 0n, sessionKeyHash: 0n },
      { secret: FIELD_MODULUS - 1n, salt: 1n, challenge: FIELD_MODULUS - 1n, sessionKeyHash: (1n << 248n) - 1n },
    ];
    for (const c of cases) {
      const w = await witness(c);
      // wire 0 is the constant 1, then outputs, then public inputs (snarkjs public signal order).
      assert.equal(w[0], 1n);
      assert.equal(w[1], commitment(c.secret, c.salt));
      assert.equal(w[2], loginTag(c.secret, c.challenge, c.sessionKeyHash));
      assert.equal(w[3], c.challenge);
      assert.equal(w[4], c.sessionKeyHash);
    }
  });

  test('a different secret gives a different commitment', async () => {
    const salt = randomFieldElement();
    const a = await witness({ secret: 1n, salt, challenge: 5n, sessionKeyHash: 6n });
    const b = await witness({ secret: 2n, salt, challenge: 5n, sessionKeyHash: 6n });
    assert.notEqual(a[1], b[1]);
    assert.notEqual(a[2], b[2]);
  });
});

describe('login.r1cs', () => {
  test('public inputs are multiplied (in A and B of a constraint); outputs sit in non-linear constraints', async () => {
    const info = await snarkjs.r1cs.info(art('login.r1cs'));
    assert.equal(info.nOutputs, 2);
    assert.equal(info.nPubInputs, 2);
    assert.equal(info.nPrvInputs, 2);
    const r1cs = await snarkjs.r1cs.exportJson(art('login.r1cs'));
    assert.ok(r1cs.constraints.length > 500, `only ${r1cs.constraints.length} constraints`);
    // Wires: 0 = one, 1..2 = outputs (commitment, loginTag), 3..4 = public inputs (challenge, sessionKeyHash).
    for (const wire of ['3', '4']) {
      const multiplied = r1cs.constraints.some(([a, b]) => a[wire] !== undefined && b[wire] !== undefined);
      assert.ok(multiplied, `public input wire ${wire} is never multiplied`);
    }
    for (const wire of ['1', '2']) {
      const inNonLinear = r1cs.constraints.some(([a, b, c]) => Object.keys(a).length > 0 && Object.keys(b).length > 0 && (a[wire] ?? b[wire] ?? c[wire]) !== undefined);
      assert.ok(inNonLinear, `output wire ${wire} is in no non-linear constraint`);
    }
  });
});

describe('artifacts', () => {
  test('SHA256SUMS lists every artifact with the right digest', () => {
    const lines = readFileSync(art('SHA256SUMS'), 'utf8').trim().split('\n');
    const names = new Set<string>();
    for (const line of lines) {
      const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
      assert.ok(m, `malformed line ${line}`);
      assert.equal(createHash('sha256').update(readFileSync(art(m[2]!))).digest('hex'), m[1], m[2]);
      names.add(m[2]!);
    }
    for (const n of ['login.r1cs', 'login.wasm', 'login.zkey', 'verification_key.json', 'pot_final.ptau', 'ceremony.json']) assert.ok(names.has(n), n);
  });
});
