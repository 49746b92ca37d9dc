/**
 * Configuration from the environment, validated once at start-up (env-schema + Ajv).
 * Invalid configuration is a `ConfigError` whose message is one clear line.
 */
import { envSchema } from 'env-schema';
import { resolve } from 'node:path';

const schema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    PORT: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
    HOST: { type: 'string', minLength: 1, default: '127.0.0.1' },
    DATA_DIR: { type: 'string', minLength: 1, default: './data' },
    DATABASE_URL: { type: 'string', pattern: '^postgres(ql)?://' },
    MASTER_KEY_FILE: { type: 'string', minLength: 1 },
    ADMIN_TOKEN: { type: 'string', minLength: 32, maxLength: 512, pattern: '^[A-Za-z0-9._~+/=-]+$' },
    CRYPTO_BACKEND: { type: 'string', enum: ['native', 'noble'], default: 'native' },
    LOG_LEVEL: { type: 'string', enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    BODY_LIMIT: { type: 'integer', minimum: 1024, maximum: 1073741824, default: 1048576 },
    RATE_LIMIT_MAX: { type: 'integer', minimum: 1, default: 6000 },
    WORKERS: { type: 'integer', minimum: 1, maximum: 256 },
    WORKER_QUEUE: { type: 'integer', minimum: 0, maximum: 100000, default: 4096 },
    PG_POOL_MAX: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
    MAX_EVENT_LOOP_DELAY_MS: { type: 'integer', minimum: 0, maximum: 600000, default: 2000 },
    TRUST_PROXY: { type: 'string', pattern: '^(false|true|[0-9]{1,2}|[0-9a-fA-F.:/, ]{2,512})$', default: 'false' },
    PREKEY_ROTATION_SECONDS: { type: 'integer', minimum: 10, maximum: 2592000, default: 3600 },
    PREKEY_GRACE_SECONDS: { type: 'integer', minimum: 0, maximum: 86400, default: 60 },
    SESSION_TTL_SECONDS: { type: 'integer', minimum: 10, maximum: 86400, default: 900 },
    KEX_GRANT_KEY_SECONDS: { type: 'integer', minimum: 5, maximum: 86400, default: 60 },
    TARPIT_MS: { type: 'integer', minimum: 0, maximum: 10000, default: 1000 },
    METRICS_ACCESS: { type: 'string', enum: ['admin', 'public'], default: 'admin' },
    ANON_PREFIX_V4: { type: 'integer', minimum: 8, maximum: 32, default: 24 },
    ANON_PREFIX_V6: { type: 'integer', minimum: 16, maximum: 128, default: 64 },
    KEX_SWEEP_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 2000 },
    KEY_ROTATION_SWEEP_MS: { type: 'integer', minimum: 100, maximum: 3600000, default: 30000 },
    KEX_MAX_SESSIONS_PER_ADDRESS: { type: 'integer', minimum: 1, maximum: 10000000, default: 1000 },
    KEX_MAX_SESSIONS: { type: 'integer', minimum: 1, maximum: 10000000, default: 20000 },
    KEX_MAX_INNER_RESPONSE_BYTES: { type: 'integer', minimum: 1024, maximum: 67108864, default: 262144 },
    KEX_SEQ_LEASE_MS: { type: 'integer', minimum: 50, maximum: 60000, default: 2000 },
    KEX_SESSION_STATE: { type: 'string', enum: ['auto', 'store'], default: 'auto' },
    ZK_CHALLENGE_TTL_SECONDS: { type: 'integer', minimum: 5, maximum: 3600, default: 120 },
    ZK_TOKEN_TTL_SECONDS: { type: 'integer', minimum: 60, maximum: 3600, default: 900 },
    ZK_REGISTER_PER_MINUTE: { type: 'integer', minimum: 1, maximum: 100000, default: 10 },
    ZK_VK_SHA256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
    ZK_BATCH_MAX: { type: 'integer', minimum: 1, maximum: 256, default: 64 },
    ZK_BATCH_WAIT_MS: { type: 'integer', minimum: 0, maximum: 100, default: 2 },
    PIR_MAX_DB_BYTES: { type: 'integer', minimum: 1024, maximum: 1073741824, default: 67108864 },
    PIR_GRACE_SECONDS: { type: 'integer', minimum: 0, maximum: 604800, default: 600 },
    PIR_INLINE_SCAN_BYTES: { type: 'integer', minimum: 0, maximum: 1073741824, default: 4194304 },
    SCHED_DEADLINE_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 5000 },
    SCHED_EXPIRE_GRACE_MS: { type: 'integer', minimum: 0, maximum: 600000, default: 5000 },
    SCHED_LONG_TASK_MS: { type: 'integer', minimum: 1, maximum: 600000, default: 50 },
    SCHED_RESERVED_THREADS: { type: 'integer', minimum: 0, maximum: 255, default: 1 },
    SCHED_MAX_QUEUED_CPU_MS: { type: 'integer', minimum: 0, maximum: 86400000, default: 0 },
    COST_CALIBRATE_MS: { type: 'integer', minimum: 0, maximum: 5000, default: 250 },
    ANON_CPU_MS_PER_MINUTE: { type: 'integer', minimum: 0, maximum: 3600000, default: 3000 },
    ANON_CPU_BURST_MS: { type: 'integer', minimum: 1, maximum: 3600000, default: 250 },
    ANON_BUDGET_MAX_PREFIXES: { type: 'integer', minimum: 1, maximum: 10000000, default: 50000 },
    AUDIT_LOG: { type: 'string', enum: ['on', 'off'], default: 'on' },
    AUDIT_FAIL_MODE: { type: 'string', enum: ['closed', 'open'], default: 'closed' },
    AUDIT_STREAM: { type: 'string', minLength: 1, maxLength: 4096, default: 'off' },
    AUDIT_CHECKPOINT_MS: { type: 'integer', minimum: 0, maximum: 86400000, default: 60000 },
    AUDIT_MAX_BATCH: { type: 'integer', minimum: 1, maximum: 4096, default: 256 },
    AUDIT_BATCH_WAIT_MS: { type: 'integer', minimum: 0, maximum: 100, default: 2 },
    AUDIT_TIMEOUT_MS: { type: 'integer', minimum: 100, maximum: 600000, default: 5000 },
    AUDIT_MAX_RANGE: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
  },
} as const;

/** The validated configuration, one field per environment variable (see `schema` above for ranges and defaults). */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  masterKeyFile: string;
  adminToken: string | undefined;
  cryptoBackend: 'native' | 'noble';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  bodyLimit: number;
  rateLimitMax: number;
  /** Worker threads for CPU-bound crypto; undefined = one per core. */
  workers: number | undefined;
  /** Tasks allowed to wait for a worker before the service answers 503. */
  workerQueue: number;
  pgPoolMax: number;
  /** Answer 503 while the event loop lags more than this (under-pressure); 0 disables the check. */
  maxEventLoopDelayMs: number;
  /** fastify `trustProxy`: false, true, a hop count, or addresses/CIDRs of the load balancers. */
  trustProxy: boolean | number | string;
  /** kex: a new signed prekey every this many seconds. */
  prekeyRotationSeconds: number;
  /** kex: a prekey's private half is erased this long after its notAfter. */
  prekeyGraceSeconds: number;
  /** kex: lifetime of an encrypted session. */
  sessionTtlSeconds: number;
  /** kex: rotation period of each instance's ephemeral grant key (bounds multi-instance erasure delay). */
  kexGrantKeySeconds: number;
  /** 429 answers are held this long before they are sent (0: at once). */
  tarpitMs: number;
  /** GET /metrics: `admin` (admin bearer token required) or `public`. */
  metricsAccess: 'admin' | 'public';
  /** Anonymous clients are accounted (CPU budget, fair share, session cap) by IPv4 prefixes of this length. */
  anonPrefixV4: number;
  /** … and by IPv6 prefixes of this length. */
  anonPrefixV6: number;
  /** kex: period of the sweeper (prekey rotation, expired sessions and grants), ms. */
  kexSweepMs: number;
  /** keys: period of the automatic-rotation sweeper (src/keys/rotation.ts), ms; a due key rotates within about this. */
  keyRotationSweepMs: number;
  /** kex: live sessions one client address prefix may hold on one instance (429 beyond). */
  kexMaxSessionsPerAddress: number;
  /** kex: live sessions one instance may hold (503 beyond). */
  kexMaxSessions: number;
  /** kex: largest inner response an envelope carries back (a 413 problem inside the envelope beyond). */
  kexMaxInnerResponseBytes: number;
  /** Lease of an envelope sequence window, ms (docs/PROTOCOL.md §6.2). */
  kexSeqLeaseMs: number;
  /** Where kex session bookkeeping lives: `auto` (memory on the embedded store, tables on PostgreSQL) or `store` (tables always). */
  kexSessionState: 'auto' | 'store';
  /** zk: lifetime of a login challenge. */
  zkChallengeTtlSeconds: number;
  /** zk: lifetime of the access token a ZK login issues. */
  zkTokenTtlSeconds: number;
  /** zk: registrations allowed per client IP per minute (per instance). */
  zkRegisterPerMinute: number;
  /** zk: SHA-256 pin of circuits/artifacts/verification_key.json (start-up fails on mismatch). */
  zkVkSha256: string | undefined;
  /** zk: most proofs verified in one batch (1 = no batching). */
  zkBatchMax: number;
  /** zk: how long a login waits for others to share its batch, milliseconds. */
  zkBatchWaitMs: number;
  /** pir: largest database upload (bytes of records); the PUT body limit. */
  pirMaxDbBytes: number;
  /** pir: how long a superseded database version stays answerable. */
  pirGraceSeconds: number;
  /** pir: databases up to this many matrix bytes are scanned on the event loop; larger ones in the worker pool. */
  pirInlineScanBytes: number;
  /** scheduler: deadline of a request's CPU work, ms from its arrival (admission refuses what cannot meet it). */
  schedDeadlineMs: number;
  /** scheduler: queued work not started this long after its deadline is dropped (503) instead of run. */
  schedExpireGraceMs: number;
  /** scheduler: tasks estimated longer than this are "long" and may not occupy the reserved threads. */
  schedLongTaskMs: number;
  /** scheduler: threads long tasks may not occupy (clamped to workers − 1). */
  schedReservedThreads: number;
  /** scheduler: most estimated CPU-ms queued over all principals; 0 = no cap beyond deadlines. */
  schedMaxQueuedCpuMs: number;
  /** cost model: start-up calibration budget in ms; 0 = use the default table unscaled. */
  costCalibrateMs: number;
  /** anonymous CPU budget per address prefix (/24, /64), CPU-ms per minute; 0 disables the budget. */
  anonCpuMsPerMinute: number;
  /** anonymous CPU budget: bucket capacity (what a quiet prefix may spend at once), CPU-ms. */
  anonCpuBurstMs: number;
  /** anonymous CPU budget: most address prefixes tracked (least recently used forgotten beyond). */
  anonBudgetMaxPrefixes: number;
  /** audit: `on` records every audited operation (docs/AUDIT.md); `off` records nothing (benchmarks). */
  auditLog: 'on' | 'off';
  /** audit: `closed` answers 503 when a record cannot be committed; `open` answers anyway and logs the failure. */
  auditFailMode: 'closed' | 'open';
  /** audit: also write committed records as JSON lines to `stdout`, to a file path, or `off`. */
  auditStream: string;
  /** audit: sign a checkpoint this often when the log grew, ms; 0 = only on demand. */
  auditCheckpointMs: number;
  /** audit: most records appended in one transaction (group commit). */
  auditMaxBatch: number;
  /** audit: under concurrent load, how long a batch waits for more records before its transaction, ms. */
  auditBatchWaitMs: number;
  /** audit: an operation waits this long for its record's commit before failing (closed mode: 503). */
  auditTimeoutMs: number;
  /** audit: most records one getAuditRecords answer returns. */
  auditMaxRange: number;
}

/** Invalid configuration; the message is one line and never echoes a value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface RawEnv {
  PORT: number; HOST: string; DATA_DIR: string; DATABASE_URL?: string; MASTER_KEY_FILE?: string;
  ADMIN_TOKEN?: string; CRYPTO_BACKEND: Config['cryptoBackend']; LOG_LEVEL: Config['logLevel'];
  BODY_LIMIT: number; RATE_LIMIT_MAX: number; WORKERS?: number; WORKER_QUEUE: number; PG_POOL_MAX: number; MAX_EVENT_LOOP_DELAY_MS: number; TRUST_PROXY: string;
  PREKEY_ROTATION_SECONDS: number; PREKEY_GRACE_SECONDS: number; SESSION_TTL_SECONDS: number; KEX_GRANT_KEY_SECONDS: number;
  TARPIT_MS: number; METRICS_ACCESS: 'admin' | 'public'; ANON_PREFIX_V4: number; ANON_PREFIX_V6: number; KEX_SWEEP_MS: number; KEY_ROTATION_SWEEP_MS: number; KEX_MAX_SESSIONS_PER_ADDRESS: number; KEX_MAX_SESSIONS: number; KEX_MAX_INNER_RESPONSE_BYTES: number; KEX_SEQ_LEASE_MS: number; KEX_SESSION_STATE: 'auto' | 'store';
  ZK_CHALLENGE_TTL_SECONDS: number; ZK_TOKEN_TTL_SECONDS: number; ZK_REGISTER_PER_MINUTE: number; ZK_VK_SHA256?: string;
  ZK_BATCH_MAX: number; ZK_BATCH_WAIT_MS: number;
  PIR_MAX_DB_BYTES: number; PIR_GRACE_SECONDS: number; PIR_INLINE_SCAN_BYTES: number;
  SCHED_DEADLINE_MS: number; SCHED_EXPIRE_GRACE_MS: number; SCHED_LONG_TASK_MS: number; SCHED_RESERVED_THREADS: number;
  SCHED_MAX_QUEUED_CPU_MS: number; COST_CALIBRATE_MS: number;
  ANON_CPU_MS_PER_MINUTE: number; ANON_CPU_BURST_MS: number; ANON_BUDGET_MAX_PREFIXES: number;
  AUDIT_LOG: 'on' | 'off'; AUDIT_FAIL_MODE: 'closed' | 'open'; AUDIT_STREAM: string; AUDIT_CHECKPOINT_MS: number;
  AUDIT_MAX_BATCH: number; AUDIT_BATCH_WAIT_MS: number; AUDIT_TIMEOUT_MS: number; AUDIT_MAX_RANGE: number;
}

/** Reads and validates the configuration; throws ConfigError with a one-line message. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const data = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  let raw: RawEnv;
  try {
    raw = envSchema<RawEnv>({ schema, data, dotenv: false });
  } catch (err) {
    // Ajv lists the failing variable as `/NAME`; say it plainly, never echo the value (it may be a secret).
    const message = (err as Error).message.replace(/^env\//, '').replace(/\/(\w+)/g, '$1').split('\n')[0];
    throw new ConfigError(`invalid configuration: ${message}`);
  }
  const dataDir = resolve(raw.DATA_DIR);
  return {
    port: raw.PORT,
    host: raw.HOST,
    dataDir,
    databaseUrl: raw.DATABASE_URL,
    masterKeyFile: resolve(raw.MASTER_KEY_FILE ?? `${dataDir}/master.key`),
    adminToken: raw.ADMIN_TOKEN,
    cryptoBackend: raw.CRYPTO_BACKEND,
    logLevel: raw.LOG_LEVEL,
    bodyLimit: raw.BODY_LIMIT,
    rateLimitMax: raw.RATE_LIMIT_MAX,
    workers: raw.WORKERS,
    workerQueue: raw.WORKER_QUEUE,
    pgPoolMax: raw.PG_POOL_MAX,
    maxEventLoopDelayMs: raw.MAX_EVENT_LOOP_DELAY_MS,
    trustProxy: raw.TRUST_PROXY === 'false' ? false : raw.TRUST_PROXY === 'true' ? true : /^[0-9]+$/.test(raw.TRUST_PROXY) ? Number(raw.TRUST_PROXY) : raw.TRUST_PROXY,
    prekeyRotationSeconds: raw.PREKEY_ROTATION_SECONDS,
    prekeyGraceSeconds: raw.PREKEY_GRACE_SECONDS,
    sessionTtlSeconds: raw.SESSION_TTL_SECONDS,
    kexGrantKeySeconds: raw.KEX_GRANT_KEY_SECONDS,
    tarpitMs: raw.TARPIT_MS,
    metricsAccess: raw.METRICS_ACCESS,
    anonPrefixV4: raw.ANON_PREFIX_V4,
    anonPrefixV6: raw.ANON_PREFIX_V6,
    kexSweepMs: raw.KEX_SWEEP_MS,
    keyRotationSweepMs: raw.KEY_ROTATION_SWEEP_MS,
    kexMaxSessionsPerAddress: raw.KEX_MAX_SESSIONS_PER_ADDRESS,
    kexMaxSessions: raw.KEX_MAX_SESSIONS,
    kexMaxInnerResponseBytes: raw.KEX_MAX_INNER_RESPONSE_BYTES,
    kexSeqLeaseMs: raw.KEX_SEQ_LEASE_MS,
    kexSessionState: raw.KEX_SESSION_STATE,
    zkChallengeTtlSeconds: raw.ZK_CHALLENGE_TTL_SECONDS,
    zkTokenTtlSeconds: raw.ZK_TOKEN_TTL_SECONDS,
    zkRegisterPerMinute: raw.ZK_REGISTER_PER_MINUTE,
    zkVkSha256: raw.ZK_VK_SHA256?.toLowerCase(),
    zkBatchMax: raw.ZK_BATCH_MAX,
    zkBatchWaitMs: raw.ZK_BATCH_WAIT_MS,
    pirMaxDbBytes: raw.PIR_MAX_DB_BYTES,
    pirGraceSeconds: raw.PIR_GRACE_SECONDS,
    pirInlineScanBytes: raw.PIR_INLINE_SCAN_BYTES,
    schedDeadlineMs: raw.SCHED_DEADLINE_MS,
    schedExpireGraceMs: raw.SCHED_EXPIRE_GRACE_MS,
    schedLongTaskMs: raw.SCHED_LONG_TASK_MS,
    schedReservedThreads: raw.SCHED_RESERVED_THREADS,
    schedMaxQueuedCpuMs: raw.SCHED_MAX_QUEUED_CPU_MS,
    costCalibrateMs: raw.COST_CALIBRATE_MS,
    anonCpuMsPerMinute: raw.ANON_CPU_MS_PER_MINUTE,
    anonCpuBurstMs: raw.ANON_CPU_BURST_MS,
    anonBudgetMaxPrefixes: raw.ANON_BUDGET_MAX_PREFIXES,
    auditLog: raw.AUDIT_LOG,
    auditFailMode: raw.AUDIT_FAIL_MODE,
    auditStream: raw.AUDIT_STREAM,
    auditCheckpointMs: raw.AUDIT_CHECKPOINT_MS,
    auditMaxBatch: raw.AUDIT_MAX_BATCH,
    auditBatchWaitMs: raw.AUDIT_BATCH_WAIT_MS,
    auditTimeoutMs: raw.AUDIT_TIMEOUT_MS,
    auditMaxRange: raw.AUDIT_MAX_RANGE,
  };
}
