/**
 * Envelope encryption (AWS / GCP "data keys"): a fresh AEAD key of 16 or 32 bytes generated in the
 * worker and sealed to the newest version of a KEM key with HPKE, exactly like `encrypt` would seal it,
 * so `decrypt` returns it. The plaintext key is returned too unless `plaintext: false`.
 */
import { base64urlEncode } from '../crypto/index.ts';
import { invalid, parseHpkeContext } from './inputs.ts';
import type { Keyring } from './keyring.ts';
import { newestPublicKey, serialize, suiteInfo, type SuiteInfo } from './encrypt.ts';

export interface DataKeyRequest { bytes?: number | undefined; plaintext?: boolean | undefined; aad?: string | undefined; info?: string | undefined }
export interface DataKeyResult { ciphertext: string; plaintext?: string; bytes: number; algorithm: string; version: number; suite: SuiteInfo }

export async function generateDataKey(ring: Keyring, owner: string, name: string, req: DataKeyRequest): Promise<DataKeyResult> {
  const bytes = req.bytes ?? 32;
  if (bytes !== 16 && bytes !== 32) throw invalid('bytes', 'bytes must be 16 or 32');
  const ctx = parseHpkeContext(req);
  const { row, algorithm, publicKey } = await newestPublicKey(ring, owner, name);
  const withPlaintext = req.plaintext ?? true;
  const out = await ring.pool.run('keys.datakey', { algorithm, publicKey, bytes, withPlaintext, ...ctx });
  const res: DataKeyResult = { ciphertext: serialize(row.version, out.ciphertext), bytes, algorithm, version: row.version, suite: suiteInfo(algorithm) };
  if (out.plaintext) {
    res.plaintext = base64urlEncode(out.plaintext);
    out.plaintext.fill(0);
  }
  return res;
}
