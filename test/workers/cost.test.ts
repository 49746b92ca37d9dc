/** The cost model: a complete table, sane magnitudes, the task and budget seams, calibration (fake clock). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COSTS, UNKNOWN_TASK_SECONDS, calibrate, createCostModel, type CalibrateOptions } from '../../src/workers/cost.ts';
import { KEM_ALGORITHMS, SIGNATURE_ALGORITHMS } from '../../src/crypto/algorithms.ts';
import { getBackend } from '../../src/crypto/index.ts';

test('every algorithm and operation has a positive cost on both backends', () => {
  for (const b of ['native', 'noble'] as const) {
    for (const a of SIGNATURE_ALGORITHMS) for (const op of ['keygen', 'sign', 'verify'] as const) {
      const v = DEFAULT_COSTS[b].signature[a][op];
      assert.ok(Number.isFinite(v) && v > 0, `${b} ${a} ${op}`);
    }
    for (const a of KEM_ALGORITHMS) for (const op of ['keygen', 'encaps', 'decaps'] as const) {
      const v = DEFAULT_COSTS[b].kem[a][op];
      assert.ok(Number.isFinite(v) && v > 0, `${b} ${a} ${op}`);
    }
    assert.ok(DEFAULT_COSTS[b]['kex.respond'] > 0);
  }
  for (const [k, v] of Object.entries(DEFAULT_COSTS.operations)) assert.ok(Number.isFinite(v) && v > 0, k);
  assert.ok(Object.isFrozen(DEFAULT_COSTS.native.signature['ML-DSA-44']));
});

test('magnitudes: SLH-DSA-SHAKE-256s sign is about a second, ML-DSA-44 verify about 0.2 ms; "s" sets sign slower than "f"; noble slower than native', () => {
  const m = createCostModel();
  assert.ok(m.signature('SLH-DSA-SHAKE-256s', 'sign') > 0.5 && m.signature('SLH-DSA-SHAKE-256s', 'sign') < 5);
  assert.ok(m.signature('ML-DSA-44', 'verify') > 0.00005 && m.signature('ML-DSA-44', 'verify') < 0.001);
  for (const a of SIGNATURE_ALGORITHMS) {
    if (a.startsWith('SLH') && a.endsWith('s')) assert.ok(m.signature(a, 'sign') > m.signature(`${a.slice(0, -1)}f` as typeof a, 'sign'), a);
    assert.ok(m.signature(a, 'sign', 'noble') > m.signature(a, 'sign', 'native'), a);
    assert.ok(m.signature(a, 'sign') > m.signature(a, 'verify'), a);
  }
  assert.ok(m.kexRespond() > m.kem('X-Wing', 'decaps'));
  assert.ok(m.zkVerify(64) / 64 < m.zkVerify(1), 'batching is cheaper per proof');
  assert.ok(m.pirScan(64 * 2 ** 20) > 0.001 && m.pirScan(64 * 2 ** 20) < 0.05, '64 MiB scan: a few ms');
});

test('factor scales every figure', () => {
  const one = createCostModel();
  const two = createCostModel({ factor: 2 });
  assert.equal(two.factor, 2);
  assert.equal(two.signature('ML-DSA-65', 'sign'), 2 * one.signature('ML-DSA-65', 'sign'));
  assert.equal(two.pirHint(1000, 10), 2 * one.pirHint(1000, 10));
  assert.equal(two.request({ op: 'openSession' }), 2 * one.request({ op: 'openSession' }));
  assert.equal(createCostModel({ factor: Number.NaN }).factor, 1);
  assert.equal(createCostModel({ calibration: { factor: 1.5, samples: [], elapsedMs: 1, source: 'startup' } }).factor, 1.5);
});

test('task seam: worker task names and inputs map to costs', () => {
  const m = createCostModel();
  const oh = DEFAULT_COSTS.operations['task.overhead'];
  const msg = new Uint8Array(1000);
  assert.equal(m.task('keys.sign', { algorithm: 'ML-DSA-65', message: msg }), oh + m.signature('ML-DSA-65', 'sign') + m.hash(1000));
  assert.equal(m.task('keys.sign', { algorithm: 'ML-DSA-65', message: msg, prehash: 'SHA2-512' }), oh + m.signature('ML-DSA-65', 'sign', 'noble') + m.hash(1000), 'prehash on native is served by noble');
  assert.equal(m.task('keys.verify', { algorithm: 'ML-DSA-44', mu: new Uint8Array(64) }), oh + m.signature('ML-DSA-44', 'verify', 'noble'));
  assert.equal(createCostModel({ backend: 'noble' }).task('keys.verify', { algorithm: 'ML-DSA-44' }), oh + createCostModel().signature('ML-DSA-44', 'verify', 'noble'));
  assert.equal(m.task('keys.generate', { algorithm: 'SLH-DSA-SHAKE-256s' }), oh + m.signature('SLH-DSA-SHAKE-256s', 'keygen'));
  assert.equal(m.task('keys.generate', { algorithm: 'X-Wing' }), oh + m.kem('X-Wing', 'keygen'));
  assert.equal(m.task('kex.respond', {}), oh + m.kexRespond());
  assert.equal(m.task('zk.verifyBatch', { items: [{}, {}, {}] }), oh + m.zkVerify(3));
  assert.equal(m.task('pir.scan', { rows: 1000, cols: 2048, rowStart: 0, rowEnd: 500 }), oh + m.pirScan(500 * 2048));
  assert.equal(m.task('pir.hint', { rows: 1000, cols: 2048, kStart: 0, kEnd: 64 }), oh + m.pirHint(1000 * 2048, 64));
  assert.equal(m.task('pir.layout', { records: new Uint8Array(4096) }), oh + m.pirLayout(4096));
  assert.equal(m.task('pool.spin', { ms: 150 }), oh + 0.15);
  assert.equal(m.task('pool.echo', { value: 'x' }), oh);
  assert.equal(m.task('no.such', {}), UNKNOWN_TASK_SECONDS);
  assert.equal(m.task('keys.sign', { algorithm: 'RSA-2048' }), UNKNOWN_TASK_SECONDS, 'an unknown algorithm is never free');
  assert.equal(m.task('keys.sign', null), UNKNOWN_TASK_SECONDS);
});

test('budget seam: anonymous operations cost their primitive plus main-thread work', () => {
  const m = createCostModel();
  const slh = m.request({ op: 'verifyWithPublicKey', algorithm: 'SLH-DSA-SHAKE-256f' });
  assert.ok(slh > m.signature('SLH-DSA-SHAKE-256f', 'verify') && slh < 0.01);
  assert.ok(m.request({ op: 'verifyWithPublicKey', algorithm: 'ML-DSA-44', prehash: true }) > m.request({ op: 'verifyWithPublicKey', algorithm: 'ML-DSA-44' }));
  assert.ok(m.request({ op: 'openSession' }) > m.kexRespond());
  assert.ok(m.request({ op: 'login' }) >= m.zkVerify(1), 'a login is charged a whole verification (junk proofs defeat batching)');
  assert.ok(m.request({ op: 'createChallenge' }) > 0);
  assert.ok(m.request({ op: 'pirQuery', matrixBytes: 2 ** 26 }) > m.request({ op: 'pirQuery', matrixBytes: 2 ** 20 }));
});

test('table(): publishable plain data', () => {
  const t = createCostModel({ factor: 1.25 }).table();
  assert.deepEqual(JSON.parse(JSON.stringify(t)), t);
  assert.equal(t.unit, 'cpu-seconds');
  assert.equal(t.backend, 'native');
  assert.equal(t.factor, 1.25);
  assert.deepEqual(Object.keys(t.algorithms).sort(), [...SIGNATURE_ALGORITHMS, ...KEM_ALGORITHMS].sort());
  assert.equal(t.algorithms['ML-DSA-44']!.verify, 1.25 * DEFAULT_COSTS.native.signature['ML-DSA-44'].verify);
  assert.deepEqual(Object.keys(t.algorithms['X-Wing']!), ['keygen', 'encaps', 'decaps']);
  assert.deepEqual(Object.keys(t.nobleServed).sort(), [...SIGNATURE_ALGORITHMS].sort());
  assert.equal(t.operations['kex.respond'], 1.25 * DEFAULT_COSTS.native['kex.respond']);
  assert.equal(t.calibration.source, 'default');
  assert.deepEqual(createCostModel({ backend: 'noble' }).table().nobleServed, {});
});

/** A backend whose every operation takes `ratio` × its default cost on a fake clock. */
function fakeBackend(ratio: number, clock: { t: number }, failOn?: string): CalibrateOptions['backend'] {
  const n = DEFAULT_COSTS.native;
  const spend = (seconds: number) => { clock.t += seconds * 1000 * ratio; };
  const bytes = new Uint8Array(32);
  return {
    name: 'native',
    signatureKeygen: () => ({ publicKey: bytes, secretKey: bytes }),
    keygen: () => ({ publicKey: bytes, secretKey: bytes }),
    sign: (alg) => { if (alg === failOn) throw new Error('unsupported'); spend(n.signature[alg].sign); return bytes; },
    verify: (alg) => { spend(n.signature[alg].verify); return true; },
    encapsulate: (alg) => { spend(n.kem[alg].encaps); return { cipherText: bytes, sharedSecret: bytes }; },
    decapsulate: (alg) => { spend(n.kem[alg].decaps); return bytes; },
  };
}

test('calibrate: the factor is the machine\'s speed relative to the table (fake clock)', () => {
  for (const ratio of [0.5, 1, 3]) {
    const clock = { t: 0 };
    const r = calibrate({ backend: fakeBackend(ratio, clock), now: () => clock.t });
    assert.equal(r.source, 'startup');
    assert.ok(Math.abs(r.factor - ratio) < 1e-9, `ratio ${ratio}: factor ${r.factor}`);
    assert.ok(r.samples.length >= 4);
    assert.ok(r.elapsedMs <= 250 + 1, `stays within its budget (${r.elapsedMs} ms of fake time)`);
    assert.equal(createCostModel({ calibration: r }).factor, r.factor);
  }
});

test('calibrate: bounded by its budget, skips what does not fit or fails, never throws', () => {
  const clock = { t: 0 };
  const slow = calibrate({ backend: fakeBackend(50, clock), now: () => clock.t, budgetMs: 100 });
  assert.ok(slow.elapsedMs <= 100 * 1.5, `elapsed ${slow.elapsedMs}`);
  assert.ok(slow.factor <= 8, 'clamped');
  const none = calibrate({ backend: fakeBackend(1, { t: 0 }), now: () => 0, budgetMs: 0 });
  assert.equal(none.source, 'default');
  assert.equal(none.factor, 1);
  const c2 = { t: 0 };
  const partial = calibrate({ backend: fakeBackend(1, c2, 'SLH-DSA-SHA2-128f'), now: () => c2.t });
  assert.ok(!partial.samples.some((x) => x.name.startsWith('SLH')));
  assert.ok(Math.abs(partial.factor - 1) < 1e-9);
});

test('calibrate on the real native backend gives a finite factor (smoke; no timing asserted)', () => {
  const r = calibrate({ backend: getBackend('native'), budgetMs: 150 });
  assert.ok(Number.isFinite(r.factor) && r.factor >= 0.25 && r.factor <= 8);
});

test('task seam: the HPKE tasks on managed KEM keys cost their KEM operation, never the unknown-task figure', () => {
  const m = createCostModel({ backend: 'native' });
  const unknown = m.task('no.such.task', {});
  for (const [name, op] of [['keys.seal', 'encaps'], ['keys.datakey', 'encaps'], ['keys.open', 'decaps'], ['keys.decapsulate', 'decaps']] as const) {
    const c = m.task(name, { algorithm: 'X-Wing', plaintext: new Uint8Array(100), ciphertext: new Uint8Array(1200) });
    assert.ok(c >= m.kem('X-Wing', op), `${name}: ${c}`);
    assert.notEqual(c, unknown);
  }
  assert.ok(m.task('keys.rewrap', { algorithm: 'ML-KEM-768', ciphertext: new Uint8Array(1200) }) >= m.kem('ML-KEM-768', 'decaps') + m.kem('ML-KEM-768', 'encaps'));
  assert.ok(m.task('keys.importUnwrap', { algorithm: 'SLH-DSA-SHAKE-256s' }) > m.signature('SLH-DSA-SHAKE-256s', 'keygen', 'native'), 'SLH-DSA import recomputes PK.root on noble');
});
