/**
 * The one capture point of the audit log (docs/AUDIT.md): bindOperations gives every audited
 * operation an `onSend` hook built here, so no route records anything itself. An operation is
 * audited when it changes state or uses a secret: every method but GET/HEAD, unless the contract
 * marks it `x-audit: false` (verifications and public-key encryption, PIR queries); a GET marked
 * `x-audit: true` is audited too.
 *
 * The hook builds the record from the request (principal as the request scope keys it, route
 * params, request id, a SHA-256 of the body) and the answer about to be sent (status, problem
 * code, the key version it shows), appends it and waits for its commit before the answer leaves:
 * an acknowledged operation always has its record. When the append fails or times out, fail-closed
 * mode (the default) replaces the answer with a 503 `audit_unavailable` problem (except an answer
 * that is itself a 5xx: it acknowledges nothing and is sent as it is); fail-open mode sends it
 * anyway and logs the failure. Load-shedding refusals (429) are not recorded.
 *
 * Records never carry request or response bodies: plaintexts, secrets, tokens and signatures stay
 * out (the body's hash is omitted for operations whose body carries key material).
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toProblem } from '../errors.ts';
import { sha256Hex } from '../crypto/hash.ts';
import { principalKey } from '../workers/principal.ts';
import type { Operation } from './openapi.ts';
import type { AuditSink, PendingRecord } from '../audit/api.ts';

/** Operations whose request body carries (wrapped) key material: no input hash in their record. */
const NO_INPUT_HASH = new Set(['importKeyVersion']);

/** Whether an operation is audited (see the module header). */
export function isAudited(op: Operation): boolean {
  const mark = op.extensions['x-audit'];
  if (mark === true || mark === false) return mark;
  return op.method !== 'GET' && op.method !== 'HEAD';
}

/** Options of auditCapture. */
export interface AuditCaptureOptions {
  /** The sink at request time (the audit capability sets it up after the keys capability binds). */
  sink: () => AuditSink | undefined;
  failMode: 'closed' | 'open';
  /** How long an answer waits for its record's commit. */
  timeoutMs: number;
  log: FastifyBaseLogger;
}

/** An onSend hook, as bindOperations installs it. */
export type AuditHook = (req: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;

const VERSION = /"version":(\d{1,10})[,}]/;
const SIGNATURE_VERSION = /"signature":"v(\d{1,10}):/;
const LATEST_VERSION = /"latestVersion":(\d{1,10})[,}]/;
const PROBLEM_CODE = /"code":"([a-z_]{1,64})"/;

const text = (payload: unknown): string | undefined =>
  typeof payload === 'string' ? payload.slice(0, 4096) : Buffer.isBuffer(payload) && payload.length < 65536 ? payload.subarray(0, 4096).toString('latin1') : undefined;

function inputHash(op: Operation, body: unknown): string | undefined {
  if (NO_INPUT_HASH.has(op.operationId) || body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return sha256Hex(body);
  if (typeof body === 'object') return sha256Hex(JSON.stringify(body));
  return undefined;
}

/** The record of one answered request (exported for tests). */
export function recordOf(op: Operation, req: FastifyRequest, status: number, payload: unknown, now = new Date()): PendingRecord {
  const params = (req.params ?? {}) as Record<string, unknown>;
  const query = (req.query ?? {}) as Record<string, unknown>;
  const out = text(payload);
  // A version named in the path (destroyKeyVersion) is the one acted on; otherwise the one the answer shows.
  const pathVersion = typeof params.version === 'string' && /^[1-9]\d{0,9}$/.test(params.version) ? params.version : undefined;
  const version = pathVersion ?? (out === undefined || status >= 400 ? undefined : (LATEST_VERSION.exec(out) ?? SIGNATURE_VERSION.exec(out) ?? VERSION.exec(out))?.[1]);
  const problem = out !== undefined && status >= 400 ? PROBLEM_CODE.exec(out)?.[1] : undefined;
  // The addressed name: a path parameter, else (createKey, registerUser) the body's name field.
  const body = (typeof req.body === 'object' && req.body !== null && !(req.body instanceof Uint8Array) ? req.body : {}) as Record<string, unknown>;
  const named = params.name ?? params.username ?? params.id ?? params.entryName ?? body.name ?? body.username;
  const key = typeof named === 'string' && named.length <= 256 ? named : undefined;
  const r: PendingRecord = {
    time: now.toISOString(),
    principal: principalKey(req.principal ?? null, req.ip),
    operation: op.operationId,
    status,
    requestId: String(req.id),
  };
  if (key !== undefined) r.key = key;
  // Only an owner of the form the contract allows (a refused request may carry anything, of any length).
  if (typeof query.owner === 'string' && query.owner.length <= 256 && /^(admin|tenant:[A-Za-z0-9._@:+-]{1,128})$/.test(query.owner)) r.owner = query.owner;
  if (version !== undefined) r.version = Number(version);
  if (problem !== undefined) r.problem = problem;
  const input = inputHash(op, req.body);
  if (input !== undefined) r.inputSha256 = input;
  return r;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`audit commit took longer than ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The hook factory bindOperations calls per operation: a hook for audited operations, undefined otherwise. */
export function auditCapture(opts: AuditCaptureOptions): (op: Operation) => AuditHook | undefined {
  return (op) => {
    if (!isAudited(op)) return undefined;
    return async (req, reply, payload) => {
      const status = reply.statusCode;
      if (status === 429) return payload;
      try {
        const sink = opts.sink();
        if (!sink) throw new Error('the audit log is not set up');
        await withTimeout(sink.append(recordOf(op, req, status, payload)), opts.timeoutMs);
        return payload;
      } catch (err) {
        opts.log.error({ err: { message: (err as Error).message }, operationId: op.operationId, reqId: req.id }, 'audit record not written');
        // A server-side failure (store down, overload) is already an answer that acknowledges nothing:
        // it goes out as it is, the more accurate of the two 5xx.
        if (opts.failMode === 'open' || status >= 500) return payload;
        const problem = toProblem(new AppError('audit_unavailable', 'the audit log could not record this operation, so its answer is withheld; retry later', { retryAfter: 2 }));
        reply.code(503).header('content-type', 'application/problem+json; charset=utf-8').header('retry-after', '2').removeHeader('etag');
        return JSON.stringify(problem);
      }
    };
  };
}
