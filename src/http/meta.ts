/** The meta capability: getHealth, getReady, listAlgorithms. */
import { KEM_ALGORITHMS, SIGNATURE_ALGORITHMS, SIZES, isComposite, type Algorithm } from '../crypto/algorithms.ts';
import { NOBLE_SERVED } from '../crypto/routing.ts';
import type { Handlers } from './openapi.ts';
import type { AppContext, CapabilityPlugin } from '../context.ts';

const STANDARD: Record<string, string> = {
  'ML-KEM': 'FIPS 203', 'X-Wing': 'draft-connolly-cfrg-xwing-kem', 'ML-DSA': 'FIPS 204', 'SLH-DSA': 'FIPS 205',
  composite: 'draft-ietf-lamps-pq-composite-sigs-19',
};

/** Every algorithm with its sizes and what this instance's backend cannot do with it. */
export function algorithmInfo(ctx: Pick<AppContext, 'backend'>) {
  const all: Algorithm[] = [...KEM_ALGORITHMS, ...SIGNATURE_ALGORITHMS];
  return all.map((name) => {
    const s = SIZES[name];
    const composite = isComposite(name);
    const family = name === 'X-Wing' ? 'X-Wing' : composite ? 'composite' : name.split('-').slice(0, 2).join('-');
    // A composite's ML-DSA component is what a backend may be unable to do (native: deterministic signing).
    const unsupported = ctx.backend.unsupported.filter((u) => u.operation.includes(name) || u.operation.includes(family) || !/-/.test(u.operation)
      || (composite && u.operation.startsWith('ML-DSA deterministic')));
    return s.kind === 'kem'
      ? { name, kind: s.kind, standard: STANDARD[family], publicKeySize: s.publicKey, secretKeySize: s.secretKey, seedSize: s.seed,
          cipherTextSize: s.cipherText, sharedSecretSize: s.sharedSecret, unsupported }
      : { name, kind: s.kind, standard: STANDARD[family], publicKeySize: s.publicKey, secretKeySize: s.secretKey, seedSize: s.seed,
          signatureSize: s.signature, securityCategory: s.securityCategory, unsupported };
  });
}

/** Handlers of getHealth, getReady and listAlgorithms. */
export function metaHandlers(ctx: AppContext): Handlers {
  const servedByNoble = ctx.backend.name === 'native' ? NOBLE_SERVED.map((u) => ({ ...u })) : [];
  const algorithms = { backend: ctx.backend.name, algorithms: algorithmInfo(ctx), servedByNoble, costs: ctx.costs.table() };
  const serialized = JSON.stringify(algorithms);
  return {
    getHealth: async () => ({ status: 'ok' }),
    getReady: async (_req, reply) => {
      const ready = await ctx.store.ping();
      return reply.code(ready ? 200 : 503).send({ ready, store: ctx.store.kind });
    },
    // Static for the life of the process: serialized once (it is the largest public answer, ~20 KB).
    listAlgorithms: async (_req, reply) => reply.type('application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(serialized),
  };
}

/** The meta capability as a plugin (no dependencies). */
export const metaPlugin: CapabilityPlugin = async (scope, { ctx, bind }) => bind(scope, metaHandlers(ctx));
