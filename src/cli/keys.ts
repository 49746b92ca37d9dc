/**
 * `pqzk keys …`: managed keys and signatures (docs/KEYS.md) over the SDK's `client.keys`.
 * Messages come from stdin (or --in / --message); signatures print as `v<N>:<base64url>`.
 */
import { Command, Option } from 'commander';
import { parseDuration, type Key, type KeyAlgorithm, type PreHash } from '../client/keys.ts';
import { context, positiveInt, readInput, readText, RefusedError, UsageError } from './context.ts';

const PREHASHES = ['SHA2-224', 'SHA2-256', 'SHA2-384', 'SHA2-512', 'SHA2-512/224', 'SHA2-512/256', 'SHA3-224', 'SHA3-256', 'SHA3-384', 'SHA3-512', 'SHAKE-128', 'SHAKE-256', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'];

const owner = () => new Option('--owner <owner>', "another owner's key (admin only): admin or tenant:<id>");
const input = (c: Command) => c
  .option('--in <file>', 'read the message from a file (default: stdin)')
  .option('--message <text>', 'the message as text (UTF-8)')
  .option('--context <text>', 'FIPS 204/205 context string (UTF-8, at most 255 bytes)')
  .addOption(new Option('--prehash <hash>', 'HashML-DSA / HashSLH-DSA pre-hash').choices(PREHASHES));

/** --rotation-period: a duration (3600, 90m, 12h, 30d, 1w, 1y); `off` (update only) turns rotation off. */
const period = (allowOff: boolean) => (value: string): number | 'off' => {
  // A sentinel, not null: commander replaces a parser's null with ''.
  if (allowOff && value === 'off') return 'off';
  try { return parseDuration(value); } catch { throw new UsageError(`--rotation-period must be seconds or a number with s, m, h, d, w or y (e.g. 30d)${allowOff ? ", or 'off'" : ''}, not '${value}'`); }
};
/** --max-versions: a positive integer; `all` (update only) removes the limit. */
const maxVersions = (allowAll: boolean) => (value: string): number | 'all' => {
  if (allowAll && value === 'all') return 'all';
  return positiveInt('--max-versions')(value);
};
const orNull = <T>(v: T | 'off' | 'all'): T | null => (v === 'off' || v === 'all' ? null : v);

const summary = (k: Key) => `${k.name}  ${k.algorithm}  v${k.latestVersion}  owner ${k.owner}`;
const details = (k: Key) => [
  `name:             ${k.name}`,
  `owner:            ${k.owner}`,
  `algorithm:        ${k.algorithm} (${k.kind})`,
  `latest version:   ${k.latestVersion} (minimum ${k.minVersion})`,
  `exportable:       ${k.exportable}`,
  `deletion allowed: ${k.deletionAllowed}`,
  ...(k.publicKeyOnly ? ['public key only:  true'] : []),
  ...(k.decapsulateAllowed !== undefined ? [`decapsulate:      ${k.decapsulateAllowed ? 'allowed' : 'not allowed'}`] : []),
  `rotation:         ${k.rotationPeriod !== undefined ? `every ${k.rotationPeriod} s, next ${k.nextRotationAt}` : 'manual'}`,
  `max versions:     ${k.maxVersions ?? 'all'}`,
  `created:          ${k.createdAt}`,
  ...(k.versions ?? []).map((v) => `version ${v.version}:        ${v.publicKey.slice(0, 24)}… (${v.createdAt}${v.state === 'destroyed' ? `, destroyed ${v.destroyedAt ?? ''}` : ''})`),
];
const ctxBytes = (text: string | undefined) => (text === undefined ? {} : { context: new TextEncoder().encode(text) });

/** The `keys` command and its subcommands. */
export function keysCommand(): Command {
  const keys = new Command('keys').description('managed keys and signatures (ML-DSA, SLH-DSA, composite ML-DSA; ML-KEM and X-Wing keys can be created)');

  keys.command('create').description('create a key (version 1)')
    .argument('<name>', 'key name')
    .requiredOption('-a, --algorithm <algorithm>', 'ML-DSA-44|65|87, SLH-DSA-…, MLDSA65-ECDSA-P256-SHA512 (composite, see docs/KEYS.md), ML-KEM-…, X-Wing')
    .option('--exportable', 'allow exporting the private key later (fixed at creation)', false)
    .option('--rotation-period <duration>', 'rotate automatically: seconds or 90m, 12h, 30d, 1w, 1y (1 hour to 10 years)', period(false))
    .option('--max-versions <n>', 'keep private material of the newest n versions only (older ones are destroyed on rotation)', maxVersions(false))
    .action(async (name: string, o: { algorithm: string; exportable: boolean; rotationPeriod?: number | 'off'; maxVersions?: number | 'all' }, cmd: Command) => {
      const c = context(cmd);
      const k = await c.client.keys.create({
        name, algorithm: o.algorithm as KeyAlgorithm, exportable: o.exportable,
        ...(typeof o.rotationPeriod === 'number' ? { rotationPeriod: o.rotationPeriod } : {}), ...(typeof o.maxVersions === 'number' ? { maxVersions: o.maxVersions } : {}),
      });
      c.print(k, () => `created ${k.name} (${k.algorithm}, version ${k.latestVersion})`);
    });

  keys.command('list').description('list keys (one page; --after for the next)')
    .addOption(owner())
    .option('--limit <n>', 'keys per page', positiveInt('--limit'))
    .option('--after <cursor>', 'cursor from the previous page')
    .action(async (o: { owner?: string; limit?: number; after?: string }, cmd: Command) => {
      const c = context(cmd);
      const page = await c.client.keys.list(o);
      c.print(page, () => [...page.keys.map(summary), ...(page.next ? [`(more: --after ${page.next})`] : [])].join('\n') || '(no keys)');
    });

  keys.command('get').description("a key's metadata and versions")
    .argument('<name>').addOption(owner())
    .action(async (name: string, o: { owner?: string }, cmd: Command) => {
      const c = context(cmd);
      const k = await c.client.keys.get(name, o);
      c.print(k, () => details(k));
    });

  keys.command('rotate').description('add a new version (signing uses it from now on)')
    .argument('<name>').addOption(owner())
    .action(async (name: string, o: { owner?: string }, cmd: Command) => {
      const c = context(cmd);
      const k = await c.client.keys.rotate(name, o);
      c.print(k, () => `rotated ${k.name}: version ${k.latestVersion}`);
    });

  keys.command('update').description('set the minimum version, whether deletion is allowed, the rotation period and/or the version limit')
    .argument('<name>').addOption(owner())
    .option('--min-version <n>', 'refuse older versions for signing and verification', positiveInt('--min-version'))
    .option('--deletion-allowed', 'allow deleting the key')
    .option('--no-deletion-allowed', 'forbid deleting the key')
    .option('--rotation-period <duration>', "rotate automatically (seconds or 90m, 12h, 30d, 1w, 1y); 'off' to stop", period(true))
    .option('--max-versions <n>', "keep private material of the newest n versions only; 'all' to keep every version", maxVersions(true))
    .action(async (name: string, o: { owner?: string; minVersion?: number; deletionAllowed?: boolean; rotationPeriod?: number | 'off'; maxVersions?: number | 'all' }, cmd: Command) => {
      const c = context(cmd);
      const patch = {
        ...(o.minVersion !== undefined ? { minVersion: o.minVersion } : {}), ...(o.deletionAllowed !== undefined ? { deletionAllowed: o.deletionAllowed } : {}),
        ...(o.rotationPeriod !== undefined ? { rotationPeriod: orNull(o.rotationPeriod) } : {}), ...(o.maxVersions !== undefined ? { maxVersions: orNull(o.maxVersions) } : {}),
      };
      if (Object.keys(patch).length === 0) throw new UsageError('nothing to update: give --min-version, --[no-]deletion-allowed, --rotation-period and/or --max-versions');
      const k = await c.client.keys.update(name, patch, o.owner !== undefined ? { owner: o.owner } : {});
      c.print(k, () => `updated ${k.name}: minimum version ${k.minVersion}, deletion ${k.deletionAllowed ? 'allowed' : 'forbidden'}`);
    });

  keys.command('destroy-version').description("erase one version's private material (not the current one); it stays listed as destroyed and its signatures still verify")
    .argument('<name>').argument('<version>', 'the version to destroy', positiveInt('<version>')).addOption(owner())
    .action(async (name: string, version: number, o: { owner?: string }, cmd: Command) => {
      const c = context(cmd);
      const k = await c.client.keys.destroyVersion(name, version, o);
      c.print(k, () => `destroyed version ${version} of ${k.name} (current version ${k.latestVersion})`);
    });

  keys.command('delete').description('delete the key and all its versions (after keys update --deletion-allowed)')
    .argument('<name>').addOption(owner())
    .action(async (name: string, o: { owner?: string }, cmd: Command) => {
      const c = context(cmd);
      await c.client.keys.delete(name, o);
      c.print({ deleted: name }, () => `deleted ${name}`);
    });

  keys.command('public').description('the public key of the latest (or a given) version')
    .argument('<name>').addOption(owner())
    .addOption(new Option('-f, --format <format>', 'raw and der/spki print base64url').choices(['raw', 'der', 'spki', 'pem', 'jwk']).default('pem'))
    .option('--key-version <n>', 'key version (default the latest)', positiveInt('--key-version'))
    .action(async (name: string, o: { owner?: string; format: 'raw' | 'der' | 'spki' | 'pem' | 'jwk'; keyVersion?: number }, cmd: Command) => {
      const c = context(cmd);
      const r = await c.client.keys.publicKeyAs(name, o.format, { ...(o.owner !== undefined ? { owner: o.owner } : {}), ...(o.keyVersion ? { version: o.keyVersion } : {}) });
      c.print(r, () => {
        const pk = (r as { publicKey: unknown }).publicKey;
        return typeof pk === 'string' ? pk.replace(/\n$/, '') : JSON.stringify(pk, null, 2);
      });
    });

  input(keys.command('sign').description('sign a message (stdin by default): prints v<N>:<base64url>')
    .argument('<name>').addOption(owner())
    .option('--deterministic', 'no per-signature randomness (needs CRYPTO_BACKEND=noble on the service)')
    .option('--key-version <n>', 'sign with this version (default the latest)', positiveInt('--key-version')))
    .action(async (name: string, o: { owner?: string; in?: string; message?: string; context?: string; prehash?: string; deterministic?: boolean; keyVersion?: number }, cmd: Command) => {
      const c = context(cmd);
      const message = await readInput(o);
      const r = await c.client.keys.sign(name, {
        message, ...ctxBytes(o.context), ...(o.prehash ? { prehash: o.prehash as PreHash } : {}),
        ...(o.deterministic ? { deterministic: true } : {}), ...(o.keyVersion ? { version: o.keyVersion } : {}), ...(o.owner !== undefined ? { owner: o.owner } : {}),
      });
      c.print(r, () => r.signature);
    });

  input(keys.command('verify').description('verify a signature over a message (stdin by default); exit 1 when invalid')
    .argument('<name>').addOption(owner())
    .option('-s, --signature <signature>', 'the v<N>:<base64url> signature')
    .option('--signature-file <file>', 'read the signature from a file'))
    .action(async (name: string, o: { owner?: string; in?: string; message?: string; context?: string; prehash?: string; signature?: string; signatureFile?: string }, cmd: Command) => {
      const c = context(cmd);
      const signature = o.signature ?? (o.signatureFile !== undefined ? readText(o.signatureFile, 'signature file').trim() : undefined);
      if (signature === undefined) throw new UsageError('give the signature: --signature SIG or --signature-file FILE');
      const message = await readInput(o);
      const r = await c.client.keys.verify(name, {
        message, signature, ...ctxBytes(o.context), ...(o.prehash ? { prehash: o.prehash as PreHash } : {}), ...(o.owner !== undefined ? { owner: o.owner } : {}),
      });
      if (!r.valid) {
        if (c.opts.json) c.print(r, () => '');
        throw new RefusedError('invalid_signature', `the signature does not verify with ${name}`);
      }
      c.print(r, () => `valid (${name} version ${r.version ?? '?'})`);
    });

  return keys;
}
