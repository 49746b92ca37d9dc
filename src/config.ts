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
    WORKER_QUEUE: { type: 'integer', minimum: 0, maximum: 100000, default: 256 },
    PG_POOL_MAX: { type: 'integer', minimum: 1, maximum: 1000, default: 10 },
  },
} as const;

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
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface RawEnv {
  PORT: number; HOST: string; DATA_DIR: string; DATABASE_URL?: string; MASTER_KEY_FILE?: string;
  ADMIN_TOKEN?: string; CRYPTO_BACKEND: Config['cryptoBackend']; LOG_LEVEL: Config['logLevel'];
  BODY_LIMIT: number; RATE_LIMIT_MAX: number; WORKERS?: number; WORKER_QUEUE: number; PG_POOL_MAX: number;
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
  };
}
