/**
 * The keys capability: attaches ctx.keys, ctx.systemKeys, ctx.tokens and the tenant token
 * verifier (src/keys/api.ts), runs the import-job and automatic-rotation sweepers, wipes cached key
 * material at close, binds the keys operations.
 */
import type { CapabilityPlugin } from '../context.ts';
import { KeyService } from './service.ts';
import { TokenService } from './tokens.ts';
import { createSystemKeys } from './system.ts';
import { keysHandlers } from './routes.ts';
import { chargerOf } from '../http/charge.ts';
import { every } from '../http/periodic.ts';
import { auditRotations } from './audit-events.ts';

/** Expired import jobs (and their wrapped private keys) are deleted at least this often. */
const IMPORT_SWEEP_MS = 60_000;

export const keysPlugin: CapabilityPlugin = async (scope, { ctx, bind }) => {
  const keys = new KeyService(ctx);
  ctx.keys = keys;
  const sweeper = every(IMPORT_SWEEP_MS, () => keys.sweepImportJobs(), (err) => ctx.log.warn({ err }, 'import-job sweep failed'));
  // Automatic rotation (rotation.ts): every instance sweeps; a due rotation is claimed by exactly one.
  // The audit capability is set up after this one; its sink is read when a sweep has something to record.
  const sweeperId = crypto.randomUUID(); // names this instance's sweeper in its records' requestId
  const rotations = every(ctx.config.keyRotationSweepMs, async () => {
    const { events } = await keys.sweepRotations();
    await auditRotations(ctx.audit, events, sweeperId, (obj, msg) => ctx.log.warn(obj, msg));
  }, (err) => ctx.log.warn({ err }, 'key rotation sweep failed'));
  scope.addHook('onClose', async () => { await sweeper.stop(); await rotations.stop(); keys.close(); });
  ctx.systemKeys = await createSystemKeys(keys);
  ctx.tokens = new TokenService(ctx, keys);
  ctx.tokenVerifier = ctx.tokens;
  await bind(scope, keysHandlers(keys, ctx.tokens, chargerOf(ctx)));
};
