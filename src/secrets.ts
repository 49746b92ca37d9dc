/**
 * Process secrets: the master key (wraps every secret at rest) and the admin token.
 * Either given by configuration or generated on first start into DATA_DIR with mode 0600.
 * Only paths are ever logged, never the values.
 */
import { mkdirSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, type Config } from './config.ts';
import { AppError } from './errors.ts';
import { base64urlEncode, getBackend } from './crypto/index.ts';

/** The process secrets: the 32-byte master key and the admin token. */
export interface Secrets {
  masterKey: Uint8Array;
  adminToken: string;
}

interface Logger { warn(obj: object, msg: string): void }

const MASTER_KEY_BYTES = 32;

const randomToken = (bytes: number): string => base64urlEncode(getBackend('native').randomBytes(bytes));

/** Reads a secret file, or creates it with `generate()` (mode 0600, exclusive create). */
function readOrCreate(path: string, generate: () => string, log: Logger, what: string): string {
  try {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) log.warn({ path, mode: mode.toString(8) }, `${what} file is readable by group/others; chmod 600 it`);
    return readFileSync(path, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read ${what} file ${path}: ${(err as Error).message}`);
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${generate()}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  log.warn({ path }, `!!! GENERATED A NEW ${what.toUpperCase()} at ${path} (mode 0600). Back it up and keep it secret: ${
    what === 'master key' ? 'losing it makes every wrapped key unrecoverable' : 'it grants full administrative access'} !!!`);
  return readFileSync(path, 'utf8').trim();
}

/**
 * Reads the master key and admin token, generating missing files (mode 0600).
 *
 * @throws ConfigError when the master key file is not 32 base64url bytes or the admin token is shorter than 32 characters.
 */
export function loadSecrets(config: Config, log: Logger): Secrets {
  const encoded = readOrCreate(config.masterKeyFile, () => randomToken(MASTER_KEY_BYTES), log, 'master key');
  const masterKey = new Uint8Array(Buffer.from(encoded, 'base64url'));
  if (masterKey.length !== MASTER_KEY_BYTES || Buffer.from(masterKey).toString('base64url') !== encoded) {
    throw new ConfigError(`invalid configuration: MASTER_KEY_FILE ${config.masterKeyFile} must hold ${MASTER_KEY_BYTES} bytes as base64url`);
  }
  const adminToken = config.adminToken
    ?? readOrCreate(`${config.dataDir}/admin-token`, () => randomToken(32), log, 'admin token');
  if (adminToken.length < 32) throw new ConfigError('invalid configuration: admin token must have at least 32 characters');
  return { masterKey, adminToken };
}

/**
 * A 32-byte key for one purpose, derived from the master key: HKDF-SHA-256 (RFC 5869) with an
 * empty salt and the purpose label as info. Distinct labels give independent keys.
 *
 * @example
 * const registryKey = deriveSubkey(secrets.masterKey, 'pqzk kex instance registry v1');
 */
export function deriveSubkey(masterKey: Uint8Array, label: string): Uint8Array {
  if (!(masterKey instanceof Uint8Array) || masterKey.length !== MASTER_KEY_BYTES) throw new AppError('internal', `master key must be ${MASTER_KEY_BYTES} bytes`);
  return getBackend('native').hkdf('SHA-256', masterKey, new Uint8Array(0), new TextEncoder().encode(label), 32);
}
