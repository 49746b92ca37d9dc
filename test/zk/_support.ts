/** Shared by the zk service tests: proving with the committed artifacts, request helpers. */
import { join } from 'node:path';
import * as snarkjs from 'snarkjs';
import type { Groth16Proof } from 'snarkjs';
import type { FastifyInstance } from 'fastify';
import { commitment, formatFieldElement, loginTag, randomFieldElement, usernameSalt } from '../../src/zk/poseidon.ts';

const ART = new URL('../../circuits/artifacts/', import.meta.url).pathname;

export interface User { username: string; secret: bigint; commitment: string }

export function newUser(username: string): User {
  const secret = randomFieldElement();
  return { username, secret, commitment: formatFieldElement(commitment(secret, usernameSalt(username))) };
}

/**
 * Proving runs multi-threaded (snarkjs's shared worker-thread curve): the app under test shares this
 * process, and a ~1 s single-threaded prove would stall its event loop (under-pressure → 503).
 * Call releaseProver() in after() so the worker threads end.
 */
export async function releaseProver(): Promise<void> {
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
}

/** A proof of `secret` (salt derived from `username`) for the given challenge values. */
export async function prove(username: string, secret: bigint, challenge: string, skh: string): Promise<{ proof: Groth16Proof; loginTag: string }> {
  const input = { secret: secret.toString(), salt: usernameSalt(username).toString(), challenge, sessionKeyHash: skh };
  const { proof, publicSignals } = await snarkjs.groth16.fullProve(input, join(ART, 'login.wasm'), join(ART, 'login.zkey'), undefined, undefined, { singleThread: false });
  if (publicSignals[1] !== loginTag(secret, BigInt(challenge), BigInt(skh)).toString()) throw new Error('loginTag mismatch');
  const { pi_a, pi_b, pi_c, protocol, curve } = proof;
  return { proof: { pi_a, pi_b, pi_c, protocol, curve }, loginTag: publicSignals[1]! };
}

export const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: payload as object, headers });

export interface Challenge { challengeId: string; challenge: string; sessionKeyHash: string; purpose: string; expiresAt: string; expiresIn: number }

export async function register(app: FastifyInstance, u: User): Promise<void> {
  const res = await post(app, '/v1/zk/users', { username: u.username, commitment: u.commitment });
  if (res.statusCode !== 201) throw new Error(`register ${u.username}: ${res.statusCode} ${res.body}`);
}

export async function challenge(app: FastifyInstance, username: string, sessionPublicKey: Uint8Array): Promise<Challenge> {
  const res = await post(app, '/v1/zk/challenges', { username, sessionPublicKey: Buffer.from(sessionPublicKey).toString('base64url') });
  if (res.statusCode !== 201) throw new Error(`challenge: ${res.statusCode} ${res.body}`);
  return JSON.parse(res.body) as Challenge;
}

/** Session public key bytes for tests (any bytes; the token is bound to their SHA-256). */
export const sessionKey = (seed: number): Uint8Array => new Uint8Array(32).map((_, i) => (seed * 31 + i) & 0xff);
