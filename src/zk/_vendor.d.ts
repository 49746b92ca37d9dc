/**
 * Minimal type declarations for the parts of snarkjs 0.7, circom_runtime 0.1 and ffjavascript 0.3 used by src/zk,
 * circuits/build.ts, test/zk and bench/zk.ts (neither package ships types). Internal.
 */
declare module 'snarkjs' {
  export interface Logger {
    debug(msg: string): void;
    info(msg: string): void;
    warn(msg: string): void;
    error(msg: string): void;
  }
  export interface Groth16Proof {
    pi_a: string[];
    pi_b: string[][];
    pi_c: string[];
    protocol: string;
    curve: string;
  }
  export type FileOrMem = string | { type: 'mem'; data?: Uint8Array };
  export const groth16: {
    fullProve(
      input: Record<string, unknown>,
      wasm: FileOrMem | Uint8Array,
      zkey: FileOrMem | Uint8Array,
      logger?: Logger,
      wtnsCalcOptions?: Record<string, unknown>,
      proverOptions?: { singleThread?: boolean },
    ): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    prove(zkey: FileOrMem | Uint8Array, witness: FileOrMem | Uint8Array, logger?: Logger, options?: { singleThread?: boolean }): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(vk: unknown, publicSignals: unknown[], proof: unknown, logger?: Logger): Promise<boolean>;
  };
  export const powersOfTau: {
    newAccumulator(curve: unknown, power: number, fileName: string, logger?: Logger): Promise<unknown>;
    contribute(oldPtau: string, newPtau: string, name: string, entropy: string, logger?: Logger): Promise<Uint8Array>;
    beacon(oldPtau: string, newPtau: string, name: string, beaconHashHex: string, numIterationsExp: number, logger?: Logger): Promise<Uint8Array | false>;
    preparePhase2(oldPtau: string, newPtau: string, logger?: Logger): Promise<void>;
    verify(ptau: string, logger?: Logger): Promise<boolean>;
  };
  export const zKey: {
    newZKey(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<unknown>;
    contribute(oldZkey: string, newZkey: string, name: string, entropy: string, logger?: Logger): Promise<Uint8Array>;
    beacon(oldZkey: string, newZkey: string, name: string, beaconHashHex: string, numIterationsExp: number, logger?: Logger): Promise<Uint8Array | false>;
    verifyFromR1cs(r1cs: string, ptau: string, zkey: string, logger?: Logger): Promise<boolean>;
    exportVerificationKey(zkey: string | Uint8Array, logger?: Logger): Promise<Record<string, unknown>>;
  };
  export const r1cs: {
    info(r1cs: string, logger?: Logger): Promise<{ nConstraints: number; nPubInputs: number; nOutputs: number; nPrvInputs: number; nVars: number }>;
    /** constraints[i] = [A, B, C], each a map wire index → coefficient (decimal). */
    exportJson(r1cs: string, logger?: Logger): Promise<{ constraints: Array<[Record<string, string>, Record<string, string>, Record<string, string>]> }>;
  };
  export const wtns: {
    calculate(input: Record<string, unknown>, wasm: FileOrMem | Uint8Array, wtns: FileOrMem): Promise<void>;
    exportJson(wtns: FileOrMem): Promise<bigint[]>;
  };
  export const curves: {
    getCurveFromName(name: string): Promise<{ terminate(): Promise<void> }>;
  };
}

declare module 'circom_runtime' {
  /** A circom 2 witness calculator over one instantiated circuit WASM. */
  export interface WitnessCalculator {
    /** The witness of `input` in snarkjs's .wtns format. */
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array>;
  }
  /** Compiles and instantiates a circuit's WASM. */
  export function WitnessCalculatorBuilder(code: Uint8Array, options?: Record<string, unknown>): Promise<WitnessCalculator>;
}

declare module 'ffjavascript' {
  export interface WasmField {
    n8: number;
    e(a: bigint | string | number): Uint8Array;
    toObject(a: Uint8Array): bigint;
    fromObject(a: bigint): Uint8Array;
  }
  export interface WasmCurveGroup {
    F: WasmField;
    g: Uint8Array;
    zero: Uint8Array;
    zeroAffine: Uint8Array;
    add(a: Uint8Array, b: Uint8Array): Uint8Array;
    neg(a: Uint8Array): Uint8Array;
    isZero(a: Uint8Array): boolean;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    timesScalar(a: Uint8Array, s: Uint8Array | bigint): Uint8Array;
    toAffine(a: Uint8Array): Uint8Array;
    toJacobian(a: Uint8Array): Uint8Array;
    fromObject(a: unknown[]): Uint8Array;
    toObject(a: Uint8Array): unknown[];
    isValid(a: Uint8Array): boolean;
    multiExpAffine(bases: Uint8Array, scalars: Uint8Array, logger?: unknown, name?: string): Promise<Uint8Array>;
  }
  export interface WasmGt {
    n8: number;
    one: Uint8Array;
    mul(a: Uint8Array, b: Uint8Array): Uint8Array;
    eq(a: Uint8Array, b: Uint8Array): boolean;
    exp(a: Uint8Array, e: Uint8Array | bigint): Uint8Array;
  }
  export interface Bn128 {
    name: string;
    q: bigint;
    r: bigint;
    G1: WasmCurveGroup;
    G2: WasmCurveGroup;
    Gt: WasmGt;
    Fr: WasmField;
    prePSize: number;
    preQSize: number;
    tm: unknown;
    prepareG1(p: Uint8Array): Uint8Array;
    prepareG2(q: Uint8Array): Uint8Array;
    millerLoop(preP: Uint8Array, preQ: Uint8Array): Uint8Array;
    finalExponentiation(a: Uint8Array): Uint8Array;
    pairing(a: Uint8Array, b: Uint8Array): Uint8Array;
    pairingEq(...args: Uint8Array[]): Promise<boolean>;
    terminate(): Promise<void>;
  }
  /** `plugins` receives wasmbuilder's ModuleBuilder after the curve's functions are added. */
  export function buildBn128(singleThread?: boolean, plugins?: (moduleBuilder: never) => void): Promise<Bn128>;
}
