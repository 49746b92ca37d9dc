/**
 * The zk routes on the in-memory store: registration rules, challenges, login and the token it
 * issues, single use under concurrency, batching, expiry, rotation; then single use across two
 * instances on one real PostgreSQL.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testApp, problemOf, type TestApp } from '../support/app.ts';
import { startPostgres, type TestPostgres } from '../support/postgres.ts';
import { sessionKeyThumbprint } from '../../src/keys/tokens.ts';
import { FIELD_MODULUS, formatFieldElement, randomFieldElement, rotationBinding, sessionKeyHash } from '../../src/zk/poseidon.ts';
import { challenge, newUser, post, prove, register, releaseProver, sessionKey, type User } from './_support.ts';

describe('zk login on one instance', () => {
  let t: TestApp;
  let alice: User;
  before(async () => {
    t = await testApp({ ZK_REGISTER_PER_MINUTE: '1000' });
    alice = newUser('alice');
    await register(t.app, alice);
  });
  after(async () => { await t.close(); await releaseProver(); });

  test('getCircuit lists the artifacts with hashes the downloads match', async () => {
    const info = JSON.parse((await t.app.inject({ url: '/v1/zk/circuit' })).body) as { artifacts: Array<{ name: string; sha256: string; size: number; path: string }>; ceremony: { local: boolean }; fieldModulus: string };
    assert.equal(info.artifacts.length, 3);
    assert.equal(info.fieldModulus, FIELD_MODULUS.toString());
    assert.equal(info.ceremony.local, true);
    for (const a of info.artifacts) {
      const res = await t.app.inject({ url: a.path });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['content-type'], 'application/octet-stream');
      assert.equal(res.rawPayload.length, a.size);
      const { createHash } = await import('node:crypto');
      assert.equal(createHash('sha256').update(res.rawPayload).digest('hex'), a.sha256);
      assert.equal((await t.app.inject({ url: a.path, headers: { 'if-none-match': `"${a.sha256}"` } })).statusCode, 304);
    }
    assert.equal((await t.app.inject({ url: '/v1/zk/circuit/login.r1cs' })).statusCode, 400);
  });

  test('registerUser: canonical commitment < r, unique username', async () => {
    const ok = await post(t.app, '/v1/zk/users', { username: 'bob', commitment: '42' });
    assert.equal(ok.statusCode, 201);
    assert.equal(JSON.parse(ok.body).commitment, '42');
    const dup = await post(t.app, '/v1/zk/users', { username: 'bob', commitment: '43' });
    assert.equal(dup.statusCode, 409);
    assert.equal(problemOf(dup).code, 'conflict');
    for (const commitment of ['0x2a', '0042', '-1', ' 42', '4 2', '', FIELD_MODULUS.toString(), (FIELD_MODULUS + 42n).toString(), 42, '1'.repeat(78)]) {
      const res = await post(t.app, '/v1/zk/users', { username: 'carol', commitment });
      assert.equal(res.statusCode, 400, `commitment ${String(commitment)}`);
    }
    for (const username of ['Alice', '', '-x', 'a'.repeat(65), 'a b', 'é']) {
      assert.equal((await post(t.app, '/v1/zk/users', { username, commitment: '1' })).statusCode, 400, username);
    }
    const rows = await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM zk_users WHERE username = 'carol'");
    assert.equal(rows[0]!.n, 0);
  });

  test('createChallenge: random field element, bound to the session key, 120 s by default', async () => {
    const spk = sessionKey(1);
    const a = await challenge(t.app, 'alice', spk);
    const b = await challenge(t.app, 'alice', spk);
    assert.notEqual(a.challenge, b.challenge);
    assert.notEqual(a.challengeId, b.challengeId);
    assert.ok(BigInt(a.challenge) < FIELD_MODULUS);
    assert.equal(a.sessionKeyHash, sessionKeyHash(spk).toString());
    assert.equal(a.purpose, 'login');
    assert.equal(a.expiresIn, 120);
    const left = Date.parse(a.expiresAt) - Date.now();
    assert.ok(left > 110_000 && left <= 121_000, `expires in ${left} ms`);
    // An unknown user gets a challenge too (existence is not revealed).
    const ghost = await challenge(t.app, 'nobody-here', spk);
    assert.equal(ghost.purpose, 'login');
    // Exactly one of sessionPublicKey / newCommitment.
    assert.equal((await post(t.app, '/v1/zk/challenges', { username: 'alice' })).statusCode, 400);
    assert.equal((await post(t.app, '/v1/zk/challenges', { username: 'alice', sessionPublicKey: 'AAAAAAAAAAAAAAAAAAAAAAAA', newCommitment: '1' })).statusCode, 400);
    assert.equal((await post(t.app, '/v1/zk/challenges', { username: 'alice', sessionPublicKey: 'AAAA' })).statusCode, 400);
  });

  test('login: a valid proof gives an ML-DSA-65 token with sub and cnf; the challenge is then spent', async () => {
    const spk = sessionKey(2);
    const ch = await challenge(t.app, 'alice', spk);
    const { proof, loginTag } = await prove('alice', alice.secret, ch.challenge, ch.sessionKeyHash);
    const res = await post(t.app, '/v1/zk/login', { challengeId: ch.challengeId, proof, loginTag });
    assert.equal(res.statusCode, 200, res.body);
    const body = JSON.parse(res.body) as { accessToken: string; tokenType: string; expiresIn: number };
    assert.equal(body.tokenType, 'Bearer');
    assert.equal(body.expiresIn, 900);
    const header = JSON.parse(Buffer.from(body.accessToken.split('.')[0]!, 'base64url').toString()) as { alg: string };
    assert.equal(header.alg, 'ML-DSA-65');
    const claims = await t.app.ctx.tokens.verify(body.accessToken);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.cnf, sessionKeyThumbprint(spk));
    // The token is bound to the session key: refused outside an encrypted session (used inside the
    // bound session in test/zk/binding-hostile.test.ts and test/zk/e2e.test.ts).
    const key = await t.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${body.accessToken}` }, payload: { name: 'zk-key', algorithm: 'ML-DSA-44' } });
    assert.equal(key.statusCode, 401, key.body);
    assert.match(problemOf(key).detail ?? '', /bound to a session key/);
    // Replay of the same (or a malleated) proof: the challenge is gone.
    const again = await post(t.app, '/v1/zk/login', { challengeId: ch.challengeId, proof, loginTag });
    assert.equal(again.statusCode, 401);
    assert.equal(problemOf(again).detail, 'login failed');
  });

  test('two parallel logins with one challenge: exactly one succeeds', async () => {
    const ch = await challenge(t.app, 'alice', sessionKey(3));
    const { proof, loginTag } = await prove('alice', alice.secret, ch.challenge, ch.sessionKeyHash);
    const results = await Promise.all(Array.from({ length: 4 }, () => post(t.app, '/v1/zk/login', { challengeId: ch.challengeId, proof, loginTag })));
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 401, 401, 401]);
  });

  test('concurrent logins are verified in batches; a bad proof in a batch does not reject the good ones', async () => {
    const users = [newUser('batch-a'), newUser('batch-b'), newUser('batch-c')];
    for (const u of users) await register(t.app, u);
    const reqs: Array<{ body: unknown; expect: number }> = [];
    for (const [i, u] of users.entries()) {
      const ch = await challenge(t.app, u.username, sessionKey(10 + i));
      const { proof, loginTag } = await prove(u.username, u.secret, ch.challenge, ch.sessionKeyHash);
      reqs.push({ body: { challengeId: ch.challengeId, proof, loginTag }, expect: 200 });
      if (i === 0) {
        // A wrong loginTag for another live challenge of the same user: fails alone.
        const ch2 = await challenge(t.app, u.username, sessionKey(20));
        reqs.push({ body: { challengeId: ch2.challengeId, proof, loginTag }, expect: 401 });
      }
    }
    const before = { ...t.app.ctx.zkBatcher.stats };
    const res = await Promise.all(reqs.map((r) => post(t.app, '/v1/zk/login', r.body)));
    assert.deepEqual(res.map((r) => r.statusCode), reqs.map((r) => r.expect));
    const s = t.app.ctx.zkBatcher.stats;
    assert.equal(s.proofs - before.proofs, reqs.length);
    assert.ok(s.batches - before.batches < reqs.length, `expected batching: ${s.batches - before.batches} batches for ${reqs.length} proofs`);
  });

  test('expired challenge → 401, and the wrong secret → 401 without spending the challenge', async () => {
    const ch = await challenge(t.app, 'alice', sessionKey(4));
    const wrong = await prove('alice', randomFieldElement(), ch.challenge, ch.sessionKeyHash);
    assert.equal((await post(t.app, '/v1/zk/login', { challengeId: ch.challengeId, ...wrong })).statusCode, 401);
    const good = await prove('alice', alice.secret, ch.challenge, ch.sessionKeyHash);
    await t.store.query("UPDATE zk_challenges SET expires_at = now() - interval '1 second' WHERE challenge_id = $1", [ch.challengeId]);
    const res = await post(t.app, '/v1/zk/login', { challengeId: ch.challengeId, ...good });
    assert.equal(res.statusCode, 401);
    assert.equal(problemOf(res).detail, 'login failed');
  });

  test('rotation: a proof of the old secret bound to the new commitment replaces it', async () => {
    const u = newUser('rotor');
    await register(t.app, u);
    const next = newUser('rotor');
    const res = await post(t.app, '/v1/zk/challenges', { username: 'rotor', newCommitment: next.commitment });
    const ch = JSON.parse(res.body) as { challengeId: string; challenge: string; sessionKeyHash: string; purpose: string };
    assert.equal(ch.purpose, 'rotate');
    assert.equal(ch.sessionKeyHash, rotationBinding(BigInt(next.commitment)).toString());
    const { proof, loginTag } = await prove('rotor', u.secret, ch.challenge, ch.sessionKeyHash);
    // A rotation proof is not a login, and needs the right username.
    assert.equal((await post(t.app, '/v1/zk/login', { challengeId: ch.challengeId, proof, loginTag })).statusCode, 401);
    assert.equal((await post(t.app, '/v1/zk/users/alice/commitment', { challengeId: ch.challengeId, proof, loginTag })).statusCode, 401);
    const ok = await post(t.app, '/v1/zk/users/rotor/commitment', { challengeId: ch.challengeId, proof, loginTag });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(JSON.parse(ok.body).commitment, next.commitment);
    // The old secret no longer logs in; the new one does.
    const c2 = await challenge(t.app, 'rotor', sessionKey(5));
    const old = await prove('rotor', u.secret, c2.challenge, c2.sessionKeyHash);
    assert.equal((await post(t.app, '/v1/zk/login', { challengeId: c2.challengeId, ...old })).statusCode, 401);
    const fresh = await prove('rotor', next.secret, c2.challenge, c2.sessionKeyHash);
    assert.equal((await post(t.app, '/v1/zk/login', { challengeId: c2.challengeId, ...fresh })).statusCode, 200);
  });

  test('registration is rate limited per client address', async () => {
    const small = await testApp({ ZK_REGISTER_PER_MINUTE: '3' });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await post(small.app, '/v1/zk/users', { username: `rl-${i}`, commitment: formatFieldElement(BigInt(i + 1)) })).statusCode);
      assert.deepEqual(codes, [201, 201, 201, 429, 429]);
      const rows = await small.store.query<{ n: number }>('SELECT count(*)::int AS n FROM zk_users');
      assert.equal(rows[0]!.n, 3);
    } finally {
      await small.close();
    }
  });
});

describe('two instances on one PostgreSQL', () => {
  let pg: TestPostgres;
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    pg = await startPostgres();
    // Separate stores (each app opens its own pool on the same database), as in a real deployment.
    const { openStore } = await import('../../src/store/index.ts');
    const sa = await openStore({ dataDir: '/nonexistent', databaseUrl: pg.url });
    const sb = await openStore({ dataDir: '/nonexistent', databaseUrl: pg.url });
    const { randomBytes } = await import('node:crypto');
    const { ADMIN_TOKEN } = await import('../support/app.ts');
    const secrets = { masterKey: new Uint8Array(randomBytes(32)), adminToken: ADMIN_TOKEN };
    a = await testApp({}, { store: sa, secrets });
    b = await testApp({}, { store: sb, secrets });
    a.close = ((orig) => async () => { await orig(); await sa.close(); })(a.close);
    b.close = ((orig) => async () => { await orig(); await sb.close(); })(b.close);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await pg?.stop();
    await releaseProver();
  });

  test('register on A, challenge on B, parallel logins on A and B: exactly one succeeds', async () => {
    const u = newUser('pg-user');
    await register(a.app, u);
    assert.equal((await post(b.app, '/v1/zk/users', { username: u.username, commitment: '7' })).statusCode, 409);
    for (let round = 0; round < 3; round++) {
      const ch = await challenge(b.app, u.username, sessionKey(40 + round));
      const { proof, loginTag } = await prove(u.username, u.secret, ch.challenge, ch.sessionKeyHash);
      const body = { challengeId: ch.challengeId, proof, loginTag };
      const res = await Promise.all([post(a.app, '/v1/zk/login', body), post(b.app, '/v1/zk/login', body), post(a.app, '/v1/zk/login', body), post(b.app, '/v1/zk/login', body)]);
      const codes = res.map((r) => r.statusCode);
      assert.equal(codes.filter((c) => c === 200).length, 1, `round ${round}: ${codes.join(',')}`);
      assert.equal(codes.filter((c) => c === 401).length, 3);
      // The token from either instance verifies on the other.
      const token = (JSON.parse(res.find((r) => r.statusCode === 200)!.body) as { accessToken: string }).accessToken;
      assert.equal((await a.app.ctx.tokens.verify(token)).sub, u.username);
      assert.equal((await b.app.ctx.tokens.verify(token)).sub, u.username);
    }
  });
});
