/**
 * Managed keys: named keyrings of versions for one algorithm, owned by a principal; signing and
 * verification (FIPS 204 ML-DSA, FIPS 205 SLH-DSA) in the worker pool; private material wrapped
 * at rest (wrap.ts) and never returned unless the key was created exportable.
 *
 * Owners are strings: `admin`, `tenant:<id>`, and `system` (the service's own keys, see system.ts,
 * never reachable through the API). Every lookup is scoped by owner, so another owner's key is a 404.
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.ts';
import type { Queryable } from '../store/index.ts';
import { isUniqueViolation } from '../store/index.ts';
import { AppError, DecryptionError } from '../errors.ts';
import {
  KEM_ALGORITHMS, SIGNATURE_ALGORITHMS, SIZES, PREHASH_ALGORITHMS, isMlDsa, isSignatureAlgorithm, prehashMeetsStrength, securityStrength,
  encodeSpki, decodeSpki, encodePkcs8, toJwk, fromJwk,
} from '../crypto/index.ts';
import type { Algorithm, SignatureAlgorithm, PreHashAlgorithm, AkpJwk, EncodableAlgorithm } from '../crypto/index.ts';
import { wrapSecret, unwrapSecret, keyAad } from './wrap.ts';
import { base64urlDecode, base64urlEncode } from './base64url.ts';
import * as repo from './repo.ts';
import type { KeyRow, MaterialRow } from './repo.ts';
import { runKeyTask } from './tasks.ts';
import { KeyCache } from './cache.ts';
import { keyRowMac, versionRowMac, keyRowIntact, versionRowIntact, integrityError } from './integrity.ts';
import type { VersionRow as CachedVersionRow } from './cache.ts';
import type { SignInput, VerifyInput } from './tasks.ts';

export const SYSTEM_OWNER = 'system';
export const ADMIN_OWNER = 'admin';
export const tenantOwner = (tenantId: string): string => `tenant:${tenantId}`;

export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Largest message the service signs or verifies directly (bytes). Larger: send external μ or a prehash digest client-side. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
export const MAX_BATCH = 64;
const ALGORITHMS: readonly Algorithm[] = [...SIGNATURE_ALGORITHMS, ...KEM_ALGORITHMS];

/** API names of pre-hash functions: the ACVP names plus the common SHA-256 / SHA-384 / SHA-512 spellings. */
const PREHASH_ALIASES: Record<string, PreHashAlgorithm> = {
  ...Object.fromEntries(PREHASH_ALGORITHMS.map((p) => [p, p])),
  'SHA-224': 'SHA2-224', 'SHA-256': 'SHA2-256', 'SHA-384': 'SHA2-384', 'SHA-512': 'SHA2-512',
};
export const PREHASH_NAMES = Object.keys(PREHASH_ALIASES);

export type PublicKeyFormat = 'raw' | 'der' | 'spki' | 'pem' | 'jwk';
export type PrivateKeyFormat = 'raw' | 'pkcs8' | 'pem' | 'jwk';

export interface KeyVersionInfo { version: number; createdAt: string; publicKey: string }
export interface KeyInfo {
  name: string; owner: string; algorithm: string; kind: 'signature' | 'kem';
  exportable: boolean; deletionAllowed: boolean; minVersion: number; latestVersion: number;
  createdAt: string; updatedAt: string; versions?: KeyVersionInfo[];
}

export interface SignItem { message?: string | undefined; mu?: string | undefined; context?: string | undefined; reference?: string | undefined }
export interface SignRequest extends SignItem {
  batch?: SignItem[] | undefined; prehash?: string | undefined; deterministic?: boolean | undefined; version?: number | undefined;
}
export interface SignResult { signature: string; algorithm: string; version: number }
export interface BatchResult {
  algorithm: string; version: number;
  results: Array<{ reference?: string; signature?: string; error?: ReturnType<typeof problemOf> }>;
}
export interface VerifyRequest { message?: string | undefined; mu?: string | undefined; signature: string; context?: string | undefined; prehash?: string | undefined }
export interface VerifyWithPublicKeyRequest extends Omit<VerifyRequest, 'signature'> {
  algorithm: string; publicKey: string | Record<string, unknown>; signature: string;
}

const invalid = (field: string, detail: string): AppError => new AppError('invalid_input', detail, { field });
const notFound = (): AppError => new AppError('not_found', 'no such key');

function problemOf(err: AppError) {
  return { type: `urn:pqzk:problem:${err.code}`, title: err.name, status: err.status, code: err.code, detail: err.message };
}

/** Strict base64url of a request field; `min`/`max` bound the decoded length. */
export function decodeField(field: string, value: string, opts: { min?: number; max?: number; exact?: number } = {}): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = base64urlDecode(value);
  } catch {
    throw invalid(field, `${field} is not valid base64url (RFC 4648 §5, no padding)`);
  }
  if (opts.exact !== undefined && bytes.length !== opts.exact) throw invalid(field, `${field} must be ${opts.exact} bytes, got ${bytes.length}`);
  if (opts.min !== undefined && bytes.length < opts.min) throw invalid(field, `${field} must be at least ${opts.min} byte${opts.min === 1 ? '' : 's'}`);
  if (opts.max !== undefined && bytes.length > opts.max) throw invalid(field, `${field} must be at most ${opts.max} bytes, got ${bytes.length}`);
  return bytes;
}

/** `v<N>:<base64url>` → version and bytes. */
export function parseVersionedSignature(field: string, s: string): { version: number; bytes: Uint8Array } {
  // The prefix alone goes through the regex; decodeField checks the (multi-kilobyte) rest once.
  const colon = typeof s === 'string' ? s.indexOf(':') : -1;
  if (colon < 2 || colon > 10 || !/^v[1-9][0-9]{0,8}$/.test(s.slice(0, colon))) throw invalid(field, `${field} must look like v<version>:<base64url>`);
  return { version: Number(s.slice(1, colon)), bytes: decodeField(field, s.slice(colon + 1)) };
}

function checkSignatureLength(alg: SignatureAlgorithm, sig: Uint8Array, field = 'signature'): void {
  if (sig.length !== SIZES[alg].signature) throw invalid(field, `${field} must be ${SIZES[alg].signature} bytes for ${alg}, got ${sig.length}`);
}

function parsePrehash(alg: SignatureAlgorithm, name: string | undefined): PreHashAlgorithm | undefined {
  if (name === undefined) return undefined;
  const ph = PREHASH_ALIASES[name];
  if (!ph) throw invalid('prehash', `unknown prehash ${JSON.stringify(name)}; one of ${PREHASH_NAMES.join(', ')}`);
  if (!prehashMeetsStrength(alg, ph)) {
    throw invalid('prehash', `prehash ${ph} offers less collision resistance than ${alg}'s ${securityStrength(alg)}-bit strength (FIPS 204 §5.4 / FIPS 205 §10.2)`);
  }
  return ph;
}

interface MessageInput { message?: Uint8Array; mu?: Uint8Array; context?: Uint8Array }

/** message xor mu; context ≤ 255 B; mu only for ML-DSA and without context/prehash (μ already binds them). */
function parseMessage(alg: SignatureAlgorithm, item: SignItem, prehash: PreHashAlgorithm | undefined, prefix = ''): MessageInput {
  const f = (n: string) => `${prefix}${n}`;
  if ((item.message === undefined) === (item.mu === undefined)) throw invalid(f('message'), 'exactly one of message and mu is required');
  const out: MessageInput = {};
  if (item.context !== undefined) out.context = decodeField(f('context'), item.context, { max: 255 });
  if (item.mu !== undefined) {
    if (!isMlDsa(alg)) throw invalid(f('mu'), 'external mu is defined for ML-DSA keys only (FIPS 204 §6.2)');
    if (item.context !== undefined || prehash !== undefined) throw invalid(f('mu'), 'mu already binds the context and message: send neither context nor prehash with it');
    out.mu = decodeField(f('mu'), item.mu, { exact: 64 });
  } else {
    out.message = decodeField(f('message'), item.message!, { min: 1, max: MAX_MESSAGE_BYTES });
  }
  return out;
}

const iso = (d: Date): string => new Date(d).toISOString();

function keyInfo(row: KeyRow, versions?: repo.VersionRow[]): KeyInfo {
  const info: KeyInfo = {
    name: row.name, owner: row.owner, algorithm: row.algorithm,
    kind: isSignatureAlgorithm(row.algorithm) ? 'signature' : 'kem',
    exportable: row.exportable, deletionAllowed: row.deletion_allowed,
    minVersion: row.min_version, latestVersion: row.latest_version,
    createdAt: iso(row.created_at), updatedAt: iso(row.updated_at),
  };
  if (versions) info.versions = versions.map((v) => ({ version: v.version, createdAt: iso(v.created_at), publicKey: base64urlEncode(v.public_key) }));
  return info;
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function parsePem(label: string, text: string): Uint8Array {
  const m = new RegExp(`^-----BEGIN ${label}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${label}-----\\r?\\n?$`).exec(text);
  if (!m) throw invalid('publicKey', `PEM must be one ${label} block`);
  const b64 = m[1]!.replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw invalid('publicKey', 'PEM body is not valid base64');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

const encodable = (alg: Algorithm): alg is EncodableAlgorithm => alg !== 'X-Wing';

/**
 * Parses a public key in any supported format: AKP JWK object, PEM text, base64url raw (FIPS
 * encoding) or base64url SPKI DER (told apart by length: no SPKI is as long as its raw key).
 */
export function parsePublicKey(alg: SignatureAlgorithm, input: string | Record<string, unknown>): Uint8Array {
  const want = SIZES[alg].publicKey;
  if (typeof input === 'object') {
    let jwk;
    try { jwk = fromJwk(input); } catch (e) { throw invalid('publicKey', `invalid JWK: ${(e as Error).message}`); }
    if (jwk.seed !== undefined) throw invalid('publicKey', 'the JWK carries a private key (priv); send the public JWK only');
    if (jwk.algorithm !== alg) throw invalid('publicKey', `JWK alg ${jwk.algorithm} does not match algorithm ${alg}`);
    return jwk.publicKey;
  }
  const der = input.startsWith('-----BEGIN') ? parsePem('PUBLIC KEY', input) : decodeField('publicKey', input);
  if (!input.startsWith('-----BEGIN') && der.length === want) return der;
  if (der.length > 0 && der[0] === 0x30) {
    let spki;
    try { spki = decodeSpki(der); } catch (e) { throw invalid('publicKey', `invalid SPKI: ${(e as Error).message}`); }
    if (spki.algorithm !== alg) throw invalid('publicKey', `SPKI algorithm ${spki.algorithm} does not match algorithm ${alg}`);
    return spki.publicKey;
  }
  throw invalid('publicKey', `publicKey must be ${want} bytes (raw ${alg}), SPKI DER, PEM or an AKP JWK; got ${der.length} bytes`);
}

export class KeyService {
  readonly #ctx: AppContext;
  /** Rows (and lazily unwrapped material) of the sign / verify paths, ≤ 1 s old; see cache.ts. */
  readonly #cache: KeyCache;
  constructor(ctx: AppContext) {
    this.#ctx = ctx;
    // Checked in the loader: an entry that is served for ≤ 1 s was checked once when it was read.
    this.#cache = new KeyCache(async (owner, name, version) => this.#checkMaterial(await repo.findMaterial(ctx.store, owner, name, version)), (row) => this.#unwrap(row));
  }

  /** Throws the fixed 500 unless the key row's MAC (algorithm, exportable, minVersion, deletionAllowed) verifies. */
  #checkKey<R extends KeyRow>(row: R): R {
    if (keyRowIntact(this.#ctx.secrets.masterKey, row)) return row;
    this.#ctx.log.error({ keyId: row.id }, 'key row failed its integrity check');
    throw integrityError();
  }

  /** Throws the fixed 500 unless a version row's MAC (public key, bound to the key's id, owner, name, algorithm, exportable) verifies. */
  #checkVersion(row: KeyRow, v: { version: number; public_key: Uint8Array; version_mac: Uint8Array | null }): void {
    if (versionRowIntact(this.#ctx.secrets.masterKey, { ...row, version: v.version, public_key: v.public_key, version_mac: v.version_mac })) return;
    this.#ctx.log.error({ keyId: row.id, version: v.version }, 'key version row failed its integrity check');
    throw integrityError();
  }

  #checkMaterial(row: MaterialRow | undefined): MaterialRow | undefined {
    if (!row) return row;
    this.#checkKey(row);
    if (row.version !== null) this.#checkVersion(row, { version: row.version, public_key: row.public_key!, version_mac: row.version_mac });
    return row;
  }

  /** Every version of a checked key row, each checked. */
  async #checkedVersions(row: KeyRow): Promise<repo.VersionRow[]> {
    const versions = await repo.listVersions(this.#ctx.store, row.id);
    for (const v of versions) this.#checkVersion(row, v);
    return versions;
  }

  #versionMac(row: { id: string; owner: string; name: string; algorithm: string; exportable: boolean }, version: number, publicKey: Uint8Array): Uint8Array {
    return versionRowMac(this.#ctx.secrets.masterKey, { ...row, version, public_key: publicKey });
  }

  /** Forgets cached rows and wipes cached material (shutdown). */
  close(): void { this.#cache.clear(); }

  #wrap(row: { id: string; owner: string; name: string }, version: number, material: Uint8Array): Uint8Array {
    return wrapSecret(this.#ctx.secrets.masterKey, material, keyAad(row.id, row.owner, row.name, version));
  }

  #unwrap(row: MaterialRow): Uint8Array {
    try {
      return unwrapSecret(this.#ctx.secrets.masterKey, row.wrapped_secret!, keyAad(row.id, row.owner, row.name, row.version!));
    } catch (e) {
      if (e instanceof DecryptionError) {
        this.#ctx.log.error({ key: `${row.owner}/${row.name}`, version: row.version }, 'stored key material does not open under the master key');
        throw new AppError('internal', 'stored key material could not be unwrapped');
      }
      throw e;
    }
  }

  /** Creates a key with version 1. 409 when the owner already has a key of that name. */
  async create(owner: string, req: { name: string; algorithm: string; exportable?: boolean | undefined }): Promise<KeyInfo> {
    if (!KEY_NAME_PATTERN.test(req.name)) throw invalid('name', 'name must be 1-64 characters of A-Z a-z 0-9 . _ - and start with a letter or digit');
    if (!(ALGORITHMS as readonly string[]).includes(req.algorithm)) throw invalid('algorithm', `unknown algorithm ${JSON.stringify(req.algorithm)}`);
    if (await repo.findKey(this.#ctx.store, owner, req.name)) throw new AppError('conflict', `a key named ${req.name} already exists`);
    const created = await this.#createRow(owner, req.name, req.algorithm as Algorithm, req.exportable ?? false, false);
    if (!created) throw new AppError('conflict', `a key named ${req.name} already exists`);
    return this.get(owner, req.name);
  }

  /** Inserts key + version 1; with `ifAbsent`, a concurrent or earlier insert wins silently (returns false). */
  async #createRow(owner: string, name: string, algorithm: Algorithm, exportable: boolean, ifAbsent: boolean): Promise<boolean> {
    const { publicKey, material } = await runKeyTask(this.#ctx.pool, 'keys.generate', { algorithm });
    const row = { id: randomUUID(), owner, name, algorithm, exportable };
    try {
      return await this.#ctx.store.transaction(async (tx) => {
        const mac = keyRowMac(this.#ctx.secrets.masterKey, { ...row, min_version: 1, deletion_allowed: false });
        if (!(await repo.insertKey(tx, row, mac, ifAbsent))) return false;
        await repo.insertVersion(tx, row.id, 1, publicKey, this.#wrap(row, 1, material), this.#versionMac(row, 1, publicKey));
        return true;
      });
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    } finally {
      material.fill(0);
    }
  }

  /** Makes sure a key exists (first start of the service; several instances may race: one wins). */
  async ensure(owner: string, name: string, algorithm: Algorithm): Promise<void> {
    if (await repo.findKey(this.#ctx.store, owner, name)) return;
    await this.#createRow(owner, name, algorithm, false, true);
  }

  async list(owner: string | null, opts: { limit?: number | undefined; after?: string | undefined } = {}): Promise<{ keys: KeyInfo[]; next?: string }> {
    const limit = opts.limit ?? 100;
    const rows = await repo.listKeys(this.#ctx.store, owner, SYSTEM_OWNER, limit, opts.after);
    const out: { keys: KeyInfo[]; next?: string } = { keys: rows.map((r) => keyInfo(r)) };
    if (rows.length === limit) out.next = `${rows[rows.length - 1]!.owner}/${rows[rows.length - 1]!.name}`;
    return out;
  }

  async #row(q: Queryable, owner: string, name: string): Promise<KeyRow> {
    const row = await repo.findKey(q, owner, name);
    if (!row) throw notFound();
    return row;
  }

  async get(owner: string, name: string): Promise<KeyInfo> {
    const row = this.#checkKey(await this.#row(this.#ctx.store, owner, name));
    return keyInfo(row, await this.#checkedVersions(row));
  }

  /**
   * Versions of a checked key row whose MACs verify; the others are left out and listed in
   * `dropped` (logged). For the token key: a swapped public key then names no kid (401), and the
   * caller refuses to mint when the latest version is among the dropped.
   */
  async intactVersions(owner: string, name: string): Promise<{ row: KeyRow; versions: repo.VersionRow[]; dropped: number[] }> {
    const row = this.#checkKey(await this.#row(this.#ctx.store, owner, name));
    const versions: repo.VersionRow[] = [];
    const dropped: number[] = [];
    for (const v of await repo.listVersions(this.#ctx.store, row.id)) {
      try {
        this.#checkVersion(row, v);
        versions.push(v);
      } catch (e) {
        if (!(e instanceof AppError)) throw e;
        dropped.push(v.version);
      }
    }
    return { row, versions, dropped };
  }

  /** Version info with creation times (system keys: JWKS retention). */
  async versions(owner: string, name: string): Promise<{ row: KeyRow; versions: repo.VersionRow[] }> {
    const row = this.#checkKey(await this.#row(this.#ctx.store, owner, name));
    return { row, versions: await this.#checkedVersions(row) };
  }

  /** Adds a version; signing uses it from now on. */
  async rotate(owner: string, name: string): Promise<KeyInfo> {
    // The new version's MAC covers algorithm and exportable as read here: check them first.
    const current = this.#checkKey(await this.#row(this.#ctx.store, owner, name));
    const { publicKey, material } = await runKeyTask(this.#ctx.pool, 'keys.generate', { algorithm: current.algorithm as Algorithm });
    try {
      await this.#ctx.store.transaction(async (tx) => {
        const version = await repo.bumpVersion(tx, current.id);
        if (version === undefined) throw notFound(); // deleted meanwhile
        await repo.insertVersion(tx, current.id, version, publicKey, this.#wrap(current, version, material), this.#versionMac(current, version, publicKey));
      });
    } finally {
      material.fill(0);
      this.#cache.invalidate(owner, name);
    }
    return this.get(owner, name);
  }

  async update(owner: string, name: string, patch: { minVersion?: number | undefined; deletionAllowed?: boolean | undefined }): Promise<KeyInfo> {
    let row: KeyRow;
    try {
      // Read (locked), check the MAC, write the new values with a new MAC: one transaction, so two
      // concurrent PATCHes cannot leave a MAC over values that are not the stored ones.
      row = await this.#ctx.store.transaction(async (tx) => {
        const current = await repo.lockKey(tx, owner, name);
        if (!current) throw notFound();
        this.#checkKey(current);
        const minVersion = patch.minVersion ?? current.min_version;
        const deletionAllowed = patch.deletionAllowed ?? current.deletion_allowed;
        if (minVersion < 1 || minVersion > current.latest_version) {
          throw invalid('minVersion', `minVersion must be between 1 and the latest version (${current.latest_version})`);
        }
        const mac = keyRowMac(this.#ctx.secrets.masterKey, { ...current, min_version: minVersion, deletion_allowed: deletionAllowed });
        const updated = await repo.setKeyPolicy(tx, current.id, minVersion, deletionAllowed, mac);
        if (!updated) throw notFound();
        return updated;
      });
    } finally {
      this.#cache.invalidate(owner, name);
    }
    return keyInfo(row, await this.#checkedVersions(row));
  }

  /** Deletes the key and its wrapped material; refused (409) unless deletionAllowed was set first. */
  async delete(owner: string, name: string): Promise<void> {
    let deleted: boolean;
    try {
      deleted = await repo.deleteKey(this.#ctx.store, owner, name);
    } finally {
      this.#cache.invalidate(owner, name);
    }
    if (deleted) return;
    await this.#row(this.#ctx.store, owner, name);
    throw new AppError('conflict', 'deletion is not allowed for this key; set deletionAllowed: true first (PATCH)');
  }

  async #material(owner: string, name: string, version: number | undefined): Promise<MaterialRow & { version: number; public_key: Uint8Array; wrapped_secret: Uint8Array }> {
    const row = this.#checkMaterial(await repo.findMaterial(this.#ctx.store, owner, name, version ?? null));
    if (!row) throw notFound();
    if (row.version === null) throw invalid('version', `key ${name} has no version ${version}; latest is ${row.latest_version}`);
    return row as MaterialRow & { version: number; public_key: Uint8Array; wrapped_secret: Uint8Array };
  }

  /** Like #material, through the cache: the row and a copy of its unwrapped material (the caller wipes it). */
  async #cachedMaterial(owner: string, name: string, version: number | undefined): Promise<{ row: CachedVersionRow; material: Uint8Array }> {
    const found = await this.#cache.material(owner, name, version ?? null);
    if (!found) throw notFound();
    if (found.row.version === null || !found.material) throw invalid('version', `key ${name} has no version ${version}; latest is ${found.row.latest_version}`);
    return { row: found.row as CachedVersionRow, material: found.material };
  }

  async publicKey(owner: string, name: string, opts: { version?: number | undefined; format?: PublicKeyFormat | undefined }) {
    const row = await this.#material(owner, name, opts.version);
    const format = opts.format ?? 'raw';
    const alg = row.algorithm as Algorithm;
    const base = { algorithm: alg, version: row.version, format };
    switch (format) {
      case 'raw': return { ...base, publicKey: base64urlEncode(row.public_key) };
      case 'der': case 'spki': case 'pem': {
        if (!encodable(alg)) throw new AppError('unsupported_operation', `${alg} has no standard SPKI encoding yet; use format=raw`);
        const der = encodeSpki(alg, row.public_key);
        return { ...base, publicKey: format === 'pem' ? pem('PUBLIC KEY', der) : base64urlEncode(der) };
      }
      case 'jwk': {
        if (!isMlDsa(alg)) throw new AppError('unsupported_operation', `JWK (kty AKP, RFC 9964) is defined for ML-DSA only; ${alg} supports raw, der and pem`);
        return { ...base, publicKey: { ...toJwk(alg, row.public_key), kid: `${name}#v${row.version}` } satisfies AkpJwk };
      }
      default: throw invalid('format', 'unknown format');
    }
  }

  /** Private material of an exportable key: raw (seed / SLH-DSA secret key), PKCS#8 (base64url DER or PEM), or AKP JWK. */
  async export(owner: string, name: string, opts: { version?: number | undefined; format?: PrivateKeyFormat | undefined }) {
    const row = await this.#material(owner, name, opts.version);
    if (!row.exportable) throw new AppError('forbidden', 'this key was not created exportable; its private material never leaves the service');
    const format = opts.format ?? 'raw';
    const alg = row.algorithm as Algorithm;
    const material = this.#unwrap(row);
    try {
      const base = { algorithm: alg, version: row.version, format };
      switch (format) {
        case 'raw': return { ...base, privateKey: base64urlEncode(material) };
        case 'pkcs8': case 'pem': {
          if (!encodable(alg)) throw new AppError('unsupported_operation', `${alg} has no standard PKCS#8 encoding yet; use format=raw`);
          const der = encodePkcs8(alg, isSignatureAlgorithm(alg) && !isMlDsa(alg) ? { secretKey: material } : { seed: material });
          return { ...base, privateKey: format === 'pem' ? pem('PRIVATE KEY', der) : base64urlEncode(der) };
        }
        case 'jwk': {
          if (!isMlDsa(alg)) throw new AppError('unsupported_operation', 'JWK (kty AKP) is defined for ML-DSA only');
          return { ...base, privateKey: { ...toJwk(alg, row.public_key, material), kid: `${name}#v${row.version}` } };
        }
        default: throw invalid('format', 'unknown format');
      }
    } finally {
      material.fill(0);
    }
  }

  #signable(row: KeyRow, version: number): SignatureAlgorithm {
    if (!isSignatureAlgorithm(row.algorithm)) throw new AppError('unsupported_operation', `${row.algorithm} is a KEM key; it cannot sign`);
    if (version < row.min_version) throw invalid('version', `version ${version} is below the key's minVersion ${row.min_version}`);
    return row.algorithm;
  }

  /** Signs one message (or external μ), or a batch, with the latest (or the given) version. */
  async sign(owner: string, name: string, req: SignRequest): Promise<SignResult | BatchResult> {
    const { row, material } = await this.#cachedMaterial(owner, name, req.version);
    let alg: SignatureAlgorithm;
    let prehash: PreHashAlgorithm | undefined;
    try {
      alg = this.#signable(row, row.version);
      prehash = parsePrehash(alg, req.prehash);
    } catch (e) {
      material.fill(0);
      throw e;
    }
    const base = {
      algorithm: alg, material, cacheId: `${row.id}#v${row.version}`,
      ...(prehash ? { prehash } : {}), ...(req.deterministic ? { deterministic: true } : {}),
    };
    try {
      if (req.batch !== undefined) {
        if (req.message !== undefined || req.mu !== undefined || req.context !== undefined) {
          throw invalid('batch', 'send either batch or message/mu/context, not both');
        }
        if (req.batch.length === 0 || req.batch.length > MAX_BATCH) throw invalid('batch', `batch must hold 1 to ${MAX_BATCH} items`);
        const results = await Promise.all(req.batch.map(async (item, i) => {
          const ref = item.reference !== undefined ? { reference: item.reference } : {};
          try {
            const msg = parseMessage(alg, item, prehash, `batch.${i}.`);
            const { signature } = await runKeyTask(this.#ctx.pool, 'keys.sign', { ...base, ...msg } satisfies SignInput);
            return { ...ref, signature: `v${row.version}:${base64urlEncode(signature)}` };
          } catch (e) {
            if (!(e instanceof AppError) || e.status >= 500) throw e;
            return { ...ref, error: { ...problemOf(e), ...(e.extra?.field ? { field: e.extra.field } : {}) } };
          }
        }));
        return { algorithm: alg, version: row.version, results };
      }
      const msg = parseMessage(alg, req, prehash);
      const { signature } = await runKeyTask(this.#ctx.pool, 'keys.sign', { ...base, ...msg } satisfies SignInput);
      return { signature: `v${row.version}:${base64urlEncode(signature)}`, algorithm: alg, version: row.version };
    } finally {
      base.material.fill(0);
    }
  }

  /** Raw signature bytes with the latest (or the given) version (system keys; no API prefix). */
  async signRaw(owner: string, name: string, message: Uint8Array, context?: Uint8Array, version?: number): Promise<{ signature: Uint8Array; version: number }> {
    // Callers publish the signature next to a freshly read identity(): "latest" comes from the store,
    // never from the ≤ 1 s cache (another instance may just have rotated). A named version may be cached.
    const v = version ?? (await this.#row(this.#ctx.store, owner, name)).latest_version;
    const { row, material } = await this.#cachedMaterial(owner, name, v);
    try {
      const algorithm = this.#signable(row, row.version);
      const { signature } = await runKeyTask(this.#ctx.pool, 'keys.sign', {
        algorithm, material, cacheId: `${row.id}#v${row.version}`, message, ...(context ? { context } : {}),
      } satisfies SignInput);
      return { signature, version: row.version };
    } finally {
      material.fill(0);
    }
  }

  /** Verifies against the version named by the signature prefix (`v<N>:`), down to minVersion. */
  async verify(owner: string, name: string, req: VerifyRequest): Promise<{ valid: boolean; version: number }> {
    const sig = parseVersionedSignature('signature', req.signature);
    const row = await this.#cache.row(owner, name, sig.version);
    if (!row) throw notFound();
    if (row.version === null) throw invalid('signature', `the signature names version ${sig.version}, which key ${name} does not have (latest is ${row.latest_version})`);
    const alg = this.#signable(row, row.version);
    checkSignatureLength(alg, sig.bytes);
    const prehash = parsePrehash(alg, req.prehash);
    const msg = parseMessage(alg, req, prehash);
    const { valid } = await runKeyTask(this.#ctx.pool, 'keys.verify', {
      algorithm: alg, publicKey: row.public_key!, cacheId: `${row.id}#v${row.version}`, signature: sig.bytes, ...msg, ...(prehash ? { prehash } : {}),
    } satisfies VerifyInput);
    return { valid, version: row.version };
  }

  /** Verifies with a caller-supplied public key (raw, SPKI, PEM or JWK); the `v<N>:` prefix is optional. */
  async verifyWithPublicKey(req: VerifyWithPublicKeyRequest): Promise<{ valid: boolean }> {
    if (!isSignatureAlgorithm(req.algorithm)) throw invalid('algorithm', `unknown signature algorithm ${JSON.stringify(req.algorithm)}`);
    const alg = req.algorithm;
    const publicKey = parsePublicKey(alg, req.publicKey);
    const sigBytes = req.signature.startsWith('v') && req.signature.includes(':')
      ? parseVersionedSignature('signature', req.signature).bytes
      : decodeField('signature', req.signature);
    checkSignatureLength(alg, sigBytes);
    const prehash = parsePrehash(alg, req.prehash);
    const msg = parseMessage(alg, req, prehash);
    return runKeyTask(this.#ctx.pool, 'keys.verify', { algorithm: alg, publicKey, signature: sigBytes, ...msg, ...(prehash ? { prehash } : {}) } satisfies VerifyInput);
  }
}
