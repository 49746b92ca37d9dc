/**
 * The kex capability: the KexService on the identity key it requires (src/kex/api.ts), its
 * sweeper (prekey rotation, session and grant-key expiry), and envelope inner requests run
 * through the whole app (src/kex/runner.ts).
 */
import type { CapabilityPlugin } from '../context.ts';
import { deriveSubkey } from '../secrets.ts';
import { every } from '../http/periodic.ts';
import { findOperation, isJsonOnly, loadSpec } from '../http/openapi.ts';
import { addressPrefix } from '../workers/principal.ts';
import type { KexRequires } from './api.ts';
import { KexService } from './service.ts';
import { innerRunner } from './runner.ts';
import { kexHandlers } from './routes.ts';
import { chargerOf } from '../http/charge.ts';

/** Inner requests may reach only operations that take and return JSON (PROTOCOL.md §6): binary bodies are never encoded on the event loop. */
function jsonRoutesOnly(): (method: string, path: string) => boolean {
  const spec = loadSpec();
  const binary = new Set(spec.operations.filter((op) => !isJsonOnly(spec, op)).map((op) => op.operationId));
  return (method, path) => !binary.has(findOperation(spec, method, path)?.operationId ?? '');
}

/** The kex capability plugin; binds the kex operations, starts the sweeper, stops it on close. */
export const kexPlugin: CapabilityPlugin<KexRequires> = async (scope, { ctx, deps, bind }) => {
  const kex = new KexService({
    store: ctx.store, backend: ctx.backend, signer: deps.identity,
    registryKey: deriveSubkey(ctx.secrets.masterKey, 'pqzk kex instance registry v1'),
    respond: (input) => ctx.pool.run('kex.respond', input),
    envelopeAllowed: jsonRoutesOnly(),
    sessionState: ctx.config.kexSessionState,
    options: {
      prekeyRotationSeconds: ctx.config.prekeyRotationSeconds, prekeyGraceSeconds: ctx.config.prekeyGraceSeconds,
      sessionTtlSeconds: ctx.config.sessionTtlSeconds, grantKeySeconds: ctx.config.kexGrantKeySeconds,
      maxSessionsPerAddress: ctx.config.kexMaxSessionsPerAddress, maxSessions: ctx.config.kexMaxSessions, seqLeaseMs: ctx.config.kexSeqLeaseMs,
    },
  });
  await kex.start();
  ctx.kex = kex;
  const sweeper = every(ctx.config.kexSweepMs, () => kex.maintain(), (err) => ctx.log.warn({ err }, 'kex sweeper failed'));
  scope.addHook('onClose', async () => {
    await sweeper.stop();
    await kex.close();
  });
  const inject = scope.inject.bind(scope);
  await bind(scope, kexHandlers(kex, chargerOf(ctx), (req) => addressPrefix(req.ip), (req) => innerRunner(inject, req.ip, { maxResponseBytes: ctx.config.kexMaxInnerResponseBytes })));
};
