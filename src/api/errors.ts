/**
 * The one error type that crosses layers. Providers, the resolver and the HTTP layer throw
 * ApiError; only the HTTP layer turns it into a Kubernetes `Status` body. Nothing else
 * knows HTTP status codes.
 */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'RequestHeaderFieldsTooLarge'
  | 'TooManyRequests'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'InternalError';

const CODES: Record<StatusReason, number> = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  RequestEntityTooLarge: 413,
  RequestHeaderFieldsTooLarge: 431,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
};

export class ApiError extends Error {
  readonly reason: StatusReason;
  readonly code: number;
  /** For 429 and 503: when the client may try again (the `Retry-After` header and `details.retryAfterSeconds`). */
  readonly retryAfterSeconds?: number;

  constructor(reason: StatusReason, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.name = 'ApiError';
    this.reason = reason;
    this.code = CODES[reason];
    if (options?.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  static badRequest(message: string): ApiError {
    return new ApiError('BadRequest', message);
  }
  static notFound(message: string): ApiError {
    return new ApiError('NotFound', message);
  }
  static unauthorized(message: string): ApiError {
    return new ApiError('Unauthorized', message);
  }
  static forbidden(message: string): ApiError {
    return new ApiError('Forbidden', message);
  }
  static unavailable(message: string, cause?: unknown): ApiError {
    return new ApiError('ServiceUnavailable', message, { cause });
  }
  static internal(message: string, cause?: unknown): ApiError {
    return new ApiError('InternalError', message, { cause });
  }
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: StatusReason;
  code: number;
  details?: { retryAfterSeconds: number };
}

export function toStatus(error: ApiError): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: error.message,
    reason: error.reason,
    code: error.code,
    ...(error.retryAfterSeconds !== undefined ? { details: { retryAfterSeconds: error.retryAfterSeconds } } : {}),
  };
}

/** Anything that is not an ApiError is a bug: report it as InternalError without internals. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  return ApiError.internal('internal error while serving the request; see the adapter log', error);
}
