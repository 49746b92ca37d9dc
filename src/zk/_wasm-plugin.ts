/**
 * Internal: a build plugin for ffjavascript's bn128 WASM (`buildBn128(true, bn128Plugin)`) that
 * makes multiplication by the tower's non-residue ξ = 9 + u cheap and fuses Fq addition and
 * subtraction (fuseAddSub below: a third of a verification's CPU was in int_add/int_gte/int_sub).
 *
 * wasmcurves (0.2.x) multiplies by ξ with a full Fq2 multiplication by the constant at one fixed
 * address `pξ` (three Fq multiplications): in bn128_mulNR6 (so in every Fq6 and Fq12 product and
 * squaring), bn128_mulNR12, the sparse line product bn128__mulBy024 and the cyclotomic squaring.
 * The profile of one verification (docs/ZK.md, "Where a verification goes") put 3 of the 9 Fq2
 * products of an Fq6 product and 6 of the cyclotomic squaring's there. The plugin prepends to
 * f2m_mul: if one operand is `pξ`, return (9a − b) + (a + 9b)u of the other operand a + bu by
 * Fq additions (Montgomery form is linear, so 9·mont(a) = mont(9a)) and skip the product. Every
 * other call runs the original code unchanged. It also adds a constant 1 of Fq2 at `p1` and makes
 * f2m_mul(p1, y) a copy: _pairing.ts scales the resident lines of fixed G2 points to ell_0 = 1 and
 * passes p1 as their ell_0, which saves three of bn128__mulBy024's Fq2 products per line.
 *
 * `pξ` is read from bn128_mulNR6's code (its first instruction is `i32.const pξ`); the build
 * fails if that code is not what this file expects, and `checkPlugin` (run on every curve built
 * with it) compares the fast path with the generic product on the constant's value in memory.
 * Pure (no node: imports).
 */

/** The parts of wasmbuilder's ModuleBuilder and CodeBuilder used here. */
interface CodeBuilder {
  getLocal(name: string): number[];
  setLocal(name: string, v: number[]): number[];
  i64_const(n: number): number[];
  i64_add(a: number[], b: number[]): number[];
  i64_sub(a: number[], b: number[]): number[];
  i64_and(a: number[], b: number[]): number[];
  i64_or(a: number[], b: number[]): number[];
  i64_xor(a: number[], b: number[]): number[];
  i64_shr_u(a: number[], b: number[]): number[];
  i64_load32_u(addr: number[], offset?: number): number[];
  i64_store32(addr: number[], offset: number, v: number[]): number[];
  i32_wrap_i64(a: number[]): number[];
  i32_const(n: number): number[];
  i32_add(a: number[], b: number[]): number[];
  i32_eq(a: number[], b: number[]): number[];
  call(fn: string, ...args: number[][]): number[];
  if(cond: number[], then: number[], otherwise?: number[]): number[];
  ret(code: number[]): number[];
}
interface FunctionBuilder {
  fnName: string;
  code: number[];
  addParam(name: string, type: 'i32'): void;
  addLocal(name: string, type: 'i64'): void;
  addCode(...code: number[][]): void;
  getCodeBuilder(): CodeBuilder;
}
interface ModuleBuilder {
  functions: FunctionBuilder[];
  functionIdxByName: Record<string, number>;
  alloc(bytes: number | number[]): number;
  addFunction(name: string): FunctionBuilder;
  exportFunction(name: string, exportName?: string): void;
}

const N8 = 32; // bytes of an Fq element
/** Name of the exported fast ξ-multiplication (x, r): r = ξ·x. */
export const MUL_XI = 'pqzk_f2m_mulXi';
/** Name of the exported getter of pξ. */
const XI_PTR = 'pqzk_xiPtr';
/** Name of the exported getter of p1, the plugin's Fq2 one (Montgomery): f2m_mul by it is a copy. */
const ONE_PTR = 'pqzk_onePtr';
const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
/** 2^256 mod q (one in Montgomery form) then 0, little endian: the Fq2 element 1. */
const MONT_ONE: number[] = (() => {
  let v = (1n << 256n) % Q;
  const out = new Array<number>(2 * N8).fill(0);
  for (let i = 0; i < N8; i++, v >>= 8n) out[i] = Number(v & 0xffn);
  return out;
})();

/** Signed LEB128 at code[i] (the immediate of an i32.const). */
function sleb(code: number[], i: number): number {
  let v = 0;
  let shift = 0;
  let b: number;
  do {
    b = code[i++]!;
    v |= (b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  return shift < 32 && b & 0x40 ? v | (-1 << shift) : v;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** The address of ξ, from bn128_mulNR6's code `i32.const pξ; local.get 0; local.get 1; call f2m_mul`. */
function xiPointer(m: ModuleBuilder): number {
  const idx = m.functionIdxByName['bn128_mulNR6'];
  const code = idx === undefined ? undefined : m.functions[idx]!.code;
  if (!code || code[0] !== 0x41) throw new Error('bn128 plugin: bn128_mulNR6 is not the expected code');
  const p = sleb(code, 1);
  const mul = m.functionIdxByName['f2m_mul'];
  const expected = mul === undefined ? [] : [0x20, 0, 0x20, 1, 0x10, ...uleb(mul)];
  if (!(p > 0) || mul === undefined || code.slice(code.length - expected.length).join() !== expected.join()) {
    throw new Error('bn128 plugin: bn128_mulNR6 is not the expected code');
  }
  return p;
}

/** q as eight 32-bit words, least significant first. */
const QW: number[] = Array.from({ length: 8 }, (_, i) => Number((Q >> BigInt(32 * i)) & 0xffffffffn));
const MASK = 0xffffffff;

/**
 * Replaces the bodies of f1m_add and f1m_sub (int_add, int_gte, int_sub: three calls and a
 * store/reload of r) by one pass each over eight 32-bit words kept in i64 locals, with the same
 * results for any 256-bit inputs: add: s = x + y; r = s − q if s carried out of 256 bits or s ≥ q,
 * else s (mod 2^256); sub: r = x − y, plus q if it borrowed (mod 2^256). Inputs are read fully
 * before r is written (r may alias x or y).
 */
function fuseAddSub(m: ModuleBuilder): void {
  const fn = (name: string): FunctionBuilder => {
    const idx = m.functionIdxByName[name];
    if (idx === undefined) throw new Error(`bn128 plugin: no ${name}`);
    return m.functions[idx]!;
  };
  const add = fn('f1m_add');
  const sub = fn('f1m_sub');
  for (const f of [add, sub]) {
    f.addLocal('c', 'i64');
    f.addLocal('k', 'i64');
    for (let i = 0; i < 8; i++) f.addLocal(`s${i}`, 'i64');
  }
  {
    const c = add.getCodeBuilder();
    const code: number[][] = [c.setLocal('c', c.i64_const(0))];
    for (let i = 0; i < 8; i++) {
      code.push(c.setLocal('c', c.i64_add(c.i64_add(c.i64_load32_u(c.getLocal('x'), 4 * i), c.i64_load32_u(c.getLocal('y'), 4 * i)), c.i64_shr_u(c.getLocal('c'), c.i64_const(32)))));
      code.push(c.setLocal(`s${i}`, c.i64_and(c.getLocal('c'), c.i64_const(MASK))));
    }
    code.push(c.setLocal('k', c.i64_shr_u(c.getLocal('c'), c.i64_const(32)))); // carry out of 256 bits
    code.push(c.setLocal('c', c.i64_const(0))); // now the borrow of s − q
    const trial: number[][] = [];
    for (let i = 0; i < 8; i++) {
      // t_i = s_i − q_i − borrow, kept in the high half of nothing: computed again when stored
      code.push(c.setLocal('c', c.i64_shr_u(c.i64_sub(c.i64_sub(c.getLocal(`s${i}`), c.i64_const(QW[i]!)), c.getLocal('c')), c.i64_const(63))));
    }
    // Take s − q when it carried out or did not borrow: recompute the difference while storing.
    trial.push(c.setLocal('c', c.i64_const(0)));
    for (let i = 0; i < 8; i++) {
      trial.push(c.setLocal('k', c.i64_sub(c.i64_sub(c.getLocal(`s${i}`), c.i64_const(QW[i]!)), c.getLocal('c'))));
      trial.push(c.i64_store32(c.getLocal('r'), 4 * i, c.getLocal('k')));
      trial.push(c.setLocal('c', c.i64_shr_u(c.getLocal('k'), c.i64_const(63))));
    }
    const plain: number[][] = [];
    for (let i = 0; i < 8; i++) plain.push(c.i64_store32(c.getLocal('r'), 4 * i, c.getLocal(`s${i}`)));
    const takeTrial = c.i32_wrap_i64(c.i64_or(c.getLocal('k'), c.i64_xor(c.getLocal('c'), c.i64_const(1))));
    code.push(c.if(takeTrial, trial.flat(), plain.flat()));
    add.code = code.flat();
  }
  {
    const c = sub.getCodeBuilder();
    const code: number[][] = [c.setLocal('c', c.i64_const(0))];
    for (let i = 0; i < 8; i++) {
      code.push(c.setLocal('k', c.i64_sub(c.i64_sub(c.i64_load32_u(c.getLocal('x'), 4 * i), c.i64_load32_u(c.getLocal('y'), 4 * i)), c.getLocal('c'))));
      code.push(c.setLocal(`s${i}`, c.i64_and(c.getLocal('k'), c.i64_const(MASK))));
      code.push(c.setLocal('c', c.i64_shr_u(c.getLocal('k'), c.i64_const(63))));
    }
    const plusQ: number[][] = [c.setLocal('c', c.i64_const(0))];
    for (let i = 0; i < 8; i++) {
      plusQ.push(c.setLocal('c', c.i64_add(c.i64_add(c.getLocal(`s${i}`), c.i64_const(QW[i]!)), c.i64_shr_u(c.getLocal('c'), c.i64_const(32)))));
      plusQ.push(c.i64_store32(c.getLocal('r'), 4 * i, c.getLocal('c')));
    }
    const plain: number[][] = [];
    for (let i = 0; i < 8; i++) plain.push(c.i64_store32(c.getLocal('r'), 4 * i, c.getLocal(`s${i}`)));
    code.push(c.if(c.i32_wrap_i64(c.getLocal('c')), plusQ.flat(), plain.flat()));
    sub.code = code.flat();
  }
}

/** The plugin: pass it as the second argument of ffjavascript's buildBn128. */
export function bn128Plugin(m: ModuleBuilder): void {
  fuseAddSub(m);
  const pXi = xiPointer(m);
  const t0 = m.alloc(N8);
  const t1 = m.alloc(N8);

  const fast = m.addFunction(MUL_XI);
  fast.addParam('x', 'i32');
  fast.addParam('r', 'i32');
  {
    const c = fast.getCodeBuilder();
    const x0 = c.getLocal('x');
    const x1 = c.i32_add(c.getLocal('x'), c.i32_const(N8));
    const r0 = c.getLocal('r');
    const r1 = c.i32_add(c.getLocal('r'), c.i32_const(N8));
    const T0 = c.i32_const(t0);
    const T1 = c.i32_const(t1);
    const nine = (a: number[], t: number[]): number[][] => [
      c.call('f1m_add', a, a, t), // 2a
      c.call('f1m_add', t, t, t), // 4a
      c.call('f1m_add', t, t, t), // 8a
      c.call('f1m_add', t, a, t), // 9a
    ];
    // Reads x fully before writing r (r may alias x).
    fast.addCode(
      ...nine(x0, T0),
      ...nine(x1, T1),
      c.call('f1m_sub', T0, x1, T0), // 9a − b
      c.call('f1m_add', T1, x0, T1), // 9b + a
      c.call('f1m_copy', T0, r0),
      c.call('f1m_copy', T1, r1),
    );
  }

  const pOne = m.alloc(MONT_ONE);
  for (const [name, ptr] of [[XI_PTR, pXi], [ONE_PTR, pOne]] as const) {
    const getter = m.addFunction(name);
    const c = getter.getCodeBuilder();
    (getter as unknown as { setReturnType(t: 'i32'): void }).setReturnType('i32');
    getter.addCode(c.i32_const(ptr));
  }

  // f2m_mul(x, y, r): x = pξ → r = ξ·y; y = pξ → r = ξ·x; x = p1 → r = y; else the original body.
  const mul = m.functions[m.functionIdxByName['f2m_mul']!]!;
  const c = mul.getCodeBuilder();
  const P = c.i32_const(pXi);
  mul.code = [
    ...c.if(c.i32_eq(c.getLocal('x'), P), [...c.call(MUL_XI, c.getLocal('y'), c.getLocal('r')), ...c.ret([])]),
    ...c.if(c.i32_eq(c.getLocal('y'), P), [...c.call(MUL_XI, c.getLocal('x'), c.getLocal('r')), ...c.ret([])]),
    ...c.if(c.i32_eq(c.getLocal('x'), c.i32_const(pOne)), [...c.call('f2m_copy', c.getLocal('y'), c.getLocal('r')), ...c.ret([])]),
    ...mul.code,
  ];
  m.exportFunction(MUL_XI);
  m.exportFunction(XI_PTR);
  m.exportFunction(ONE_PTR);
}

/** The exports checkPlugin needs. */
interface PluginExports {
  pqzk_xiPtr(): number;
  pqzk_onePtr(): number;
  f2m_one(r: number): void;
  pqzk_f2m_mulXi(x: number, r: number): void;
  f2m_mul(a: number, b: number, r: number): void;
  f2m_eq(a: number, b: number): number;
  f2m_toMontgomery(a: number, r: number): void;
  f1m_add(a: number, b: number, r: number): void;
  f1m_sub(a: number, b: number, r: number): void;
}
interface Tm {
  u8: Uint8Array;
  instance: { exports: unknown };
  alloc(n: number): number;
  startSyncOp(): void;
  endSyncOp(): void;
}

/**
 * Checks a curve built with the plugin: fused add/sub against BigInt on edge values, the constant
 * at pξ is ξ = 9 + u (Montgomery), and the fast paths equal the generic product for a few values
 * (the generic one is reached through a copy of ξ, or of 1, at another address). Throws otherwise.
 */
export function checkPlugin(tm: Tm): void {
  const x = tm.instance.exports as PluginExports;
  tm.startSyncOp();
  try {
    const p = x.pqzk_xiPtr();
    const xi = tm.alloc(2 * N8);
    tm.u8.fill(0, xi, xi + 2 * N8);
    tm.u8[xi] = 9;
    tm.u8[xi + N8] = 1;
    x.f2m_toMontgomery(xi, xi);
    if (x.f2m_eq(xi, p) !== 1) throw new Error('bn128 plugin: the constant at pξ is not ξ = 9 + u');
    // Fused add/sub against BigInt on reduced edge values.
    const fa = tm.alloc(N8);
    const fb = tm.alloc(N8);
    const fr = tm.alloc(N8);
    const put = (v: bigint, p: number): void => {
      for (let i = 0; i < N8; i++, v >>= 8n) tm.u8[p + i] = Number(v & 0xffn);
    };
    const get = (p: number): bigint => {
      let v = 0n;
      for (let i = N8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(tm.u8[p + i]!);
      return v;
    };
    const edge = [0n, 1n, 2n, Q - 1n, Q - 2n, Q >> 1n, (Q + 1n) >> 1n, 0xffffffffn, 1n << 253n];
    for (const a of edge) {
      for (const b of edge) {
        put(a, fa);
        put(b, fb);
        x.f1m_add(fa, fb, fr);
        if (get(fr) !== (a + b) % Q) throw new Error('bn128 plugin: fused f1m_add is wrong');
        x.f1m_sub(fa, fb, fr);
        if (get(fr) !== (((a - b) % Q) + Q) % Q) throw new Error('bn128 plugin: fused f1m_sub is wrong');
      }
    }
    const one = tm.alloc(2 * N8);
    x.f2m_one(one);
    if (x.f2m_eq(one, x.pqzk_onePtr()) !== 1) throw new Error('bn128 plugin: the constant at p1 is not 1');
    const a = tm.alloc(2 * N8);
    const fastR = tm.alloc(2 * N8);
    const slowR = tm.alloc(2 * N8);
    for (let k = 1; k <= 8; k++) {
      for (let i = 0; i < 2 * N8; i++) tm.u8[a + i] = (k * 37 + i * 11) & 0xff;
      tm.u8[a + N8 - 1] = 0x0f; // keep each half below q
      tm.u8[a + 2 * N8 - 1] = 0x0f;
      x.f2m_mul(a, p, fastR);
      x.f2m_mul(xi, a, slowR);
      if (x.f2m_eq(fastR, slowR) !== 1) throw new Error('bn128 plugin: fast ξ-multiplication disagrees with the generic product');
      x.f2m_mul(p, a, fastR);
      if (x.f2m_eq(fastR, slowR) !== 1) throw new Error('bn128 plugin: fast ξ-multiplication disagrees with the generic product');
      x.f2m_mul(x.pqzk_onePtr(), a, fastR);
      x.f2m_mul(one, a, slowR);
      if (x.f2m_eq(fastR, slowR) !== 1) throw new Error('bn128 plugin: multiplication by 1 disagrees with the generic product');
    }
  } finally {
    tm.endSyncOp();
  }
}
