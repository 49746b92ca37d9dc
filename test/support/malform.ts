/**
 * Malformed-request generator driven by the JSON schemas of openapi.yaml. Every request it yields
 * for a protected or body-taking operation carries at least one violation the server must detect
 * before any handler runs (bad credentials, or a schema violation under valid admin credentials),
 * so a fuzz run may never change state. Deterministic for a given seed.
 */
import type { InjectOptions } from 'fastify';
import type { Operation } from '../../src/http/openapi.ts';

export interface SchemaLike {
  type?: string | string[];
  properties?: Record<string, SchemaLike>;
  required?: string[];
  additionalProperties?: boolean | SchemaLike;
  items?: SchemaLike;
  minItems?: number; maxItems?: number;
  minLength?: number; maxLength?: number;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number; maximum?: number;
  oneOf?: SchemaLike[]; anyOf?: SchemaLike[]; allOf?: SchemaLike[];
  $ref?: string;
  [k: string]: unknown;
}

/** sfc32: small, fast, reproducible (32-bit integer arithmetic only). */
export class Rng {
  private a: number; private b: number; private c: number; private d: number;
  constructor(seed: number) {
    this.a = 0x9e3779b9; this.b = 0x243f6a88; this.c = 0xb7e15162; this.d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.next();
  }
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 0x100000000;
  }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  bytes(n: number): Buffer { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b; }
  string(n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_'): string {
    // Long strings repeat a random 64-character chunk: the content of an oversize value does not matter.
    const chunk = Math.min(n, 64);
    let s = '';
    for (let i = 0; i < chunk; i++) s += alphabet[this.int(alphabet.length)];
    return n <= 64 ? s : s.repeat(Math.ceil(n / 64)).slice(0, n);
  }
}

const NASTY = ['+', '/', '=', ' ', '\u0000', '%00', '💥', '..', '\n', '"', "'", '\\', '<script>', '\u202e', '{', '$'];
const typeOf = (s: SchemaLike): string | undefined => (Array.isArray(s.type) ? s.type[0] : s.type) ?? (s.properties ? 'object' : undefined);

/** A value that satisfies `s` (best effort; used as the background around one violation). */
export function validValue(rng: Rng, s: SchemaLike, depth = 0): unknown {
  if (s.const !== undefined) return s.const;
  if (s.enum) return rng.pick(s.enum);
  if (s.oneOf || s.anyOf) return validValue(rng, (s.oneOf ?? s.anyOf)![0]!, depth);
  switch (typeOf(s)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const k of s.required ?? []) if (s.properties?.[k]) out[k] = validValue(rng, s.properties[k]!, depth + 1);
      return out;
    }
    case 'array': return Array.from({ length: s.minItems ?? 1 }, () => validValue(rng, s.items ?? {}, depth + 1));
    case 'integer': case 'number': return Math.max(s.minimum ?? 0, Math.min(s.maximum ?? 1, 1));
    case 'boolean': return false;
    case 'string': {
      const len = Math.max(s.minLength ?? 1, Math.min(s.maxLength ?? 8, 8));
      const re = s.pattern ? new RegExp(s.pattern, 'u') : undefined;
      for (const cand of [rng.string(len), 'a'.repeat(len), 'key-1', '1', 'AAAA']) if (!re || re.test(cand)) return cand;
      return rng.string(len);
    }
    default: return 'x';
  }
}

const wrongTypeFor = (rng: Rng, s: SchemaLike): unknown => {
  const t = typeOf(s);
  const options: unknown[] = [null, 42, -1.5, true, 'str', [], {}, [1, 2], { a: 1 }, 1e308];
  return rng.pick(options.filter((v) => {
    if (t === 'string') return typeof v !== 'string';
    if (t === 'integer' || t === 'number') return typeof v !== 'number';
    if (t === 'boolean') return typeof v !== 'boolean';
    if (t === 'array') return !Array.isArray(v);
    if (t === 'object') return typeof v !== 'object' || v === null || Array.isArray(v);
    return typeof v === 'object' && v !== null; // unknown type: an object is unlikely to be valid
  }));
};

/** Violations of a string/number/array schema that Ajv must report, or [] if none are expressible. */
function scalarViolations(rng: Rng, s: SchemaLike): unknown[] {
  const out: unknown[] = [];
  if (typeOf(s) !== undefined || s.enum) out.push(wrongTypeFor(rng, s));
  if (s.enum) out.push(`not-${String(rng.pick(s.enum))}-${rng.string(3)}`);
  if (typeOf(s) === 'string') {
    if (s.maxLength !== undefined) out.push(rng.string(s.maxLength + 1 + rng.int(2000)));
    if (s.minLength) out.push(rng.string(rng.int(s.minLength)));
    if (s.pattern) {
      const re = new RegExp(s.pattern, 'u');
      for (let i = 0; i < 4; i++) {
        const base = String(validValue(rng, s));
        const at = rng.int(base.length + 1);
        const bad = base.slice(0, at) + rng.pick(NASTY) + base.slice(at);
        if (!re.test(bad) && (s.maxLength === undefined || bad.length <= s.maxLength)) { out.push(bad); break; }
      }
    }
  }
  if (typeOf(s) === 'integer') out.push(1.5);
  if ((typeOf(s) === 'integer' || typeOf(s) === 'number')) {
    if (s.minimum !== undefined) out.push(s.minimum - 1 - rng.int(1000));
    if (s.maximum !== undefined) out.push(s.maximum + 1 + rng.int(1000));
  }
  if (typeOf(s) === 'array') {
    if (s.maxItems !== undefined) out.push(Array.from({ length: s.maxItems + 1 }, () => validValue(rng, s.items ?? {})));
    if (s.minItems) out.push([]);
  }
  return out;
}

const branches = (s: SchemaLike): SchemaLike[] => s.oneOf ?? s.anyOf ?? [s];

/** A JSON body violating the object schema `s` in one way that every branch rejects. */
function bodyViolation(rng: Rng, s: SchemaLike): { payload: string; contentType: string } {
  const all = branches(s);
  const base = validValue(rng, all[rng.int(all.length)]!) as Record<string, unknown>;
  const kinds = ['not-object', 'invalid-json', 'wrong-content-type'];
  if (all.every((b) => b.additionalProperties === false)) kinds.push('unknown-field', 'unknown-field');
  const props = all.flatMap((b) => Object.entries(b.properties ?? {}));
  if (props.length) kinds.push('bad-property', 'bad-property', 'bad-property', 'bad-property');
  if (all.every((b) => (b.required ?? []).length > 0) && all.length === 1) kinds.push('missing');
  const json = (v: unknown) => ({ payload: JSON.stringify(v), contentType: 'application/json' });
  switch (rng.pick(kinds)) {
    case 'not-object': return json(rng.pick([null, 0, 'text', [], [base], true, 1e400]));
    case 'invalid-json': return { payload: rng.pick(['{', '{"a":', '[1,', '{"a" 1}', "{'a':1}", '\u0000', 'nul', '{"__proto__":']), contentType: 'application/json' };
    case 'wrong-content-type': return { payload: JSON.stringify(base), contentType: rng.pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded']) };
    case 'unknown-field': return json({ ...base, [rng.pick(['admin', 'owner', '__proto__x', 'isAdmin', rng.string(6)])]: rng.pick([true, 1, 'x']) });
    case 'missing': {
      const req = all[0]!.required!;
      const copy = { ...base };
      delete copy[rng.pick(req)];
      return json(copy);
    }
    default: {
      // A property declared with the same constraints in every branch that knows it.
      const [name, schema] = rng.pick(props);
      const candidates = scalarViolations(rng, schema).filter(() => all.every((b) => {
        const p = b.properties?.[name];
        if (!p) return b.additionalProperties === false;
        return scalarViolations(new Rng(1), p).length > 0 && JSON.stringify(p) === JSON.stringify(schema);
      }));
      if (candidates.length === 0) return json(rng.pick([null, 'text', 7]));
      return json({ ...base, [name]: rng.pick(candidates) });
    }
  }
}

const AUTH_GARBAGE = (rng: Rng): Record<string, string> => rng.pick<Record<string, string>>([
  {},
  { authorization: 'Basic YWRtaW46YWRtaW4=' },
  { authorization: `Bearer ${rng.string(40)}` },
  { authorization: 'Bearer ' },
  { authorization: `Bearer ${rng.string(8)}.${rng.string(30)}.${rng.string(50)}` },
  { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.' },
  { authorization: `bearer\t${rng.string(10)}` },
  { authorization: rng.string(300, 'abc\u00ff ') },
]);

function fillPath(rng: Rng, path: string, params: SchemaLike[], bad: boolean): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const s = params.find((p) => p['x-name'] === name) ?? { type: 'string' };
    let v = String(validValue(rng, s));
    if (bad) {
      const vs = scalarViolations(rng, s).filter((x) => typeof x === 'string') as string[];
      v = vs.length ? rng.pick(vs) : rng.pick(['..', '%2e%2e', rng.string(300), '%00', '%F0%9F%92%A5', ' ']);
    } else if (rng.int(4) === 0) v = rng.string(1 + rng.int(20));
    return v.startsWith('%') ? v : encodeURIComponent(v);
  });
}

export function* malformedRequests(rng: Rng, op: Operation, schemas: { body?: SchemaLike; bodyType?: string; params: SchemaLike[]; query: SchemaLike[] }, count: number, adminToken: string): Generator<InjectOptions> {
  const isPublic = op.security.length === 0 || op.security.some((r) => Object.keys(r).length === 0);
  const admitsAdmin = op.security.some((r) => 'adminToken' in r);
  const jsonBody = schemas.body && (schemas.bodyType ?? '').includes('json');
  const pathBad = schemas.params.some((p) => scalarViolations(rng, p).some((v) => typeof v === 'string'));
  const queryBad = schemas.query.filter((q) => scalarViolations(rng, q).length > 0);
  for (let i = 0; i < count; i++) {
    const kinds: string[] = [];
    if (!isPublic) kinds.push('auth');
    if (jsonBody) kinds.push('body', 'body', 'body');
    if (schemas.body && !jsonBody) kinds.push('binary');
    if (pathBad) kinds.push('path');
    if (queryBad.length) kinds.push('query');
    if (kinds.length === 0) kinds.push('noise');
    const kind = rng.pick(kinds);
    // Valid admin credentials where they are accepted, so violations reach validation.
    const headers: Record<string, string> = kind === 'auth' ? AUTH_GARBAGE(rng) : admitsAdmin ? { authorization: `Bearer ${adminToken}` } : isPublic ? AUTH_GARBAGE(rng) : AUTH_GARBAGE(rng);
    const query: Record<string, string> = {};
    for (const q of schemas.query) if (q['x-required'] || rng.int(2) === 0) query[String(q['x-name'])] = String(validValue(rng, q));
    if (kind === 'query') {
      const q = rng.pick(queryBad);
      query[String(q['x-name'])] = String(rng.pick(scalarViolations(rng, q).map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))));
    }
    if (kind === 'noise') query[rng.string(4)] = rng.string(rng.int(50), 'abc%&=;💥');
    const url = fillPath(rng, op.path, schemas.params, kind === 'path');
    const req: InjectOptions = { method: op.method as InjectOptions['method'], url, query, headers };
    if (kind === 'body' && schemas.body) {
      const { payload, contentType } = bodyViolation(rng, schemas.body);
      req.payload = payload;
      req.headers = { ...headers, 'content-type': contentType };
    } else if (jsonBody) {
      req.payload = JSON.stringify(validValue(rng, schemas.body!));
      req.headers = { ...headers, 'content-type': 'application/json' };
    } else if (schemas.body) {
      req.payload = rng.bytes(rng.pick([0, 1, 3, 4, 17, 1024, 65537]));
      // Random bytes with valid credentials could be a legitimate upload: pair them with a wrong type.
      const wrongType = kind === 'binary' || kind === 'path' || kind === 'query' ? rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']) : schemas.bodyType!;
      req.headers = { ...headers, 'content-type': kind === 'auth' ? schemas.bodyType! : wrongType };
    }
    yield req;
  }
}
