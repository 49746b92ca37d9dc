/**
 * Poseidon (circomlib) known answers from /work/shared/kat/poseidon, and the field/encoding
 * helpers of src/zk/poseidon.ts.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import fc from 'fast-check';
import * as lite from 'poseidon-lite';
import {
  FIELD_MODULUS,
  DOMAIN_COMMIT,
  DOMAIN_LOGIN,
  DOMAIN_COMMIT_LABEL,
  DOMAIN_LOGIN_LABEL,
  labelToField,
  parseFieldElement,
  formatFieldElement,
  commitment,
  loginTag,
  sessionKeyHash,
  randomFieldElement,
} from '../../src/zk/poseidon.ts';
import { CryptoInputError } from '../../src/errors.ts';

const KAT = '/work/shared/kat/poseidon/poseidon_bn254_circomlib.json';
interface HashVector {
  inputs: string[];
  initState: string;
  nOut: number;
  expected?: string[];
  expectedFirstOnly?: string;
  sources: string[];
}
interface InvalidVector {
  inputs: string[];
  initState?: string;
  nOut?: number;
  note: string;
}
interface KatFile {
  field: { p: string };
  hash: HashVector[];
  invalid: InvalidVector[];
}

type Lite = (input: bigint[], nOuts?: number) => bigint | bigint[];
const byArity = (n: number): Lite => (lite as unknown as Record<string, Lite>)[`poseidon${n}`]!;

describe('poseidon-lite against the circomlib KAT', { skip: existsSync(KAT) ? false : `KAT file not found: ${KAT}` }, () => {
  const kat = existsSync(KAT) ? (JSON.parse(readFileSync(KAT, 'utf8')) as KatFile) : undefined;

  test('field modulus matches', () => {
    assert.equal(BigInt(kat!.field.p), FIELD_MODULUS);
  });

  test('hash vectors (initState 0)', (t) => {
    let checked = 0;
    let skipped = 0;
    for (const v of kat!.hash) {
      // poseidon-lite has no initState parameter (capacity is always 0); the service never uses one.
      if (v.initState !== '0') {
        skipped++;
        continue;
      }
      const out = byArity(v.inputs.length)(v.inputs.map(BigInt), v.nOut);
      const got = (Array.isArray(out) ? out : [out]).map(String);
      if (v.expected) assert.deepEqual(got, v.expected, `inputs ${v.inputs.join(',')} nOut ${v.nOut}`);
      else assert.equal(got[0], v.expectedFirstOnly, `inputs ${v.inputs.join(',')} nOut ${v.nOut}`);
      checked++;
    }
    t.diagnostic(`${checked} vectors checked, ${skipped} skipped (initState != 0: poseidon-lite has no initState)`);
    assert.ok(checked >= 20, `only ${checked} vectors were checked`);
  });

  test('invalid vectors: our policy rejects what poseidon-lite would silently reduce', (t) => {
    let checked = 0;
    for (const v of kat!.invalid) {
      if (v.initState !== undefined) {
        t.diagnostic(`not applicable (no initState in the API): ${v.note}`);
        continue;
      }
      if (v.inputs.length > 16) {
        assert.throws(() => byArity(16)(v.inputs.map(BigInt)), /Incorrect M length|Too many inputs/);
      } else if (v.nOut !== undefined) {
        assert.throws(() => byArity(v.inputs.length)(v.inputs.map(BigInt), v.nOut), /Invalid number of outputs/);
      } else {
        for (const s of v.inputs) assert.throws(() => parseFieldElement(s), CryptoInputError, v.note);
        assert.throws(() => commitment(BigInt(v.inputs[0]!), 1n), CryptoInputError);
      }
      checked++;
    }
    assert.ok(checked >= 3, `only ${checked} invalid vectors were checked`);
  });
});

describe('domain constants', () => {
  test('are the documented ASCII labels, and distinct', () => {
    assert.equal(labelToField(DOMAIN_COMMIT_LABEL), DOMAIN_COMMIT);
    assert.equal(labelToField(DOMAIN_LOGIN_LABEL), DOMAIN_LOGIN);
    assert.notEqual(DOMAIN_COMMIT, DOMAIN_LOGIN);
  });
  test('circuits/login.circom uses the same literals', () => {
    const src = readFileSync(new URL('../../circuits/login.circom', import.meta.url), 'utf8');
    assert.match(src, new RegExp(`var DOMAIN_COMMIT = ${DOMAIN_COMMIT};`));
    assert.match(src, new RegExp(`var DOMAIN_LOGIN = ${DOMAIN_LOGIN};`));
  });
  test('labels are bounded', () => {
    assert.throws(() => labelToField('x'.repeat(32)), CryptoInputError);
    assert.throws(() => labelToField(''), CryptoInputError);
  });
});

describe('parseFieldElement', () => {
  test('accepts canonical decimals below p', () => {
    assert.equal(parseFieldElement('0'), 0n);
    assert.equal(parseFieldElement('42'), 42n);
    assert.equal(parseFieldElement((FIELD_MODULUS - 1n).toString()), FIELD_MODULUS - 1n);
  });
  test('rejects every other spelling', () => {
    for (const s of ['', '-1', '+1', '042', '00', '0x2a', '1e3', ' 1', '1 ', '1.0', '４２', FIELD_MODULUS.toString(), (FIELD_MODULUS + 1n).toString(), '9'.repeat(78), '1'.repeat(10_000)]) {
      assert.throws(() => parseFieldElement(s), CryptoInputError, JSON.stringify(s.slice(0, 20)));
    }
    for (const v of [42, 42n, null, undefined, {}, ['1']]) assert.throws(() => parseFieldElement(v), CryptoInputError);
  });
  test('error messages carry no value', () => {
    try {
      parseFieldElement('123456789abc');
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof CryptoInputError);
      assert.doesNotMatch(err.message, /123456789/);
    }
  });
  test('round trip and leading-zero rejection (property)', () => {
    const fe = fc.bigInt({ min: 0n, max: FIELD_MODULUS - 1n });
    fc.assert(
      fc.property(fe, (x) => {
        assert.equal(parseFieldElement(formatFieldElement(x)), x);
        assert.throws(() => parseFieldElement('0' + x.toString()), CryptoInputError);
        assert.throws(() => parseFieldElement((x + FIELD_MODULUS).toString()), CryptoInputError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('commitment, loginTag, sessionKeyHash', () => {
  test('commitment and loginTag are domain-separated Poseidon', () => {
    const s = randomFieldElement();
    const salt = randomFieldElement();
    assert.equal(commitment(s, salt), lite.poseidon3([DOMAIN_COMMIT, s, salt]));
    assert.equal(loginTag(s, 7n, 9n), lite.poseidon4([DOMAIN_LOGIN, s, 7n, 9n]));
    assert.notEqual(commitment(s, salt), lite.poseidon2([s, salt]));
  });
  test('inputs must be canonical field elements', () => {
    assert.throws(() => commitment(FIELD_MODULUS, 1n), CryptoInputError);
    assert.throws(() => commitment(-1n, 1n), CryptoInputError);
    assert.throws(() => loginTag(1n, FIELD_MODULUS + 5n, 1n), CryptoInputError);
    assert.throws(() => loginTag(1n, 1n, 2 as unknown as bigint), CryptoInputError);
  });
  test('sessionKeyHash is 248 bits, deterministic, key dependent, input not mutated', () => {
    const pk = new Uint8Array(1216).map((_, i) => i & 0xff);
    const copy = pk.slice();
    const h = sessionKeyHash(pk);
    assert.ok(h >= 0n && h < 1n << 248n);
    assert.equal(sessionKeyHash(pk), h);
    assert.deepEqual(pk, copy);
    pk[100] ^= 1;
    assert.notEqual(sessionKeyHash(pk), h);
    assert.throws(() => sessionKeyHash(new Uint8Array(0)), CryptoInputError);
  });
  test('randomFieldElement stays in range and varies', () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 64; i++) {
      const v = randomFieldElement();
      assert.ok(v >= 0n && v < FIELD_MODULUS);
      seen.add(v);
    }
    assert.equal(seen.size, 64);
  });
});
