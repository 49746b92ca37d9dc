/**
 * The kex capability: the KexService on the identity key it requires (src/kex/api.ts), its
 * sweeper (prekey rotation, session and grant-key expiry), and envelope inner requests run
 * through the whole app (src/kex/runner.ts).
 */
import type { CapabilityPlugin } from '../context.ts';
import { deriveSubkey } from '../secrets.ts';
import { every } from '../http/periodic.ts';
import type { KexRequires } from './api.ts';
import { KexService } from './service.ts';
import { innerRunner } from './runner.ts';
import { kexHandlers } from './routes.ts';

/** Sweeper period, milliseconds. */
const TICK_MS = 2000;

export const kexPlugin: CapabilityPlugin<KexRequires> = async (scope, { ctx, deps, bind }) => {
  const kex = new KexService({
    store: ctx.store, backend: ctx.backend, signer: deps.identity,
    registryKey: deriveSubkey(ctx.secrets.masterKey, 'pqzk kex instance registry v1'),
    respond: (input) => ctx.pool.run('kex.respond', input),
    options: {
      prekeyRotationSeconds: ctx.config.prekeyRotationSeconds, prekeyGraceSeconds: ctx.config.prekeyGraceSeconds,
      sessionTtlSeconds: ctx.config.sessionTtlSeconds, grantKeySeconds: ctx.config.kexGrantKeySeconds,
    },
  });
  await kex.start();
  ctx.kex = kex;
  const sweeper = every(TICK_MS, () => kex.maintain(), (err) => ctx.log.warn({ err }, 'kex sweeper failed'));
  scope.addHook('onClose', async () => {
    await sweeper.stop();
    await kex.close();
  });
  const inject = scope.inject.bind(scope);
  await bind(scope, kexHandlers(kex, (req) => innerRunner(inject, req.ip)));
};
