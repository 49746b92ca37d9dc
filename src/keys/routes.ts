/** Handlers of the keys capability (thin: parse, authorize by principal, call the service). */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Handlers } from '../http/openapi.ts';
import type { Principal } from '../http/auth.ts';
import { AppError } from '../errors.ts';
import { ADMIN_OWNER, tenantOwner, type KeyService } from './service.ts';
import type {
  DataKeyRequest, DecryptItem, DecryptRequest, EncryptRequest, ImportRequest, KeyPatch, LifecycleRequest, PublicKeyFormat, PrivateKeyFormat, SignRequest, VerifyRequest, VerifyWithPublicKeyRequest,
} from './service.ts';
import type { TokenService } from './tokens.ts';
import type { Charge } from '../http/charge.ts';
import { isSignatureAlgorithm } from '../crypto/index.ts';

type Req = FastifyRequest<{ Params: { name: string }; Querystring: Record<string, string | number | undefined>; Body: Record<string, unknown> }>;

/** The owner a request acts for: a tenant is always itself; the admin is `admin` unless it names an owner. */
function ownerOf(principal: Principal, requested: unknown): string {
  if (principal.kind === 'tenant') {
    const own = tenantOwner(principal.tenantId);
    // Naming another owner looks exactly like a missing key (no existence leak).
    if (requested !== undefined && requested !== own) throw new AppError('not_found', 'no such key');
    return own;
  }
  if (principal.kind === 'admin') return typeof requested === 'string' ? requested : ADMIN_OWNER;
  throw new AppError('unauthorized', 'this operation requires a bearer token');
}

/** `charge` bills anonymous verifyWithPublicKey requests to their address's CPU budget. */
export function keysHandlers(keys: KeyService, tokens: Pick<TokenService, 'jwks'>, charge: Charge): Handlers {
  const owner = (req: Req) => ownerOf(req.principal, req.query.owner);
  return {
    getJwks: async (_req: FastifyRequest, reply: FastifyReply) => {
      reply.header('cache-control', 'public, max-age=300');
      return tokens.jwks();
    },
    createKey: async (req: Req, reply: FastifyReply) => {
      const b = req.body as unknown as { name: string; algorithm: string; exportable?: boolean; decapsulateAllowed?: boolean; publicKey?: string | Record<string, unknown> } & LifecycleRequest;
      return reply.code(201).send(await keys.create(owner(req), b));
    },
    listKeys: async (req: Req) => {
      const scope = req.principal.kind === 'admin' ? (req.query.owner as string | undefined) ?? null : owner(req);
      return keys.list(scope, { limit: req.query.limit as number | undefined, after: req.query.after as string | undefined });
    },
    getKey: async (req: Req) => keys.get(owner(req), req.params.name),
    updateKey: async (req: Req) => keys.update(owner(req), req.params.name, req.body as KeyPatch),
    destroyKeyVersion: async (req: Req) => keys.destroyVersion(owner(req), req.params.name, Number((req.params as unknown as { version: string }).version)),
    deleteKey: async (req: Req, reply: FastifyReply) => {
      await keys.delete(owner(req), req.params.name);
      return reply.code(204).send();
    },
    rotateKey: async (req: Req) => keys.rotate(owner(req), req.params.name),
    getPublicKey: async (req: Req) => keys.publicKey(owner(req), req.params.name, {
      version: req.query.version as number | undefined, format: req.query.format as PublicKeyFormat | undefined,
    }),
    exportKey: async (req: Req, reply: FastifyReply) => {
      const b = req.body as { version?: number; format?: PrivateKeyFormat };
      reply.header('cache-control', 'no-store');
      return keys.export(owner(req), req.params.name, b);
    },
    sign: async (req: Req) => keys.sign(owner(req), req.params.name, req.body as SignRequest),
    verify: async (req: Req) => keys.verify(owner(req), req.params.name, req.body as unknown as VerifyRequest),
    encrypt: async (req: Req) => keys.encrypt(owner(req), req.params.name, req.body as EncryptRequest),
    decrypt: async (req: Req, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return keys.decrypt(owner(req), req.params.name, req.body as DecryptRequest);
    },
    rewrap: async (req: Req) => keys.rewrap(owner(req), req.params.name, req.body as DecryptItem),
    generateDataKey: async (req: Req, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return keys.generateDataKey(owner(req), req.params.name, req.body as DataKeyRequest);
    },
    decapsulate: async (req: Req, reply: FastifyReply) => {
      reply.header('cache-control', 'no-store');
      return keys.decapsulate(owner(req), req.params.name, req.body as { ciphertext: string });
    },
    createImportJob: async (req: Req, reply: FastifyReply) =>
      reply.code(201).send(await keys.createImportJob(owner(req), req.body as { ttlSeconds?: number })),
    getImportJob: async (req: Req) => keys.getImportJob(owner(req), (req.params as unknown as { id: string }).id),
    importKeyVersion: async (req: Req) => keys.importKeyVersion(owner(req), req.params.name, req.body as unknown as ImportRequest),
    verifyWithPublicKey: async (req: Req) => {
      const b = req.body as unknown as VerifyWithPublicKeyRequest;
      if (isSignatureAlgorithm(b.algorithm)) {
        charge(req, { op: 'verifyWithPublicKey', algorithm: b.algorithm, messageBytes: Math.floor(((b.message ?? '').length * 3) / 4), prehash: b.prehash !== undefined || b.mu !== undefined });
      }
      return keys.verifyWithPublicKey(b);
    },
  } as unknown as Handlers;
}
