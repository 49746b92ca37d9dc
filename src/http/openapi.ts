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
type Authenticate = (security: SecurityRequirement[]) => NonNullable<RouteShorthandOptions['onRequest']>;

/** Registers every operation of the spec; a missing or extra handler stops start-up. */
export async function bindOperations(app: FastifyInstance, spec: Spec, handlers: Handlers, authenticate: Authenticate): Promise<void> {
  const byId = new Map(spec.operations.map((op) => [op.operationId, op]));
  const missing = spec.operations.filter((op) => !handlers[op.operationId]).map((op) => op.operationId);
  const extra = Object.keys(handlers).filter((id) => !byId.has(id));
  if (missing.length || extra.length) {
    throw new Error(`openapi.yaml and handlers disagree: missing handlers [${missing.join(', ')}], handlers without operation [${extra.join(', ')}]`);
  }
  await app.register(openapiGlue, {
    specification: structuredClone(spec.raw),
    // glue spreads this over the route it builds (method, url, schema come from the yaml).
    operationResolver: ((operationId: string) => {
      const op = byId.get(operationId)!;
      return {
        handler: handlers[operationId]!,
        onRequest: authenticate(op.security),
        // `x-rate-limit: {max, timeWindow}` on an operation tightens @fastify/rate-limit for that route.
        config: { operationId, ...op.extensions, ...(op.extensions['x-rate-limit'] ? { rateLimit: op.extensions['x-rate-limit'] } : {}) },
      };
    }) as never,
  });
}
