import assert from 'node:assert/strict';
import type { Registry } from 'prom-client';
import { ApiError } from '../../src/api/errors.js';
import { parseSelector } from '../../src/api/selector.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import type { AwsClientOverrides } from '../../src/providers/aws/clients.js';
import type { ExternalMetricRequest } from '../../src/providers/provider.js';

/** Dummy static credentials: the doubles and moto check that requests are signed, not by whom. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDADAPTERTEST', secretAccessKey: 'adapter-test-secret' };

/** Explicit credentials and 10 ms between retries, so retry tests take milliseconds. */
export const FAST_AWS: AwsClientOverrides = { credentials: TEST_CREDENTIALS, retryBackoffMs: () => 10 };

export function externalRequest(
  metric: string,
  selector = '',
  namespace = 'default',
  signal: AbortSignal = new AbortController().signal,
): ExternalMetricRequest {
  return { metric, namespace, metricSelector: parseSelector(selector), deadline: deadlineOf(signal) };
}

/** The value of one labelled series of a prom-client counter in the registry, 0 when absent. */
export async function counterValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/** Awaits a rejection and checks it is an ApiError with this reason and a message matching `message`. */
export async function rejectsWithStatus(promise: Promise<unknown>, reason: string, message: RegExp): Promise<ApiError> {
  const error = await promise.then(
    () => assert.fail('expected the request to fail'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
  assert.equal(error.reason, reason, error.message);
  assert.match(error.message, message);
  return error;
}
