/**
 * `pqzk audit …`: the tamper-evident audit log (docs/AUDIT.md). Every check runs here, in the SDK
 * (src/client/audit.ts): checkpoint signatures under the pinned identity key, inclusion of a record
 * in a signed tree, consistency of a newer signed tree with an older one. Keep the checkpoints you
 * fetch (`--out`): a later `verify-consistency` against them proves the log was only appended to.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { AuditVerificationError, verifyCheckpoint, type Checkpoint } from '../client/audit.ts';
import { base64urlDecode } from '../crypto/bytes.ts';
import { context, index, positiveInt, readText, UsageError, type Ctx } from './context.ts';

/** The pinned identity key as bytes, or undefined on trust-on-first-use. */
function pin(c: Ctx): Uint8Array | undefined {
  const key = c.identity();
  if (key === undefined) return undefined;
  try { return base64urlDecode(key); } catch { throw new UsageError('--identity-key must be base64url'); }
}

/** A checkpoint from a file, signature verified. */
function loadCheckpoint(c: Ctx, path: string): Checkpoint {
  let cp: Checkpoint;
  try { cp = JSON.parse(readText(path, 'checkpoint file')) as Checkpoint; } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${path} is not a JSON checkpoint`);
  }
  return verifyCheckpoint(cp, pin(c));
}

const summary = (cp: Checkpoint) => `tree size ${cp.treeSize}, root ${cp.rootHash}, signed ${cp.time} by identity ${cp.identity.keyId} v${cp.identity.version}`;

/** The `audit` command. */
export function auditCommand(): Command {
  const audit = new Command('audit').description('the tamper-evident audit log: signed checkpoints, inclusion and consistency proofs');

  audit.command('checkpoint').description('fetch (or, admin, --create) the latest signed checkpoint and verify its signature')
    .option('--create', 'admin: sign a checkpoint of the log as it is now')
    .option('-o, --out <file>', 'save the verified checkpoint (JSON) for later consistency checks')
    .action(async (o: { create?: boolean; out?: string }, cmd: Command) => {
      const c = context(cmd);
      const key = pin(c);
      const cp = o.create ? await c.client.audit.createCheckpoint(key) : await c.client.audit.checkpoint(key);
      if (key === undefined) process.stderr.write(`warning: trusting the service identity on first use; pin it next time: PQZK_IDENTITY_KEY=${cp.identity.publicKey}\n`);
      if (o.out !== undefined) writeFileSync(o.out, `${JSON.stringify(cp, null, 2)}\n`);
      c.print(cp, () => `verified checkpoint: ${summary(cp)}`);
    });

  audit.command('records').description('audit records from a position (admin: all; a tenant: its own)')
    .option('--from <seq>', 'first seq', index, 0)
    .option('--limit <n>', 'most records', positiveInt('--limit'), 100)
    .action(async (o: { from: number; limit: number }, cmd: Command) => {
      const c = context(cmd);
      const page = await c.client.audit.records({ from: o.from, limit: o.limit });
      c.print(page, () => page.records.map((r) => `${r.seq} ${r.time} ${r.principal} ${r.operation}${r.key ? ` ${r.key}` : ''}${r.version ? ` v${r.version}` : ''} → ${r.status}${r.problem ? ` ${r.problem}` : ''}`));
    });

  audit.command('verify-inclusion').description('verify that record <seq> is in the tree a saved checkpoint signs (exit 1 if not)')
    .argument('<seq>', 'the record position', index)
    .requiredOption('--checkpoint <file>', 'a checkpoint saved with `audit checkpoint --out`')
    .action(async (seq: number, o: { checkpoint: string }, cmd: Command) => {
      const c = context(cmd);
      const cp = loadCheckpoint(c, o.checkpoint);
      const record = (await c.client.audit.records({ from: seq, limit: 1 })).records[0];
      if (record?.seq !== seq) throw new UsageError(`record ${seq} is not visible to this caller`);
      await c.client.audit.proveInclusion(record, cp);
      c.print({ included: true, record, checkpoint: cp }, () => `record ${seq} (${record.operation} → ${record.status}) is included in the signed tree of ${cp.treeSize} records`);
    });

  audit.command('verify-consistency').description('verify that the log now (or a newer saved checkpoint) extends a saved checkpoint (exit 1 if rewritten)')
    .requiredOption('--old <file>', 'the older saved checkpoint')
    .option('--new <file>', 'the newer saved checkpoint (default: the service\'s latest, verified)')
    .action(async (o: { old: string; new?: string }, cmd: Command) => {
      const c = context(cmd);
      const older = loadCheckpoint(c, o.old);
      const newer = o.new !== undefined ? loadCheckpoint(c, o.new) : await c.client.audit.checkpoint(pin(c));
      if (newer.treeSize < older.treeSize) throw new AuditVerificationError(`the newer checkpoint has fewer records (${newer.treeSize}) than the older (${older.treeSize}): the log was truncated`);
      await c.client.audit.proveConsistency(older, newer);
      c.print({ consistent: true, older, newer }, () => `consistent: the tree of ${newer.treeSize} records extends the tree of ${older.treeSize}`);
    });
  return audit;
}
