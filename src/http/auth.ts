/**
 * Authentication from the contract: every operation in openapi.yaml declares `security`.
 * `[]` = public; `[{adminToken: []}]` = admin only; `[{tenantToken: []}, {adminToken: []}]` =
 * a tenant or the admin (alternatives are OR, as in OpenAPI). One onRequest hook enforces it,
 * before validation, so unauthenticated input is never parsed further than the headers.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'admin' }
  | { kind: 'tenant'; tenantId: string; tokenId: string; confirmation?: string | undefined };

export type SecurityRequirement = Record<string, string[]>;

/** Verifies tenant access tokens; provided by the token service. Throws AppError('unauthorized'). */
export interface AccessTokenVerifier {
  verify(token: string): Promise<{ sub: string; jti: string; cnf?: string | undefined }>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison of the presented token with the admin token (hashes equalise lengths). */
export function isAdminToken(presented: string, adminToken: string): boolean {
  return timingSafeEqual(digest(presented), digest(adminToken));
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/.exec(header);
  if (!m) throw new AppError('unauthorized', 'malformed Authorization header; expected "Bearer <token>"');
  return m[1];
}

export function makeAuthenticator(opts: { adminToken: string; tokens: () => AccessTokenVerifier | undefined }) {
  return (security: SecurityRequirement[]) => {
    const schemes = new Set(security.flatMap((req) => Object.keys(req)));
    const isPublic = security.length === 0 || security.some((req) => Object.keys(req).length === 0);
    return async function authenticate(req: FastifyRequest): Promise<void> {
      req.principal = { kind: 'anonymous' };
      if (isPublic) return;
      const token = bearer(req);
      if (token === undefined) throw new AppError('unauthorized', 'this operation requires a bearer token');
      if (isAdminToken(token, opts.adminToken)) {
        if (!schemes.has('adminToken')) throw new AppError('forbidden', 'the admin token cannot be used for this operation');
        req.principal = { kind: 'admin' };
        return;
      }
      const verifier = opts.tokens();
      if (!verifier || !token.includes('.')) throw new AppError('unauthorized', 'invalid bearer token');
      const claims = await verifier.verify(token);
      if (!schemes.has('tenantToken')) throw new AppError('forbidden', 'this operation requires the admin token');
      req.principal = { kind: 'tenant', tenantId: claims.sub, tokenId: claims.jti, confirmation: claims.cnf };
    };
  };
}
