/**
 * openapi.yaml is the single source of truth: this module reads it, binds every operation to
 * its handler by operationId (fastify-openapi-glue turns the yaml into routes, request
 * validation and response serialization), and enforces the declared security.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { FastifyInstance, RouteHandlerMethod, RouteShorthandOptions } from 'fastify';
import openapiGlue from 'fastify-openapi-glue';
import type { SecurityRequirement } from './auth.ts';

export const SPEC_PATH = new URL('../../openapi.yaml', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface Operation {
  operationId: string;
  method: string;
  path: string;
  security: SecurityRequirement[];
  /** Vendor extensions (x-*) of the operation. */
  extensions: Record<string, unknown>;
}

export interface Spec { raw: Record<string, unknown>; operations: Operation[] }

export function loadSpec(path: URL | string = SPEC_PATH): Spec {
  const raw = parse(readFileSync(path, 'utf8')) as { paths: Record<string, Record<string, Record<string, unknown>>>; security?: SecurityRequirement[] };
  const operations: Operation[] = [];
  for (const [p, item] of Object.entries(raw.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      if (typeof op.operationId !== 'string') throw new Error(`openapi.yaml: ${method.toUpperCase()} ${p} has no operationId`);
      if (!Array.isArray(op.security) && !Array.isArray(raw.security)) throw new Error(`openapi.yaml: ${op.operationId} declares no security`);
      operations.push({
        operationId: op.operationId,
        method: method.toUpperCase(),
        path: p,
        security: (op.security ?? raw.security) as SecurityRequirement[],
        extensions: Object.fromEntries(Object.entries(op).filter(([k]) => k.startsWith('x-'))),
      });
    }
  }
  return { raw, operations };
}

/** Methods the contract allows on a concrete URL path, for 405 answers. */
export function allowedMethods(spec: Spec, urlPath: string): string[] {
  const out = new Set<string>();
  for (const op of spec.operations) {
    const re = new RegExp(`^${op.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}|\{[^}]+\}/g, '[^/]+')}$`);
    if (re.test(urlPath)) out.add(op.method);
  }
  return [...out];
}

export type Handlers = Record<string, RouteHandlerMethod>;
export type Authenticate = (security: SecurityRequirement[]) => NonNullable<RouteShorthandOptions['onRequest']>;

/** Per-operation settings a capability adds to what the contract says (keyed by operationId). */
export interface BindOptions {
  /**
   * Configured maxima replacing the contract's `x-rate-limit.max` (the contract value is the
   * default). Only for operations that declare `x-rate-limit`: one mechanism, declared in one place.
   */
  rateLimitMax?: Record<string, number>;
  /** Route body limits in bytes (for uploads larger than BODY_LIMIT). */
  bodyLimit?: Record<string, number>;
}

const disagreement = (missing: string[], extra: string[]) =>
  new Error(`openapi.yaml and handlers disagree: missing handlers [${missing.join(', ')}], handlers without operation [${extra.join(', ')}]`);

/**
 * The part of the contract that some operations make up: their paths and methods only, with
 * every other top-level member (components, so $refs resolve) kept.
 */
export function subSpec(spec: Spec, operationIds: Iterable<string>): Spec {
  const ids = new Set(operationIds);
  const raw = structuredClone(spec.raw) as { paths?: Record<string, Record<string, unknown>> };
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [p, item] of Object.entries(raw.paths ?? {})) {
    const kept = Object.entries(item).filter(([k, op]) =>
      !(METHODS as readonly string[]).includes(k) || ids.has((op as { operationId?: string }).operationId ?? ''));
    if (kept.some(([k]) => (METHODS as readonly string[]).includes(k))) paths[p] = Object.fromEntries(kept);
  }
  return { raw: { ...raw, paths }, operations: spec.operations.filter((op) => ids.has(op.operationId)) };
}

/** Stops start-up unless the bound operations are exactly the contract's. */
export function assertAllBound(spec: Spec, bound: Iterable<string>): void {
  const ids = new Set(bound);
  const missing = spec.operations.filter((op) => !ids.has(op.operationId)).map((op) => op.operationId);
  const extra = [...ids].filter((id) => !spec.operations.some((op) => op.operationId === id));
  if (missing.length || extra.length) throw disagreement(missing, extra);
}

/**
 * Registers every operation of `spec` (usually a capability's subSpec) on `scope`, with the
 * contract's security and `x-rate-limit`; a missing or extra handler stops start-up.
 */
export async function bindOperations(scope: FastifyInstance, spec: Spec, handlers: Handlers, authenticate: Authenticate, opts: BindOptions = {}): Promise<void> {
  assertAllBound(spec, Object.keys(handlers));
  const byId = new Map(spec.operations.map((op) => [op.operationId, op]));
  for (const [what, map] of [['rateLimitMax', opts.rateLimitMax], ['bodyLimit', opts.bodyLimit]] as const) {
    const unknown = Object.keys(map ?? {}).filter((id) => !byId.has(id) || (what === 'rateLimitMax' && !byId.get(id)!.extensions['x-rate-limit']));
    if (unknown.length) throw new Error(`${what} names operations that ${what === 'rateLimitMax' ? 'declare no x-rate-limit' : 'are not bound here'}: [${unknown.join(', ')}]`);
  }
  await scope.register(openapiGlue, {
    specification: structuredClone(spec.raw),
    // glue spreads this over the route it builds (method, url, schema come from the yaml).
    operationResolver: ((operationId: string) => {
      const op = byId.get(operationId)!;
      // `x-rate-limit: {max, timeWindow}` on an operation replaces the global @fastify/rate-limit for that route.
      const declared = op.extensions['x-rate-limit'] as Record<string, unknown> | undefined;
      const max = opts.rateLimitMax?.[operationId];
      const rateLimit = declared ? { ...declared, ...(max !== undefined ? { max } : {}) } : undefined;
      const bodyLimit = opts.bodyLimit?.[operationId];
      return {
        handler: handlers[operationId]!,
        onRequest: authenticate(op.security),
        ...(bodyLimit !== undefined ? { bodyLimit } : {}),
        config: { operationId, ...op.extensions, ...(rateLimit ? { rateLimit } : {}) },
      };
    }) as never,
  });
}
