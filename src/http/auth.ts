/**
 * Authentication from the contract: every operation in openapi.yaml declares `security`.
 * `[]` = public; `[{adminToken: []}]` = admin only; `[{tenantToken: []}, {adminToken: []}]` =
 * a tenant or the admin (alternatives are OR, as in OpenAPI). One onRequest hook enforces it,
 * before validation, so unauthenticated input is never parsed further than the headers.
 */
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { base64urlEncode, constantTimeEqual, getBackend } from '../crypto/index.ts';

/** Who made a request (req.principal): nobody, the admin, or a tenant with its token id and optional cnf thumbprint. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'admin' }
  | { kind: 'tenant'; tenantId: string; tokenId: string; confirmation?: string | undefined };

/** One OpenAPI security requirement object: scheme name to scopes ({} = public). */
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

const backend = getBackend('native');
const utf8 = new TextEncoder();
const digest = (s: string): Uint8Array => backend.hash('SHA-256', utf8.encode(s));

/** Constant-time comparison of the presented token with the admin token (hashes equalise lengths). */
export function isAdminToken(presented: string, adminToken: string): boolean {
  return constantTimeEqual(digest(presented), digest(adminToken));
}

/** Whether an Authorization header is `Bearer <the admin token>` (constant time). */
export function isAdminBearer(header: string | undefined, adminToken: string): boolean {
  const m = typeof header === 'string' ? /^Bearer (\S{1,8192})$/.exec(header) : null;
  return m !== null && isAdminToken(m[1]!, adminToken);
}

/**
 * Session binding of access tokens (docs/PROTOCOL.md "Token binding"). A token with cnf {skt} is
 * accepted only on an inner request of an encrypted session whose X-Wing client public key hashes
 * to skt. The envelope runner (src/kex/runner.ts) tells this hook which session an inner request
 * belongs to with an internal header `x-pqzk-session-binding: <secret>.<thumbprint>`, where
 * <secret> is a random value drawn once per process and never sent anywhere: an outer client
 * cannot produce it. The hook checks it in constant time and deletes the header; an outer request
 * carrying the header with a wrong secret is refused (401), whatever the operation.
 */
export const SESSION_BINDING_HEADER = 'x-pqzk-session-binding';
const BINDING_SECRET = base64urlEncode(backend.randomBytes(32));
const BINDING_VALUE = /^([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

/** The internal header value that binds an inner request to a session's client key thumbprint. */
export function sessionBindingValue(clientKeyThumbprint: string): string {
  return `${BINDING_SECRET}.${clientKeyThumbprint}`;
}

/** Reads, checks and removes the internal binding header; returns the bound thumbprint if any. */
function takeSessionBinding(req: FastifyRequest): string | undefined {
  const value = req.headers[SESSION_BINDING_HEADER];
  if (value === undefined) return undefined;
  delete req.headers[SESSION_BINDING_HEADER];
  const m = typeof value === 'string' ? BINDING_VALUE.exec(value) : null;
  if (!m || !constantTimeEqual(digest(m[1]!), digest(BINDING_SECRET))) throw new AppError('unauthorized', `invalid ${SESSION_BINDING_HEADER} header (internal; never send it)`);
  return m[2];
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,8192})$/.exec(header);
  if (!m) throw new AppError('unauthorized', 'malformed Authorization header; expected "Bearer <token>"');
  return m[1];
}

/**
 * Builds, per operation's `security`, an onRequest hook that sets req.principal.
 *
 * @throws AppError `unauthorized` (missing, malformed, invalid or wrongly bound token), `forbidden` (valid token of the wrong scheme).
 */
export function makeAuthenticator(opts: { adminToken: string; tokens: () => AccessTokenVerifier | undefined }) {
  return (security: SecurityRequirement[]) => {
    const schemes = new Set(security.flatMap((req) => Object.keys(req)));
    const isPublic = security.length === 0 || security.some((req) => Object.keys(req).length === 0);
    return async function authenticate(req: FastifyRequest): Promise<void> {
      req.principal = { kind: 'anonymous' };
      const boundThumbprint = takeSessionBinding(req);
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
      if (claims.cnf !== undefined && (boundThumbprint === undefined || !constantTimeEqual(digest(claims.cnf), digest(boundThumbprint)))) {
        throw new AppError('unauthorized', 'token is bound to a session key: use it only inside the encrypted session opened with that key');
      }
      if (!schemes.has('tenantToken')) throw new AppError('forbidden', 'this operation requires the admin token');
      req.principal = { kind: 'tenant', tenantId: claims.sub, tokenId: claims.jti, confirmation: claims.cnf };
    };
  };
}
