import { z } from 'zod';
import { duration, finiteNumber } from '../../schema/fields.js';

/**
 * What a metric answers when its backend fails or has no data. The HPA never looks at
 * timestamps: an outage read as 0 scales everything in (kubernetes #104387), and one failing
 * metric freezes the whole HPA (kubernetes #109214), so the choice is the operator's, per metric.
 *
 * - `onError`: `lastGood` serves the last good value up to `maxStale` past its TTL (the
 *   default; without `maxStale`, the backend's cache maxStale), a number serves that value,
 *   `fail` answers the error (503) at once.
 * - `noData`: `error` answers 404 (the default), `zero` or a number serves that value.
 */
export const failurePolicySchema = z
  .object({
    onError: z.union([z.enum(['lastGood', 'fail']), finiteNumber]).optional(),
    maxStale: duration.optional(),
    noData: z.union([z.enum(['error', 'zero']), finiteNumber]).optional(),
  })
  .strict()
  .refine((p) => p.maxStale === undefined || p.onError === undefined || p.onError === 'lastGood', {
    message: 'maxStale applies only to onError: lastGood',
    path: ['maxStale'],
  });

export type FailurePolicyConfig = z.infer<typeof failurePolicySchema>;

/** A metric's policy with the backend default and the built-ins filled in. */
export interface FailurePolicy {
  onError: 'lastGood' | 'fail' | number;
  /** For lastGood; undefined leaves the backend cache's maxStale. */
  maxStaleMs?: number;
  noData: 'error' | number;
}

/** The metric's own settings over the backend default over the built-ins (last good value, 404). */
export function resolveFailurePolicy(
  backendDefault: FailurePolicyConfig | undefined,
  own: FailurePolicyConfig | undefined,
): FailurePolicy {
  const onError = own?.onError ?? backendDefault?.onError ?? 'lastGood';
  const noData = own?.noData ?? backendDefault?.noData ?? 'error';
  const policy: FailurePolicy = { onError, noData: noData === 'zero' ? 0 : noData };
  const maxStaleMs = own?.maxStale ?? backendDefault?.maxStale;
  if (onError === 'lastGood' && maxStaleMs !== undefined) policy.maxStaleMs = maxStaleMs;
  return policy;
}
