/** docs/PROTOCOL.md §10 is the source of truth: the implementation must reproduce every value. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeVector, type VectorInputs } from './_vector.ts';
import { nativeBackend as n } from '../../src/crypto/native.ts';
import { concatBytes, fromHex, toHex } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';

const md = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
const section = md.slice(md.indexOf('## 10. Test vector'));
const block = /```json\n([\s\S]*?)\n```/.exec(section);
const vector = JSON.parse(block?.[1] ?? 'null') as { inputs: VectorInputs; outputs: Record<string, string> } | null;

test('PROTOCOL.md has a vector with every intermediate value', () => {
  assert.ok(vector, 'no ```json block in PROTOCOL.md §10');
  assert.ok(Object.keys(vector.outputs).length >= 20, 'vector has too few values');
});

test('the implementation (noble) reproduces the PROTOCOL.md vector value by value', () => {
  const got = computeVector(vector!.inputs);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(vector!.outputs).sort());
  for (const [k, v] of Object.entries(vector!.outputs)) assert.equal(got[k], v, `mismatch in ${k}`);
});

test('native backend agrees: decapsulations, key schedule and envelope open from the documented values', () => {
  const i = vector!.inputs;
  const o = vector!.outputs;
  assert.equal(toHex(n.keygen('X-Wing', fromHex(i.prekeySeed)).publicKey), o.prekeyPublicKey);
  assert.equal(toHex(n.keygen('X-Wing', fromHex(i.clientSeed)).publicKey), o.clientPublicKey);
  assert.equal(toHex(n.decapsulate('X-Wing', fromHex(o.ct1!), fromHex(i.prekeySeed))), o.ss1);
  assert.equal(toHex(n.decapsulate('X-Wing', fromHex(o.ct2!), fromHex(i.clientSeed))), o.ss2);
  // The key schedule written out from §5, with the native HKDF/HMAC (not through protocol.ts).
  const info = concatBytes(P.lp('pqzk-kex/v1'), P.lp('session keys'));
  const okm = n.hkdf('SHA-512', concatBytes(fromHex(o.ss1!), fromHex(o.ss2!)), fromHex(o.th!), info, 152);
  assert.equal(toHex(okm.subarray(0, 32)), o.c2sKey);
  assert.equal(toHex(okm.subarray(32, 64)), o.s2cKey);
  assert.equal(toHex(okm.subarray(64, 76)), o.c2sIv);
  assert.equal(toHex(okm.subarray(76, 88)), o.s2cIv);
  const th = fromHex(o.th!);
  assert.equal(toHex(n.hmac('SHA-256', okm.subarray(88, 120), concatBytes(P.lp('pqzk-kex/v1 server confirm'), th))), o.serverConfirmation);
  assert.equal(toHex(n.hmac('SHA-256', okm.subarray(120, 152), concatBytes(P.lp('pqzk-kex/v1 client confirm'), th))), o.clientConfirmation);
  const ke = n.hkdf('SHA-512', fromHex(o.ss1!), fromHex(o.th1!), concatBytes(P.lp('pqzk-kex/v1'), P.lp('early proof key')), 32);
  assert.equal(toHex(n.hmac('SHA-256', ke, concatBytes(P.lp('pqzk-kex/v1 early proof'), fromHex(o.th1!)))), o.proof);
  const opened = n.aeadOpen('AES-256-GCM', okm.subarray(0, 32), fromHex(o.envelopeNonce!), fromHex(o.sealedEnvelope!), fromHex(o.envelopeAad!));
  assert.equal(new TextDecoder().decode(opened), i.innerRequest);
});
