import type { BackendContext } from '../context.js';
import type { ExternalMetricsProvider, MetricsBackend } from '../provider.js';
import { AccountRoles } from './account-roles.js';
import {
  type AwsClient,
  type AwsClientOverrides,
  type CommonClientConfig,
  commonClientConfig,
  RegionalClients,
} from './clients.js';
import type { AwsConnectionSettings } from './config.js';
import { AwsCredentialSources, processCredentialSources } from './credential-sources.js';
import { type AwsCall, isExpiredCredentials } from './errors.js';
import { type AwsMetrics, awsMetrics, callAws } from './metrics.js';

/** What tests (and only tests) pass to an AWS backend: explicit credentials, fast retries. */
export interface AwsBackendOptions {
  aws?: AwsClientOverrides;
}

/**
 * The options with their credential sources settled: the process's, or, for explicit test
 * credentials, sources of their own signing with them. A backend that builds several bases
 * (SQS and its CloudWatch client for ages) settles them once, so the bases share the roles.
 */
export function withCredentialSources(options: AwsBackendOptions): AwsBackendOptions & {
  aws: { credentialSources: AwsCredentialSources };
} {
  const aws = options.aws ?? {};
  if (aws.credentialSources) return { ...options, aws: { ...aws, credentialSources: aws.credentialSources } };
  const { credentials } = aws;
  const credentialSources =
    credentials === undefined
      ? processCredentialSources
      : new AwsCredentialSources({
          own: typeof credentials === 'function' ? credentials : async () => credentials,
        });
  return { ...options, aws: { ...aws, credentialSources } };
}

/** What every AWS backend is built on: its per-region SDK clients and the shared AWS metrics. */
export interface AwsBackendBase<Client extends AwsClient> {
  /**
   * The client for a call on `accountId`'s resources in `region` (undefined: the defaults):
   * signed with the account's assumed role when one is configured. Throws 403 for an account
   * the section does not list, when it lists any.
   */
  clientFor(region: string | undefined, accountId?: string): Client;
  metrics: AwsMetrics;
  /**
   * Runs one call on `accountId`'s resources; when AWS says its assumed credentials expired, the
   * role is assumed afresh for the next call (this one fails as it did).
   */
  renewingExpired<T>(accountId: string | undefined, call: () => Promise<T>): Promise<T>;
  /** One call with the client of `where`, counted and failing as an ApiError (callAws), its role renewed when expired. */
  call<T>(where: AwsPlace, call: AwsCall, send: (client: Client) => Promise<T>): Promise<T>;
  /** Destroys every client; for a base used inside another backend (`backend` does it itself). */
  destroy(): void;
  /**
   * The backend: `start` builds the default region's client (logging whether the SDK found a
   * region) before the backend's own start; `close` runs the backend's own close, then destroys
   * every client (sockets included).
   */
  backend(
    external: ExternalMetricsProvider,
    own?: { start?(): void | Promise<void>; close?(): void | Promise<void> },
  ): MetricsBackend;
}

/** Where a call goes: a region and an account (undefined: the section's defaults). */
export interface AwsPlace {
  region?: string | undefined;
  accountId?: string | undefined;
}

/**
 * The set-up the SQS and CloudWatch backends share: one SDK client per region built from the
 * section's connection settings (deadlines, retries, endpoint), and the AWS request metrics.
 * `section` is the config section the settings come from, for messages (the SQS backend's
 * CloudWatch client of the age metrics is configured in `sqs`).
 */
export function awsBackendBase<Client extends AwsClient>(
  service: 'sqs' | 'cloudwatch',
  settings: AwsConnectionSettings,
  context: Pick<BackendContext, 'registry' | 'logger'>,
  options: AwsBackendOptions,
  newClient: (config: CommonClientConfig) => Client,
  section: 'sqs' | 'cloudwatch' = service,
): AwsBackendBase<Client> {
  const settled = withCredentialSources(options);
  const clients = new RegionalClients(service, settings.region, (region, credentials) =>
    newClient(commonClientConfig(settings, region, settled.aws, credentials)),
  );
  const metrics = awsMetrics(context.registry);
  const roles = new AccountRoles(settings, {
    section,
    metrics,
    sources: settled.aws.credentialSources,
  });
  const clientFor = (region: string | undefined, accountId?: string): Client => {
    const credentials = roles.credentialsFor(accountId);
    return clients.get(region, credentials && accountId !== undefined ? { accountId, credentials } : undefined);
  };
  const renewingExpired = async <T>(accountId: string | undefined, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (accountId !== undefined && isExpiredCredentials(error)) {
        roles.forget(accountId);
        clients.dropAccount(accountId);
      }
      throw error;
    }
  };
  return {
    clientFor,
    metrics,
    destroy: () => clients.destroyAll(),
    renewingExpired,
    call: (where, call, send) =>
      renewingExpired(where.accountId, () =>
        callAws(metrics, call, () => send(clientFor(where.region, where.accountId))),
      ),
    backend: (external, own = {}) => ({
      name: service,
      external,
      async start() {
        await clients.start(context.logger);
        await own.start?.();
      },
      async close() {
        await own.close?.();
        clients.destroyAll();
      },
    }),
  };
}
