/**
 * Limits on JSON input, checked on the raw text before it is parsed, so a hostile body costs one
 * linear scan and never a deep recursion (JSON.stringify, schema validation and serializers all
 * recurse): outer request bodies (the root JSON parser in app.ts) and envelope inner requests
 * (src/kex/service.ts). Pure module.
 */
import { AppError } from '../errors.ts';

/** Deepest nesting of objects and arrays any operation accepts (the contract's deepest is < 10). */
export const MAX_JSON_DEPTH = 32;

/**
 * The nesting depth of JSON text, scanning at most until `limit` is passed (then `limit + 1`).
 * Brackets inside strings are skipped; the text need not be valid JSON (the parser judges that).
 */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Jump to the closing quote with indexOf (native, fast on long base64 strings): the first quote
      // preceded by an even number of backslashes. An unterminated string ends the scan.
      let end = text.indexOf('"', i + 1);
      for (;;) {
        if (end < 0) return max;
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** Throws a 400 naming `field` when `text` nests deeper than MAX_JSON_DEPTH. */
export function assertJsonDepth(text: string, field: string): void {
  if (jsonDepth(text) > MAX_JSON_DEPTH) throw new AppError('validation_failed', `${field} nests deeper than ${MAX_JSON_DEPTH} levels`, { field });
}
