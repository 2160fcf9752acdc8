import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsCredentialSources } from '../../src/providers/aws/credential-sources.js';
import { createCloudWatchBackend } from '../../src/providers/cloudwatch/cloudwatch-backend.js';
import { cloudWatchBackendSchema } from '../../src/providers/cloudwatch/config.js';
import { createPrometheusClient } from '../../src/providers/prometheus/client.js';
import { sigV4Signer } from '../../src/providers/prometheus/sigv4.js';
import type { MetricsBackend } from '../../src/providers/provider.js';
import { sqsBackendSchema } from '../../src/providers/sqs/config.js';
import { createSqsBackend } from '../../src/providers/sqs/sqs-backend.js';
import { externalRequest } from './aws-backend-context.js';
import { CloudWatchDouble } from './aws-cloudwatch-double.js';
import { CredentialsEndpoint } from './aws-credentials-endpoint.js';
import { SqsDouble } from './aws-sqs-double.js';
import { testBackendContext } from './backend-context.js';
import { startMisbehavingPrometheus } from './misbehaving-prometheus.js';

/**
 * The three ways the adapter signs with its own AWS identity, each reading one value with the
 * real SDK and the default credential chain, whose only source is a container credentials
 * endpoint (EKS Pod Identity) the caller can make misbehave: an SQS queue length, a CloudWatch
 * metric, and a Prometheus query signed with SigV4 (for AMP). The process environment is set
 * for that, so use it in a process of its own (a test file, a bench child).
 */
export type CredentialReader = 'sqs' | 'cloudwatch' | 'sigv4';
export const CREDENTIAL_READERS: readonly CredentialReader[] = ['sqs', 'cloudwatch', 'sigv4'];

export interface CredentialReaders {
  endpoint: CredentialsEndpoint;
  /** Reads the value once (42 for SigV4, 7 for SQS and CloudWatch); `signal` is the request's deadline. */
  read(reader: CredentialReader, signal?: AbortSignal): Promise<number | undefined>;
  close(): Promise<void>;
}

export async function startCredentialReaders(sources?: AwsCredentialSources): Promise<CredentialReaders> {
  const dir = await mkdtemp(join(tmpdir(), 'aws-credential-readers-'));
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ROLE_ARN'])
    delete process.env[name];
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'no-config');
  const endpoint = await CredentialsEndpoint.start();
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = endpoint.url;

  const [sqsDouble, cloudWatchDouble, prometheus] = await Promise.all([
    SqsDouble.start(),
    CloudWatchDouble.start(),
    startMisbehavingPrometheus(),
  ]);
  sqsDouble.setQueue('jobs', { visible: 7 });
  const now = Date.now();
  cloudWatchDouble.put({ namespace: 'App', metricName: 'Backlog' }, [
    { timestamp: Math.floor(now / 1000) - 150, value: 7 },
  ]);
  // Credentials come from the chain: no `credentials` override, only fast retries and the sources.
  const options = { aws: { retryBackoffMs: () => 10, ...(sources ? { credentialSources: sources } : {}) } };
  const sqs = createSqsBackend(
    sqsBackendSchema.parse({ region: 'us-east-1', endpoint: sqsDouble.url, allowQueues: ['jobs'] }),
    testBackendContext(),
    options,
  );
  const cloudwatch = createCloudWatchBackend(
    cloudWatchBackendSchema.parse({
      region: 'us-east-1',
      endpoint: cloudWatchDouble.url,
      metrics: [
        {
          name: 'backlog',
          queries: [{ id: 'm', metricStat: { namespace: 'App', metricName: 'Backlog', stat: 'Maximum' } }],
        },
      ],
    }),
    testBackendContext({ now: () => new Date(now) }),
    options,
  );
  const backends: MetricsBackend[] = [sqs, cloudwatch];
  await Promise.all(backends.map((backend) => backend.start?.()));
  const prometheusClient = createPrometheusClient({
    url: prometheus.url,
    timeoutMs: 10_000,
    signer: sigV4Signer({ region: 'eu-west-1', service: 'aps' }, sources),
  });

  const external = async (backend: MetricsBackend, metric: string, selector: string, signal?: AbortSignal) =>
    (await backend.external?.getExternalMetric(externalRequest(metric, selector, 'default', signal)))?.[0]?.value;
  return {
    endpoint,
    async read(reader, signal) {
      if (reader === 'sqs') return external(sqs, 'sqs-queue-length', 'queue-name=jobs', signal);
      if (reader === 'cloudwatch') return external(cloudwatch, 'backlog', '', signal);
      const result = await prometheusClient.query('sum(queue_depth)', new Date(now), signal);
      return result.samples[0]?.value;
    },
    async close() {
      prometheusClient.close();
      await Promise.all(backends.map((backend) => backend.close?.()));
      await Promise.all([endpoint.close(), sqsDouble.close(), cloudWatchDouble.close(), prometheus.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
