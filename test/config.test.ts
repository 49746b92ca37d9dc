/** Configuration is validated at start-up; invalid values stop the process with one clear line. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../src/config.ts';
import { loadSecrets } from '../src/secrets.ts';

test('defaults', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.cryptoBackend, 'native');
  assert.match(c.dataDir, /\/data$/);
  assert.equal(c.masterKeyFile, `${c.dataDir}/master.key`);
  assert.equal(c.databaseUrl, undefined);
});

for (const [name, env, pattern] of [
  ['non-numeric PORT', { PORT: 'eighty' }, /PORT/],
  ['PORT out of range', { PORT: '70000' }, /PORT/],
  ['unknown CRYPTO_BACKEND', { CRYPTO_BACKEND: 'openssl' }, /CRYPTO_BACKEND/],
  ['short ADMIN_TOKEN', { ADMIN_TOKEN: 'tooshort' }, /ADMIN_TOKEN/],
  ['non-postgres DATABASE_URL', { DATABASE_URL: 'mysql://db/x' }, /DATABASE_URL/],
  ['unknown LOG_LEVEL', { LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
] as const) {
  test(`invalid: ${name}`, () => {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && pattern.test(err.message) && !err.message.includes('\n'));
  });
}

test('the ADMIN_TOKEN value never appears in the error', () => {
  const secret = 'short-secret-value';
  assert.throws(() => loadConfig({ ADMIN_TOKEN: secret }), (err: Error) => !err.message.includes(secret));
});

test('master key and admin token are generated 0600 on first start, then reused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqzk-cfg-'));
  const warnings: string[] = [];
  const log = { warn: (_o: object, msg: string) => { warnings.push(msg); } };
  const config = loadConfig({ DATA_DIR: dir });
  const first = loadSecrets(config, log);
  assert.equal(first.masterKey.length, 32);
  assert.equal(statSync(config.masterKeyFile).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'admin-token')).mode & 0o777, 0o600);
  assert.equal(warnings.length, 2);
  assert.ok(warnings.every((w) => /GENERATED/.test(w)));
  assert.ok(!warnings.join().includes(first.adminToken), 'the token value is not logged');
  const second = loadSecrets(config, log);
  assert.deepEqual(second.masterKey, first.masterKey);
  assert.equal(second.adminToken, readFileSync(join(dir, 'admin-token'), 'utf8').trim());
  assert.equal(warnings.length, 2, 'no new generation on second start');
});

test('a corrupt master key file stops start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqzk-cfg-'));
  const config = loadConfig({ DATA_DIR: dir, MASTER_KEY_FILE: join(dir, 'mk') });
  spawnSync('sh', ['-c', `printf 'not-a-key' > ${join(dir, 'mk')}`]);
  assert.throws(() => loadSecrets(config, { warn() {} }), /MASTER_KEY_FILE/);
});

test('the server exits 1 with one clear line on invalid config', () => {
  const res = spawnSync(process.execPath, ['src/server.ts'], { env: { ...process.env, PORT: 'x', DATA_DIR: mkdtempSync(join(tmpdir(), 'pqzk-cfg-')) }, encoding: 'utf8', timeout: 30_000 });
  assert.equal(res.status, 1);
  const lines = res.stderr.trim().split('\n');
  assert.equal(lines.length, 1, res.stderr);
  assert.match(lines[0]!, /^error: invalid configuration: PORT/);
});
