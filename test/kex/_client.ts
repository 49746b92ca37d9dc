/** A hand-run kex client over app.inject (protocol.ts + noble), for tests that need to misbehave. */
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { nobleBackend as nb } from '../../src/crypto/noble.ts';
import { base64urlDecode, base64urlEncode } from '../../src/crypto/bytes.ts';
import * as P from '../../src/kex/protocol.ts';

export async function fetchPrekey(app: FastifyInstance): Promise<P.Prekey> {
  const res = await app.inject({ method: 'GET', url: '/v1/kex/prekey' });
  assert.equal(res.statusCode, 200, res.body);
  const d = res.json() as { prekeyId: string; publicKey: string; notBefore: string; notAfter: string; signature: string; identity: { keyId: string; version: number; publicKey: string } };
  return {
    prekeyId: d.prekeyId, publicKey: base64urlDecode(d.publicKey), notBefore: Date.parse(d.notBefore) / 1000, notAfter: Date.parse(d.notAfter) / 1000,
    signature: base64urlDecode(d.signature), identity: { keyId: d.identity.keyId, version: d.identity.version, algorithm: 'ML-DSA-65', publicKey: base64urlDecode(d.identity.publicKey) },
  };
}

export const helloBody = (h: P.ClientHello) => ({
  prekeyId: h.prekeyId, ciphertext: base64urlEncode(h.ciphertext), clientPublicKey: base64urlEncode(h.clientPublicKey), proof: base64urlEncode(h.proof),
});

export interface TestSession { sessionId: string; keys: P.SessionKeys; hello: P.ClientHello }

export async function handshake(app: FastifyInstance, prekey?: P.Prekey): Promise<TestSession> {
  const pk = prekey ?? await fetchPrekey(app);
  const pending = P.clientStart(nb, pk);
  const hello = pending.hello;
  const res = await app.inject({ method: 'POST', url: '/v1/kex/sessions', payload: helloBody(hello) });
  assert.equal(res.statusCode, 200, res.body);
  const s = res.json() as { sessionId: string; ciphertext: string; confirmation: string };
  const keys = P.clientFinish(nb, pending, { sessionId: s.sessionId, ciphertext: base64urlDecode(s.ciphertext), confirmation: base64urlDecode(s.confirmation) });
  return { sessionId: s.sessionId, keys, hello };
}

export function envelopeBody(s: TestSession, seq: number, inner: unknown, opts: { confirm?: boolean } = {}) {
  const sealed = P.sealEnvelope(nb, s.keys, 'request', s.sessionId, seq, typeof inner === 'string' ? new TextEncoder().encode(inner) : P.encodeJson(inner));
  return { seq, sealed: base64urlEncode(sealed), ...(opts.confirm !== false ? { confirmation: base64urlEncode(s.keys.clientConfirmation) } : {}) };
}

export async function send(app: FastifyInstance, s: TestSession, body: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: `/v1/kex/sessions/${s.sessionId}/envelope`, payload: body as object, headers });
}

export function openResponse(s: TestSession, seq: number, sealed: string): P.InnerResponse {
  return P.decodeJson(P.openEnvelope(nb, s.keys, 'response', s.sessionId, seq, base64urlDecode(sealed))) as P.InnerResponse;
}
