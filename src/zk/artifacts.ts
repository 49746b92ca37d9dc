/**
 * The circuit artifacts the service publishes (getCircuit): login.wasm and login.zkey for proving,
 * verification_key.json for anyone who wants to check proofs. Read once at start-up, each checked
 * against circuits/artifacts/SHA256SUMS (start-up fails on a mismatch), kept in memory (≈ 3 MB).
 */
import { sha256Hex } from '../crypto/hash.ts';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import { DOMAIN_COMMIT_LABEL, DOMAIN_LOGIN_LABEL, FIELD_MODULUS, ROTATE_LABEL, SALT_LABEL, SESSION_KEY_LABEL } from './poseidon.ts';

/** circuits/artifacts of the repository, resolved from this file. */
export const DEFAULT_ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'circuits', 'artifacts');
/** The artifacts served at /v1/zk/circuit/{name}. */
export const PUBLISHED = ['login.wasm', 'login.zkey', 'verification_key.json'] as const;
/** One of {@link PUBLISHED}. */
export type ArtifactName = (typeof PUBLISHED)[number];

/** A loaded artifact: bytes, hex SHA-256 and size. */
export interface Artifact { name: ArtifactName; sha256: string; size: number; bytes: Uint8Array }

/** The body of GET /v1/zk/circuit: circuit shape, domain labels, artifact digests, ceremony provenance. */
export interface CircuitInfo {
  protocol: 'groth16';
  curve: 'bn128';
  fieldModulus: string;
  nPublic: number;
  publicSignals: string[];
  labels: { commitment: string; loginTag: string; sessionKey: string; salt: string; rotate: string };
  artifacts: Array<{ name: ArtifactName; sha256: string; size: number; path: string }>;
  ceremony: { local: boolean; warning?: string; phase1Beacon?: string; phase2Beacon?: string };
  challengeTtlSeconds: number;
}

/**
 * Reads and checks every published artifact of `dir`.
 *
 * @throws AppError `internal` when an artifact does not match SHA256SUMS; fs errors when a file is missing.
 */
export function loadArtifacts(dir = DEFAULT_ARTIFACTS_DIR): Map<ArtifactName, Artifact> {
  const sums = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'SHA256SUMS'), 'utf8').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m) sums.set(m[2]!, m[1]!);
  }
  const out = new Map<ArtifactName, Artifact>();
  for (const name of PUBLISHED) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    const sha256 = sha256Hex(bytes);
    if (sums.get(name) !== sha256) throw new AppError('internal', `circuit artifact ${name} does not match SHA256SUMS`);
    out.set(name, { name, sha256, size: bytes.length, bytes });
  }
  return out;
}

/** Builds the {@link CircuitInfo}; ceremony.json, when present and readable, fills `ceremony`. */
export function circuitInfo(artifacts: Map<ArtifactName, Artifact>, challengeTtlSeconds: number, dir = DEFAULT_ARTIFACTS_DIR): CircuitInfo {
  let ceremony: CircuitInfo['ceremony'] = { local: false };
  try {
    const c = JSON.parse(readFileSync(join(dir, 'ceremony.json'), 'utf8')) as { warning?: string; phase1?: { beacon?: { hashSha256?: string } }; phase2?: { beacon?: { hashSha256?: string } } };
    ceremony = {
      local: typeof c.warning === 'string' && /local/i.test(c.warning),
      ...(c.warning ? { warning: c.warning } : {}),
      ...(c.phase1?.beacon?.hashSha256 ? { phase1Beacon: c.phase1.beacon.hashSha256 } : {}),
      ...(c.phase2?.beacon?.hashSha256 ? { phase2Beacon: c.phase2.beacon.hashSha256 } : {}),
    };
  } catch { /* ceremony.json is informative only */ }
  return {
    protocol: 'groth16',
    curve: 'bn128',
    fieldModulus: FIELD_MODULUS.toString(),
    nPublic: 4,
    publicSignals: ['commitment', 'loginTag', 'challenge', 'sessionKeyHash'],
    labels: { commitment: DOMAIN_COMMIT_LABEL, loginTag: DOMAIN_LOGIN_LABEL, sessionKey: SESSION_KEY_LABEL, salt: SALT_LABEL, rotate: ROTATE_LABEL },
    artifacts: [...artifacts.values()].map((a) => ({ name: a.name, sha256: a.sha256, size: a.size, path: `/v1/zk/circuit/${a.name}` })),
    ceremony,
    challengeTtlSeconds,
  };
}
