/**
 * The request scope: who asked for the CPU work the pool is about to run, by when, and whether the
 * client is still there, without plumbing those through every service. The HTTP layer enters a
 * scope per request (`registerRequestScope`); the pool reads `currentScope()` when a task is
 * submitted and hands principal, deadline and signal to the fair scheduler. Work started outside
 * any request (sweepers, prekey rotation, start-up) has no scope: the pool should then use
 * principal 'system' and no deadline, or the caller wraps it in `runInScope({...}, fn)` (e.g. the
 * zk batcher, whose one task serves logins of several principals, or a long PIR hint computation
 * that must not inherit the upload request's short deadline).
 *
 * How the HTTP layer enters it (what `registerRequestScope` does, the @fastify/request-context
 * pattern): a root `onRequest` hook runs the rest of the request inside `als.run(scope, …)` through
 * an AsyncResource, and a `preValidation` hook re-enters that resource, because the body arrives in
 * socket events that belong to the connection, not to the request. (A bare `als.enterWith` in
 * onRequest would leak the scope to the next request on a keep-alive connection and be lost after
 * body parsing.) The principal is read lazily, since authentication (a route-level onRequest hook)
 * runs after the root hook. Inner requests of the kex envelope (app.inject from inside an outer
 * handler) inherit the outer request's deadline and abort signal.
 *
 * Server-only module (node:async_hooks, fastify types).
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalKey } from './principal.ts';

/** Who the CPU work is for, by when, and whether the client is still there. */
export interface RequestScope {
  /** principalKey(…): `tenant:<id>`, `admin`, `anon:<prefix>`, or e.g. `system` for background work. */
  readonly principal: string;
  /** Absolute deadline for CPU work, ms since the epoch (Date.now); absent = none. */
  readonly deadline?: number | undefined;
  /** Aborted when the client goes away before the response is sent. */
  readonly signal?: AbortSignal | undefined;
}

const als = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` (and everything it starts asynchronously) inside `scope`. */
export function runInScope<T>(scope: RequestScope, fn: () => T): T {
  return als.run(scope, fn);
}

/** The scope of the work being done now, if any. */
export function currentScope(): RequestScope | undefined {
  return als.getStore();
}

/** Enters `scope` for the rest of the current synchronous execution and what it starts (tests, scripts). */
export function enterScope(scope: RequestScope): void {
  als.enterWith(scope);
}

/** Options of registerRequestScope. */
export interface RequestScopeOptions {
  /** Deadline of a request's CPU work, ms from its arrival (SCHED_DEADLINE_MS). */
  deadlineMs: number;
  /** Clock (default Date.now); must be the scheduler's clock. */
  now?: () => number;
}

const resources = new WeakMap<FastifyRequest, AsyncResource>();
/** Operations that never run worker tasks (health and readiness probes, the static algorithm list). */
const NO_CPU_WORK = new Set(['getHealth', 'getReady', 'listAlgorithms']);

/**
 * Adds the root hooks that give every request a scope. Call it on the root instance before the
 * routes are registered (hooks apply to routes registered after them).
 */
export function registerRequestScope(app: FastifyInstance, opts: RequestScopeOptions): void {
  const now = opts.now ?? Date.now;
  app.addHook('onRequest', (req, reply, done) => {
    // Probes and static answers never reach the pool: no scope to build (they are the cheapest routes).
    if (NO_CPU_WORK.has((req.routeOptions.config as { operationId?: string } | undefined)?.operationId ?? '')) { done(); return; }
    const parent = als.getStore();
    const gone = new AbortController();
    // 'close' on the response: finished normally, or the connection went away first.
    reply.raw.once('close', () => { if (!reply.raw.writableFinished) gone.abort(); });
    const signal = parent?.signal ? AbortSignal.any([parent.signal, gone.signal]) : gone.signal;
    const deadline = Math.min(parent?.deadline ?? Infinity, now() + opts.deadlineMs);
    // The address now: after the client goes away the socket no longer knows it.
    const ip = req.ip;
    const scope: RequestScope = {
      // Not memoised: the auth hook sets 'anonymous' first and the tenant after verifying the token.
      get principal() { return principalKey(req.principal, ip); },
      deadline,
      signal,
    };
    als.run(scope, () => {
      const resource = new AsyncResource('pqzk-request-scope');
      resources.set(req, resource);
      resource.runInAsyncScope(done, req.raw);
    });
  });
  app.addHook('preValidation', (req, _reply, done) => {
    const resource = resources.get(req);
    if (resource) resource.runInAsyncScope(done, req.raw);
    else done();
  });
}
