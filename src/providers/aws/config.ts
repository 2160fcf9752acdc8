import { z } from 'zod';

/** e.g. `us-east-1`, `eu-central-2`, `us-gov-west-1`; regions become host names, so keep them to this shape. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;

export const awsRegion = z.string().regex(AWS_REGION_PATTERN, 'must be an AWS region such as us-east-1');

/**
 * Connection settings shared by the SQS and CloudWatch sections. Region and endpoint fall back
 * to what the SDK reads itself (AWS_REGION, AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_CLOUDWATCH,
 * AWS_ENDPOINT_URL, the shared config file); credentials always come from the SDK's default chain.
 */
export const awsConnectionFields = {
  region: awsRegion.optional(),
  endpoint: z.url().optional(),
  /** Attempts per AWS call, the first included; throttling, 5xx and timeouts are retried. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Deadline of one attempt, from sending the request to the end of the response. */
  timeoutMs: z.number().int().min(10).max(120_000).default(3000),
  /** Deadline for opening the TCP/TLS connection of one attempt. */
  connectTimeoutMs: z.number().int().min(10).max(60_000).default(1000),
};

export interface AwsConnectionSettings {
  region?: string;
  endpoint?: string;
  maxAttempts: number;
  timeoutMs: number;
  connectTimeoutMs: number;
}

export { allowedNamespaces, metricName as externalMetricName } from '../../config/fields.js';
