/**
 * Managed keys: named keyrings of versions for one algorithm, owned by a principal (owners.ts);
 * signing and verification (FIPS 204 ML-DSA, FIPS 205 SLH-DSA) in the worker pool; private
 * material wrapped at rest (wrap.ts) and never returned unless the key was created exportable.
 *
 * KeyService is the capability's one entry point for routes and for other capabilities (through
 * api.ts). Each operation lives in its own module: lifecycle.ts, export.ts, sign.ts, verify.ts;
 * all of them read and write keys through the keyring (keyring.ts).
 *
 * @example
 * const keys = new KeyService(ctx);
 * await keys.create('tenant:alice', { name: 'release', algorithm: 'ML-DSA-65' });
 * const { signature } = await keys.sign('tenant:alice', 'release', { message: 'aGVsbG8' }) as SignResult;
 * await keys.verify('tenant:alice', 'release', { message: 'aGVsbG8', signature }); // { valid: true, version: 1 }
 */
import type { AppContext } from '../context.ts';
import type { Algorithm } from '../crypto/index.ts';
import { Keyring } from './keyring.ts';
import * as lifecycle from './lifecycle.ts';
import type { KeyInfo, KeyPatch, LifecycleRequest } from './lifecycle.ts';
import { sweepRotations, type SweepResult } from './rotation.ts';
import { destroyKeyVersion } from './destroy.ts';
import { exportKey, publicKey, type PrivateKeyFormat, type PublicKeyFormat } from './export.ts';
import { sign, signRaw, type BatchResult, type SignRequest, type SignResult } from './sign.ts';
import { verify, verifyWithPublicKey, type VerifyRequest, type VerifyWithPublicKeyRequest } from './verify.ts';
import type { KeyRow, VersionRow } from './repo.ts';
import { encrypt, type BatchEncryptResult, type EncryptRequest, type EncryptResult } from './encrypt.ts';
import { decrypt, rewrap, type DecryptItem, type DecryptRequest } from './decrypt.ts';
import { generateDataKey, type DataKeyRequest, type DataKeyResult } from './datakey.ts';
import { decapsulate } from './decapsulate.ts';
import { createPublicOnlyKey } from './import-public.ts';
import { createImportJob, getImportJob, importKeyVersion, sweepImportJobs, type ImportJobInfo, type ImportRequest } from './import-jobs.ts';

export { SYSTEM_OWNER, ADMIN_OWNER, tenantOwner } from './owners.ts';
export { KEY_NAME_PATTERN, MAX_MESSAGE_BYTES, MAX_BATCH, PREHASH_NAMES, decodeField, parseVersionedSignature } from './inputs.ts';
export { parsePublicKey } from '../crypto/index.ts';
export type { KeyInfo, KeyVersionInfo, KeyPatch, LifecycleRequest } from './lifecycle.ts';
export type { SweepResult } from './rotation.ts';
export type { PublicKeyFormat, PrivateKeyFormat } from './export.ts';
export type { SignRequest, SignResult, BatchResult } from './sign.ts';
export type { SignItem } from './inputs.ts';
export type { VerifyRequest, VerifyWithPublicKeyRequest } from './verify.ts';
export type { EncryptRequest, EncryptResult, BatchEncryptResult } from './encrypt.ts';
export type { DecryptRequest, DecryptItem } from './decrypt.ts';
export type { DataKeyRequest, DataKeyResult } from './datakey.ts';
export type { ImportJobInfo, ImportRequest } from './import-jobs.ts';

export class KeyService {
  readonly #ring: Keyring;

  /** `opts.now`: the lifecycle clock (ms since the epoch) for tests; Date.now otherwise. */
  constructor(ctx: Pick<AppContext, 'store' | 'pool' | 'secrets' | 'log'>, opts: { now?: () => number } = {}) {
    this.#ring = new Keyring({ store: ctx.store, pool: ctx.pool, masterKey: ctx.secrets.masterKey, log: ctx.log, now: opts.now });
  }

  /** Forgets cached rows and wipes cached material (shutdown). */
  close(): void { this.#ring.close(); }

  /** Creates a key with version 1; 409 when the owner already has a key of that name. */
  create(owner: string, req: { name: string; algorithm: string; exportable?: boolean | undefined; decapsulateAllowed?: boolean | undefined; publicKey?: string | Record<string, unknown> | undefined } & LifecycleRequest): Promise<KeyInfo> {
    if (req.publicKey !== undefined) return createPublicOnlyKey(this.#ring, owner, { ...req, publicKey: req.publicKey });
    return lifecycle.createKey(this.#ring, owner, req);
  }

  /** Makes sure a key exists (first start; several instances may race and one wins). */
  ensure(owner: string, name: string, algorithm: Algorithm): Promise<void> {
    return lifecycle.ensureKey(this.#ring, owner, name, algorithm);
  }

  /** One page of keys of `owner` (every owner but `system` when null). */
  list(owner: string | null, opts: { limit?: number | undefined; after?: string | undefined } = {}): Promise<{ keys: KeyInfo[]; next?: string }> {
    return lifecycle.listKeys(this.#ring, owner, opts);
  }

  /** A key and all its versions; 404 when absent or another owner's. */
  get(owner: string, name: string): Promise<KeyInfo> { return lifecycle.getKey(this.#ring, owner, name); }

  /** The versions whose integrity MAC verifies, and the numbers of those that do not (token key). */
  intactVersions(owner: string, name: string): Promise<{ row: KeyRow; versions: VersionRow[]; dropped: number[] }> {
    return lifecycle.intactVersions(this.#ring, owner, name);
  }

  /** Every version with its creation time, each checked (system keys: JWKS retention). */
  async versions(owner: string, name: string): Promise<{ row: KeyRow; versions: VersionRow[] }> {
    const row = await this.#ring.key(owner, name);
    return { row, versions: await this.#ring.checkedVersions(row) };
  }

  /** Adds a version; signing uses it from now on. */
  rotate(owner: string, name: string): Promise<KeyInfo> { return lifecycle.rotateKey(this.#ring, owner, name); }

  /** Changes minVersion, deletionAllowed, rotationPeriod and/or maxVersions. */
  update(owner: string, name: string, patch: KeyPatch): Promise<KeyInfo> {
    return lifecycle.updateKey(this.#ring, owner, name, patch);
  }

  /** Erases one version's private material (not the current one); it stays listed as destroyed. */
  destroyVersion(owner: string, name: string, version: number): Promise<KeyInfo> { return destroyKeyVersion(this.#ring, owner, name, version); }

  /** One automatic-rotation sweep at `now` (default the clock): at most `limit` (ROTATION_BATCH) due keys. */
  sweepRotations(now?: Date, limit?: number): Promise<SweepResult> { return sweepRotations(this.#ring, now, limit); }

  /** Deletes the key and its material; 409 unless deletionAllowed was set first. */
  delete(owner: string, name: string): Promise<void> { return lifecycle.deleteKey(this.#ring, owner, name); }

  /** A version's public key as raw, SPKI DER, PEM or AKP JWK. */
  publicKey(owner: string, name: string, opts: { version?: number | undefined; format?: PublicKeyFormat | undefined }) {
    return publicKey(this.#ring, owner, name, opts);
  }

  /** The private material of an exportable key (403 otherwise). */
  export(owner: string, name: string, opts: { version?: number | undefined; format?: PrivateKeyFormat | undefined }) {
    return exportKey(this.#ring, owner, name, opts);
  }

  /** Signs a message, an external μ or a batch; signatures are `v<N>:<base64url>`. */
  sign(owner: string, name: string, req: SignRequest): Promise<SignResult | BatchResult> { return sign(this.#ring, owner, name, req); }

  /** Raw signature bytes (system keys). */
  signRaw(owner: string, name: string, message: Uint8Array, context?: Uint8Array, version?: number): Promise<{ signature: Uint8Array; version: number }> {
    return signRaw(this.#ring, owner, name, message, context, version);
  }

  /** Verifies against the version named by the signature prefix. */
  verify(owner: string, name: string, req: VerifyRequest): Promise<{ valid: boolean; version: number }> { return verify(this.#ring, owner, name, req); }

  /** Verifies with a caller-supplied public key. */
  verifyWithPublicKey(req: VerifyWithPublicKeyRequest): Promise<{ valid: boolean }> { return verifyWithPublicKey(this.#ring, req); }

  /** Verifies raw bytes with a raw public key in the pool (system keys: identity signatures). */
  verifyRaw(algorithm: 'ML-DSA-65', publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, context?: Uint8Array): Promise<{ valid: boolean }> {
    return this.#ring.pool.run('keys.verify', { algorithm, publicKey, signature, message, ...(context ? { context } : {}) });
  }

  /** HPKE-seals a plaintext (or a batch) to the newest version; ciphertexts are `v<N>:<base64url(enc ‖ ct)>`. */
  encrypt(owner: string, name: string, req: EncryptRequest): Promise<EncryptResult | BatchEncryptResult> { return encrypt(this.#ring, owner, name, req); }

  /** Opens a ciphertext (or a batch) with the version its prefix names; any failure is the one DecryptionError. */
  decrypt(owner: string, name: string, req: DecryptRequest) { return decrypt(this.#ring, owner, name, req); }

  /** Re-seals a ciphertext to the newest version without the plaintext leaving the worker. */
  rewrap(owner: string, name: string, req: DecryptItem) { return rewrap(this.#ring, owner, name, req); }

  /** A fresh 16/32-byte data key sealed to the newest version (and, unless asked not to, in clear). */
  generateDataKey(owner: string, name: string, req: DataKeyRequest): Promise<DataKeyResult> { return generateDataKey(this.#ring, owner, name, req); }

  /** Raw KEM decapsulation; only for keys created with decapsulateAllowed. */
  decapsulate(owner: string, name: string, req: { ciphertext: string }) { return decapsulate(this.#ring, owner, name, req); }

  /** A short-lived X-Wing import key (BYOK); its private seed never leaves the service. */
  createImportJob(owner: string, req: { ttlSeconds?: number | undefined }): Promise<ImportJobInfo> { return createImportJob(this.#ring, owner, req); }

  getImportJob(owner: string, id: string): Promise<ImportJobInfo> { return getImportJob(this.#ring, owner, id); }

  /** Adds HPKE-wrapped key material as the newest version of `name` (or creates the key). */
  importKeyVersion(owner: string, name: string, req: ImportRequest): Promise<KeyInfo> { return importKeyVersion(this.#ring, owner, name, req); }

  /** Deletes expired import jobs (periodic sweep). */
  sweepImportJobs(): Promise<number> { return sweepImportJobs(this.#ring); }
}
