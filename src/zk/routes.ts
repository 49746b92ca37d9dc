/**
 * zk handlers (thin) and set-up: checks the pinned verification key at start-up, publishes the
 * circuit artifacts, verifies proofs in the worker pool through a batcher, mints tokens with the
 * keys capability's token service (ctx.tokens).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.ts';
import type { Handlers } from '../http/openapi.ts';
import { AppError } from '../errors.ts';
import { loadLoginVerifier } from './verifier.ts';
import { VerifyBatcher } from './batcher.ts';
import { circuitInfo, loadArtifacts, type ArtifactName } from './artifacts.ts';
import { ZkService, type ChallengeRequest, type LoginRequest, type TokenMinter } from './service.ts';

declare module '../context.ts' {
  interface AppContext {
    zk: ZkService;
    zkBatcher: VerifyBatcher;
  }
}

const SWEEP_MS = 60_000;

export async function setupZk(ctx: AppContext, app: FastifyInstance): Promise<Handlers> {
  const tokens = (ctx as AppContext & { tokens?: TokenMinter }).tokens;
  if (!tokens) throw new Error('the zk capability needs the token service (ctx.tokens from the keys capability)');

  // Start-up gate: the vk must match SHA256SUMS and the configured pin, and be a valid login key.
  const probe = await loadLoginVerifier(ctx.config.zkVkSha256 ? { expectedVkSha256: ctx.config.zkVkSha256 } : {});
  const vkSha256 = probe.vkSha256;
  await probe.close();
  const artifacts = loadArtifacts();
  const info = circuitInfo(artifacts, ctx.config.zkChallengeTtlSeconds);

  const batcher = new VerifyBatcher(
    (items) => ctx.pool.run('zkVerifyBatch', { vkSha256, items }),
    { maxBatch: ctx.config.zkBatchMax, maxWaitMs: ctx.config.zkBatchWaitMs, maxInFlight: ctx.pool.threads },
  );
  const zk = new ZkService({
    store: ctx.store,
    verify: (proof, signals) => batcher.verify(proof, signals),
    tokens,
    challengeTtlSeconds: ctx.config.zkChallengeTtlSeconds,
    tokenTtlSeconds: ctx.config.zkTokenTtlSeconds,
  });
  ctx.zk = zk;
  ctx.zkBatcher = batcher;

  const timer = setInterval(() => {
    zk.sweep().catch((err: unknown) => ctx.log.warn({ err }, 'zk challenge sweep failed'));
  }, SWEEP_MS);
  timer.unref();
  // Queued proofs are refused at close; batches already in a worker end when the pool terminates.
  app.addHook('onClose', async () => {
    clearInterval(timer);
    batcher.close();
  });

  // Registration is rate limited per client address (in addition to the global limit), per instance.
  const registerLimit = app.createRateLimit({
    max: ctx.config.zkRegisterPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req: FastifyRequest) => `zk-register|${req.ip}`,
  });

  return {
    getCircuit: async (_req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'public, max-age=300');
      return info;
    },
    getCircuitArtifact: async (req: FastifyRequest, reply: FastifyReply) => {
      const a = artifacts.get((req.params as { artifact: string }).artifact as ArtifactName);
      if (!a) throw new AppError('not_found', 'no such circuit artifact');
      const etag = `"${a.sha256}"`;
      reply.header('etag', etag).header('cache-control', 'public, max-age=300').header('x-content-sha256', a.sha256);
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.type('application/octet-stream').send(Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength));
    },
    registerUser: async (req: FastifyRequest, reply: FastifyReply) => {
      const limit = await registerLimit(req);
      if (!limit.isAllowed && limit.isExceeded) {
        reply.header('retry-after', String(limit.ttlInSeconds));
        throw new AppError('rate_limited', `at most ${limit.max} registrations per minute`, { retryAfter: limit.ttlInSeconds });
      }
      const b = req.body as { username: string; commitment: string };
      return reply.code(201).send(await zk.register(b.username, b.commitment));
    },
    createChallenge: async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return reply.code(201).send(await zk.createChallenge(req.body as ChallengeRequest));
    },
    login: async (req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return zk.login(req.body as LoginRequest);
    },
    rotateCommitment: async (req: FastifyRequest) => zk.rotate((req.params as { username: string }).username, req.body as LoginRequest),
  } as unknown as Handlers;
}
