/**
 * The PROTOCOL.md test vector: fixed seeds → every intermediate value → session keys → one sealed
 * request envelope, the server's sealed answer to it and a close message, computed with the
 * implementation (noble backend; native cannot take an explicit X-Wing eseed).
 * `node test/kex/_vector.ts` prints the JSON block that docs/PROTOCOL.md §10 holds.
 */
import { nobleBackend as b } from '../../src/crypto/noble.ts';
import { base64urlEncode, concatBytes, fromHex, toHex } from '../../src/crypto/bytes.ts';
import { jwkThumbprint, publicKeyThumbprint } from '../../src/crypto/thumbprint.ts';
import * as P from '../../src/kex/protocol.ts';

export interface VectorInputs {
  identitySeed: string; identityKeyId: string; identityVersion: number;
  prekeySeed: string; prekeyId: string; notBefore: number; notAfter: number;
  clientSeed: string; clientEncapsSeed: string; serverEncapsSeed: string; sessionId: string;
  seq: number; innerRequest: string; innerResponse: string; closeSeq: number;
}

export const INPUTS: VectorInputs = {
  identitySeed: '00'.repeat(31) + '01',
  identityKeyId: 'test-identity',
  identityVersion: 1,
  prekeySeed: '11'.repeat(32),
  prekeyId: 'prekey-0001',
  notBefore: 1767225600,
  notAfter: 1767229500,
  clientSeed: '22'.repeat(32),
  clientEncapsSeed: '33'.repeat(64),
  serverEncapsSeed: '44'.repeat(64),
  sessionId: 'AAAAAAAAAAAAAAAAAAAAAA',
  seq: 1,
  innerRequest: '{"method":"GET","path":"/v1/health","headers":{"accept":"application/json"}}',
  // What the service answers to innerRequest, byte for byte (test/kex/protocol-doc.test.ts checks it).
  innerResponse: '{"status":200,"headers":{"content-type":"application/json; charset=utf-8"},"body":{"status":"ok"}}',
  closeSeq: 2,
};

export function computeVector(i: VectorInputs): Record<string, string> {
  const id = b.signatureKeygen('ML-DSA-65', fromHex(i.identitySeed));
  const pk = b.keygen('X-Wing', fromHex(i.prekeySeed));
  const unsigned: P.UnsignedPrekey = {
    prekeyId: i.prekeyId, publicKey: pk.publicKey, notBefore: i.notBefore, notAfter: i.notAfter,
    identity: { keyId: i.identityKeyId, version: i.identityVersion, algorithm: 'ML-DSA-65', publicKey: id.publicKey },
  };
  const signedMessage = P.prekeySignedMessage(unsigned);
  const signature = b.sign('ML-DSA-65', id.secretKey, signedMessage, { context: P.PREKEY_SIGNATURE_CONTEXT, deterministic: true });
  const prekey: P.Prekey = { ...unsigned, signature };
  const pending = P.clientStart(b, prekey, { clientSeed: fromHex(i.clientSeed), encapsSeed: fromHex(i.clientEncapsSeed) });
  const ss1 = pending.ss1.slice();
  const t1 = pending.t1;
  const th1 = b.hash('SHA-512', t1);
  const server = P.serverRespond(b, prekey, pk.secretKey, pending.hello, i.sessionId, fromHex(i.serverEncapsSeed));
  const ss2 = pending.clientKey.decapsulate(server.ciphertext);
  const t = P.transcriptFull(t1, i.sessionId, server.ciphertext);
  const th = b.hash('SHA-512', t);
  const keys = P.clientFinish(b, pending, { sessionId: i.sessionId, ciphertext: server.ciphertext, confirmation: server.keys.serverConfirmation });
  const utf8 = (x: string) => new TextEncoder().encode(x);
  const sealed = P.sealEnvelope(b, keys, 'request', i.sessionId, i.seq, utf8(i.innerRequest));
  // Server → client: the answer under the request's seq, then the client's close under closeSeq.
  const sealedResponse = P.sealEnvelope(b, server.keys, 'response', i.sessionId, i.seq, utf8(i.innerResponse));
  const sealedClose = P.sealEnvelope(b, keys, 'close', i.sessionId, i.closeSeq, new Uint8Array(0));
  return {
    identityPublicKeySha256: toHex(b.hash('SHA-256', id.publicKey)),
    prekeyPublicKey: toHex(pk.publicKey),
    prekeySignedMessageSha256: toHex(b.hash('SHA-256', signedMessage)),
    prekeySignatureSha256: toHex(b.hash('SHA-256', signature)),
    clientPublicKey: toHex(pending.hello.clientPublicKey),
    ct1: toHex(pending.hello.ciphertext),
    ss1: toHex(ss1),
    t1Sha256: toHex(b.hash('SHA-256', t1)),
    th1: toHex(th1),
    proof: toHex(pending.hello.proof),
    ct2: toHex(server.ciphertext),
    ss2: toHex(ss2),
    th: toHex(th),
    c2sKey: toHex(keys.c2sKey),
    s2cKey: toHex(keys.s2cKey),
    c2sIv: toHex(keys.c2sIv),
    s2cIv: toHex(keys.s2cIv),
    serverConfirmation: toHex(keys.serverConfirmation),
    clientConfirmation: toHex(keys.clientConfirmation),
    envelopeNonce: toHex(P.envelopeNonce(keys.c2sIv, i.seq)),
    envelopeAad: toHex(P.envelopeAad('request', i.sessionId, i.seq)),
    sealedEnvelope: toHex(sealed),
    responseNonce: toHex(P.envelopeNonce(keys.s2cIv, i.seq)),
    responseAad: toHex(P.envelopeAad('response', i.sessionId, i.seq)),
    sealedResponse: toHex(sealedResponse),
    closeNonce: toHex(P.envelopeNonce(keys.c2sIv, i.closeSeq)),
    closeAad: toHex(P.envelopeAad('close', i.sessionId, i.closeSeq)),
    sealedClose: toHex(sealedClose),
    // base64url, as on the wire: the RFC 7638 thumbprint the service uses as keyId (the vector's keyId
    // input is free text instead) and the client-key thumbprint a bound token's cnf.skt must equal.
    identityJwkThumbprint: jwkThumbprint('ML-DSA-65', id.publicKey),
    clientKeyThumbprint: publicKeyThumbprint(pending.hello.clientPublicKey),
    handshakeDigest: toHex(b.hash('SHA-256', concatBytes(P.lp(i.prekeyId), P.lp(pending.hello.ciphertext)))),
  };
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const b64 = (hex: string) => base64urlEncode(fromHex(hex));

/** The JSON bodies of the vector's small messages as they travel (bytes base64url, times RFC 3339), from the outputs. */
export function computeWire(i: VectorInputs, o: Record<string, string>): Record<string, unknown> {
  return {
    prekeyTimes: { notBefore: iso(i.notBefore), notAfter: iso(i.notAfter) },
    envelopeRequest: { seq: i.seq, sealed: b64(o.sealedEnvelope!), confirmation: b64(o.clientConfirmation!) },
    envelopeResponse: { seq: i.seq, sealed: b64(o.sealedResponse!) },
    closeRequest: { seq: i.closeSeq, sealed: b64(o.sealedClose!) },
    closeResponse: { closed: true },
  };
}

if (import.meta.main) {
  const outputs = computeVector(INPUTS);
  console.log(JSON.stringify({ inputs: INPUTS, outputs, wire: computeWire(INPUTS, outputs) }, null, 2));
}
