import { z } from 'zod';
import {
  ACCOUNT_ID_PATTERN,
  allowedNamespaces,
  awsConnectionFields,
  awsRegion,
  externalMetricName,
} from '../aws/config.js';

import { failurePolicySchema } from '../failure-policy/config.js';

/** SQS queue names: up to 80 of [A-Za-z0-9_-], FIFO queues ending in `.fifo`. */
export const QUEUE_NAME_PATTERN = /^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$/;

export const QUEUE_COUNTS = ['visible', 'inFlight', 'delayed'] as const;
export type QueueCount = (typeof QUEUE_COUNTS)[number];

/** The SQS attribute behind each count (KEDA calls the last two scaleOnInFlight / scaleOnDelayed). */
export const ATTRIBUTE_FOR: Record<QueueCount, string> = {
  visible: 'ApproximateNumberOfMessages',
  inFlight: 'ApproximateNumberOfMessagesNotVisible',
  delayed: 'ApproximateNumberOfMessagesDelayed',
};

/** Which approximate counts are summed into the value; defaults to visible messages only. */
const include = z
  .array(z.enum(QUEUE_COUNTS))
  .min(1)
  .default(['visible'])
  .transform((counts) => QUEUE_COUNTS.filter((count) => counts.includes(count)));

const queueName = z.string().regex(QUEUE_NAME_PATTERN, 'must be an SQS queue name ([A-Za-z0-9_-], optional .fifo)');

/** What a metric measures of its queues: the approximate message counts, or the age of the oldest message. */
export const QUEUE_SIGNALS = ['backlog', 'oldestMessageAge'] as const;
export type QueueSignal = (typeof QUEUE_SIGNALS)[number];

const namedMetric = z
  .object({
    name: externalMetricName,
    queueName: queueName.optional(),
    queueUrl: z.url().optional(),
    /** Several queues in one metric, by name. */
    queueNames: z.array(queueName).min(1).max(100).optional(),
    /** Every queue whose name starts so (ListQueues, refreshed every listIntervalSeconds in the background). */
    queueNamePrefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be the start of an SQS queue name')
      .optional(),
    /** How the values of several queues combine. */
    aggregate: z.enum(['sum', 'max']).default('sum'),
    /** backlog: the counts in `include`; oldestMessageAge: CloudWatch AWS/SQS ApproximateAgeOfOldestMessage (Maximum), seconds. */
    signal: z.enum(QUEUE_SIGNALS).default('backlog'),
    region: awsRegion.optional(),
    /** Owner of a queue in another account (with queueName); a queueUrl already names it. */
    accountId: z.string().regex(ACCOUNT_ID_PATTERN, 'must be a 12-digit AWS account id').optional(),
    include,
    namespaces: allowedNamespaces,
    failurePolicy: failurePolicySchema.optional(),
  })
  .strict()
  .refine(
    (m) => [m.queueName, m.queueUrl, m.queueNames, m.queueNamePrefix].filter((q) => q !== undefined).length === 1,
    'set exactly one of queueName, queueUrl, queueNames and queueNamePrefix',
  );

/** The generic metric: any allowed queue, chosen by the `queue-name` selector label. */
const queueLengthMetric = z
  .object({
    enabled: z.boolean().default(true),
    name: externalMetricName.default('sqs-queue-length'),
    include,
    namespaces: allowedNamespaces,
    failurePolicy: failurePolicySchema.optional(),
  })
  .strict();

/** The generic age metric: ApproximateAgeOfOldestMessage of the queue the selector names. */
const oldestMessageAgeMetric = z
  .object({
    enabled: z.boolean().default(true),
    name: externalMetricName.default('sqs-oldest-message-age'),
    namespaces: allowedNamespaces,
    failurePolicy: failurePolicySchema.optional(),
  })
  .strict();

export const sqsBackendSchema = z
  .object({
    ...awsConnectionFields,
    /** Every metric's failure policy unless the metric sets its own. */
    failurePolicy: failurePolicySchema.optional(),
    /**
     * Glob patterns (`*` any run of characters, `?` one) of queue names the generic metric may
     * read. Empty (the default) serves no queue through it; named metrics are not subject to it.
     */
    allowQueues: z.array(z.string().min(1).max(200)).default([]),
    metrics: z.array(namedMetric).default([]),
    queueLengthMetric: queueLengthMetric.prefault({}),
    oldestMessageAgeMetric: oldestMessageAgeMetric.prefault({}),
    /** Seconds between ListQueues refreshes of the queueNamePrefix metrics. */
    listIntervalSeconds: z.number().int().min(10).max(3600).default(60),
    /** Where the age metrics' GetMetricData goes; default AWS_ENDPOINT_URL_CLOUDWATCH / the SDK's. */
    cloudWatchEndpoint: z.url().optional(),
  })
  .strict()
  .superRefine((section, context) => {
    const names = section.metrics.map((m) => m.name);
    if (section.queueLengthMetric.enabled) names.push(section.queueLengthMetric.name);
    if (section.oldestMessageAgeMetric.enabled) names.push(section.oldestMessageAgeMetric.name);
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate !== undefined) {
      context.addIssue({ code: 'custom', path: ['metrics'], message: `metric name "${duplicate}" is used twice` });
    }
  });

export type SqsBackendConfig = z.infer<typeof sqsBackendSchema>;
