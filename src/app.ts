/**
 * buildApp(config): the whole service as a fastify instance, without listening.
 * Ecosystem plugins are configured here, once, on the root; each capability is an encapsulated
 * plugin that binds its own operations, and together they must cover the contract exactly.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Config } from './config.ts';
import { registerSecurityHeaders } from './http/security-headers.ts';
import type { AppContext, CapabilityOptions } from './context.ts';
import { loadSecrets, type Secrets } from './secrets.ts';
import { openStore, type Store } from './store/index.ts';
import { createWorkerPool, type WorkerPool } from './workers/pool.ts';
import { createAdmission, createAnonymousBudget, budgetGauges } from './workers/admission.ts';
import { calibrate, createCostModel } from './workers/cost.ts';
import { registerRequestScope } from './workers/request-scope.ts';
import { configureAddressPrefixes, principalKey } from './workers/principal.ts';
import { availableParallelism } from 'node:os';
import { getBackend } from './crypto/index.ts';
import { AppError } from './errors.ts';
import { errorHandler, sendProblem, toAppError } from './http/problem.ts';
import { allowedMethods, assertAllBound, bindOperations, loadSpec, subSpec } from './http/openapi.ts';
import { makeAuthenticator, type AccessTokenVerifier } from './http/auth.ts';
import { auditCapture } from './http/audit-capture.ts';
import { registerMetrics } from './http/metrics.ts';
import { registerAccessLog } from './http/access-log.ts';
import { registerTarpit } from './http/tarpit.ts';
import { assertJsonDepth } from './http/json.ts';
import { capabilities } from './capabilities.ts';

/** Paths the logger must never print (secrets in headers and bodies). */
export const REDACT_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-admin-token"]',
  '*.seed', '*.secretKey', '*.privateKey', '*.masterKey', '*.adminToken', '*.sharedSecret', '*.sessionKey', '*.token', '*.accessToken',
];

/** What tests and embedders may hand buildApp instead of having it open or create them. */
export interface BuildOptions {
  /** Reuse an open store (tests, several apps on one store); otherwise opened from config. */
  store?: Store;
  pool?: WorkerPool;
  secrets?: Secrets;
  logger?: FastifyServerOptions['logger'];
  /** Readable log lines (pino-pretty) instead of JSON; server.ts sets it when stdout is a terminal. */
  prettyLogs?: boolean;
  tokens?: AccessTokenVerifier;
}

/**
 * The contract's `servers` for the docs UI: the configured listen address (a wildcard address is
 * offered as loopback, plus the address the docs page was loaded from).
 */
function serversFor(config: Config): Array<{ url: string; description: string }> {
  const wildcard = config.host === '0.0.0.0' || config.host === '::';
  const host = wildcard ? (config.host === '::' ? '[::1]' : '127.0.0.1') : config.host.includes(':') ? `[${config.host}]` : config.host;
  const own = { url: `http://${host}:${config.port}`, description: `this instance (HOST=${config.host}, PORT=${config.port})` };
  return wildcard ? [own, { url: '/', description: 'the address these docs were loaded from' }] : [own];
}

/** Two validators: bodies are never type-coerced; query strings and path params are (they arrive as text). */
function validatorCompiler() {
  const opts = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false } as const;
  const body = new Ajv({ ...opts, coerceTypes: false });
  const params = new Ajv({ ...opts, coerceTypes: 'array' });
  for (const ajv of [body, params]) {
    (addFormats as unknown as (a: Ajv) => void)(ajv);
  }
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : params).compile(schema);
}

/**
 * Builds the service (store, pool, ecosystem plugins, every capability) without listening;
 * rejects, with what it started closed, when set-up fails or the capabilities do not cover openapi.yaml.
 */
export async function buildApp(config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? {
      level: config.logLevel, redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      ...(opts.prettyLogs ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
    },
    bodyLimit: config.bodyLimit,
    return503OnClosing: true,
    // One line per request from src/http/access-log.ts instead of fastify's two (probes and refusals summed).
    logController: new LogController({ disableRequestLogging: true }),
    // Behind a load balancer, client addresses (rate limits, logs) come from X-Forwarded-For only if trusted.
    trustProxy: config.trustProxy as FastifyServerOptions['trustProxy'],
    forceCloseConnections: 'idle',
    requestTimeout: 120_000,
    connectionTimeout: 130_000,
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
    // Errors raised by the router before any route runs (bad URL encoding, over-long path parameters).
    frameworkErrors: (error, _req, reply) => { sendProblem(reply, toAppError(error)); },
  });
  app.setValidatorCompiler(validatorCompiler());
  // JSON bodies: fastify's own parser (prototype-poisoning checks) after a linear depth scan, so a
  // deeply nested body is a 400 before anything recursive (validation, serializers) sees it.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    try {
      assertJsonDepth(body as string, 'body');
    } catch (err) {
      done(err as Error, undefined);
      return;
    }
    parseJson(req, body as string, done);
  });

  const secrets = opts.secrets ?? loadSecrets(config, app.log);
  const store = opts.store ?? await openStore(config);
  configureAddressPrefixes(config.anonPrefixV4, config.anonPrefixV6);
  // CPU cost model, scaled to this machine by a short start-up calibration (COST_CALIBRATE_MS, 0 = table as is).
  const backend = getBackend(config.cryptoBackend);
  const calibration = config.costCalibrateMs > 0 ? calibrate({ backend, budgetMs: config.costCalibrateMs }) : undefined;
  const costs = createCostModel({ backend: config.cryptoBackend, ...(calibration ? { calibration } : {}) });
  if (calibration) app.log.info({ factor: calibration.factor, elapsedMs: Math.round(calibration.elapsedMs) }, 'cost model calibrated');
  const threads = opts.pool?.threads ?? config.workers ?? availableParallelism();
  const admission = createAdmission({ threads, costs, config });
  const pool = opts.pool ?? createWorkerPool({ threads, maxQueue: config.workerQueue, cryptoBackend: config.cryptoBackend, admission });
  const ownsStore = !opts.store;
  const ownsPool = !opts.pool;
  app.addHook('onClose', async () => {
    if (ownsPool) await pool.close();
    if (ownsStore) await store.close();
  });

  // Capabilities attach their services (keys, tokens, …) during set-up, in registry order.
  const budget = createAnonymousBudget(config);
  const ctx = { config, store, pool, backend, secrets, log: app.log, costs, budget } as AppContext;
  app.decorate('ctx', ctx);
  app.decorateRequest('principal', null as never);

  app.setErrorHandler(errorHandler);
  const spec = loadSpec();
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(spec, path);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(reply, new AppError('method_not_allowed', `${req.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`));
    }
    return sendProblem(reply, new AppError('not_found', 'no such resource'));
  });

  registerSecurityHeaders(app, {
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'] },
    },
  });
  await app.register(rateLimit, {
    global: true,
    max: config.rateLimitMax,
    timeWindow: '1 minute',
    errorResponseBuilder: (_req, context) => new AppError('rate_limited', `rate limit of ${context.max} requests per ${context.after} exceeded`, { retryAfter: Math.ceil(context.ttl / 1000) }),
  });
  await app.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    pressureHandler: () => { throw new AppError('overloaded', 'the service is under pressure; retry later', { retryAfter: 1 }); },
  });
  await app.register(swagger, { mode: 'static', specification: { document: { ...structuredClone(spec.raw), servers: serversFor(config) } as never } });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  registerAccessLog(app);
  const tarpit = registerTarpit(app, { delayMs: config.tarpitMs });
  // Anything a handler did not mark cacheable is `no-store`: key material, signatures, tokens and
  // session answers must never sit in a shared cache.
  // (Callback style: this runs on every response, and an async hook costs a promise each time.)
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  registerMetrics(app, { access: config.metricsAccess, adminToken: secrets.adminToken }, () => ({ worker_pool_queue_size: pool.queueSize, worker_pool_threads: pool.threads, ...admission.gauges(), ...budgetGauges(budget), tarpit_held_answers: tarpit.held,
    kex_sessions_held: (ctx as Partial<AppContext>).kex?.quota.size ?? 0,
    audit_records_pending: ctx.audit?.log.pending ?? 0, audit_records_written: ctx.audit?.log.stats.records ?? 0, audit_commits: ctx.audit?.log.stats.commits ?? 0 }));
  // Every request's CPU work is accounted to its principal, with a deadline (src/workers/request-scope.ts).
  registerRequestScope(app, { deadlineMs: config.schedDeadlineMs });

  // x-cpu-budget operations are public: the client is anonymous, keyed by its address prefix.
  const budgetGate = (req: FastifyRequest) => budget?.gate(principalKey(null, req.ip));
  const authenticate = makeAuthenticator({ adminToken: secrets.adminToken, tokens: () => ctx.tokenVerifier });
  // One capture point for the audit log: bindOperations hooks every audited operation (docs/AUDIT.md).
  const audit = config.auditLog === 'on'
    ? auditCapture({ sink: () => (ctx as Partial<AppContext>).audit, failMode: config.auditFailMode, timeoutMs: config.auditTimeoutMs, log: app.log })
    : undefined;
  const bound: string[] = [];
  const bind: CapabilityOptions<unknown>['bind'] = async (scope, handlers, bindOpts) => {
    bound.push(...Object.keys(handlers));
    await bindOperations(scope, subSpec(spec, Object.keys(handlers)), handlers, { authenticate, budgetGate, ...(audit ? { audit: audit as never } : {}) }, bindOpts);
  };
  try {
    // Each capability in its own encapsulated scope; `requires` runs after the earlier ones are up.
    for (const capability of capabilities) await app.register(capability.plugin, { ctx, deps: capability.requires(ctx), bind });
    assertAllBound(spec, bound);
  } catch (err) {
    // Stop what the capabilities already started (timers, services), and the owned pool and store.
    await app.close().catch(() => undefined);
    throw err;
  }
  if (opts.tokens) ctx.tokenVerifier = opts.tokens;
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: AppContext;
  }
}
