/**
 * The kex client half on backend handles (issue 13): clientStart keeps the ephemeral key as a
 * prepared decapsulation key and caches the prekey's prepared encapsulation key per prekey id.
 * Handshakes complete across backends, a changed key under a reused prekey id is not served from
 * the cache, clientAbort / clientFinish destroy the ephemeral key, and the seeded (test-vector)
 * path still derives the client key from its seed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.ts';
import type { PreparedDecapsulationKey } from '../../src/crypto/index.ts';
import * as P from '../../src/kex/protocol.ts';

const native = getBackend('native');
const noble = getBackend('noble');

function prekeyFor(seed: Uint8Array, prekeyId = 'pk-1'): P.Prekey {
  const id = native.signatureKeygen('ML-DSA-65', new Uint8Array(32).fill(3));
  const unsigned: P.UnsignedPrekey = {
    prekeyId, publicKey: native.keygen('X-Wing', seed).publicKey, notBefore: 0, notAfter: 4e9,
    identity: { keyId: 'id-1', version: 1, algorithm: 'ML-DSA-65', publicKey: id.publicKey },
  };
  return { ...unsigned, signature: native.sign('ML-DSA-65', id.secretKey, P.prekeySignedMessage(unsigned), { context: P.PREKEY_SIGNATURE_CONTEXT }) };
}

function handshake(client: P.KexBackend, server: P.KexBackend, prekey: P.Prekey, seed: Uint8Array): P.SessionKeys {
  const pending = P.clientStart(client, prekey);
  const r = P.serverRespond(server, prekey, seed, pending.hello, 'AAAAAAAAAAAAAAAAAAAAAA');
  const keys = P.clientFinish(client, pending, { sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', ciphertext: r.ciphertext, confirmation: r.keys.serverConfirmation });
  assert.deepEqual(keys, r.keys);
  return keys;
}

test('handshakes complete with every client/server backend pair, repeatedly to the same prekey (cached encapsulation key)', () => {
  const seed = native.randomBytes(32);
  const prekey = prekeyFor(seed);
  for (const client of [native, noble]) for (const server of [native, noble]) for (let i = 0; i < 2; i++) handshake(client, server, prekey, seed);
});

test('a reused prekey id with another key is prepared afresh, not served from the cache', () => {
  const s1 = native.randomBytes(32);
  const s2 = native.randomBytes(32);
  for (const b of [native, noble]) {
    handshake(b, native, prekeyFor(s1, 'pk-reused'), s1);
    handshake(b, native, prekeyFor(s2, 'pk-reused'), s2);
    // The same key object mutated in place is noticed too (the cache compares bytes, not objects).
    const p = prekeyFor(s1, 'pk-mutated');
    handshake(b, native, p, s1);
    p.publicKey.set(prekeyFor(s2).publicKey);
    handshake(b, native, p, s2);
  }
});

test('the cache holds at most PREKEY_ENCAPSULATION_CACHE_MAX prekeys and keeps working past it', () => {
  const seed = native.randomBytes(32);
  for (let i = 0; i < P.PREKEY_ENCAPSULATION_CACHE_MAX + 3; i++) handshake(native, native, prekeyFor(seed, `pk-many-${i}`), seed);
  handshake(native, native, prekeyFor(seed, 'pk-many-0'), seed);
});

test('clientFinish and clientAbort destroy the ephemeral key; a wrong confirmation still destroys it', () => {
  const seed = native.randomBytes(32);
  const prekey = prekeyFor(seed);
  for (const b of [native, noble]) {
    const spy = (p: P.ClientPending) => { let n = 0; const k = p.clientKey; const d = k.destroy.bind(k); (p as { clientKey: PreparedDecapsulationKey }).clientKey = { ...k, decapsulate: k.decapsulate.bind(k), destroy: () => { n++; d(); } }; return () => n; };
    const a = P.clientStart(b, prekey);
    const aborted = spy(a);
    P.clientAbort(a);
    assert.equal(aborted(), 1);
    assert.ok(a.ss1.every((x) => x === 0));
    const f = P.clientStart(b, prekey);
    const finished = spy(f);
    const r = P.serverRespond(native, prekey, seed, f.hello, 'AAAAAAAAAAAAAAAAAAAAAA');
    assert.throws(() => P.clientFinish(b, f, { sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', ciphertext: r.ciphertext, confirmation: new Uint8Array(32) }));
    assert.equal(finished(), 1);
  }
});

test('with explicit randomness the client key is the X-Wing key of clientSeed (the test-vector path)', () => {
  const seed = native.randomBytes(32);
  const prekey = prekeyFor(seed);
  const clientSeed = noble.randomBytes(32);
  const p = P.clientStart(noble, prekey, { clientSeed, encapsSeed: noble.randomBytes(64) });
  assert.deepEqual(p.hello.clientPublicKey, noble.keygen('X-Wing', clientSeed).publicKey);
  const e = native.encapsulate('X-Wing', p.hello.clientPublicKey);
  assert.deepEqual(p.clientKey.decapsulate(e.cipherText), native.decapsulate('X-Wing', e.cipherText, clientSeed));
  P.clientAbort(p);
});
