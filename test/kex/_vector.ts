/**
 * The PROTOCOL.md test vector: fixed seeds → every intermediate value → session keys → one sealed
 * envelope, computed with the implementation (noble backend; native cannot take an explicit X-Wing eseed).
 * `node test/kex/_vector.ts` prints the JSON block that docs/PROTOCOL.md §10 holds.
 */
import { nobleBackend as b } from '../../src/crypto/noble.ts';
import { fromHex, toHex } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';

export interface VectorInputs {
  identitySeed: string; identityKeyId: string; identityVersion: number;
  prekeySeed: string; prekeyId: string; notBefore: number; notAfter: number;
  clientSeed: string; clientEncapsSeed: string; serverEncapsSeed: string; sessionId: string;
  seq: number; innerRequest: string;
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
  const ss2 = b.decapsulate('X-Wing', server.ciphertext, pending.clientSecretKey);
  const t = P.transcriptFull(t1, i.sessionId, server.ciphertext);
  const th = b.hash('SHA-512', t);
  const keys = P.clientFinish(b, pending, { sessionId: i.sessionId, ciphertext: server.ciphertext, confirmation: server.keys.serverConfirmation });
  const plaintext = new TextEncoder().encode(i.innerRequest);
  const sealed = P.sealEnvelope(b, keys, 'request', i.sessionId, i.seq, plaintext);
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
  };
}

if (import.meta.main) console.log(JSON.stringify({ inputs: INPUTS, outputs: computeVector(INPUTS) }, null, 2));
