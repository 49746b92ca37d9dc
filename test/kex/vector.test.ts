/** docs/PROTOCOL.md §10 is the source of truth: the implementation must reproduce every value. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { computeVector, computeWire, INPUTS, type VectorInputs } from './_vector.ts';
import { nativeBackend as n } from '../../src/crypto/native.ts';
import { base64urlDecode, base64urlEncode, concatBytes, fromHex, toHex } from '../../src/crypto/bytes.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import * as P from '../../src/kex/protocol.ts';

const md = readFileSync(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
const section = md.slice(md.indexOf('## 10. Test vector'));
const block = /```json\n([\s\S]*?)\n```/.exec(section);
const vector = JSON.parse(block?.[1] ?? 'null') as { inputs: VectorInputs; outputs: Record<string, string>; wire: Record<string, unknown> } | null;

test('PROTOCOL.md has a vector with every intermediate value', () => {
  assert.ok(vector, 'no ```json block in PROTOCOL.md §10');
  assert.ok(Object.keys(vector.outputs).length >= 20, 'vector has too few values');
});

test('the implementation (noble) reproduces the PROTOCOL.md vector value by value', () => {
  const got = computeVector(vector!.inputs);
  assert.deepEqual(Object.keys(got).sort(), Object.keys(vector!.outputs).sort());
  for (const [k, v] of Object.entries(vector!.outputs)) assert.equal(got[k], v, `mismatch in ${k}`);
  assert.deepEqual(computeWire(vector!.inputs, got), vector!.wire, 'wire forms');
});

test('the documented inputs are the ones _vector.ts uses (node test/kex/_vector.ts prints this block)', () => {
  assert.deepEqual(vector!.inputs, INPUTS);
});

/** §6 written out independently of protocol.ts: nonce = iv XOR (0^4 ‖ u64(seq)); AAD = F("pqzk-kex/v1 envelope", kind, sessionId, u64(seq)). */
function docNonce(iv: Uint8Array, seq: number): Uint8Array {
  const n = iv.slice();
  const view = new DataView(n.buffer, n.byteOffset, n.byteLength);
  view.setBigUint64(4, view.getBigUint64(4) ^ BigInt(seq));
  return n;
}
const utf8 = (x: string) => new TextEncoder().encode(x);
function lp(x: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + x.length);
  new DataView(out.buffer).setUint32(0, x.length);
  out.set(x, 4);
  return out;
}
function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}
const docAad = (kind: string, sessionId: string, seq: number) =>
  concatBytes(lp(utf8('pqzk-kex/v1 envelope')), lp(utf8(kind)), lp(utf8(sessionId)), lp(u64(seq)));

test('native backend agrees on the server → client direction: the sealed answer and the close, from the documented formulas', () => {
  const i = vector!.inputs;
  const o = vector!.outputs;
  const key = (h: string) => fromHex(o[h]!);
  // Request (client → server) under k_c2s/iv_c2s, response (server → client) under k_s2c/iv_s2c, close under k_c2s/iv_c2s.
  assert.equal(toHex(docNonce(key('c2sIv'), i.seq)), o.envelopeNonce);
  assert.equal(toHex(docAad('request', i.sessionId, i.seq)), o.envelopeAad);
  assert.equal(toHex(docNonce(key('s2cIv'), i.seq)), o.responseNonce);
  assert.equal(toHex(docAad('response', i.sessionId, i.seq)), o.responseAad);
  assert.equal(toHex(docNonce(key('c2sIv'), i.closeSeq)), o.closeNonce);
  assert.equal(toHex(docAad('close', i.sessionId, i.closeSeq)), o.closeAad);
  // AES-256-GCM is deterministic: sealing the documented plaintexts gives the documented bytes.
  assert.equal(toHex(n.aeadSeal('AES-256-GCM', key('c2sKey'), key('envelopeNonce'), utf8(i.innerRequest), key('envelopeAad'))), o.sealedEnvelope);
  assert.equal(toHex(n.aeadSeal('AES-256-GCM', key('s2cKey'), key('responseNonce'), utf8(i.innerResponse), key('responseAad'))), o.sealedResponse);
  assert.equal(toHex(n.aeadSeal('AES-256-GCM', key('c2sKey'), key('closeNonce'), new Uint8Array(0), key('closeAad'))), o.sealedClose);
  assert.equal(key('sealedClose').length, 16, 'a close is the bare 16-byte tag');
  // And they open (the client's view of the answer).
  const answer = n.aeadOpen('AES-256-GCM', key('s2cKey'), key('responseNonce'), key('sealedResponse'), key('responseAad'));
  assert.equal(new TextDecoder().decode(answer), i.innerResponse);
  assert.deepEqual(JSON.parse(i.innerResponse), { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: { status: 'ok' } });
  // The wrong direction's key never opens it.
  assert.throws(() => n.aeadOpen('AES-256-GCM', key('c2sKey'), key('responseNonce'), key('sealedResponse'), key('responseAad')));
  // Wire: bytes are base64url of the same bytes.
  const w = vector!.wire as { envelopeResponse: { seq: number; sealed: string }; closeRequest: { seq: number; sealed: string } };
  assert.equal(toHex(base64urlDecode(w.envelopeResponse.sealed)), o.sealedResponse);
  assert.equal(w.closeRequest.seq, i.closeSeq);
  assert.equal(toHex(base64urlDecode(w.closeRequest.sealed)), o.sealedClose);
});

test('thumbprints and the replay digest, from their written-out definitions', () => {
  const o = vector!.outputs;
  const i = vector!.inputs;
  const idPk = n.signatureKeygen('ML-DSA-65', fromHex(i.identitySeed)).publicKey;
  assert.equal(toHex(sha256(idPk)), o.identityPublicKeySha256);
  const jwk = `{"alg":"ML-DSA-65","kty":"AKP","pub":"${base64urlEncode(idPk)}"}`;
  assert.equal(base64urlEncode(sha256(utf8(jwk))), o.identityJwkThumbprint);
  assert.equal(base64urlEncode(sha256(fromHex(o.clientPublicKey!))), o.clientKeyThumbprint);
  // prekeyId enters as its UTF-8 text, ct1 as its decoded bytes.
  assert.equal(toHex(sha256(concatBytes(lp(utf8(i.prekeyId)), lp(fromHex(o.ct1!))))), o.handshakeDigest);
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
