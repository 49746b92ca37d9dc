/**
 * Reading keys out: public keys (raw, SPKI DER, PEM, AKP JWK) and, for keys created exportable,
 * the private material (raw, PKCS#8 DER or PEM, AKP JWK). Encodings live in src/crypto/encodings.ts.
 */
import { isMlDsa, isSignatureAlgorithm, base64urlEncode, encodePem, encodePkcs8, encodeSpki, toJwk } from '../crypto/index.ts';
import type { AkpJwk, Algorithm, EncodableAlgorithm } from '../crypto/index.ts';
import { AppError } from '../errors.ts';
import { invalid } from './inputs.ts';
import type { Keyring } from './keyring.ts';

export type PublicKeyFormat = 'raw' | 'der' | 'spki' | 'pem' | 'jwk';
export type PrivateKeyFormat = 'raw' | 'pkcs8' | 'pem' | 'jwk';

const encodable = (alg: Algorithm): alg is EncodableAlgorithm => alg !== 'X-Wing';

/** A version's public key (latest when no version) in the requested format (raw by default). */
export async function publicKey(ring: Keyring, owner: string, name: string, opts: { version?: number | undefined; format?: PublicKeyFormat | undefined }) {
  const row = await ring.material(owner, name, opts.version);
  const format = opts.format ?? 'raw';
  const alg = row.algorithm as Algorithm;
  const base = { algorithm: alg, version: row.version, format };
  switch (format) {
    case 'raw': return { ...base, publicKey: base64urlEncode(row.public_key) };
    case 'der': case 'spki': case 'pem': {
      if (!encodable(alg)) throw new AppError('unsupported_operation', `${alg} has no standard SPKI encoding yet; use format=raw`);
      const der = encodeSpki(alg, row.public_key);
      return { ...base, publicKey: format === 'pem' ? encodePem('PUBLIC KEY', der) : base64urlEncode(der) };
    }
    case 'jwk': {
      if (!isMlDsa(alg)) throw new AppError('unsupported_operation', `JWK (kty AKP, RFC 9964) is defined for ML-DSA only; ${alg} supports raw, der and pem`);
      return { ...base, publicKey: { ...toJwk(alg, row.public_key), kid: `${name}#v${row.version}` } satisfies AkpJwk };
    }
    default: throw invalid('format', 'unknown format');
  }
}

/** Private material of an exportable key: raw (seed / SLH-DSA secret key), PKCS#8 (base64url DER or PEM), or AKP JWK. */
export async function exportKey(ring: Keyring, owner: string, name: string, opts: { version?: number | undefined; format?: PrivateKeyFormat | undefined }) {
  const row = await ring.material(owner, name, opts.version);
  if (!row.exportable) throw new AppError('forbidden', 'this key was not created exportable; its private material never leaves the service');
  const format = opts.format ?? 'raw';
  const alg = row.algorithm as Algorithm;
  const material = ring.unwrap(row);
  try {
    const base = { algorithm: alg, version: row.version, format };
    switch (format) {
      case 'raw': return { ...base, privateKey: base64urlEncode(material) };
      case 'pkcs8': case 'pem': {
        if (!encodable(alg)) throw new AppError('unsupported_operation', `${alg} has no standard PKCS#8 encoding yet; use format=raw`);
        const der = encodePkcs8(alg, isSignatureAlgorithm(alg) && !isMlDsa(alg) ? { secretKey: material } : { seed: material });
        return { ...base, privateKey: format === 'pem' ? encodePem('PRIVATE KEY', der) : base64urlEncode(der) };
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
