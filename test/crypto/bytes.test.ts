import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { base64urlDecode, base64urlEncode, constantTimeEqual, fromHex, toHex } from '../../src/crypto/bytes.ts';
import { CryptoInputError } from '../../src/errors.ts';

test('base64url and hex round-trip and agree with Buffer', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
    const s = base64urlEncode(b);
    assert.equal(s, Buffer.from(b).toString('base64url'));
    assert.deepEqual(base64urlDecode(s), b);
    assert.equal(toHex(b), Buffer.from(b).toString('hex'));
    assert.deepEqual(fromHex(toHex(b)), b);
  }), { numRuns: 300 });
});

test('strict decoding: padding, foreign characters and non-canonical trailing bits are rejected', () => {
  for (const s of ['AA==', 'A', 'AB+/', 'AB c', 'AB', 'AAB']) assert.throws(() => base64urlDecode(s), CryptoInputError, s);
  assert.deepEqual(base64urlDecode('AA'), new Uint8Array([0]));
  assert.throws(() => fromHex('abc'), CryptoInputError);
  assert.throws(() => fromHex('zz'), CryptoInputError);
});

test('constantTimeEqual', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (a, i) => {
    assert.equal(constantTimeEqual(a, a.slice()), true);
    const b = a.slice(); b[i % b.length] ^= 1;
    assert.equal(constantTimeEqual(a, b), false);
    assert.equal(constantTimeEqual(a, a.subarray(1)), false);
  }));
});
