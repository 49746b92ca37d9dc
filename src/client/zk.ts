/**
 * SDK for the zero-knowledge login (docs/ZK.md): register a Poseidon commitment, then log in by
 * proving knowledge of the secret with snarkjs (Groth16), bound to a server challenge and to the
 * session public key the access token will be bound to. Imports no `node:` module: runs in Node and
 * in browsers (bundle with esbuild, platform "browser").
 *
 * The user keeps ONE value, `secret` (a canonical decimal field element). The commitment's salt is
 * derived from the username (usernameSalt). Generated secrets have 248 bits. Anything that is not a
 * canonical decimal below the field order (a password, say) is refused; a small number would pass
 * that check but must not be used: the commitment is public, so a low-entropy secret can be
 * brute-forced offline. Let `register` generate the secret.
 *
 * Artifacts (login.wasm, login.zkey) are downloaded once per client and checked against the SHA-256
 * values from getCircuit and, when given, against values pinned in the client (`pins`).
 *
 * @example
 *
 * ```ts
 * const client = createClient(url);
 * const { secret } = await client.zk.register('alice');           // store `secret` safely
 * const session = await client.openSecureSession({ identityKey });
 * const { accessToken } = await client.zk.login('alice', secret, session.clientPublicKey);
 * session.setToken(accessToken);   // the token is accepted only inside this session
 * await session.call('GET', '/v1/keys');
 * ```
 */
import type { Client } from 'openapi-fetch';
import * as snarkjs from 'snarkjs';
import { WitnessCalculatorBuilder, type WitnessCalculator } from 'circom_runtime';
import { buildQueued, withFixedBase, type MsmCurve } from './_msm.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import type { paths, components } from './schema.ts';
import { base64urlEncode, toHex } from '../crypto/bytes.ts';
import { CryptoInputError } from '../errors.ts';
import { commitment, formatFieldElement, loginTag, parseFieldElement, rotationBinding, sessionKeyHash, usernameSalt } from '../zk/poseidon.ts';

type S = components['schemas'];
/** The login circuit as GET /v1/zk/circuit describes it: public-signal order, labels, artifact hashes. */
export type ZkCircuit = S['ZkCircuit'];
/** A Groth16 proof (BN254) as the service takes it. */
export type ZkProof = S['ZkProof'];
type Unwrap = <T>(r: { data?: T; error?: unknown; response: Response }) => T;

/** A login secret: a bigint or canonical decimal string in [0, r). */
export type ZkSecret = bigint | string;

/** Options of proving (`login`, `rotate`, `prove`). */
export interface ZkOptions {
  /** Expected SHA-256 (hex) of login.wasm / login.zkey, e.g. from a release note; checked on download. */
  pins?: Partial<Record<'login.wasm' | 'login.zkey', string>>;
  /**
   * Prove on the calling thread. Default: false where worker threads exist for snarkjs (Node: its
   * threads are unref'd between logins, so they never keep a process alive; if they cannot start,
   * proving falls back to the calling thread), true in browsers (works under a strict CSP that
   * forbids blob: workers). Either way the prover's curve and the circuit's witness calculator
   * are built once and reused by later logins.
   */
  singleThread?: boolean;
  /**
   * Fixed-base MSMs (default true): after the first login, tables of the proving key's points are
   * built in the background and later proofs use them (≈ 1.6× faster MSMs; ≈ 6 MB of memory).
   * false: snarkjs's own MSMs only (for comparison).
   */
  fixedBase?: boolean;
}

/** The result of `register` and `rotate`. */
export interface Registered {
  username: string;
  /** What the user must keep (and keep secret): the only value needed to log in. */
  secret: string;
  /** The Poseidon commitment now registered (canonical decimal). */
  commitment: string;
  /** When that commitment was registered (for `rotate`: when it replaced the old one). */
  createdAt: string;
}
/** The result of `login`. */
export interface LoginResult {
  /** An ML-DSA-65 JWT, sub = username, bound to the session key (cnf.skt). */
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the token expires. */
  expiresIn: number;
  /** Milliseconds spent in witness generation + proving. */
  provingMs: number;
}

/** `client.zk`: zero-knowledge login. */
export interface ZkApi {
  /** The circuit description (public signals, labels, artifact hashes). */
  circuit(): Promise<ZkCircuit>;
  /**
   * Registers `username` with the commitment of `secret` (a fresh 248-bit one if omitted).
   *
   * @example
   *
   * ```ts
   * const { secret } = await client.zk.register('alice');   // keep `secret`: it is the login
   * ```
   */
  register(username: string, secret?: ZkSecret): Promise<Registered>;
  /**
   * Proves knowledge of `secret` for a fresh challenge bound to `sessionPublicKey` and returns the
   * access token. Pass `session.clientPublicKey` of an open secure session: the token carries
   * cnf {skt = SHA-256(sessionPublicKey)} and the server accepts it only inside that session.
   * Rejects with a CryptoInputError when the challenge is not bound to that key or an artifact does
   * not match its hash, and with a ServiceError when the service refuses the proof.
   *
   * @example
   *
   * ```ts
   * const session = await client.openSecureSession({ identityKey });
   * const { accessToken } = await client.zk.login('alice', secret, session.clientPublicKey);
   * session.setToken(accessToken);
   * ```
   */
  login(username: string, secret: ZkSecret, sessionPublicKey: Uint8Array, opts?: ZkOptions): Promise<LoginResult>;
  /** Replaces the commitment by proving the old secret; resolves to the new secret to keep. */
  rotate(username: string, oldSecret: ZkSecret, newSecret?: ZkSecret, opts?: ZkOptions): Promise<Registered>;
  /** Lower level: a proof for given challenge values (what login sends). */
  prove(username: string, secret: ZkSecret, challenge: string, sessionKeyHashValue: string, opts?: ZkOptions): Promise<{ proof: ZkProof; loginTag: string; provingMs: number }>;
}

/** A fresh 248-bit secret from the platform CSPRNG, as a canonical decimal string. */
export function generateSecret(): string {
  const b = new Uint8Array(31);
  globalThis.crypto.getRandomValues(b);
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v.toString(10);
}

/** Node (worker_threads, which snarkjs's multi-threaded prover uses there); detected without importing a `node:` module. */
const NODE_WORKERS = typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
/** Set when the multi-threaded prover failed to start: later default logins prove on the calling thread. */
let multiThreadFailed = false;

interface CachedCurve { tm?: { workers?: unknown[] }; terminate(): Promise<void> }
type CurveSlot = { curve_bn128?: CachedCurve | null };

/**
 * snarkjs proves on the curve in `globalThis.curve_bn128` when it is asked for the multi-threaded
 * prover (ffjavascript caches the multi-threaded curve there); with `singleThread: true` it rebuilds
 * a calling-thread curve (≈ 0.15–0.35 s of WASM set-up) on every proof. So the SDK builds one
 * calling-thread curve once, puts it in that slot for the length of a calling-thread proof and puts
 * the previous occupant (the multi-threaded curve or nothing) back afterwards. Two proofs with
 * different modes at the same moment may swap curves: each still proves correctly, on either curve.
 */
let singleCurve: Promise<CachedCurve> | undefined;
const calling = (): Promise<CachedCurve> => {
  singleCurve ??= (snarkjs.curves.getCurveFromName as (n: string, o: { singleThread: boolean }) => Promise<CachedCurve>)('bn128', { singleThread: true });
  singleCurve.catch(() => { singleCurve = undefined; });
  return singleCurve;
};

/**
 * One witness calculator per circuit (keyed by the downloaded login.wasm bytes, which the SDK
 * caches per SHA-256): snarkjs's fullProve compiles and instantiates the 2.4 MB circuit WASM on
 * every proof. Calls are queued: circom_runtime's calculator keeps one witness in its instance and
 * yields (an await) between filling it and reading it out.
 */
const calculators = new WeakMap<Uint8Array, Promise<(input: Record<string, string>) => Promise<Uint8Array>>>();
function witnessCalculator(wasm: Uint8Array): Promise<(input: Record<string, string>) => Promise<Uint8Array>> {
  let c = calculators.get(wasm);
  if (!c) {
    c = WitnessCalculatorBuilder(wasm).then((wc: WitnessCalculator) => {
      let queue: Promise<unknown> = Promise.resolve();
      return (input: Record<string, string>) => {
        const next = queue.then(() => wc.calculateWTNSBin(input, false));
        queue = next.catch(() => {});
        return next;
      };
    });
    calculators.set(wasm, c);
    c.catch(() => calculators.delete(wasm));
  }
  return c;
}

/** Lets a Node process exit while the multi-threaded prover's threads sit idle between logins. */
function unrefProverThreads(c: CachedCurve | null | undefined): void {
  for (const w of c?.tm?.workers ?? []) (w as Record<symbol, { unref?: () => void } | undefined>)[Symbol.for('worker')]?.unref?.();
}

const toSecret = (s: ZkSecret): bigint => (typeof s === 'bigint' ? parseFieldElement(s.toString(10), 'secret') : parseFieldElement(s, 'secret'));

/** The commitment a username/secret pair registers (canonical decimal), computed locally. */
export const commitmentFor = (username: string, secret: ZkSecret): string => formatFieldElement(commitment(toSecret(secret), usernameSalt(username)));

/** Builds `client.zk` over a generated client; createClient does this for you. */
export function zkApi(api: Client<paths>, unwrap: Unwrap): ZkApi {
  let circuitP: Promise<ZkCircuit> | undefined;
  const files = new Map<string, Promise<Uint8Array>>();

  const circuit = (): Promise<ZkCircuit> => {
    circuitP ??= api.GET('/v1/zk/circuit').then((r) => unwrap(r));
    circuitP.catch(() => { circuitP = undefined; });
    return circuitP;
  };

  async function download(name: 'login.wasm' | 'login.zkey', pins: ZkOptions['pins']): Promise<Uint8Array> {
    const info = await circuit();
    const expected = info.artifacts.find((a) => a.name === name)?.sha256;
    if (!expected) throw new CryptoInputError(`the service lists no ${name}`);
    const pin = pins?.[name]?.toLowerCase();
    if (pin !== undefined && pin !== expected) throw new CryptoInputError(`${name}: the service publishes a different SHA-256 than the pinned one`);
    let p = files.get(expected);
    if (!p) {
      p = (async () => {
        const r = await api.GET('/v1/zk/circuit/{artifact}', { params: { path: { artifact: name } }, parseAs: 'arrayBuffer' });
        const bytes = new Uint8Array(unwrap(r) as unknown as ArrayBuffer);
        if (toHex(sha256(bytes)) !== expected) throw new CryptoInputError(`${name}: downloaded bytes do not match their SHA-256`);
        return bytes;
      })();
      files.set(expected, p);
      p.catch(() => files.delete(expected));
    }
    return p;
  }

  async function prove(username: string, secret: ZkSecret, challenge: string, skhText: string, opts: ZkOptions = {}) {
    const s = toSecret(secret);
    const salt = usernameSalt(username);
    const ch = parseFieldElement(challenge, 'challenge');
    const skh = parseFieldElement(skhText, 'sessionKeyHash');
    const [wasm, zkey] = await Promise.all([download('login.wasm', opts.pins), download('login.zkey', opts.pins)]);
    const t0 = performance.now();
    const input = { secret: s.toString(), salt: salt.toString(), challenge: ch.toString(), sessionKeyHash: skh.toString() };
    const slot = globalThis as CurveSlot;
    const run = async (singleThread: boolean) => {
      const single = singleThread ? await calling() : undefined;
      const previous = slot.curve_bn128;
      if (single) slot.curve_bn128 = single;
      else if (previous && previous === await singleCurve?.catch(() => undefined)) slot.curve_bn128 = null;
      // Unref'd prover threads do not hold the event loop: this timer does, while a proof is under way.
      const keepAlive = setInterval(() => {}, 60_000);
      let curve: MsmCurve | undefined;
      try {
        const wtns = await (await witnessCalculator(wasm))(input);
        const proveNow = () => snarkjs.groth16.prove({ type: 'mem', data: zkey }, { type: 'mem', data: wtns }, undefined, { singleThread: false });
        if (opts.fixedBase === false) return await proveNow();
        // The curve snarkjs is about to take from the slot (for the multi-threaded one, built and cached there now).
        curve = (single ?? (await (snarkjs.curves.getCurveFromName as (n: string, o: { singleThread: boolean }) => Promise<CachedCurve>)('bn128', { singleThread: false }))) as unknown as MsmCurve;
        return await withFixedBase(curve, proveNow);
      } finally {
        clearInterval(keepAlive);
        if (curve) void buildQueued(curve).catch(() => {}); // tables for the next logins, in the background
        if (single) { if (slot.curve_bn128 === single) slot.curve_bn128 = previous ?? null; } else unrefProverThreads(slot.curve_bn128);
      }
    };
    const multi = opts.singleThread === undefined ? NODE_WORKERS && !multiThreadFailed : !opts.singleThread;
    let result: Awaited<ReturnType<typeof run>>;
    try {
      result = await run(!multi);
    } catch (err) {
      if (!multi || opts.singleThread !== undefined) throw err;
      multiThreadFailed = true; // no usable worker threads here: the calling thread from now on
      if (slot.curve_bn128 && slot.curve_bn128 !== await singleCurve?.catch(() => undefined)) await slot.curve_bn128.terminate().catch(() => {});
      result = await run(true);
    }
    const { proof, publicSignals } = result;
    const provingMs = performance.now() - t0;
    // The proof's public signals must be exactly what the server will rebuild.
    const expected = [commitment(s, salt), loginTag(s, ch, skh), ch, skh].map(String);
    if (publicSignals.length !== 4 || publicSignals.some((v, i) => v !== expected[i])) throw new CryptoInputError('prover output does not match the expected public signals');
    const { pi_a, pi_b, pi_c, protocol, curve } = proof;
    return { proof: { pi_a, pi_b, pi_c, protocol, curve } as ZkProof, loginTag: expected[1]!, provingMs };
  }

  async function register(username: string, secret?: ZkSecret): Promise<Registered> {
    const sec = secret === undefined ? generateSecret() : formatFieldElement(toSecret(secret));
    const c = commitmentFor(username, sec);
    const r = unwrap(await api.POST('/v1/zk/users', { body: { username, commitment: c } }));
    return { username: r.username, secret: sec, commitment: r.commitment, createdAt: r.createdAt };
  }

  return {
    circuit,
    register,
    prove,
    async login(username, secret, sessionPublicKey, opts) {
      if (!(sessionPublicKey instanceof Uint8Array)) throw new CryptoInputError('sessionPublicKey must be bytes');
      const ch = unwrap(await api.POST('/v1/zk/challenges', { body: { username, sessionPublicKey: base64urlEncode(sessionPublicKey) } }));
      // The server must bind the challenge to OUR key; otherwise the token would be bound to another one.
      if (ch.sessionKeyHash !== sessionKeyHash(sessionPublicKey).toString()) throw new CryptoInputError('the challenge is not bound to this session key');
      const { proof, loginTag: tag, provingMs } = await prove(username, secret, ch.challenge, ch.sessionKeyHash, opts);
      const t = unwrap(await api.POST('/v1/zk/login', { body: { challengeId: ch.challengeId, proof, loginTag: tag } }));
      return { accessToken: t.accessToken, tokenType: t.tokenType, expiresIn: t.expiresIn, provingMs };
    },
    async rotate(username, oldSecret, newSecret, opts) {
      const sec = newSecret === undefined ? generateSecret() : formatFieldElement(toSecret(newSecret));
      const nc = commitmentFor(username, sec);
      const ch = unwrap(await api.POST('/v1/zk/challenges', { body: { username, newCommitment: nc } }));
      if (ch.sessionKeyHash !== rotationBinding(BigInt(nc)).toString()) throw new CryptoInputError('the challenge is not bound to the new commitment');
      const { proof, loginTag: tag } = await prove(username, oldSecret, ch.challenge, ch.sessionKeyHash, opts);
      const r = unwrap(await api.POST('/v1/zk/users/{username}/commitment', { params: { path: { username } }, body: { challengeId: ch.challengeId, proof, loginTag: tag } }));
      return { username: r.username, secret: sec, commitment: r.commitment, createdAt: r.updatedAt };
    },
  };
}
