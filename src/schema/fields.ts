import { z } from 'zod';
import { isValidQuantity, parseQuantity } from '../api/quantity.js';
import { DURATION_BOUND, parseDuration } from '../lib/duration.js';

/** Config field types every section shares. */

// Metric names travel in URL path segments and discovery names: keep them to a safe set.
export const metricName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$/, 'must be letters, digits, - _ . : and start/end alphanumeric');

/** Namespaces whose HPAs may read a metric; absent means every namespace. */
export const allowedNamespaces = z.array(z.string().min(1).max(63)).min(1).optional();

export const labelMap = z.record(z.string().min(1).max(317), z.string().max(63));

export const finiteNumber = z.number().refine(Number.isFinite, 'must be a finite number');

/** An IAM role to assume, in any AWS partition (aws, aws-cn, aws-us-gov). */
export const iamRoleArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/,
    'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)',
  );

function durationOf(least: 'zero' | 'positive') {
  const expected = `expected a duration such as 500ms, 15s, 2m or 1h30m (${DURATION_BOUND}${least === 'positive' ? ', above 0s' : ''})`;
  return z.string({ error: expected }).transform((text, context) => {
    const ms = parseDuration(text);
    if (ms === undefined || (least === 'positive' && ms <= 0)) {
      context.addIssue({ code: 'custom', message: `${expected}, got "${text}"` });
      return z.NEVER;
    }
    return ms;
  });
}

/** A Go-style duration in milliseconds; `0s` is allowed where it turns something off (a cache's negativeTtl). */
export const duration = durationOf('zero');

/** A duration above zero: a timeout or an interval, where 0s would expire at once or run in a hot loop. */
export const positiveDuration = durationOf('positive');

/** A byte count: a whole number or a Kubernetes quantity such as 64Mi. */
export const byteSize = z
  .union([z.number(), z.string()], { error: 'expected a byte count such as 67108864 or a size such as 64Mi' })
  .transform((raw, context) => {
    const bytes = typeof raw === 'number' ? raw : isValidQuantity(raw) ? parseQuantity(raw) : Number.NaN;
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      context.addIssue({
        code: 'custom',
        message: `expected a positive whole number of bytes or a size such as 512Ki, 64Mi or 1Gi, got ${JSON.stringify(raw)}`,
      });
      return z.NEVER;
    }
    return bytes;
  });
