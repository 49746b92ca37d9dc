/**
 * The worker's prepared-prekey cache (src/kex/worker.ts): a handshake answered from a cached
 * prepared key completes on the client; the cache keeps one entry per prekey id; a different seed
 * presented under a cached id is never answered with the cached key (constant-time compare); the
 * seed buffer handed to the task is wiped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getBackend } from '../../src/crypto/index.ts';
import { base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';
import { respond, prekeyCacheSize, PREKEY_CACHE_MAX } from '../../src/kex/worker.ts';

for (const name of ['native', 'noble'] as const) {
  const b = getBackend(name);
  const identity = b.signatureKeygen('ML-DSA-65', b.randomBytes(32));
  const makePrekey = (prekeyId: string): { prekey: P.Prekey; seed: Uint8Array } => {
    const seed = b.randomBytes(32);
    const kp = b.keygen('X-Wing', seed);
    const unsigned: P.UnsignedPrekey = {
      prekeyId, publicKey: kp.publicKey, notBefore: 1767225600, notAfter: 1767229500,
      identity: { keyId: 'id', version: 1, algorithm: 'ML-DSA-65', publicKey: identity.publicKey },
    };
    return { prekey: { ...unsigned, signature: b.sign('ML-DSA-65', identity.secretKey, P.prekeySignedMessage(unsigned)) }, seed };
  };
  const handshake = (prekey: P.Prekey, seed: Uint8Array): void => {
    const pending = P.clientStart(b, prekey);
    const sessionId = base64urlEncode(b.randomBytes(16));
    const given = seed.slice();
    const out = respond({ prekey, prekeySecret: given, hello: pending.hello, sessionId }, { backend: b });
    assert.ok(given.every((x) => x === 0), 'the task input seed is wiped');
    const keys = P.clientFinish(b, pending, { sessionId, ciphertext: out.ciphertext, confirmation: P.packedField(out.packedKeys, 'serverConfirmation') });
    assert.deepEqual(keys.c2sKey, P.packedField(out.packedKeys, 'c2sKey'));
  };

  test(`${name}: repeated handshakes on one prekey use one cached prepared key and complete`, () => {
    const { prekey, seed } = makePrekey(`${name}-a`);
    const before = prekeyCacheSize();
    for (let i = 0; i < 3; i++) handshake(prekey, seed);
    assert.equal(prekeyCacheSize(), Math.min(before + 1, PREKEY_CACHE_MAX));
  });

  test(`${name}: another seed under a cached prekey id is answered with that seed, not the cached key`, () => {
    const a = makePrekey(`${name}-same-id`);
    handshake(a.prekey, a.seed);
    const b2 = makePrekey(`${name}-same-id`);
    handshake(b2.prekey, b2.seed); // would fail the early proof if the cached key of `a` answered
    handshake(a.prekey, a.seed);
  });

  test(`${name}: the cache stays bounded`, () => {
    for (let i = 0; i < PREKEY_CACHE_MAX + 3; i++) { const p = makePrekey(`${name}-many-${i}`); handshake(p.prekey, p.seed); }
    assert.ok(prekeyCacheSize() <= PREKEY_CACHE_MAX);
  });
}
