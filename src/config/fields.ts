import { z } from 'zod';

/** Config field types every backend section shares. */

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
