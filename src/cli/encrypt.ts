/**
 * `pqzk encrypt|decrypt|datakey`: HPKE with managed ML-KEM / X-Wing keys (docs/ENCRYPTION.md) over
 * the SDK's `client.keys`. Plaintext is bytes (stdin by default, written to stdout as is); a
 * ciphertext is the service's text form `v<N>:<base64url(enc ‖ ct)>`, one line. `--aad` and
 * `--info` are UTF-8 text and must be given again, identical, to decrypt. `encrypt --local` seals
 * here with the key's fetched public key (the service never sees the plaintext), checked against
 * `--pin` (base64url SHA-256 of the raw public key) when given.
 */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { publicKeyPin } from '../client/encryption-api.ts';
import { isKemAlgorithm } from '../crypto/algorithms.ts';
import { base64urlEncode } from '../crypto/bytes.ts';
import { context, readInput, RefusedError, UsageError } from './context.ts';

const CIPHERTEXT = /^v[1-9][0-9]{0,9}:[A-Za-z0-9_-]+$/;
const utf8 = (s: string) => new TextEncoder().encode(s);

interface HpkeOptions { owner?: string; aad?: string; info?: string }
const hpkeOptions = (c: Command) => c
  .option('--aad <text>', 'additional authenticated data (UTF-8), not in the ciphertext: give it again to decrypt')
  .option('--info <text>', 'HPKE info (UTF-8), bound into the key schedule: give it again to decrypt')
  .addOption(new Option('--owner <owner>', "another owner's key (admin only): admin or tenant:<id>"));
/** The SDK's aad/info/owner options from the command's. */
const sealOptions = (o: HpkeOptions) => ({
  ...(o.aad !== undefined ? { aad: utf8(o.aad) } : {}),
  ...(o.info !== undefined ? { info: utf8(o.info) } : {}),
  ...(o.owner !== undefined ? { owner: o.owner } : {}),
});

/** `--ciphertext`, `--in FILE` or stdin, trimmed; a UsageError unless it has the `v<N>:<base64url>` form. */
async function readCiphertext(o: { ciphertext?: string; in?: string }): Promise<string> {
  if (o.ciphertext !== undefined && o.in !== undefined) throw new UsageError('give the ciphertext once: --ciphertext or --in, not both');
  const text = o.ciphertext ?? new TextDecoder().decode(await readInput(o.in !== undefined ? { in: o.in } : {}, 'ciphertext'));
  const ciphertext = text.trim();
  if (!CIPHERTEXT.test(ciphertext)) throw new UsageError('not a ciphertext: expected one line v<N>:<base64url>');
  return ciphertext;
}

/** The `encrypt`, `decrypt` and `datakey` commands. */
export function encryptionCommands(): Command[] {
  const encrypt = hpkeOptions(new Command('encrypt')
    .description('encrypt bytes (stdin by default) to a KEM key: prints v<N>:<base64url>')
    .argument('<key>', 'an ML-KEM-512/768/1024 or X-Wing key')
    .option('--in <file>', 'read the plaintext from a file (default: stdin)')
    .option('--message <text>', 'the plaintext as text (UTF-8)')
    .option('--local', "seal here with the key's public key: the plaintext never leaves this machine")
    .option('--pin <sha256>', "with --local: base64url SHA-256 of the key's raw public key; refuse another key"))
    .action(async (name: string, o: HpkeOptions & { in?: string; message?: string; local?: boolean; pin?: string }, cmd: Command) => {
      const c = context(cmd);
      if (o.pin !== undefined && !o.local) throw new UsageError('--pin checks the public key of --local: give both');
      const plaintext = await readInput(o, 'plaintext');
      if (!o.local) {
        const r = await c.client.keys.encrypt(name, plaintext, sealOptions(o));
        return c.print(r, () => r.ciphertext);
      }
      const k = await c.client.keys.publicKey(name, o.owner !== undefined ? { owner: o.owner } : {});
      if (!isKemAlgorithm(k.algorithm)) throw new RefusedError('invalid_input', `${name} is an ${k.algorithm} key: encryption needs an ML-KEM or X-Wing key`);
      const pin = publicKeyPin(k.publicKey);
      if (o.pin === undefined) process.stderr.write(`warning: sealing to ${name} version ${k.version} unpinned; pin its public key next time: --pin ${pin}\n`);
      else if (o.pin !== pin) {
        throw new RefusedError('pin_mismatch', `the public key of ${name} version ${k.version} does not match --pin`);
      }
      const ciphertext = await c.client.keys.seal({ algorithm: k.algorithm, publicKey: k.publicKey, version: k.version }, plaintext, sealOptions(o));
      c.print({ ciphertext, algorithm: k.algorithm, version: k.version, pin, local: true }, () => ciphertext);
    });

  const decrypt = hpkeOptions(new Command('decrypt')
    .description('decrypt a v<N>:<base64url> ciphertext (stdin by default): writes the plaintext bytes to stdout')
    .argument('<key>', 'the key it was encrypted to')
    .option('-c, --ciphertext <ciphertext>', 'the ciphertext as an argument')
    .option('--in <file>', 'read the ciphertext from a file (default: stdin)')
    .option('-o, --out <file>', 'write the plaintext to a file instead of stdout'))
    .action(async (name: string, o: HpkeOptions & { ciphertext?: string; in?: string; out?: string }, cmd: Command) => {
      const c = context(cmd);
      const ciphertext = await readCiphertext(o);
      const r = await c.client.keys.decrypt(name, ciphertext, sealOptions(o));
      if (o.out !== undefined) writeFileSync(o.out, r.plaintext, { mode: 0o600 });
      if (c.opts.json) return c.print({ plaintext: base64urlEncode(r.plaintext), version: r.version, ...(o.out !== undefined ? { out: o.out } : {}) }, () => []);
      if (o.out === undefined) process.stdout.write(r.plaintext);
    });

  const datakey = hpkeOptions(new Command('datakey')
    .description('a fresh data key sealed to a KEM key: prints its ciphertext (and, with --plaintext, the key in base64url on a second line)')
    .argument('<key>', 'the KEM key that protects the data key')
    .addOption(new Option('--bytes <n>', 'data key length').choices(['16', '32']).default('32'))
    .option('--plaintext', 'also return the plaintext data key (otherwise only its ciphertext, for `pqzk decrypt` later)')
    .option('--key-file <file>', 'with --plaintext: write the raw data key to a new file (mode 0600) instead of printing it'))
    .action(async (name: string, o: HpkeOptions & { bytes: '16' | '32'; plaintext?: boolean; keyFile?: string }, cmd: Command) => {
      const c = context(cmd);
      if (o.keyFile !== undefined && !o.plaintext) throw new UsageError('--key-file needs --plaintext');
      const r = await c.client.keys.generateDataKey(name, { ...sealOptions(o), bytes: Number(o.bytes) as 16 | 32, withPlaintext: o.plaintext === true });
      if (o.plaintext && r.plaintext === undefined) throw new RefusedError('internal', 'the service returned no plaintext key');
      if (o.keyFile !== undefined) {
        try {
          writeFileSync(o.keyFile, r.plaintext!, { mode: 0o600, flag: 'wx' });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          throw new UsageError(code === 'EEXIST' ? `${o.keyFile} exists: refusing to overwrite it` : `cannot create ${o.keyFile}: ${code}`);
        }
      }
      const shown = o.plaintext && o.keyFile === undefined ? base64urlEncode(r.plaintext!) : undefined;
      c.print({ ciphertext: r.ciphertext, version: r.version, bytes: Number(o.bytes), ...(shown !== undefined ? { plaintext: shown } : {}), ...(o.keyFile !== undefined ? { keyFile: o.keyFile } : {}) },
        () => [r.ciphertext, ...(shown !== undefined ? [shown] : [])]);
    });
  return [encrypt, decrypt, datakey];
}
