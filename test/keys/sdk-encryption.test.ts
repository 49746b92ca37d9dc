/**
 * SDK encryption helpers (src/client/encryption.ts, encryption-api.ts) against a listening service:
 * local seal (with a pin) → service decrypt, data keys, and the chunked format (round trip through the
 * service's decapsulate, truncation / reordering / extension / header changes all rejected).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { listeningTestApp, type TestApp } from '../support/app.ts';
import { createClient, type PqzkClient } from '../../src/client/index.ts';
import { decryptChunked, encryptChunked, openWithSeed } from '../../src/client/encryption.ts';
import { publicKeyPin } from '../../src/client/encryption-api.ts';
import { DecryptionError } from '../../src/errors.ts';
import { base64urlDecode } from '../../src/crypto/bytes.ts';

let t: TestApp & { baseUrl: string };
let client: PqzkClient;
const te = new TextEncoder();

before(async () => {
  t = await listeningTestApp();
  client = createClient(t.baseUrl, { token: (await t.app.ctx.tokens.mint('sdk')).token });
  await client.keys.create({ name: 'inbox', algorithm: 'X-Wing', exportable: true, decapsulateAllowed: true });
});
after(() => t.close());

test('seal locally (pinned) → decrypt through the service; a wrong pin refuses to seal', async () => {
  const { publicKey } = await client.keys.publicKey('inbox');
  const aad = te.encode('a'), info = te.encode('i');
  const c = await client.keys.seal('inbox', te.encode('local secret'), { pin: publicKeyPin(publicKey), aad, info });
  assert.match(c, /^v1:/);
  assert.equal(new TextDecoder().decode((await client.keys.decrypt('inbox', c, { aad, info })).plaintext), 'local secret');
  await assert.rejects(client.keys.seal('inbox', te.encode('x'), { pin: publicKeyPin(te.encode('other')) }));
  const s = await client.keys.encrypt('inbox', te.encode('server side'));
  const seed = base64urlDecode((await client.keys.export('inbox')).privateKey as string);
  assert.equal(new TextDecoder().decode(openWithSeed('X-Wing', seed, s.ciphertext)), 'server side');
  const dk = await client.keys.generateDataKey('inbox', { bytes: 16 });
  assert.deepEqual((await client.keys.decrypt('inbox', dk.ciphertext)).plaintext, dk.plaintext);
});

test('chunked: round trip via decapsulate; truncated, reordered, extended or edited files are DecryptionError', async () => {
  const { publicKey, version } = await client.keys.publicKey('inbox');
  const data = new Uint8Array(10_000).map((_, i) => i % 251);
  const file = encryptChunked('X-Wing', publicKey, version, data, { chunkSize: 1000, aad: te.encode('file-1') });
  const ss = (enc: Uint8Array, v: number) => client.keys.decapsulate('inbox', enc, { version: v });
  assert.deepEqual(await decryptChunked(file, ss, { aad: te.encode('file-1') }), data);
  assert.deepEqual(await decryptChunked(encryptChunked('X-Wing', publicKey, version, new Uint8Array(0)), ss), new Uint8Array(0));
  const body = 6 + 14 + 1120;
  const chunk = 1016;
  const swap = file.slice();
  swap.set(file.subarray(body, body + chunk), body + chunk);
  swap.set(file.subarray(body + chunk, body + 2 * chunk), body);
  const edited = file.slice(); edited[6 + 13]! ^= 1; // chunk size
  const bad: Array<[string, Uint8Array, Uint8Array?]> = [
    ['truncated at a chunk boundary', file.subarray(0, body + 9 * chunk)],
    ['truncated mid-chunk', file.subarray(0, file.length - 5)],
    ['reordered chunks', swap],
    ['extended', new Uint8Array([...file, 0])],
    ['chunk size edited', edited],
    ['wrong aad', file, te.encode('file-2')],
  ];
  for (const [label, f, aad] of bad) {
    await assert.rejects(decryptChunked(f, ss, { aad: aad ?? te.encode('file-1') }), (e: unknown) => e instanceof DecryptionError, label);
  }
});
