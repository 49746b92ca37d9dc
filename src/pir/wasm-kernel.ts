/**
 * Loader for the WebAssembly SIMD kernel (src/pir/kernel.wat, embedded as
 * src/pir/kernel-wasm.ts). No `node:` imports: it runs wherever WebAssembly SIMD, multi-memory
 * and shared memory do (Node 24; browsers only when cross-origin isolated). The server is
 * its only user.
 *
 * The database lives in a shared WebAssembly.Memory (see `allocateMatrix` in server.ts), so
 * the kernel scans it in place, and worker threads that receive the Memory scan the same
 * bytes with no copy. Each kernel object owns a private scratch memory for the split vector
 * and the output, so it must not be used from two threads at once (it is not shared).
 */
import { KERNEL_WASM_BASE64 } from './kernel-wasm.ts';
import { checkMatVecArgs, checkMatVecManyArgs, type PirKernel, type PirMatrix } from './reference-kernel.ts';
import { COL_ALIGN } from './params.ts';
import { CryptoInputError } from '../errors.ts';

const PAGE = 65536;

type ScanFn = (db: number, cols: number, rowStart: number, rowEnd: number, vecPtr: number, nvec: number, outPtr: number) => void;

let modulePromise: Promise<WebAssembly.Module> | undefined;

/** The kernel binary. */
export function kernelWasmBytes(): Uint8Array {
  const bin = atob(KERNEL_WASM_BASE64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Compiles the kernel once per thread. */
export function compileKernelModule(): Promise<WebAssembly.Module> {
  modulePromise ??= WebAssembly.compile(kernelWasmBytes() as Uint8Array<ArrayBuffer>);
  return modulePromise;
}

/**
 * Writes v split for i32x4.dot_i16x8_s: v[c] = lo + 2^16·hi (mod 2^32) with lo the signed low
 * half. Per 16 columns: lo[0..16] then hi[0..16] as i16. `dst` has room for 2·cols i16.
 */
export function writeSplitVector(dst: Int16Array, vec: Uint32Array): void {
  const cols = vec.length;
  for (let c0 = 0; c0 < cols; c0 += COL_ALIGN) {
    const base = c0 * 2;
    for (let j = 0; j < COL_ALIGN; j++) {
      const v = vec[c0 + j]!;
      const lo = (v << 16) >> 16;
      dst[base + j] = lo;
      dst[base + COL_ALIGN + j] = (v - lo) >>> 16; // Int16Array store wraps to the signed lane value
    }
  }
}

/** A kernel bound to a private scratch memory; instances are cached per database memory. */
export class WasmKernel implements PirKernel {
  readonly name = 'wasm-simd';
  readonly #module: WebAssembly.Module;
  readonly #scratch = new WebAssembly.Memory({ initial: 1 });
  readonly #instances = new WeakMap<WebAssembly.Memory, ScanFn>();

  constructor(module: WebAssembly.Module) {
    this.#module = module;
  }

  #scanFor(memory: WebAssembly.Memory): ScanFn {
    let scan = this.#instances.get(memory);
    if (!scan) {
      const instance = new WebAssembly.Instance(this.#module, { env: { db: memory, scratch: this.#scratch } });
      scan = instance.exports['scan'] as ScanFn;
      this.#instances.set(memory, scan);
    }
    return scan;
  }

  #ensureScratch(bytes: number): void {
    const have = this.#scratch.buffer.byteLength;
    if (bytes > have) this.#scratch.grow(Math.ceil((bytes - have) / PAGE));
  }

  matVec(db: PirMatrix, vec: Uint32Array, out: Uint32Array, rowStart?: number, rowEnd?: number): void {
    const [r0, r1] = checkMatVecArgs(db, vec, out, rowStart, rowEnd);
    this.#run(db, vec, 1, out, r0, r1);
  }

  matVecMany(db: PirMatrix, vecs: Uint32Array, nvec: number, out: Uint32Array, rowStart?: number, rowEnd?: number): void {
    const [r0, r1] = checkMatVecManyArgs(db, vecs, nvec, out, rowStart, rowEnd);
    this.#run(db, vecs, nvec, out, r0, r1);
  }

  #run(db: PirMatrix, vecs: Uint32Array, nvec: number, out: Uint32Array, r0: number, r1: number): void {
    if (!db.memory || db.data.byteOffset !== 0) throw new CryptoInputError('matrix is not in a WebAssembly memory');
    if (db.cols % COL_ALIGN !== 0) throw new CryptoInputError(`cols must be a multiple of ${COL_ALIGN}`);
    if (r1 === r0) return;
    const scan = this.#scanFor(db.memory);
    const outPtr = nvec * db.cols * 4;
    const outLen = nvec * (r1 - r0);
    this.#ensureScratch(outPtr + outLen * 4);
    const buf = this.#scratch.buffer;
    for (let k = 0; k < nvec; k++) {
      writeSplitVector(new Int16Array(buf, k * db.cols * 4, db.cols * 2), vecs.subarray(k * db.cols, (k + 1) * db.cols));
    }
    scan(0, db.cols, r0, r1, 0, nvec, outPtr);
    out.set(new Uint32Array(buf, outPtr, outLen));
  }
}

/**
 * Compiles (once) and returns a new kernel.
 *
 * @example const kernel = await loadWasmKernel(); kernel.matVec(db.matrix, query, answer)
 */
export async function loadWasmKernel(): Promise<WasmKernel> {
  return new WasmKernel(await compileKernelModule());
}
