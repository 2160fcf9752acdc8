import { z } from 'zod';
import { iamRoleArn } from '../../schema/fields.js';

/** e.g. `us-east-1`, `eu-central-2`, `us-gov-west-1`; regions become host names, so keep them to this shape. */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;

export const awsRegion = z.string().regex(AWS_REGION_PATTERN, 'must be an AWS region such as us-east-1');

export const ACCOUNT_ID_PATTERN = /^[0-9]{12}$/;

/**
 * How the adapter reaches one other account: a role it assumes with STS (the role's trust policy
 * names the adapter's own role, see deploy/aws/cross-account-trust-policy.json), or, with no
 * roleArn, its own credentials (the queue's policy grants them).
 */
const accountAccess = z
  .object({
    roleArn: iamRoleArn.optional(),
    /** The sts:ExternalId the role's trust policy asks for. */
    externalId: z.string().min(2).max(1224).optional(),
    /** Seconds the assumed credentials last (STS allows 900 up to the role's maximum). */
    durationSeconds: z.number().int().min(900).max(43_200).default(3600),
  })
  .strict();

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
  /**
   * Other accounts the metrics may read, by 12-digit id. Once set, an account-id not listed is
   * refused (403); absent, queues of other accounts are read with the adapter's own credentials.
   */
  accounts: z
    .record(z.string().regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit AWS account id'), accountAccess)
    .optional(),
  /** Where AssumeRole goes; default the SDK's (AWS_ENDPOINT_URL_STS, else the regional STS endpoint). */
  stsEndpoint: z.url().optional(),
};

export type AccountAccess = z.infer<typeof accountAccess>;

export interface AwsConnectionSettings {
  region?: string;
  endpoint?: string;
  maxAttempts: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  accounts?: Record<string, AccountAccess> | undefined;
  stsEndpoint?: string | undefined;
}

export { allowedNamespaces, metricName as externalMetricName } from '../../schema/fields.js';
