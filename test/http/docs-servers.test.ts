/**
 * Issue 17 item 3: the contract's `servers` entry, as the docs UI offers it (/docs/json), follows
 * the configured listen address instead of the committed http://127.0.0.1:8080.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testApp } from '../support/app.ts';

async function servers(env: Record<string, string>): Promise<Array<{ url: string }>> {
  const t = await testApp(env);
  try {
    return ((await t.app.inject({ method: 'GET', url: '/docs/json' })).json() as { servers: Array<{ url: string }> }).servers;
  } finally {
    await t.close();
  }
}

test('the docs offer the configured HOST and PORT; a wildcard address as loopback plus the page origin', async () => {
  assert.deepEqual((await servers({ HOST: '10.1.2.3', PORT: '9443' })).map((s) => s.url), ['http://10.1.2.3:9443']);
  assert.deepEqual((await servers({ HOST: '0.0.0.0', PORT: '8081' })).map((s) => s.url), ['http://127.0.0.1:8081', '/']);
  assert.deepEqual((await servers({ HOST: '::1', PORT: '8082' })).map((s) => s.url), ['http://[::1]:8082']);
});
