import type { CloudWatchClientConfig } from '@aws-sdk/client-cloudwatch';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { ApiError } from '../../api/errors.js';
import { DEFAULT_MAX_RESPONSE_BYTES } from '../../io/bounded-body.js';
import type { Logger } from '../../observability/logger.js';
import { AWS_REGION_PATTERN, type AwsConnectionSettings } from './config.js';
import { type AwsCredentialSources, processCredentialSources } from './credential-sources.js';
import { BoundedNodeHttpHandler } from './http-handler.js';

export type AwsCredentials = NonNullable<CloudWatchClientConfig['credentials']>;

/**
 * What tests (and only tests) change about how AWS clients are built. In production all are
 * absent: credentials come from the process's one credential chain (environment, IRSA web
 * identity, EKS Pod Identity, instance profile; see credential-sources.ts) and retries back off
 * as the SDK's standard strategy does.
 */
export interface AwsClientOverrides {
  credentials?: AwsCredentials;
  /** Where the adapter's own and assumed-role credentials come from; default the process's. */
  credentialSources?: AwsCredentialSources;
  /** Milliseconds to wait before retry `attempt`; replaces the SDK's exponential backoff. */
  retryBackoffMs?: (attempt: number) => number;
}

/** The settings every SDK client of ours is built with; spread into `new SQSClient(...)` etc. */
export interface CommonClientConfig {
  region?: string;
  endpoint?: string;
  maxAttempts: number;
  retryStrategy?: ConfiguredRetryStrategy;
  credentials: AwsCredentials;
  requestHandler: BoundedNodeHttpHandler;
}

export function commonClientConfig(
  settings: AwsConnectionSettings,
  region: string | undefined,
  overrides: AwsClientOverrides = {},
  /** An assumed role's credentials, for a client of another account. */
  credentials?: AwsCredentials,
): CommonClientConfig {
  const config: CommonClientConfig = {
    maxAttempts: settings.maxAttempts,
    // A slow attempt fails with a (retried) TimeoutError, so every call has a real deadline.
    requestHandler: new BoundedNodeHttpHandler({
      connectTimeoutMs: settings.connectTimeoutMs,
      timeoutMs: settings.timeoutMs,
      maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
    }),
    credentials:
      credentials ?? overrides.credentials ?? (overrides.credentialSources ?? processCredentialSources).own(),
  };
  if (region !== undefined) config.region = region;
  if (settings.endpoint !== undefined) config.endpoint = settings.endpoint;
  if (overrides.retryBackoffMs !== undefined) {
    config.retryStrategy = new ConfiguredRetryStrategy(settings.maxAttempts, overrides.retryBackoffMs);
  }
  return config;
}

/** A bound on clients built for regions named in requests, so selectors cannot open sockets without end. */
const MAX_REGIONAL_CLIENTS = 64;

/** What RegionalClients needs of an SDK client; SQSClient and CloudWatchClient fit. */
export interface AwsClient {
  destroy(): void;
  config: { region: () => Promise<string> };
}

/**
 * One SDK client per region for one service, so connections are reused across requests. The
 * client of the default region (config, else the SDK's own lookup) is built by `start`; clients
 * of regions named in requests are built on first use and kept until `destroyAll`.
 */
export class RegionalClients<Client extends AwsClient> {
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly serviceName: string,
    private readonly defaultRegion: string | undefined,
    private readonly build: (region: string | undefined, credentials: AwsCredentials | undefined) => Client,
  ) {}

  /** Builds the default region's client, and warns at start when the SDK cannot tell its region. */
  async start(logger: Logger): Promise<void> {
    const client = this.get(undefined);
    try {
      const region = await client.config.region();
      logger.info({ region }, `${this.serviceName}: AWS client ready`);
    } catch (error) {
      logger.warn(
        { problem: error instanceof Error ? error.message : String(error) },
        `${this.serviceName}: no AWS region (set ${this.serviceName}.region or AWS_REGION); every AWS call will fail`,
      );
    }
  }

  /**
   * The client of `region` (the default region when undefined), signing with the adapter's own
   * credentials, or with `role`'s when it is given (one client per region and account).
   */
  get(region: string | undefined, role?: { accountId: string; credentials: AwsCredentials }): Client {
    const effective = region ?? this.defaultRegion;
    const key = `${effective ?? ''}|${role?.accountId ?? ''}`;
    const existing = this.clients.get(key);
    if (existing) return existing;
    if (effective !== undefined && !AWS_REGION_PATTERN.test(effective)) {
      throw ApiError.badRequest(`"${effective}" is not an AWS region (expected a name such as us-east-1)`);
    }
    if (this.clients.size >= MAX_REGIONAL_CLIENTS) {
      throw ApiError.badRequest(
        `the ${this.serviceName} backend already talks to ${MAX_REGIONAL_CLIENTS} regions; refusing region "${key}"`,
      );
    }
    const client = this.build(effective, role?.credentials);
    this.clients.set(key, client);
    return client;
  }

  /**
   * Drops the clients signing with `accountId`'s role: the SDK keeps the credentials a client
   * resolved until shortly before their stated expiry, so only a new client asks for new ones.
   */
  dropAccount(accountId: string): void {
    for (const [key, client] of this.clients) {
      if (!key.endsWith(`|${accountId}`)) continue;
      client.destroy();
      this.clients.delete(key);
    }
  }

  destroyAll(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}
