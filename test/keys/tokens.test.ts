/** Access tokens: ML-DSA-65 JWTs, JWKS, rotation, the auth hook, and interop with the `jose` library over HTTP. */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, calculateJwkThumbprint, decodeProtectedHeader } from 'jose';
import { listeningTestApp, problemOf, type TestApp } from '../support/app.ts';
import { MAX_TTL, LEEWAY, sessionKeyThumbprint } from '../../src/keys/tokens.ts';

let t: TestApp;
let baseUrl: string;
before(async () => ({ baseUrl, ...t } = await listeningTestApp()));
after(() => t.close());

test('a minted token verifies with jose against the JWKS fetched over HTTP', async () => {
  const session = new Uint8Array(32).fill(9);
  const { token, kid } = await t.app.ctx.tokens.mint('alice', { cnf: session, ttl: 600 });
  const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, { algorithms: ['ML-DSA-65'] });
  assert.deepEqual(protectedHeader, { alg: 'ML-DSA-65', kid, typ: 'JWT' });
  assert.equal(payload.sub, 'alice');
  assert.equal(payload.exp! - payload.iat!, 600);
  assert.deepEqual(payload.cnf, { skt: sessionKeyThumbprint(session) });
  const body = await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json() as { keys: Array<Record<string, string>> };
  assert.equal(body.keys.length, 1);
  assert.equal(body.keys[0]!.kty, 'AKP');
  // kid is the RFC 7638 thumbprint jose computes for the same JWK.
  assert.equal(await calculateJwkThumbprint(body.keys[0] as never), kid);
  const claims = await t.app.ctx.tokens.verify(token);
  assert.equal(claims.cnf, sessionKeyThumbprint(session));
});

test('the auth hook accepts a tenant token and maps it to the tenant principal', async () => {
  const { token } = await t.app.ctx.tokens.mint('carol');
  const res = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${token}` }, payload: { name: 'c1', algorithm: 'ML-DSA-44' } });
  assert.equal(res.statusCode, 201);
  assert.equal(JSON.parse(res.body).owner, 'tenant:carol');
});

test('rotation: new tokens use the new kid, the old kid stays in the JWKS and old tokens keep working', async () => {
  const old = await t.app.ctx.tokens.mint('dave');
  await t.app.ctx.tokens.rotate();
  const fresh = await t.app.ctx.tokens.mint('dave');
  assert.notEqual(fresh.kid, old.kid);
  assert.equal(decodeProtectedHeader(fresh.token).kid, fresh.kid);
  const kids = ((await (await fetch(`${baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
  assert.ok(kids.includes(old.kid) && kids.includes(fresh.kid));
  const jwks = createRemoteJWKSet(new URL(`${baseUrl}/.well-known/jwks.json`));
  for (const tok of [old.token, fresh.token]) assert.equal((await jwtVerify(tok, jwks)).payload.sub, 'dave');
  assert.equal((await t.app.ctx.tokens.verify(old.token)).sub, 'dave');
});

test('the old kid leaves the JWKS once every token it signed has expired', async () => {
  const { TokenService } = await import('../../src/keys/tokens.ts');
  const later = new TokenService(t.app.ctx, t.app.ctx.keys, { now: () => Date.now() + (MAX_TTL + LEEWAY + 5) * 1000 });
  const kids = (await later.jwks()).keys.map((k) => k.kid);
  assert.equal(kids.length, 1);
  const current = await t.app.ctx.tokens.mint('erin');
  assert.deepEqual(kids, [current.kid]);
});

test('expired tokens and tokens from the future are refused', async () => {
  const { TokenService } = await import('../../src/keys/tokens.ts');
  const past = new TokenService(t.app.ctx, t.app.ctx.keys, { now: () => Date.now() - 2 * 3600_000 });
  const { token } = await past.mint('frank', { ttl: 60 });
  await assert.rejects(t.app.ctx.tokens.verify(token), (e: { code?: string }) => e.code === 'unauthorized');
  const res = await t.app.inject({ method: 'GET', url: '/v1/keys', headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.statusCode, 401);
  assert.equal(problemOf(res).code, 'unauthorized');
  const future = new TokenService(t.app.ctx, t.app.ctx.keys, { now: () => Date.now() + 600_000 });
  await assert.rejects(t.app.ctx.tokens.verify((await future.mint('frank')).token), (e: { code?: string }) => e.code === 'unauthorized');
});
