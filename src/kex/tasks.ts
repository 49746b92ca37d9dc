/**
 * kex work for the worker pool: the server half of the handshake (two X-Wing operations, HKDF,
 * HMACs) off the event loop. Input buffers are this thread's own copies and are wiped here.
 */
import { getBackend } from '../crypto/index.ts';
import { wipe } from '../crypto/bytes.ts';
import { AppError } from '../errors.ts';
import * as P from './protocol.ts';

export interface RespondInput { prekey: P.Prekey; prekeySecret: Uint8Array; hello: P.ClientHello; sessionId: string }
/** `failed`: the early proof did not verify (errors do not keep their code across threads, so it is a value). */
export type RespondOutput = { failed: false; ciphertext: Uint8Array; packedKeys: Uint8Array } | { failed: true };

export const kexTasks = {
  'kex.respond': (input: RespondInput): RespondOutput => {
    const b = getBackend((process.env.CRYPTO_BACKEND ?? 'native') as 'native' | 'noble');
    try {
      const r = P.serverRespond(b, input.prekey, input.prekeySecret, input.hello, input.sessionId);
      const packedKeys = P.packKeys(r.keys);
      P.wipeKeys(r.keys);
      return { failed: false, ciphertext: r.ciphertext, packedKeys };
    } catch (err) {
      if (err instanceof AppError) return { failed: true };
      throw err;
    } finally {
      wipe(input.prekeySecret);
    }
  },
};
