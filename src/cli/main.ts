#!/usr/bin/env node
/**
 * `pqzk`: the command-line tool of the client package (issue 17), built on commander over the SDK
 * (src/client). Configuration comes from flags, else the environment: PQZK_URL, PQZK_TOKEN or
 * PQZK_TOKEN_FILE, PQZK_IDENTITY_KEY (the pinned service identity, base64url). Human output by
 * default, `--json` for scripts; messages and records on stdin/stdout; progress on stderr; exit
 * codes in context.ts (0 ok, 1 refused, 2 usage, 3 unreachable). Runs on Node 20, 22 and 24.
 *
 * @example
 *
 * ```sh
 * export PQZK_URL=http://127.0.0.1:8080 PQZK_TOKEN_FILE=data/admin-token
 * pqzk keys create release --algorithm ML-DSA-65
 * pqzk keys sign release < artifact.tar > artifact.sig
 * pqzk keys verify release --signature-file artifact.sig < artifact.tar
 * ```
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { describeError, EXIT } from './context.ts';
import { program } from './program.ts';

async function main(): Promise<number> {
  const manifest = new URL('../../package.json', import.meta.url);
  let version = '0.0.0';
  try { version = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version; } catch { /* run from the repository */ }
  try {
    await program(version).parseAsync(process.argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed the message or the help already; help asked for is success, help instead of a command is usage.
      return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    const { line, code } = describeError(err);
    process.stderr.write(`${line}\n`);
    return code;
  }
}

process.exitCode = await main();
