/**
 * Worker side of the kex capability: `kex.respond`, the server half of the handshake (two X-Wing
 * operations, HKDF, HMACs) off the event loop. Input buffers are this thread's own copies and are
 * wiped here. A proof that does not verify throws the protocol's AppError (`decryption_failed`,
 * fixed message), which crosses the thread boundary with its code (src/workers/tasks.ts).
 */
import { wipe } from '../crypto/bytes.ts';
import type { WorkerEnv } from '../workers/env.ts';
import * as P from './protocol.ts';

export interface RespondInput { prekey: P.Prekey; prekeySecret: Uint8Array; hello: P.ClientHello; sessionId: string }
export interface RespondOutput { ciphertext: Uint8Array; packedKeys: Uint8Array }

/** Decapsulates the client's ciphertext, checks its early proof, encapsulates to its key, derives the session keys. */
export function respond(input: RespondInput, { backend }: WorkerEnv): RespondOutput {
  try {
    const r = P.serverRespond(backend, input.prekey, input.prekeySecret, input.hello, input.sessionId);
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
