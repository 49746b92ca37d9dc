/**
 * Worker side of the kex capability: `kex.respond`, the server half of the handshake (two X-Wing
 * operations, HKDF, HMACs) off the event loop. Input buffers are this thread's own copies and are
 * wiped here. A proof that does not verify throws the protocol's AppError (`decryption_failed`,
 * fixed message), which crosses the thread boundary with its code (src/workers/tasks.ts).
 *
 * Prepared prekeys: each worker keeps the backend's prepared X-Wing decapsulation key of the few
 * most recent prekeys (keyed by backend and the public prekey id), so a handshake does not expand
 * the seed again (SHAKE-256, ML-KEM key generation, OpenSSL import: most of a decapsulation). As in
 * src/keys/worker.ts, an entry is used only when the seed presented with the task equals the cached
 * one (constant-time compare): a reused or colliding id never decapsulates with another key.
 */
import { constantTimeEqual, wipe } from '../crypto/bytes.ts';
import type { CryptoBackend, PreparedDecapsulationKey } from '../crypto/backend.ts';
import type { WorkerEnv } from '../workers/env.ts';
import * as P from './protocol.ts';

export interface RespondInput { prekey: P.Prekey; prekeySecret: Uint8Array; hello: P.ClientHello; sessionId: string }
export interface RespondOutput { ciphertext: Uint8Array; packedKeys: Uint8Array }

/** Prepared prekeys per worker: a handful are live at once (current, overlap, grace). */
export const PREKEY_CACHE_MAX = 8;

interface PrekeyEntry { seed: Uint8Array; key: PreparedDecapsulationKey }
const prekeys = new Map<string, PrekeyEntry>();

/** Entries in this thread's prepared-prekey cache (tests). */
export const prekeyCacheSize = (): number => prekeys.size;

function drop(id: string, e: PrekeyEntry): void {
  prekeys.delete(id);
  e.seed.fill(0);
  e.key.destroy();
}

/** The prepared decapsulation key of `seed` for prekey `prekeyId`: cached, or prepared and cached now. */
function preparedPrekey(b: CryptoBackend, prekeyId: string, seed: Uint8Array): PreparedDecapsulationKey {
  const id = `${b.name}:${prekeyId}`;
  const hit = prekeys.get(id);
  if (hit) {
    if (constantTimeEqual(hit.seed, seed)) {
      prekeys.delete(id); // most recently used at the back
      prekeys.set(id, hit);
      return hit.key;
    }
    drop(id, hit);
  }
  const key = b.prepareDecapsulationKey(P.KEM, seed);
  while (prekeys.size >= PREKEY_CACHE_MAX) {
    const [first, e] = prekeys.entries().next().value!;
    drop(first, e);
  }
  prekeys.set(id, { seed: seed.slice(), key });
  return key;
}

/** Decapsulates the client's ciphertext, checks its early proof, encapsulates to its key, derives the session keys. */
export function respond(input: RespondInput, { backend }: WorkerEnv): RespondOutput {
  try {
    const key = preparedPrekey(backend, input.prekey.prekeyId, input.prekeySecret);
    const r = P.serverRespond(backend, input.prekey, key, input.hello, input.sessionId);
    const packedKeys = P.packKeys(r.keys);
    P.wipeKeys(r.keys);
    return { ciphertext: r.ciphertext, packedKeys };
  } finally {
    wipe(input.prekeySecret);
  }
}

/** The kex capability's worker tasks, for the registry in src/workers/tasks.ts. */
export const kexWorker = {
  'kex.respond': respond,
};
