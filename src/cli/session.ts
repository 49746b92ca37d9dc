/**
 * `pqzk session …` and `pqzk zk …`: calls through the encrypted envelope of a secure session
 * (docs/PROTOCOL.md), and the zero-knowledge login (docs/ZK.md) whose token is bound to such a
 * session. The login secret lives in a file created 0600 and is never printed unless asked.
 */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { Command } from 'commander';
import { generateSecret } from '../client/zk.ts';
import type { SecureSession } from '../client/kex.ts';
import { base64urlEncode } from '../crypto/bytes.ts';
import { context, readInput, readText, UsageError, EXIT, type Ctx } from './context.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

/** Opens a session with the configured pin (or trust on first use, said on stderr). */
async function open(c: Ctx): Promise<SecureSession> {
  const pin = c.identity();
  const s = await c.client.openSecureSession(pin === undefined ? { trustOnFirstUse: true } : { identityKey: pin });
  if (pin === undefined) {
    process.stderr.write(`warning: trusting the service identity on first use; pin it next time: PQZK_IDENTITY_KEY=${base64urlEncode(s.identity.publicKey)}\n`);
  }
  return s;
}

/** Logs in with ZK into `s` when --zk-user is given: the token then travels only inside this session. */
async function maybeLogin(c: Ctx, s: SecureSession, o: { zkUser?: string; secretFile?: string }): Promise<void> {
  if (o.zkUser === undefined) return;
  const secret = readSecret(o.zkUser, o.secretFile);
  c.progress('zk: downloading the login circuit and proving…');
  const r = await c.client.zk.login(o.zkUser, secret, s.clientPublicKey);
  c.progress(`zk: logged in as ${o.zkUser} (proof ${(r.provingMs / 1000).toFixed(1)} s)`);
  s.setToken(r.accessToken);
}

const defaultSecretFile = (user: string) => `${user}.zk-secret`;
function readSecret(user: string, file: string | undefined): string {
  return readText(file ?? defaultSecretFile(user), 'secret file').trim();
}

function parseCall(method: string, path: string, body: string | undefined): { method: Method; path: string; body: unknown } {
  const m = method.toUpperCase();
  if (!(METHODS as readonly string[]).includes(m)) throw new UsageError(`method must be one of ${METHODS.join(', ')}, not '${method}'`);
  if (!path.startsWith('/')) throw new UsageError(`path must start with /, not '${path}'`);
  let parsed: unknown;
  if (body !== undefined) {
    try { parsed = JSON.parse(body); } catch { throw new UsageError('the request body must be JSON'); }
  }
  return { method: m as Method, path, body: parsed };
}

const sessionOptions = (cmd: Command) => cmd
  .option('--zk-user <username>', 'log in with ZK first; the token is bound to this session')
  .option('--secret-file <file>', 'the login secret (default <username>.zk-secret)');

/** The `session` command. */
export function sessionCommand(): Command {
  const session = new Command('session').description('run API calls through an encrypted, forward-secret session (X-Wing)');

  sessionOptions(session.command('call').description('one call in a fresh session: pqzk session call POST /v1/keys/k/sign \'{"message":"aGk"}\'')
    .argument('<method>', METHODS.join('|')).argument('<path>', 'API path, e.g. /v1/keys').argument('[body]', 'JSON request body'))
    .action(async (method: string, path: string, body: string | undefined, o: { zkUser?: string; secretFile?: string }, cmd: Command) => {
      const c = context(cmd);
      const call = parseCall(method, path, body);
      const s = await open(c);
      try {
        await maybeLogin(c, s, o);
        const r = await s.call(call.method, call.path, call.body);
        c.print({ status: r.status, body: r.body }, () => [`${r.status}`, JSON.stringify(r.body, null, 2)]);
        if (r.status >= 400) process.exitCode = EXIT.refused;
      } finally {
        await s.close();
      }
    });

  sessionOptions(session.command('run').description('one session, calls read from stdin one per line: METHOD PATH [JSON]; one JSON answer per line'))
    .action(async (o: { zkUser?: string; secretFile?: string }, cmd: Command) => {
      const c = context(cmd);
      const lines = new TextDecoder().decode(await readInput({}, 'calls')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      const calls = lines.map((l) => {
        const m = /^(\S+)\s+(\S+)(?:\s+(.+))?$/.exec(l);
        if (!m) throw new UsageError(`not a call: '${l}' (METHOD PATH [JSON])`);
        return parseCall(m[1]!, m[2]!, m[3]);
      });
      const s = await open(c);
      try {
        await maybeLogin(c, s, o);
        for (const call of calls) {
          const r = await s.call(call.method, call.path, call.body);
          process.stdout.write(JSON.stringify({ method: call.method, path: call.path, status: r.status, body: r.body }) + '\n');
          if (r.status >= 400) process.exitCode = EXIT.refused;
        }
      } finally {
        await s.close();
      }
    });
  return session;
}

/** The `zk` command. */
export function zkCommand(): Command {
  const zk = new Command('zk').description('zero-knowledge login (Groth16): register a commitment, log in by proof');

  zk.command('register').description('register a user; the secret goes to a new file (mode 0600), never to the terminal')
    .argument('<username>')
    .option('--secret-file <file>', 'where to keep the secret (default <username>.zk-secret; must not exist)')
    .option('--print-secret', 'also print the secret on stdout (for a secrets manager)')
    .action(async (username: string, o: { secretFile?: string; printSecret?: boolean }, cmd: Command) => {
      const c = context(cmd);
      const file = o.secretFile ?? defaultSecretFile(username);
      const secret = generateSecret();
      // Written before registering: a credential the service accepted must never exist only in memory.
      let fd: number;
      try {
        fd = openSync(file, 'wx', 0o600);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new UsageError(code === 'EEXIST' ? `${file} exists: refusing to overwrite a secret (use --secret-file)` : `cannot create ${file}: ${code}`);
      }
      try { writeSync(fd, secret + '\n'); } finally { closeSync(fd); }
      let r;
      try {
        r = await c.client.zk.register(username, secret);
      } catch (err) {
        rmSync(file, { force: true });
        throw err;
      }
      const out = { username: r.username, commitment: r.commitment, createdAt: r.createdAt, secretFile: file, ...(o.printSecret ? { secret } : {}) };
      c.print(out, () => [`registered ${r.username}; secret in ${file} (keep it: it is the login)`, ...(o.printSecret ? [secret] : [])]);
    });

  zk.command('login').description('prove the secret and get an access token bound to a fresh secure session (checked with one call)')
    .argument('<username>')
    .option('--secret-file <file>', 'the login secret (default <username>.zk-secret)')
    .option('--print-token', 'also print the access token (usable only inside the session, which closes on exit)')
    .action(async (username: string, o: { secretFile?: string; printToken?: boolean }, cmd: Command) => {
      const c = context(cmd);
      const secret = readSecret(username, o.secretFile);
      const s = await open(c);
      try {
        const circuit = await c.client.zk.circuit();
        const bytes = circuit.artifacts.filter((a) => a.name !== 'verification_key.json').reduce((n, a) => n + a.size, 0);
        c.progress(`zk: downloading the login circuit (${(bytes / 1e6).toFixed(1)} MB) and proving…`);
        const r = await c.client.zk.login(username, secret, s.clientPublicKey);
        s.setToken(r.accessToken);
        const check = await s.call('GET', '/v1/keys');
        const out = { username, sessionId: s.sessionId, expiresIn: r.expiresIn, provingMs: Math.round(r.provingMs), accepted: check.status === 200, ...(o.printToken ? { accessToken: r.accessToken } : {}) };
        c.print(out, () => [`logged in as ${username}: token valid ${r.expiresIn} s, bound to session ${s.sessionId} (proof ${(r.provingMs / 1000).toFixed(1)} s)`, ...(o.printToken ? [r.accessToken] : [])]);
      } finally {
        await s.close();
      }
    });
  return zk;
}
