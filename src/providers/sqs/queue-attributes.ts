import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { ApiError } from '../../api/errors.js';
import type { CacheCaller } from '../../cache/query-cache.js';
import type { AwsBackendBase } from '../aws/backend-base.js';
import { AWS_REQUEST_LOG } from '../aws/metrics.js';
import type { BackendContext } from '../context.js';
import { ATTRIBUTE_FOR, type QueueCount } from './config.js';
import { describeQueue, type QueueRef, type QueueUrlResolver } from './queue-urls.js';

/** What is cached per queue and attribute set: the counts and when SQS reported them. */
export interface QueueReading {
  counts: Partial<Record<QueueCount, number>>;
  observedAtMs: number;
}

export type ReadQueue = (
  ref: QueueRef,
  include: readonly QueueCount[],
  caller: CacheCaller,
  metric: string,
) => Promise<QueueReading>;

/** GetQueueAttributes of one queue through the cache, keyed by its URL and the counts read. */
export function queueAttributesReader(
  aws: AwsBackendBase<SQSClient>,
  urls: QueueUrlResolver,
  context: BackendContext,
): ReadQueue {
  return async (ref, include, caller, metric) => {
    const url = await urls.resolve(ref, caller.deadline);
    const attributeNames = include.map((count) => ATTRIBUTE_FOR[count]) as QueueAttributeName[];
    const key = `${url} ${attributeNames.join(',')}`;
    return context.cache.fetch(
      key,
      async (loadSignal) => {
        context.logger.debug(
          { operation: 'GetQueueAttributes', metric, input: { QueueUrl: url, AttributeNames: attributeNames } },
          AWS_REQUEST_LOG,
        );
        try {
          const output = await aws.call(
            ref,
            { service: 'SQS', operation: 'GetQueueAttributes', target: describeQueue(ref), metrics: [metric] },
            (client) =>
              client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: attributeNames }), {
                abortSignal: loadSignal,
              }),
          );
          return { counts: parseCounts(output.Attributes ?? {}, include, ref), observedAtMs: context.now().getTime() };
        } catch (error) {
          // The queue was deleted since its URL was looked up: look it up afresh next time.
          if (error instanceof ApiError && error.reason === 'NotFound') urls.forget(ref);
          throw error;
        }
      },
      caller,
    );
  };
}

function parseCounts(
  attributes: Partial<Record<string, string>>,
  include: readonly QueueCount[],
  ref: QueueRef,
): Partial<Record<QueueCount, number>> {
  const counts: Partial<Record<QueueCount, number>> = {};
  for (const count of include) {
    const text = attributes[ATTRIBUTE_FOR[count]];
    const value = text === undefined ? Number.NaN : Number(text);
    if (!Number.isFinite(value)) {
      throw ApiError.unavailable(
        `SQS GetQueueAttributes for ${describeQueue(ref)} returned ${ATTRIBUTE_FOR[count]}=${JSON.stringify(text)}, not a number`,
      );
    }
    counts[count] = value;
  }
  return counts;
}
