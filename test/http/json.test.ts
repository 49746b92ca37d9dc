import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDepth, MAX_JSON_DEPTH } from '../../src/http/json.ts';

/** The plain character-by-character scan: the specification the indexOf-jumping scan must agree with. */
function referenceDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) { if (c === '\\') i++; else if (c === '"') inString = false; continue; }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') { if (++depth > max && (max = depth) > limit) return max; }
    else if (c === '}' || c === ']') depth--;
  }
  return max;
}

test('jsonDepth agrees with the character-by-character scan on random bracket, quote and backslash soup', () => {
  const alphabet = ['{', '}', '[', ']', '"', '\\', 'a', ':', ','];
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  for (let n = 0; n < 5000; n++) {
    const text = Array.from({ length: rnd(60) }, () => alphabet[rnd(alphabet.length)]).join('');
    const limit = 1 + rnd(6);
    assert.equal(jsonDepth(text, limit), referenceDepth(text, limit), JSON.stringify(text));
  }
});

test('jsonDepth: escaped quotes, even runs of backslashes, unterminated strings, long strings', () => {
  assert.equal(jsonDepth('["a\\"[[", ["b"]]'), 2);
  assert.equal(jsonDepth('["a\\\\", ["b"]]'), 2); // "a\\" closes: the bracket after it counts
  assert.equal(jsonDepth('[["unterminated [[[['), 2);
  assert.equal(jsonDepth(`{"sig":"${'A'.repeat(100_000)}","x":[[1]]}`), 3);
});
