/**
 * openapi.yaml is the single source of truth: this module reads it, binds every operation to
 * its handler by operationId (fastify-openapi-glue turns the yaml into routes, request
 * validation and response serialization), and enforces the declared security.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod, RouteShorthandOptions } from 'fastify';
import { AppError } from '../errors.ts';
import openapiGlue from 'fastify-openapi-glue';
import type { SecurityRequirement } from './auth.ts';

/** Location of the contract, openapi.yaml at the repository root. */
export const SPEC_PATH = new URL('../../openapi.yaml', import.meta.url);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** One operation of the contract, as read from openapi.yaml. */
export interface Operation {
  operationId: string;
  method: string;
  path: string;
  security: SecurityRequirement[];
  /** Vendor extensions (x-*) of the operation. */
  extensions: Record<string, unknown>;
  /** Media types the request body may have (empty: the operation takes no body). */
  requestMediaTypes: string[];
}

/** The parsed contract: the raw document and its operations. */
export interface Spec { raw: Record<string, unknown>; operations: Operation[] }

/** Reads and parses openapi.yaml (or `path`); throws when it cannot be read or parsed. */
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
        requestMediaTypes: Object.keys((op.requestBody as { content?: object } | undefined)?.content ?? {}).map((t) => t.toLowerCase()),
      });
    }
  }
  return { raw, operations };
}

const patterns = new Map<string, RegExp>();
/** The regular expression of a path template (`/v1/keys/{name}` → `^/v1/keys/[^/]+$`), compiled once. */
function pathPattern(template: string): RegExp {
  let re = patterns.get(template);
  if (!re) patterns.set(template, re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}|\{[^}]+\}/g, '[^/]+')}$`));
  return re;
}

/** Methods the contract allows on a concrete URL path, for 405 answers. */
export function allowedMethods(spec: Spec, urlPath: string): string[] {
  const out = new Set<string>();
  for (const op of spec.operations) if (pathPattern(op.path).test(urlPath)) out.add(op.method);
  return [...out];
}

/** The operation a method and concrete URL path (no query) reach, if any. */
export function findOperation(spec: Spec, method: string, urlPath: string): Operation | undefined {
  return spec.operations.find((op) => op.method === method && pathPattern(op.path).test(urlPath));
}

/**
 * Whether an operation takes and returns JSON only (request body and every declared response):
 * what an envelope can carry without encoding binary bodies on the event loop.
 */
export function isJsonOnly(spec: Spec, op: Operation): boolean {
  const raw = spec.raw as { paths: Record<string, Record<string, { requestBody?: { content?: object }; responses?: Record<string, { content?: object; $ref?: string }> }>> };
  const o = raw.paths[op.path]?.[op.method.toLowerCase()];
  const json = (content: object | undefined) => content === undefined || Object.keys(content).every((t) => /^application\/([a-z.+-]*\+)?json$/.test(t));
  return json(o?.requestBody?.content) && Object.values(o?.responses ?? {}).every((r) => json(r.content));
}

/** Route handlers keyed by operationId. */
export type Handlers = Record<string, RouteHandlerMethod>;
/** Builds the onRequest guard that enforces an operation's security requirements. */
export type Authenticate = (security: SecurityRequirement[]) => NonNullable<RouteShorthandOptions['onRequest']>;

/** The per-route request guards the app supplies: authentication, and the CPU-budget gate of `x-cpu-budget` operations. */
export interface Guards {
  authenticate: Authenticate;
  /** Runs before the body is read on operations that declare `x-cpu-budget: true`. */
  budgetGate?: (req: FastifyRequest) => void;
  /**
   * The audit capture (src/http/audit-capture.ts): an `onSend` hook for each audited operation,
   * undefined for the others. Installed here so that every capability's operations are captured
   * by one mechanism.
   */
  audit?: (op: Operation) => NonNullable<RouteShorthandOptions['onSend']> | undefined;
}

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

/**
 * A request with a body must carry one of the media types its operation declares (415 otherwise),
 * checked before any parser runs: a JSON operation never receives a string or a Buffer.
 */
function strictMediaType(op: Operation) {
  const allowed = new Set(op.requestMediaTypes);
  const list = op.requestMediaTypes.length > 0 ? op.requestMediaTypes.join(' or ') : 'no body';
  // Callback style (no promise per request): this runs on every request of the operation.
  return (req: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
    const length = req.headers['content-length'];
    const hasBody = length !== undefined ? length !== '0' : req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) { done(); return; }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (allowed.has(type)) { done(); return; }
    done(new AppError('unsupported_media_type', `${op.operationId} accepts ${list}, not ${type === '' ? 'a body without Content-Type' : type}`));
  };
}

/** The budget gate as a hook. (Closing the refused connection was measured: reconnect churn cost more than it saved.) */
function budgetGateHook(gate: (req: FastifyRequest) => void) {
  return async (req: FastifyRequest): Promise<void> => gate(req);
}

/** Every media type named under a `content` member of the operations' paths and the shared responses. */
function mediaTypesIn(spec: Spec): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v !== 'object' || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      if (k === 'content' && typeof child === 'object' && child !== null) for (const t of Object.keys(child)) out.add(t);
      walk(child);
    }
  };
  const raw = spec.raw as { paths?: unknown; components?: { responses?: unknown } };
  walk(raw.paths);
  walk(raw.components?.responses);
  return out;
}

/**
 * fastify-openapi-glue warns about every media type of the contract without a body parser, response
 * types included (problem+json, octet-stream answers). Those get a parser that refuses: it is never
 * reached, strictMediaType answers 415 for undeclared request types first.
 */
function refuseResponseOnlyMediaTypes(scope: FastifyInstance, spec: Spec): void {
  for (const type of mediaTypesIn(spec)) {
    if (scope.hasContentTypeParser(type)) continue;
    scope.addContentTypeParser(type, (_req, _body, done) => done(new AppError('unsupported_media_type', `${type} is not accepted as a request body`), undefined));
  }
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
export async function bindOperations(scope: FastifyInstance, spec: Spec, handlers: Handlers, guards: Guards, opts: BindOptions = {}): Promise<void> {
  assertAllBound(spec, Object.keys(handlers));
  const byId = new Map(spec.operations.map((op) => [op.operationId, op]));
  for (const [what, map] of [['rateLimitMax', opts.rateLimitMax], ['bodyLimit', opts.bodyLimit]] as const) {
    const unknown = Object.keys(map ?? {}).filter((id) => !byId.has(id) || (what === 'rateLimitMax' && !byId.get(id)!.extensions['x-rate-limit']));
    if (unknown.length) throw new Error(`${what} names operations that ${what === 'rateLimitMax' ? 'declare no x-rate-limit' : 'are not bound here'}: [${unknown.join(', ')}]`);
  }
  refuseResponseOnlyMediaTypes(scope, spec);
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
      const onSend = guards.audit?.(op);
      return {
        handler: handlers[operationId]!,
        // The media type first: a 415 says nothing about the caller, so it need not wait for auth.
        onRequest: [
          strictMediaType(op),
          ...(op.extensions['x-cpu-budget'] === true && guards.budgetGate ? [budgetGateHook(guards.budgetGate)] : []),
          guards.authenticate(op.security),
        ],
        ...(bodyLimit !== undefined ? { bodyLimit } : {}),
        ...(onSend ? { onSend } : {}),
        config: { operationId, ...op.extensions, ...(rateLimit ? { rateLimit } : {}) },
      };
    }) as never,
  });
}
