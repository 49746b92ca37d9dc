/** Wrapping at rest: AES-256-GCM under a key derived from the master key, bound to the AAD. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { wrapSecret, unwrapSecret, WRAP_FORMAT_V1 } from '../../src/keys/wrap.ts';

const mk = () => new Uint8Array(randomBytes(32));

test('round trip, fresh nonce per wrap, versioned format, inputs untouched', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.string({ maxLength: 80 }), (pt, aad) => {
    const master = mk();
    const copy = pt.slice();
    const a = wrapSecret(master, pt, aad);
    const b = wrapSecret(master, pt, aad);
    assert.equal(a[0], WRAP_FORMAT_V1);
    assert.equal(a.length, 1 + 12 + pt.length + 16);
    assert.notDeepEqual(a, b);
    assert.deepEqual(unwrapSecret(master, a, aad), pt);
    assert.deepEqual(pt, copy);
  }), { numRuns: 50 });
});

test('wrong AAD, wrong master key, any flipped bit, truncation or unknown format → decryption_failed', () => {
  const master = mk();
  const seed = new Uint8Array(randomBytes(32));
  const blob = wrapSecret(master, seed, 'key:id/tenant:a/k#v1');
  const fails = (f: () => unknown) => assert.throws(f, (e: { code?: string; message?: string }) => e.code === 'decryption_failed' && e.message === 'decryption failed');
  fails(() => unwrapSecret(master, blob, 'key:id/tenant:a/k#v2'));
  fails(() => unwrapSecret(mk(), blob, 'key:id/tenant:a/k#v1'));
  fails(() => unwrapSecret(master, blob.subarray(0, blob.length - 1), 'key:id/tenant:a/k#v1'));
  for (let i = 0; i < blob.length; i++) {
    const bad = blob.slice();
    bad[i]! ^= 1 << (i % 8);
    fails(() => unwrapSecret(master, bad, 'key:id/tenant:a/k#v1'));
  }
  // The ciphertext does not contain the plaintext.
  assert.equal(Buffer.from(blob).indexOf(Buffer.from(seed)), -1);
});
