/**
 * `npm run bench -- primitives [--seconds S] [--all] [--only SUBSTR]`
 *
 * ops/s of keygen / sign / verify / encaps / decaps for every algorithm in one run, side by side:
 *  - native, noble: the byte-string interface (native sign/decaps import the secret key on every
 *    call: what a call without a prepared key pays);
 *  - prepared: the backend's prepare* handles (prepareSigningKey / prepareVerifyingKey /
 *    prepareDecapsulationKey / prepareEncapsulationKey), imported once, native and noble; for
 *    keygen, the ephemeral handle `generateDecapsulationKey` (what the kex client uses);
 *  - node:crypto raw: node:crypto itself on KeyObjects imported once (the anchor of issue 13's
 *    "prepared keys ≥ 0.8 × raw" goal). X-Wing raw is the minimal composition on pre-imported
 *    KeyObjects: ML-KEM-768 decapsulate + X25519 diffieHellman + SHA3-256 combiner (encaps: ML-KEM
 *    encapsulate on a public KeyObject + one X25519 key generation and derivation + combiner; keygen:
 *    generateKeyPairSync of ML-KEM-768 and X25519 with the raw public keys exported).
 * Each cell runs for about S seconds (default 0.3), and at least once. noble's SLH-DSA "s" signing
 * takes 3–70 s per signature, so those cells need --all. Prints the load average.
 */
import {
  createHash, createPrivateKey, createPublicKey, decapsulate as nodeDecapsulate, diffieHellman, encapsulate as nodeEncapsulate,
  generateKeyPairSync, sign as nodeSign, verify as nodeVerify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { loadavg } from 'node:os';
import { getBackend, KEM_ALGORITHMS, SIGNATURE_ALGORITHMS, SIZES, isMlDsa } from '../src/crypto/index.ts';
import { isComposite } from '../src/crypto/algorithms.ts';
import type { CryptoBackend } from '../src/crypto/index.ts';

const args = process.argv.slice(2);
const opt = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const seconds = Number(opt('--seconds') ?? 0.3);
const all = args.includes('--all');
const only = opt('--only');
if (!(seconds > 0)) { console.error('--seconds must be > 0'); process.exit(2); }

function rate(f: () => unknown): number {
  const budget = seconds * 1000;
  let ops = 0;
  const t0 = performance.now();
  let el = 0;
  do { f(); ops++; el = performance.now() - t0; } while (el < budget);
  return (ops * 1000) / el;
}

const load0 = loadavg();
const backends: CryptoBackend[] = [getBackend('native'), getBackend('noble')];
const native = backends[0]!;
const msg = new TextEncoder().encode('benchmark message: 32 bytes long');
type Col = 'native' | 'noble' | 'nativePrepared' | 'noblePrepared' | 'raw';
type Row = { alg: string; op: string } & Partial<Record<Col, number>>;
const rows: Row[] = [];
const put = (alg: string, op: string, col: Col, v: number | undefined) => {
  let r = rows.find((x) => x.alg === alg && x.op === op);
  if (!r) { r = { alg, op }; rows.push(r); }
  if (v !== undefined) r[col] = v;
};
const buf = (u: Uint8Array) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
const nodeType = (alg: string) => alg.toLowerCase() as 'ml-kem-768';
const rawSeedKey = (alg: string, seed: Uint8Array): KeyObject => createPrivateKey({ key: buf(seed), format: 'raw-seed', asymmetricKeyType: nodeType(alg) } as never);
const rawPublic = (type: string, pk: Uint8Array): KeyObject => createPublicKey({ key: buf(pk), format: 'raw-public', asymmetricKeyType: type } as never);
const X_LABEL = Buffer.from([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);

/** node:crypto on pre-imported KeyObjects for one KEM: encaps and decaps closures. */
function rawKem(alg: string, seed: Uint8Array, publicKey: Uint8Array, cipherText: Uint8Array): { keygen: () => unknown; encaps: () => unknown; decaps: () => unknown } {
  const gen = (type: string) => generateKeyPairSync(type as 'x25519').publicKey.export({ format: 'raw-public' } as never);
  if (alg !== 'X-Wing') {
    const sk = rawSeedKey(alg, seed);
    const pk = rawPublic(nodeType(alg), publicKey);
    const ct = buf(cipherText);
    return { keygen: () => gen(nodeType(alg)), encaps: () => nodeEncapsulate(pk), decaps: () => nodeDecapsulate(sk, ct) };
  }
  // X-Wing from its parts, expanded once (the same expansion as src/crypto/xwing.ts).
  const e = createHash('shake256', { outputLength: 96 }).update(seed).digest();
  const skM = rawSeedKey('ML-KEM-768', e.subarray(0, 64));
  const skX = createPrivateKey({ key: e.subarray(64, 96), format: 'raw-private', asymmetricKeyType: 'x25519' } as never);
  const pkX = createPublicKey(skX).export({ format: 'raw-public' } as never) as Buffer;
  const pkM = rawPublic('ml-kem-768', publicKey.subarray(0, 1184));
  const pkXObj = rawPublic('x25519', publicKey.subarray(1184));
  const ctM = buf(cipherText.subarray(0, 1088));
  const ctX = buf(cipherText.subarray(1088));
  return {
    keygen: () => [gen('ml-kem-768'), gen('x25519')],
    decaps: () => {
      const ssM = nodeDecapsulate(skM, ctM);
      const ssX = diffieHellman({ privateKey: skX, publicKey: rawPublic('x25519', ctX) });
      return createHash('sha3-256').update(ssM).update(ssX).update(ctX).update(pkX).update(X_LABEL).digest();
    },
    encaps: () => {
      const m = nodeEncapsulate(pkM);
      const ek = generateKeyPairSync('x25519');
      const ctx = ek.publicKey.export({ format: 'raw-public' } as never) as Buffer;
      const ssX = diffieHellman({ privateKey: ek.privateKey, publicKey: pkXObj });
      return [m.ciphertext, createHash('sha3-256').update(m.sharedKey).update(ssX).update(ctx).update(buf(publicKey.subarray(1184))).update(X_LABEL).digest()];
    },
  };
}

for (const alg of KEM_ALGORITHMS) {
  if (only && !alg.includes(only)) continue;
  const seed = native.randomBytes(SIZES[alg].seed);
  for (const b of backends) {
    const kp = b.keygen(alg, seed);
    const e = b.encapsulate(alg, kp.publicKey);
    put(alg, 'keygen', b.name, rate(() => b.keygen(alg)));
    put(alg, 'encaps', b.name, rate(() => b.encapsulate(alg, kp.publicKey)));
    put(alg, 'decaps', b.name, rate(() => b.decapsulate(alg, e.cipherText, kp.secretKey)));
    const prepared = b.prepareDecapsulationKey(alg, seed);
    if (!Buffer.from(prepared.decapsulate(e.cipherText)).equals(Buffer.from(e.sharedSecret))) throw new Error(`${b.name} prepared ${alg} decaps mismatch`);
    put(alg, 'decaps', `${b.name}Prepared` as Col, rate(() => prepared.decapsulate(e.cipherText)));
    prepared.destroy();
    const pe = b.prepareEncapsulationKey(alg, kp.publicKey);
    put(alg, 'encaps', `${b.name}Prepared` as Col, rate(() => pe.encapsulate()));
    put(alg, 'keygen', `${b.name}Prepared` as Col, rate(() => b.generateDecapsulationKey(alg).destroy()));
    if (b === native) {
      const raw = rawKem(alg, seed, kp.publicKey, e.cipherText);
      put(alg, 'keygen', 'raw', rate(raw.keygen));
      put(alg, 'encaps', 'raw', rate(raw.encaps));
      put(alg, 'decaps', 'raw', rate(raw.decaps));
    }
  }
}
for (const alg of SIGNATURE_ALGORITHMS) {
  if (only && !alg.includes(only)) continue;
  const ml = isMlDsa(alg);
  for (const b of backends) {
    const slowNoble = b.name === 'noble' && alg.startsWith('SLH') && alg.endsWith('s') && !all;
    const seed = ml ? b.randomBytes(32) : undefined;
    const kp = ml ? b.signatureKeygen(alg, seed) : (b === native ? native.signatureKeygen(alg) : native.signatureKeygen(alg));
    const material = ml ? seed! : kp.secretKey;
    put(alg, 'keygen', b.name, rate(() => b.signatureKeygen(alg)));
    // For noble's slow "s" sets the signature to verify comes from native (same key bytes).
    const sig = (slowNoble ? native : b).sign(alg, kp.secretKey, msg);
    put(alg, 'sign', b.name, slowNoble ? undefined : rate(() => b.sign(alg, kp.secretKey, msg)));
    put(alg, 'verify', b.name, rate(() => b.verify(alg, kp.publicKey, msg, sig)));
    const ps = b.prepareSigningKey(alg, material);
    const pv = b.prepareVerifyingKey(alg, kp.publicKey);
    put(alg, 'sign', `${b.name}Prepared` as Col, slowNoble ? undefined : rate(() => ps.sign(msg)));
    put(alg, 'verify', `${b.name}Prepared` as Col, rate(() => pv.verify(msg, sig)));
    ps.destroy();
    // A composite key is two keys (ML-DSA + Ed25519/ECDSA): there is no single node:crypto key to compare with.
    if (b === native && !isComposite(alg)) {
      const sk = ml ? rawSeedKey(alg, material) : createPrivateKey({ key: buf(material), format: 'raw-private', asymmetricKeyType: nodeType(alg) } as never);
      const pk = rawPublic(nodeType(alg), kp.publicKey);
      const m = buf(msg);
      const s = buf(sig);
      put(alg, 'sign', 'raw', rate(() => nodeSign(null, m, sk)));
      put(alg, 'verify', 'raw', rate(() => nodeVerify(null, m, pk, s)));
    }
  }
  process.stderr.write(`${alg} done\n`);
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : 2));
const ratio = (a: number | undefined, b: number | undefined, digits = 1) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(digits)}x` : '-');
console.log(`primitives: ops/s, ~${seconds}s per cell, Node ${process.version}, OpenSSL ${process.versions.openssl}`);
console.log(`load average before / after: ${load0.map((l) => l.toFixed(2)).join(' ')} / ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores)`);
const cols: Array<[string, (r: Row) => string, number]> = [
  ['algorithm', (r) => r.alg, -20], ['op', (r) => r.op, -7],
  ['native', (r) => fmt(r.native), 9], ['prepared', (r) => fmt(r.nativePrepared), 9], ['node raw', (r) => fmt(r.raw), 9],
  ['prep/raw', (r) => ratio(r.nativePrepared, r.raw, 2), 9],
  ['noble', (r) => fmt(r.noble), 9], ['noble prep', (r) => fmt(r.noblePrepared), 10], ['native/noble', (r) => ratio(r.native, r.noble), 12],
];
const cell = (s: string, w: number) => (w < 0 ? s.padEnd(-w) : s.padStart(w));
console.log(cols.map(([h, , w]) => cell(h, w)).join(' '));
for (const r of rows) console.log(cols.map(([, f, w]) => cell(f(r), w)).join(' '));
console.log('prepared = the backend\'s prepare* handle (imported once; KEM keygen: the ephemeral generateDecapsulationKey); node raw = node:crypto on KeyObjects imported once (X-Wing: its parts composed by hand).');
if (!all) console.log('noble SLH-DSA "s" sign skipped (3-70 s per signature in pure JS); pass --all to include them.');
