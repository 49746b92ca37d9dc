/**
 * The bn128 WASM plugin (src/zk/_wasm-plugin.ts: fast ξ-multiplication, fused Fq add/sub)
 * against ffjavascript's WASM as shipped:
 * the same Fq2/Fq6/Fq12 products, squarings, Miller loops and final exponentiations on random
 * values, and checkPlugin refuses a curve whose constant ξ was altered.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildBn128 } from 'ffjavascript';
import type { Bn128 } from 'ffjavascript';
import { bn128Plugin, checkPlugin } from '../../src/zk/_wasm-plugin.ts';

interface Tm {
  u8: Uint8Array;
  instance: { exports: Record<string, (...a: number[]) => number> };
  alloc(n: number): number;
  startSyncOp(): void;
  endSyncOp(): void;
}
let stock: Bn128;
let fast: Bn128;
const tmOf = (c: Bn128): Tm => c.tm as Tm;

before(async () => {
  stock = await buildBn128(true);
  fast = await buildBn128(true, bn128Plugin);
});
after(async () => {
  await stock.terminate();
  await fast.terminate();
});

let seed = (Date.now() & 0xffffff) | 1;
const SEED = seed;
const byte = (): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed >> 16 & 0xff;
};
/** n random Fq elements (each below 2^252 < q), as bytes. */
const randomFq = (n: number): Uint8Array => {
  const b = new Uint8Array(32 * n);
  for (let i = 0; i < b.length; i++) b[i] = byte();
  for (let i = 0; i < n; i++) b[32 * i + 31]! &= 0x0f;
  return b;
};

/** Runs export `fn` on the same inputs in both curves and returns both outputs. */
function both(fn: string, inputs: Uint8Array[], outLen: number, extra: number[] = []): [Uint8Array, Uint8Array] {
  return [stock, fast].map((c) => {
    const tm = tmOf(c);
    tm.startSyncOp();
    try {
      const ptrs = inputs.map((b) => {
        const p = tm.alloc(b.byteLength);
        tm.u8.set(b, p);
        return p;
      });
      const r = tm.alloc(outLen);
      tm.instance.exports[fn]!(...ptrs, ...extra, r);
      return tm.u8.slice(r, r + outLen);
    } finally {
      tm.endSyncOp();
    }
  }) as [Uint8Array, Uint8Array];
}

describe('ξ plugin', () => {
  test('checkPlugin accepts the built curve', () => {
    assert.doesNotThrow(() => checkPlugin(tmOf(fast) as never));
  });

  test('products and squarings in Fq2, Fq6, Fq12 equal the stock WASM on random values', () => {
    for (let i = 0; i < 20; i++) {
      for (const [fn, n, len] of [['f2m_mul', 2, 64], ['f6m_mul', 6, 192], ['ftm_mul', 12, 384]] as const) {
        const [a, b] = both(fn, [randomFq(n), randomFq(n)], len);
        assert.deepEqual(b, a, `${fn}, seed ${SEED}`);
      }
      for (const [fn, n, len] of [['f6m_square', 6, 192], ['ftm_square', 12, 384], ['bn128__cyclotomicSquare', 12, 384]] as const) {
        const [a, b] = both(fn, [randomFq(n)], len);
        assert.deepEqual(b, a, `${fn}, seed ${SEED}`);
      }
    }
  });

  test('f1m_add and f1m_sub equal the stock WASM on random, edge and unreduced 256-bit inputs', () => {
    const Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;
    const le = (v: bigint): Uint8Array => {
      const b = new Uint8Array(32);
      for (let i = 0; i < 32; i++, v >>= 8n) b[i] = Number(v & 0xffn);
      return b;
    };
    const edges = [0n, 1n, Q - 1n, Q - 2n, Q >> 1n, (Q + 1n) >> 1n, Q, Q + 1n, 2n * Q - 1n, (1n << 255n) + 7n, (1n << 256n) - 1n];
    const values = [...edges.map(le), ...Array.from({ length: 40 }, (_, i) => (i % 2 ? randomFq(1) : randomFq(1).map((v, j) => (j === 31 ? byte() : v))))];
    for (const x of values) {
      for (const y of values.slice(0, 20)) {
        for (const fn of ['f1m_add', 'f1m_sub']) {
          const [a, b] = both(fn, [x, y], 32);
          assert.deepEqual(b, a, `${fn}, seed ${SEED}`);
        }
      }
    }
  });

  test('pairings (Miller loop + final exponentiation) equal the stock WASM', () => {
    for (let i = 0; i < 4; i++) {
      const k1 = BigInt(1 + byte() * 65537 + i);
      const k2 = BigInt(3 + byte() * 257 + i);
      const e = [stock, fast].map((c) => c.pairing(c.G1.timesScalar(c.G1.g, k1), c.G2.timesScalar(c.G2.g, k2)));
      assert.deepEqual(e[1], e[0], `seed ${SEED}`);
      // bilinearity on the plugin curve: e(k1·g1, k2·g2) = e(g1, g2)^(k1·k2)
      assert.ok(fast.Gt.eq(e[1]!, fast.Gt.exp(fast.pairing(fast.G1.g, fast.G2.g), k1 * k2)));
    }
  });

  test('checkPlugin refuses a curve whose ξ constant was altered', async () => {
    const c = await buildBn128(true, bn128Plugin);
    try {
      const tm = tmOf(c);
      const p = tm.instance.exports.pqzk_xiPtr!();
      tm.u8[p] = tm.u8[p]! ^ 1;
      assert.throws(() => checkPlugin(tm as never), /not ξ/);
    } finally {
      await c.terminate();
    }
  });
});
