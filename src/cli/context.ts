/**
 * What every `pqzk` command shares: the global options (flags, then environment), the client they
 * configure, input (stdin, files), output (human by default, `--json` for scripts), progress on
 * stderr, and the exit codes. Node-only (process, fs): the SDK it drives stays browser-clean.
 *
 * Exit codes: 0 success; 1 the service refused the operation or a check failed (a problem from the
 * service, an identity or integrity check, an invalid signature); 2 usage (unknown command or
 * option, bad argument, unreadable input, a file that would be overwritten); 3 the service could
 * not be reached.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createClient, ServiceError, type PqzkClient } from '../client/index.ts';
import { SecureSessionError } from '../client/kex.ts';
import { PirIntegrityError } from '../client/pir.ts';
import { AuditVerificationError } from '../client/audit.ts';
import { AppError } from '../errors.ts';

/** The documented exit codes. */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

/** A mistake in how the command was called (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A refusal found here rather than by the service, e.g. an invalid signature (exit 1). */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  readonly code: string;
  constructor(code: string, detail: string) {
    super(detail);
    this.code = code;
  }
}

/** The global options, as commander parses them (flags override the environment). */
export interface GlobalOptions {
  url: string;
  token?: string;
  tokenFile?: string;
  identityKey?: string;
  trustOnFirstUse?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** One command's view of the globals: the client, output and input helpers. */
export interface Ctx {
  readonly opts: GlobalOptions;
  readonly client: PqzkClient;
  /** The pinned identity key, or undefined with `--trust-on-first-use`; throws a UsageError when neither is given. */
  identity(): string | undefined;
  /** Prints `json` with --json, else the human lines. */
  print(json: unknown, human: () => string | string[]): void;
  /** A progress line on stderr (not with --quiet or --json). */
  progress(line: string): void;
}

export function context(cmd: Command): Ctx {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  let token = opts.token;
  if (token === undefined && opts.tokenFile !== undefined) token = readText(opts.tokenFile, 'token file').trim();
  const client = createClient(opts.url, { token });
  return {
    opts,
    client,
    identity() {
      if (opts.identityKey !== undefined) return opts.identityKey;
      if (opts.trustOnFirstUse) return undefined;
      throw new UsageError('pin the service identity (--identity-key or PQZK_IDENTITY_KEY) or pass --trust-on-first-use');
    },
    print(json, human) {
      if (opts.json) process.stdout.write(JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      else {
        const h = human();
        process.stdout.write((Array.isArray(h) ? h.join('\n') : h) + '\n');
      }
    },
    progress(line) {
      if (!opts.quiet && !opts.json) process.stderr.write(`${line}\n`);
    },
  };
}

/** A text file's content, or a UsageError naming what it was for. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** The bytes to sign, verify or upload: `--message` text, `--in` file, or stdin (not a terminal). */
export async function readInput(o: { message?: string; in?: string }, what = 'message'): Promise<Uint8Array> {
  if (o.message !== undefined && o.in !== undefined) throw new UsageError(`give the ${what} once: --message or --in, not both`);
  if (o.message !== undefined) return new TextEncoder().encode(o.message);
  if (o.in !== undefined && o.in !== '-') {
    try {
      return new Uint8Array(readFileSync(o.in));
    } catch (err) {
      throw new UsageError(`cannot read ${o.in}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (process.stdin.isTTY) throw new UsageError(`no ${what}: pipe it on stdin, or use --in FILE or --message TEXT`);
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

/** Parses a positive integer option, or throws a UsageError. */
export function positiveInt(name: string) {
  return (value: string): number => {
    if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new UsageError(`${name} must be a positive integer, not '${value}'`);
    return Number(value);
  };
}

/** Parses a non-negative integer argument, or throws a UsageError. */
export function index(value: string): number {
  if (!/^(0|[1-9][0-9]{0,9})$/.test(value)) throw new UsageError(`index must be a non-negative integer, not '${value}'`);
  return Number(value);
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The one stderr line and the exit code for an error thrown by a command. */
export function describeError(err: unknown): { line: string; code: number } {
  if (err instanceof UsageError) return { line: `error: usage: ${oneLine(err.message)}`, code: EXIT.usage };
  if (err instanceof RefusedError) return { line: `error: ${err.code}: ${oneLine(err.message)}`, code: EXIT.refused };
  if (err instanceof ServiceError) return { line: `error: ${err.problem.code}: ${oneLine(err.problem.detail)}`, code: EXIT.refused };
  if (err instanceof SecureSessionError) {
    return { line: err.problem ? `error: ${err.problem.code}: ${oneLine(err.problem.detail)}` : `error: session_refused: ${oneLine(err.message)}`, code: EXIT.refused };
  }
  if (err instanceof PirIntegrityError) return { line: `error: pir_integrity: ${oneLine(err.message)}`, code: EXIT.refused };
  if (err instanceof AuditVerificationError) return { line: `error: audit_integrity: ${oneLine(err.message)}`, code: EXIT.refused };
  // Thrown by the SDK before any request: the input itself is wrong.
  if (err instanceof AppError) return { line: `error: ${err.code}: ${oneLine(err.message)}`, code: EXIT.usage };
  const cause = (err as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } })?.cause;
  if (err instanceof TypeError && (err.message === 'fetch failed' || typeof cause?.code === 'string')) {
    const why = cause?.code ?? cause?.errors?.[0]?.code ?? (cause as { message?: unknown } | undefined)?.message ?? err.message;
    return { line: `error: unreachable: the service did not answer (${String(why)})`, code: EXIT.unreachable };
  }
  return { line: `error: internal: ${oneLine((err as Error)?.message ?? String(err))}`, code: EXIT.refused };
}
