import { ApiError } from '../../api/errors.js';

/** How an AWS call ended, as the `outcome` label of hpa_metrics_adapter_aws_requests_total. */
export type AwsOutcome =
  | 'success'
  | 'not_found'
  | 'client_error'
  | 'denied'
  | 'throttled'
  | 'server_error'
  | 'timeout'
  | 'network_error'
  | 'config_error'
  | 'no_credentials'
  | 'aborted';

/** One AWS call, described for error messages: `SQS GetQueueAttributes for queue "jobs" in us-east-1`. */
export interface AwsCall {
  service: 'SQS' | 'CloudWatch' | 'STS';
  operation: string;
  target: string;
  /** The external metrics whose requests the call answers, for the cost counters. */
  metrics?: readonly string[];
}

interface SdkErrorShape {
  name: string;
  message: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $retryable?: { throttling?: boolean };
}

const NOT_FOUND = new Set([
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'ResourceNotFound',
  'ResourceNotFoundException',
]);

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'LimitExceededException',
]);

// The adapter's own identity is refused: an IAM or credentials problem of the deployment, not of
// the Kubernetes user who asked, so these are reported as the backend being unusable (503).
const DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AWS.SimpleQueueService.AccessDenied',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'MissingAuthenticationToken',
  'InvalidSecurity',
  'OptInRequired',
  'CredentialsProviderError',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** AWS refused the session token as expired: assumed credentials to be renewed before the next call. */
export function isExpiredCredentials(error: unknown): boolean {
  const cause = error instanceof ApiError ? error.cause : error;
  return cause instanceof Error && (cause.name === 'ExpiredToken' || cause.name === 'ExpiredTokenException');
}

function asSdkError(error: unknown): SdkErrorShape {
  if (error instanceof Error) return error as SdkErrorShape;
  return { name: 'Error', message: String(error) };
}

export function classifyAwsError(error: unknown): AwsOutcome {
  const e = asSdkError(error);
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'AbortError') return 'aborted';
  if (e.name === 'CredentialFetchError') return 'no_credentials';
  // The SDK names a connection reset `TimeoutError` too; the code tells them apart.
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return 'network_error';
  if (e.name === 'TimeoutError' || e.code === 'ETIMEDOUT' || e.name === 'RequestTimeout') return 'timeout';
  if (NOT_FOUND.has(e.name)) return 'not_found';
  if (THROTTLING.has(e.name) || status === 429 || e.$retryable?.throttling === true) return 'throttled';
  if (DENIED.has(e.name)) return 'denied';
  if (e.$metadata?.httpStatusCode === undefined && /^Region is missing/.test(e.message)) return 'config_error';
  if ((status !== undefined && status >= 500) || e.$fault === 'server') return 'server_error';
  if (status !== undefined && status >= 400) return 'client_error';
  return 'network_error';
}

/** How many attempts the SDK made for a call that ended with this result or error, when it says. */
export function attemptsOf(resultOrError: unknown): number | undefined {
  if (typeof resultOrError !== 'object' || resultOrError === null || !('$metadata' in resultOrError)) return undefined;
  const metadata = (resultOrError as { $metadata?: { attempts?: number } }).$metadata;
  return metadata?.attempts;
}

/**
 * Turns what the SDK threw (after its own retries) into the Status the HPA and kubectl see:
 * a missing queue is NotFound, a refused parameter is BadRequest with AWS's own words, and
 * everything transient (throttling, 5xx, timeouts, network) is ServiceUnavailable, so the cache
 * may serve a stale value meanwhile.
 */
export function toApiError(error: unknown, call: AwsCall, outcome = classifyAwsError(error)): ApiError {
  if (error instanceof ApiError) return error;
  const e = asSdkError(error);
  const what = `${call.service} ${call.operation} for ${call.target}`;
  const aws = `${e.name}: ${e.message}`;
  switch (outcome) {
    case 'not_found':
      return ApiError.notFound(`${call.target} does not exist (${call.operation} answered ${aws})`);
    case 'client_error':
      return ApiError.badRequest(`${what} was refused by AWS: ${aws}`);
    case 'denied':
      return ApiError.unavailable(
        `${what} was refused to the adapter's AWS identity (check the IAM policy and IRSA / Pod Identity setup of the adapter): ${aws}`,
        error,
      );
    case 'config_error':
      return ApiError.unavailable(
        `${what} cannot be sent: no AWS region is configured (set ${call.service.toLowerCase()}.region in the config or AWS_REGION)`,
        error,
      );
    case 'no_credentials':
      // The message names the source (endpoint, STS role, chain) and what went wrong.
      return ApiError.unavailable(`${what} was not sent: ${e.message}`, error);
    case 'aborted':
      return ApiError.unavailable(`${what} was cancelled before AWS answered`, error);
    default: {
      const attempts = attemptsOf(error);
      const tries = attempts === undefined ? '' : ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
      return ApiError.unavailable(`${what} failed${tries} (${outcome.replace('_', ' ')}): ${aws}`, error);
    }
  }
}
