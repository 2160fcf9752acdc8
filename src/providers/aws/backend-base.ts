import type { BackendContext } from '../context.js';
import type { ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import {
  type AwsClient,
  type AwsClientOverrides,
  type CommonClientConfig,
  commonClientConfig,
  RegionalClients,
} from './clients.js';
import type { AwsConnectionSettings } from './config.js';
import { type AwsMetrics, awsMetrics } from './metrics.js';

/** What tests (and only tests) pass to an AWS backend: explicit credentials, fast retries. */
export interface AwsBackendOptions {
  aws?: AwsClientOverrides;
}

/** What every AWS backend is built on: its per-region SDK clients and the shared AWS metrics. */
export interface AwsBackendBase<Client extends AwsClient> {
  clients: RegionalClients<Client>;
  metrics: AwsMetrics;
  /**
   * The backend: `start` builds the default region's client (logging whether the SDK found a
   * region) before the backend's own start; `close` runs the backend's own close, then destroys
   * every client (sockets included).
   */
  backend(external: ExternalMetricsProvider, own?: { start?(): void; close?(): void }): MetricsBackend;
}

/**
 * The set-up the SQS and CloudWatch backends share: one SDK client per region built from the
 * section's connection settings (deadlines, retries, endpoint), and the AWS request metrics.
 */
export function awsBackendBase<Client extends AwsClient>(
  service: 'sqs' | 'cloudwatch',
  settings: AwsConnectionSettings,
  context: Pick<BackendContext, 'registry' | 'logger'>,
  options: AwsBackendOptions,
  newClient: (config: CommonClientConfig) => Client,
): AwsBackendBase<Client> {
  const clients = new RegionalClients(service, settings.region, (region) =>
    newClient(commonClientConfig(settings, region, options.aws)),
  );
  return {
    clients,
    metrics: awsMetrics(context.registry),
    backend: (external, own = {}) => ({
      name: service,
      external,
      async start() {
        await clients.start(context.logger);
        own.start?.();
      },
      async close() {
        own.close?.();
        clients.destroyAll();
      },
    }),
  };
}
