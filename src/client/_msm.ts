/**
 * Internal: fixed-base multi-scalar multiplication for the SDK's Groth16 prover.
 *
 * Every login proves with the same proving key, so the five MSMs of snarkjs.groth16.prove (A, B1,
 * B2 in G2, C, H) always run over the same base points. ffjavascript's Pippenger pays, per c-bit
 * window, one bucket addition per point plus 2·2^c to sum the buckets, and c doublings between
 * windows. With the bases' shifted copies 2^(c·k)·Pᵢ stored once (the "table"), all windows share
 * one set of buckets: n·⌈bits/c⌉ mixed additions + 2·2^c, about 0.55× the work (see docs/ZK.md).
 *
 * `withFixedBase(curve, fn)` wraps the curve's G1/G2 multiExpAffine while `fn` runs: bases seen for
 * the first time go to ffjavascript's MSM and are queued; `buildQueued()` then builds their tables
 * in the background (slices of a few ms between timer ticks, unref'd in Node so they never keep a
 * process alive); later MSMs over the same bases (compared byte for byte) use the table. Results
 * are the same group elements as ffjavascript's (test/zk/msm.test.ts compares them). On the
 * calling-thread curve the table goes through WASM memory in parts; on the multi-threaded one each
 * worker thread gets one part of it (fixedMsmThreads).
 *
 * Memory: a table holds n·⌈bits/c⌉ affine points in JS memory (≈ 6 MB for the login circuit's
 * five); the WASM side uses only scratch inside one synchronous operation. Pure (no node: imports).
 */

interface Exports {
  [name: string]: (...args: number[]) => number | void;
}
interface ThreadManager {
  u8: Uint8Array;
  singleThread?: boolean;
  concurrency?: number;
  queueAction(task: unknown[], transfers?: ArrayBuffer[]): Promise<Uint8Array[]>;
  instance: { exports: Exports };
  alloc(n: number): number;
  startSyncOp(): void;
  endSyncOp(): void;
}
type Msm = (bases: Uint8Array, scalars: Uint8Array, logger?: unknown, text?: string) => Promise<Uint8Array>;
interface Group {
  F: { n8: number };
  tm: ThreadManager;
  multiExpAffine: Msm;
  zero: Uint8Array;
  add(a: Uint8Array, b: Uint8Array): Uint8Array;
}
/** The part of ffjavascript's curve used here. */
export interface MsmCurve {
  G1: Group;
  G2: Group;
}

interface Table {
  prefix: 'g1m' | 'g2m';
  n: number;
  c: number;
  windows: number;
  bits: number;
  bases: Uint8Array; // a copy, to compare against
  points?: Uint8Array; // window-major: (k·n + i)·sA; set when ready
}

/** At most this many tables (the login circuit needs five), each at most MAX_TABLE_BYTES. */
const MAX_TABLES = 8;
/** Bases whose table would be larger stay on ffjavascript's MSM (the login circuit's largest: 3.7 MB). */
const MAX_TABLE_BYTES = 8 << 20;
/** Points whose shifted copies one background slice computes. */
const SLICE_POINTS = 24;

const tables = new WeakMap<MsmCurve, Table[]>();
const queued = new WeakMap<MsmCurve, Table[]>();
const installed = new WeakMap<MsmCurve, { depth: number; g1: Msm; g2: Msm }>();

/** Window width in bits: 10 was the fastest of 7–11 for 559 points in G1 and in G2 (docs/ZK.md). */
const WINDOW_BITS = 10;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The c-bit digit of scalar i (sScalar bytes, little endian) at bit offset `bit`. */
function digit(s: Uint8Array, off: number, sScalar: number, bit: number, c: number): number {
  const byte = bit >> 3;
  let v = 0;
  for (let j = 2; j >= 0; j--) v = (v << 8) | (byte + j < sScalar ? s[off + byte + j]! : 0);
  return (v >>> (bit & 7)) & ((1 << c) - 1);
}

/**
 * Σ sᵢ·Pᵢ from a ready table; returns the Jacobian point as ffjavascript's MSM does. The table's
 * n·W points with their c-bit digits (2 bytes each) go through wasmcurves' own bucket routine
 * (`*_multiexpAffine_chunk`, one c-bit chunk of 2-byte scalars) as one point set, in as few parts
 * as the fixed WASM memory holds: one bucket set per part instead of one per window.
 */
function fixedMsm(G: Group, t: Table, scalars: Uint8Array): Uint8Array | undefined {
  const tm = G.tm;
  const x = tm.instance.exports;
  const sA = 2 * G.F.n8;
  const sJ = 3 * G.F.n8;
  const chunk = x[`${t.prefix}_multiexpAffine_chunk`]!;
  const add = x[`${t.prefix}_add`]!;
  const total = t.n * t.windows;
  tm.startSyncOp();
  try {
    const acc = tm.alloc(sJ);
    const part = tm.alloc(sJ);
    x[`${t.prefix}_zero`]!(acc);
    const free = new Uint32Array(tm.u8.buffer, 0, 1)[0]!;
    // Room for the part's points and digits, then the routine's 2^c buckets (it takes them at the free pointer).
    const room = tm.u8.byteLength - free - (1 << t.c) * sJ - 4096;
    if (room < 1024 * (sA + 2)) return undefined; // too little free WASM memory: ffjavascript's MSM
    const per = Math.min(total, Math.floor(room / (sA + 2)));
    const pts = tm.alloc(per * sA);
    const dg = tm.alloc(per * 2);
    for (let e0 = 0; e0 < total; e0 += per) {
      const m = Math.min(per, total - e0);
      tm.u8.set(t.points!.subarray(e0 * sA, (e0 + m) * sA), pts);
      tm.u8.set(digits(t, scalars, e0, m), dg);
      chunk(pts, dg, 2, m, 0, t.c, part);
      add(acc, part, acc);
    }
    return tm.u8.slice(acc, acc + sJ);
  } finally {
    tm.endSyncOp();
  }
}

/** The 2-byte digits of table entries [e0, e0 + m) (entry k·n + i: digit k of scalar i). */
function digits(t: Table, scalars: Uint8Array, e0: number, m: number): Uint8Array {
  const sScalar = scalars.byteLength / t.n;
  const out = new Uint8Array(2 * m);
  for (let e = 0; e < m; e++) {
    const k = Math.floor((e0 + e) / t.n);
    const i = e0 + e - k * t.n;
    const d = digit(scalars, i * sScalar, sScalar, k * t.c, t.c);
    out[2 * e] = d & 0xff;
    out[2 * e + 1] = d >> 8;
  }
  return out;
}

/**
 * The multi-threaded curve: the table's entries split in one part per worker thread, each part
 * (points and digits, transferred) through ffjavascript's own task protocol to the same bucket
 * routine in a worker (its memory grows as needed); the parts' sums are added here.
 */
async function fixedMsmThreads(G: Group, t: Table, scalars: Uint8Array): Promise<Uint8Array> {
  const sA = 2 * G.F.n8;
  const sJ = 3 * G.F.n8;
  const total = t.n * t.windows;
  const parts = Math.max(1, Math.min(G.tm.concurrency ?? 1, 16));
  const per = Math.ceil(total / parts);
  const jobs: Array<Promise<Uint8Array[]>> = [];
  for (let e0 = 0; e0 < total; e0 += per) {
    const m = Math.min(per, total - e0);
    const pts = t.points!.slice(e0 * sA, (e0 + m) * sA);
    const dg = digits(t, scalars, e0, m);
    jobs.push(G.tm.queueAction([
      { cmd: 'ALLOCSET', var: 0, buff: pts },
      { cmd: 'ALLOCSET', var: 1, buff: dg },
      { cmd: 'ALLOC', var: 2, len: sJ },
      { cmd: 'CALL', fnName: `${t.prefix}_multiexpAffine_chunk`, params: [{ var: 0 }, { var: 1 }, { val: 2 }, { val: m }, { val: 0 }, { val: t.c }, { var: 2 }] },
      { cmd: 'GET', out: 0, var: 2, len: sJ },
    ], [pts.buffer as ArrayBuffer, dg.buffer as ArrayBuffer]));
  }
  let acc = G.zero;
  for (const r of await Promise.all(jobs)) acc = G.add(acc, r[0]!);
  return acc;
}

/** Computes the shifted copies 2^(c·k)·Pᵢ of points [start, end) into t.points' layout. */
function buildSlice(G: Group, t: Table, out: Uint8Array, start: number, end: number): void {
  const tm = G.tm;
  const x = tm.instance.exports;
  const n8 = G.F.n8;
  const sA = 2 * n8;
  const sJ = 3 * n8;
  const m = end - start;
  tm.startSyncOp();
  try {
    const inp = tm.alloc(m * sA);
    const jac = tm.alloc(m * t.windows * sJ);
    const aff = tm.alloc(m * t.windows * sA);
    const pt = tm.alloc(sJ);
    tm.u8.set(t.bases.subarray(start * sA, end * sA), inp);
    for (let j = 0; j < m; j++) {
      x[`${t.prefix}_toJacobian`]!(inp + j * sA, pt);
      for (let k = 0; k < t.windows; k++) {
        tm.u8.copyWithin(jac + (j * t.windows + k) * sJ, pt, pt + sJ);
        if (k + 1 < t.windows) for (let b = 0; b < t.c; b++) x[`${t.prefix}_double`]!(pt, pt);
      }
    }
    x[`${t.prefix}_batchToAffine`]!(jac, m * t.windows, aff);
    for (let j = 0; j < m; j++) {
      for (let k = 0; k < t.windows; k++) {
        const src = aff + (j * t.windows + k) * sA;
        out.set(tm.u8.subarray(src, src + sA), (k * t.n + start + j) * sA);
      }
    }
  } finally {
    tm.endSyncOp();
  }
}

const tick = (): Promise<void> =>
  new Promise((resolve) => {
    const h = setTimeout(resolve, 0) as unknown as { unref?: () => void };
    h.unref?.();
  });

/**
 * Builds the queued tables of `curve` in the background (one slice per timer tick). Returns when
 * they are ready; safe to call any number of times.
 */
export async function buildQueued(curve: MsmCurve): Promise<void> {
  const list = queued.get(curve) ?? [];
  queued.set(curve, []);
  for (const t of list) {
    const G = t.prefix === 'g1m' ? curve.G1 : curve.G2;
    const out = new Uint8Array(t.n * t.windows * 2 * G.F.n8);
    for (let s = 0; s < t.n; s += SLICE_POINTS) {
      await tick();
      buildSlice(G, t, out, s, Math.min(t.n, s + SLICE_POINTS));
    }
    t.points = out;
  }
}

function wrap(curve: MsmCurve, G: Group, prefix: 'g1m' | 'g2m', original: Msm): Msm {
  return async (bases, scalars, logger, text) => {
    const sA = 2 * G.F.n8;
    const n = bases.byteLength / sA;
    if (Number.isInteger(n) && n > 0 && scalars.byteLength % n === 0) {
      const list = tables.get(curve) ?? [];
      const t = list.find((e) => e.prefix === prefix && e.n === n && e.bits === (scalars.byteLength / n) * 8 && sameBytes(e.bases, bases));
      if (t?.points) {
        if (G.tm.singleThread === false && (G.tm.concurrency ?? 1) > 1) return fixedMsmThreads(G, t, scalars);
        const r = fixedMsm(G, t, scalars);
        if (r) return r;
      }
      const bits = (scalars.byteLength / n) * 8;
      if (!t && list.length < MAX_TABLES && n * Math.ceil(bits / WINDOW_BITS) * sA <= MAX_TABLE_BYTES) {
        const c = WINDOW_BITS;
        const nt: Table = { prefix, n, c, bits, windows: Math.ceil(bits / c), bases: bases.slice() };
        tables.set(curve, [...list, nt]);
        queued.set(curve, [...(queued.get(curve) ?? []), nt]);
      }
    }
    return original(bases, scalars, logger, text);
  };
}

/** Runs `fn` with the fixed-base MSMs on `curve` (nested and concurrent calls allowed). */
export async function withFixedBase<T>(curve: MsmCurve, fn: () => Promise<T>): Promise<T> {
  let s = installed.get(curve);
  if (!s) {
    s = { depth: 0, g1: curve.G1.multiExpAffine, g2: curve.G2.multiExpAffine };
    installed.set(curve, s);
    curve.G1.multiExpAffine = wrap(curve, curve.G1, 'g1m', s.g1);
    curve.G2.multiExpAffine = wrap(curve, curve.G2, 'g2m', s.g2);
  }
  s.depth++;
  try {
    return await fn();
  } finally {
    if (--s.depth === 0) {
      curve.G1.multiExpAffine = s.g1;
      curve.G2.multiExpAffine = s.g2;
      installed.delete(curve);
    }
  }
}
