/**
 * RFC known answers kept in rfc-vectors.ts: RFC 7748 (X25519), RFC 5869 (HKDF), RFC 8439 (ChaCha20-Poly1305).
 * Needs no vector directory.
 */
import { all, concat, diff, fromHex, valid, type Job } from './lib.ts';
import { CHACHA20_POLY1305, HKDF_SHA256, X25519_DH, X25519_FUNCTION, X25519_ITERATED } from './rfc-vectors.ts';

export const rfcJobs = (): Job[] => [{
  id: 'rfc/vectors', kind: 'crypto', files: [],
  run(ctx) {
    const b = ctx.backend;
    const row = (alg: string, fn: string) => ctx.tally.row('rfc', alg, fn, ctx.backendName);
    let read = 0;

    for (const v of X25519_FUNCTION) {
      read++;
      valid(row('X25519', 'RFC 7748 §5.2'), v.section, () => diff('u', b.x25519(fromHex(v.scalar), fromHex(v.u)), fromHex(v.out)));
    }
    read++;
    valid(row('X25519', 'RFC 7748 §5.2 iterated'), 'iterated', () => {
      let k: Uint8Array = new Uint8Array(32); k[0] = 9;
      let u: Uint8Array = k;
      const max = Math.max(...X25519_ITERATED.map((e) => e.iterations));
      for (let i = 1; i <= max; i++) {
        const next = b.x25519(k, u);
        u = k; k = next;
        const want = X25519_ITERATED.find((e) => e.iterations === i);
        if (want) { const d = diff(want.section, k, fromHex(want.k)); if (d !== true) return d; }
      }
      return true;
    });
    read++;
    valid(row('X25519', 'RFC 7748 §6.1'), X25519_DH.section, () => {
      const d = X25519_DH;
      return all(
        diff('Alice public', b.x25519Keygen(fromHex(d.alicePrivate)).publicKey, fromHex(d.alicePublic)),
        diff('Bob public', b.x25519Keygen(fromHex(d.bobPrivate)).publicKey, fromHex(d.bobPublic)),
        diff('K (Alice)', b.x25519(fromHex(d.alicePrivate), fromHex(d.bobPublic)), fromHex(d.shared)),
        diff('K (Bob)', b.x25519(fromHex(d.bobPrivate), fromHex(d.alicePublic)), fromHex(d.shared)),
      );
    });

    for (const v of HKDF_SHA256) {
      read++;
      valid(row('HKDF-SHA-256', 'RFC 5869 A'), v.section, () => all(
        // Extract: PRK = HMAC-Hash(salt, IKM); an empty salt acts as HashLen zero bytes (§2.2) under HMAC padding.
        diff('PRK', b.hmac('SHA-256', fromHex(v.salt), fromHex(v.ikm)), fromHex(v.prk)),
        diff('OKM', b.hkdf('SHA-256', fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.length), fromHex(v.okm)),
      ));
    }

    read++;
    const c = CHACHA20_POLY1305;
    const sealed = concat(fromHex(c.ciphertext), fromHex(c.tag));
    valid(row('ChaCha20-Poly1305', 'RFC 8439 §2.8.2 seal'), c.section, () =>
      diff('ct‖tag', b.aeadSeal('ChaCha20-Poly1305', fromHex(c.key), fromHex(c.nonce), fromHex(c.plaintext), fromHex(c.aad)), sealed));
    valid(row('ChaCha20-Poly1305', 'RFC 8439 §2.8.2 open'), c.section, () =>
      diff('plaintext', b.aeadOpen('ChaCha20-Poly1305', fromHex(c.key), fromHex(c.nonce), sealed, fromHex(c.aad)), fromHex(c.plaintext)));
    return read;
  },
}];
