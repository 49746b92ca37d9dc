/**
 * The `pqzk` command tree (commander): global options, then one module per command group.
 * Built without running anything, so tests can walk it (every command has help).
 */
import { Command, Option } from 'commander';
import { context } from './context.ts';
import { encryptionCommands } from './encrypt.ts';
import { keysCommand } from './keys.ts';
import { pirCommand } from './pir.ts';
import { auditCommand } from './audit.ts';
import { sessionCommand, zkCommand } from './session.ts';

/** Builds the program; `version` is what --version prints. */
export function program(version: string): Command {
  const p = new Command('pqzk')
    .description('command-line client of the pqzk service: managed post-quantum keys and signatures, hybrid encryption (HPKE), secure sessions, ZK login, PIR, audit log verification')
    .version(version)
    .addOption(new Option('--url <url>', 'service URL').env('PQZK_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--token <token>', 'bearer token (admin or tenant); prefer PQZK_TOKEN or --token-file').env('PQZK_TOKEN'))
    .addOption(new Option('--token-file <file>', 'read the bearer token from a file').env('PQZK_TOKEN_FILE'))
    .addOption(new Option('--identity-key <base64url>', 'pinned service identity (ML-DSA-65 public key)').env('PQZK_IDENTITY_KEY'))
    .option('--trust-on-first-use', 'accept the identity the service presents (printed, to pin next time)')
    .option('--json', 'machine-readable output (one JSON document on stdout)')
    .option('-q, --quiet', 'no progress lines on stderr')
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .addHelpText('after', '\nExit codes: 0 ok, 1 the service refused (or a check failed), 2 usage, 3 service unreachable.');

  p.command('health').description('liveness of the service').action(async (_o: unknown, cmd: Command) => {
    const c = context(cmd);
    const h = await c.client.health();
    c.print(h, () => `${h.status} (${c.opts.url})`);
  });
  p.command('algorithms').description('the algorithms offered and the crypto backend').action(async (_o: unknown, cmd: Command) => {
    const c = context(cmd);
    const a = await c.client.algorithms();
    c.print(a, () => [`backend: ${a.backend}`, ...a.algorithms.map((x) => `${x.name.padEnd(26)} ${x.kind.padEnd(9)} pk ${x.publicKeySize} B${x.signatureSize ? `, sig ${x.signatureSize} B` : ''}${x.cipherTextSize ? `, ct ${x.cipherTextSize} B` : ''}`)]);
  });
  p.addCommand(keysCommand());
  for (const c of encryptionCommands()) p.addCommand(c);
  p.addCommand(sessionCommand());
  p.addCommand(zkCommand());
  p.addCommand(pirCommand());
  p.addCommand(auditCommand());
  // exitOverride and the help settings are copied only to commands created by p.command(): set them on the added ones too.
  const inherit = (cmd: Command) => {
    cmd.exitOverride().configureHelp({ showGlobalOptions: true });
    cmd.commands.forEach(inherit);
  };
  p.commands.forEach(inherit);
  return p;
}

