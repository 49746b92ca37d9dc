/**
 * Every error leaves the service as RFC 9457 application/problem+json with a stable `code`
 * from src/errors.ts. Unknown errors become a 500 whose detail says nothing about internals.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, toProblem } from '../errors.ts';

interface AjvIssue { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> }

function fieldOf(context: string, issue: AjvIssue): string {
  const path = (issue.instancePath ?? '').split('/').filter(Boolean).join('.');
  const prop = (issue.params?.missingProperty ?? issue.params?.additionalProperty) as string | undefined;
  return [context, path, prop].filter(Boolean).join('.');
}

function describe(issue: AjvIssue): string {
  if (issue.keyword === 'additionalProperties') return 'unknown field';
  if (issue.keyword === 'required') return 'is required';
  return issue.message ?? 'is invalid';
}

/** Maps anything thrown during a request to an AppError. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (Array.isArray(e?.validation)) {
    const context = e.validationContext ?? 'body';
    const errors = e.validation.map((issue) => ({ field: fieldOf(context, issue), message: describe(issue) }));
    const first = errors[0] ?? { field: context, message: 'is invalid' };
    return new AppError('validation_failed', `${first.field} ${first.message}`, { field: first.field, errors });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'request body exceeds the size limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', 'unsupported Content-Type for this operation');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('validation_failed', 'body is empty but Content-Type is application/json', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('validation_failed', 'body is not valid JSON', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('validation_failed', 'Content-Length does not match the body', { field: 'headers.content-length' });
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new AppError('not_found', 'no such resource');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('validation_failed', 'a path parameter is too long', { field: 'params' });
    default:
  }
  if (e instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new AppError('validation_failed', 'body is not valid JSON', { field: 'body' });
  }
  const status = (e as { statusCode?: number })?.statusCode;
  if (status === 429) return new AppError('rate_limited', 'too many requests; slow down', { retryAfter: 60 });
  if (status === 503) return new AppError('overloaded', 'the service is under pressure; retry later', { retryAfter: 1 });
  if (status === 413) return new AppError('payload_too_large', 'request body exceeds the size limit');
  if (status === 415) return new AppError('unsupported_media_type', 'unsupported Content-Type for this operation');
  if (status !== undefined && status >= 400 && status < 500) return new AppError('validation_failed', 'malformed request');
  return new AppError('internal', 'internal error');
}

/** Sends `err` as problem+json, with Retry-After (extra.retryAfter) and WWW-Authenticate (401) headers. */
export function sendProblem(reply: FastifyReply, err: AppError): FastifyReply {
  const problem = toProblem(err);
  const retryAfter = err.extra?.retryAfter;
  if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
  if (err.code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
  return reply.code(err.status).type('application/problem+json').serializer(JSON.stringify).send(problem);
}

/** The fastify error handler: maps any error to its problem (toAppError) and logs unexpected 500s. */
export function errorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const appErr = toAppError(err);
  if (appErr.status >= 500 && appErr.code === 'internal') req.log.error({ err }, 'unhandled error');
  else req.log.info({ code: appErr.code, status: appErr.status }, 'request failed');
  return sendProblem(reply, appErr);
}
