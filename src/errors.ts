/**
 * The one error registry. Every failure the service reports has a stable `code`
 * (callers can `switch (err.code)`) and becomes an RFC 9457 problem+json response.
 * Cryptographic failures use fixed messages so an error can never act as an oracle.
 * Pure module: imported by server and SDK alike.
 */
export const ERRORS = {
  validation_failed: { status: 400, title: 'Request validation failed' },
  invalid_input: { status: 400, title: 'Invalid input' },
  unsupported_operation: { status: 400, title: 'Operation not supported' },
  decryption_failed: { status: 400, title: 'Decryption failed' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not Found' },
  method_not_allowed: { status: 405, title: 'Method Not Allowed' },
  not_acceptable: { status: 406, title: 'Not Acceptable' },
  conflict: { status: 409, title: 'Conflict' },
  gone: { status: 410, title: 'Gone' },
  key_version_destroyed: { status: 410, title: 'Key Version Destroyed' },
  payload_too_large: { status: 413, title: 'Payload Too Large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  rate_limited: { status: 429, title: 'Too Many Requests' },
  internal: { status: 500, title: 'Internal Server Error' },
  overloaded: { status: 503, title: 'Service Overloaded' },
  store_unavailable: { status: 503, title: 'Store Unavailable' },
  audit_unavailable: { status: 503, title: 'Audit Log Unavailable' },
} as const;

/** A stable error code (a key of the registry above). */
export type ErrorCode = keyof typeof ERRORS;

/** The problem `type` URI of a code, `urn:pqzk:problem:<code>`. */
export const problemType = (code: ErrorCode): string => `urn:pqzk:problem:${code}`;

/** Base error: a stable code, an HTTP status and a detail that is safe to show a client. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra members for the problem object (e.g. `field`, `currentConfig`); never secrets. */
  readonly extra: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, detail?: string, extra?: Record<string, unknown>) {
    super(detail ?? ERRORS[code].title);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.extra = extra;
  }
}

/** A backend cannot express an operation (e.g. OpenSSL has no deterministic ML-DSA). */
export class UnsupportedError extends AppError {
  constructor(detail: string) {
    super('unsupported_operation', detail);
    this.name = 'UnsupportedError';
  }
}

/** Bad bytes handed to a primitive: wrong length, out-of-range key, context > 255 bytes. */
export class CryptoInputError extends AppError {
  constructor(detail: string) {
    super('invalid_input', detail);
    this.name = 'CryptoInputError';
  }
}

/** AEAD open failed. Fixed message on purpose. */
export class DecryptionError extends AppError {
  constructor() {
    super('decryption_failed', 'decryption failed');
    this.name = 'DecryptionError';
  }
}

/** An RFC 9457 problem object as the service sends it, with the pqzk `code` and any extra members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  [member: string]: unknown;
}

/** The problem object of an error (extra members first, so they never override the standard ones). */
export const toProblem = (err: AppError): Problem => ({
  ...err.extra,
  type: problemType(err.code),
  title: ERRORS[err.code].title,
  status: err.status,
  code: err.code,
  detail: err.message,
});
