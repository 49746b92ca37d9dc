/**
 * The zk capability: checks the pinned verification key at start-up, publishes the circuit
 * artifacts, verifies proofs in the worker pool through a batcher, mints tokens with the token
 * minter it requires (src/zk/api.ts), sweeps expired challenges. Registration's rate limit is
 * the contract's `x-rate-limit` with ZK_REGISTER_PER_MINUTE as its maximum.
 */
import { currentScope, runInScope } from '../workers/request-scope.ts';
import type { CapabilityPlugin } from '../context.ts';
import { every } from '../http/periodic.ts';
import type { ZkRequires } from './api.ts';
import { loadLoginVerifier } from './verifier.ts';
import { VerifyBatcher } from './batcher.ts';
import { circuitInfo, loadArtifacts } from './artifacts.ts';
import { ZkService } from './service.ts';
import { zkHandlers } from './routes.ts';
import { chargerOf } from '../http/charge.ts';

const SWEEP_MS = 60_000;

/** The zk capability plugin; rejects at start-up when the verification key fails its pin or checks. */
export const zkPlugin: CapabilityPlugin<ZkRequires> = async (scope, { ctx, deps, bind }) => {
  // Start-up gate: the vk must match SHA256SUMS and the configured pin, and be a valid login key.
  const probe = await loadLoginVerifier(ctx.config.zkVkSha256 ? { expectedVkSha256: ctx.config.zkVkSha256 } : {});
  const vkSha256 = probe.vkSha256;
  await probe.close();
  const artifacts = loadArtifacts();

  const batcher = new VerifyBatcher(
    // One batch serves logins of many clients (each charged its login already): its own principal, no deadline.
    (items) => runInScope({ principal: 'zk:batch' }, () => ctx.pool.run('zk.verifyBatch', { vkSha256, items })),
    { maxBatch: ctx.config.zkBatchMax, maxWaitMs: ctx.config.zkBatchWaitMs, maxInFlight: ctx.pool.threads },
  );
  const zk = new ZkService({
    store: ctx.store,
    verify: (proof, signals) => { const scope = currentScope(); return batcher.verify(proof, signals, { deadline: scope?.deadline, signal: scope?.signal }); },
    tokens: deps.tokens,
    challengeTtlSeconds: ctx.config.zkChallengeTtlSeconds,
    tokenTtlSeconds: ctx.config.zkTokenTtlSeconds,
  });
  ctx.zk = zk;
  ctx.zkBatcher = batcher;

  const sweeper = every(SWEEP_MS, () => zk.sweep(), (err) => ctx.log.warn({ err }, 'zk challenge sweep failed'));
  // Queued proofs are refused at close; batches already in a worker end when the pool terminates.
  scope.addHook('onClose', async () => {
    await sweeper.stop();
    batcher.close();
  });

  await bind(scope, zkHandlers(zk, artifacts, circuitInfo(artifacts, ctx.config.zkChallengeTtlSeconds), chargerOf(ctx)), {
    rateLimitMax: { registerUser: ctx.config.zkRegisterPerMinute },
  });
};
