/**
 * `pqzk pir …`: private information retrieval (SimplePIR, docs/PIR.md): the service answers
 * without learning which record was read. Records print as hex (or raw bytes with --raw).
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import type { PirDatabaseHandle } from '../client/pir.ts';
import { base64urlEncode, toHex } from '../crypto/bytes.ts';
import { context, index, positiveInt, readInput, type Ctx } from './context.ts';

async function open(c: Ctx, name: string): Promise<PirDatabaseHandle> {
  const pin = c.identity();
  c.progress(`pir: fetching and verifying the config and hint of ${name}…`);
  const db = await c.client.pir.open(name, pin === undefined ? {} : { identityPublicKey: pin });
  if (!db.pinned) process.stderr.write(`warning: trusting the service identity on first use; pin it next time: PQZK_IDENTITY_KEY=${base64urlEncode(db.identity.publicKey)}\n`);
  c.progress(`pir: ${name} version ${db.version}, ${db.params.recordCount} records of ${db.params.recordSize} bytes`);
  return db;
}

/** The `pir` command. */
export function pirCommand(): Command {
  const pir = new Command('pir').description('private information retrieval: read records without the service learning which');

  pir.command('get').description('one record, privately (hex; --raw for bytes)')
    .argument('<database>').argument('<index>', 'record index (0-based)', index)
    .option('--raw', 'write the record bytes to stdout')
    .option('-o, --out <file>', 'write the record bytes to a file')
    .action(async (name: string, i: number, o: { raw?: boolean; out?: string }, cmd: Command) => {
      const c = context(cmd);
      const db = await open(c, name);
      const record = await db.get(i);
      if (o.out !== undefined) writeFileSync(o.out, record);
      if (o.raw) return void process.stdout.write(record);
      c.print({ database: name, version: db.version, index: i, record: base64urlEncode(record) }, () => toHex(record));
    });

  pir.command('lookup').description('several records in one opened database (one line each: index hex)')
    .argument('<database>').argument('<index...>', 'record indices (0-based)')
    .action(async (name: string, indices: string[], _o: unknown, cmd: Command) => {
      const c = context(cmd);
      const list = indices.map(index);
      const db = await open(c, name);
      const records: Array<{ index: number; record: Uint8Array }> = [];
      for (const i of list) records.push({ index: i, record: await db.get(i) });
      c.print({ database: name, version: db.version, records: records.map((r) => ({ index: r.index, record: base64urlEncode(r.record) })) },
        () => records.map((r) => `${r.index} ${toHex(r.record)}`));
    });

  pir.command('find').description('keyword database: the value under a key, privately (hex, or "(absent)"; same queries either way)')
    .argument('<database>').argument('<key>', 'the key (UTF-8; --hex-key for hex bytes)')
    .option('--hex-key', 'the key is hex')
    .action(async (name: string, key: string, o: { hexKey?: boolean }, cmd: Command) => {
      const c = context(cmd);
      const db = await open(c, name);
      const value = await db.lookup(o.hexKey ? Uint8Array.from(Buffer.from(key, 'hex')) : key);
      c.print({ database: name, version: db.version, found: value !== null, value: value === null ? null : base64urlEncode(value) },
        () => (value === null ? '(absent)' : toHex(value)));
    });

  pir.command('whois').description('the key directory: the public key published under a name, privately, signature verified')
    .argument('<name>')
    .option('--owner <owner>', 'refuse the entry unless this owner (tenant:<id> or admin) published it (names are first come, first served)')
    .action(async (name: string, o: { owner?: string }, cmd: Command) => {
      const c = context(cmd);
      const pin = c.identity();
      if (pin === undefined) process.stderr.write('warning: no PQZK_IDENTITY_KEY: the directory is trusted on first use\n');
      const entry = await c.client.pir.directory.lookup(name, { ...(pin === undefined ? {} : { identityPublicKey: pin }), ...(o.owner === undefined ? {} : { owner: o.owner }) });
      c.print(entry === null ? { name, found: false } : { name, found: true, owner: entry.owner, algorithm: entry.algorithm, version: entry.version, publicKey: base64urlEncode(entry.publicKey), signedAt: entry.signedAt },
        () => (entry === null ? '(not published)' : `${entry.algorithm} v${entry.version} ${base64urlEncode(entry.publicKey)} (published by ${entry.owner})`));
    });

  pir.command('publish').description('the key directory: publish your managed key <key> under <name> (its current public key, re-signed on rotation)')
    .argument('<name>').argument('<key>')
    .action(async (name: string, key: string, _o: unknown, cmd: Command) => {
      const c = context(cmd);
      const listing = await c.client.pir.directory.publish(name, key);
      c.print(listing, () => `published ${key} as ${name} (the directory's next version carries it)`);
    });

  pir.command('unpublish').description('the key directory: remove your entry <name>')
    .argument('<name>')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const c = context(cmd);
      await c.client.pir.directory.unpublish(name);
      c.print({ name, unpublished: true }, () => `unpublished ${name}`);
    });

  pir.command('published').description('the key directory: your entries')
    .action(async (_o: unknown, cmd: Command) => {
      const c = context(cmd);
      const entries = await c.client.pir.directory.list();
      c.print({ entries }, () => (entries.length === 0 ? '(none)' : entries.map((e) => `${e.entryName} ${e.keyName}`).join('\n')));
    });

  pir.command('upload').description('admin: upload concatenated fixed-size records (stdin or --in) as a new version')
    .argument('<database>')
    .requiredOption('--record-size <bytes>', 'size of each record', positiveInt('--record-size'))
    .option('--in <file>', 'read the records from a file (default: stdin)')
    .action(async (name: string, o: { recordSize: number; in?: string }, cmd: Command) => {
      const c = context(cmd);
      const records = await readInput({ ...(o.in !== undefined ? { in: o.in } : {}) }, 'records');
      c.progress(`pir: uploading ${records.length} bytes…`);
      const cfg = await c.client.pir.upload(name, records, o.recordSize);
      c.print(cfg, () => `uploaded ${name}: version ${cfg.version}, ${cfg.params.recordCount} records of ${cfg.params.recordSize} bytes`);
    });
  return pir;
}
