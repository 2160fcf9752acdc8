import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { clip } from '../../lib/text.js';
import { remoteCredentialSource } from './credential-endpoints.js';
import { BoundedNodeHttpHandler } from './http-handler.js';
import { type AwsMetrics, callAws } from './metrics.js';
import { CredentialFetchError, RenewingCredentials } from './renewing-credentials.js';

/**
 * Where every AWS credential of the process comes from: the adapter's own identity (the SDK's
 * default chain: environment, shared files, IRSA web identity, EKS Pod Identity, instance
 * metadata) and the roles it assumes in other accounts. One provider each for the whole process,
 * shared by every SDK client and SigV4 signer, kept across config reloads: a role is assumed
 * once, whichever backends read its account (deploy/aws/README.md promises it).
 *
 * Every fetch (a credential endpoint, STS AssumeRole or AssumeRoleWithWebIdentity) has a
 * deadline and a byte limit: a stuck or flooding endpoint costs each caller at most one deadline
 * and a few KiB, the next call after a timeout starts a fresh fetch, and the caller's answer is
 * a 503 naming the source.
 */
export interface CredentialFetchLimits {
  /** Deadline of one fetch, from the request to the last byte of the answer. */
  timeoutMs: number;
  connectTimeoutMs: number;
  /** A credential answer is about 1–3 KiB; anything much larger is not one. */
  maxBytes: number;
}

export const CREDENTIAL_FETCH_LIMITS: CredentialFetchLimits = {
  timeoutMs: 3000,
  connectTimeoutMs: 1000,
  maxBytes: 16 * 1024,
};

/** A role to assume; the key of its one provider is everything but the STS region. */
export interface AssumedRole {
  accountId: string;
  roleArn: string;
  /** The sts:ExternalId the role's trust policy asks for. */
  externalId?: string;
  durationSeconds?: number;
  /** Default the SDK's (AWS_ENDPOINT_URL_STS, else the regional endpoint). */
  stsEndpoint?: string;
  /** The STS client's region, of whoever asks for the role first. */
  region?: string;
}

export interface RoleCredentials {
  provider: AwsCredentialIdentityProvider;
  /** AWS called the credentials expired before their time: the next call assumes the role again. */
  forget(): void;
}

export interface CredentialSourcesOptions {
  limits?: Partial<CredentialFetchLimits>;
  /** Replaces the default chain as the adapter's own identity (tests). */
  own?: AwsCredentialIdentityProvider;
  env?: Readonly<Record<string, string | undefined>>;
}

interface RoleEntry {
  renewing: RenewingCredentials;
  /** The AWS request metrics AssumeRole is counted in: those of the first backend that asked with any. */
  metrics?: AwsMetrics;
}

export class AwsCredentialSources {
  private readonly limits: CredentialFetchLimits;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly handler: BoundedNodeHttpHandler;
  private ownCredentials: RenewingCredentials | undefined;
  private readonly roles = new Map<string, RoleEntry>();

  constructor(private readonly options: CredentialSourcesOptions = {}) {
    this.limits = { ...CREDENTIAL_FETCH_LIMITS, ...options.limits };
    this.env = options.env ?? process.env;
    this.handler = new BoundedNodeHttpHandler({
      connectTimeoutMs: this.limits.connectTimeoutMs,
      timeoutMs: this.limits.timeoutMs,
      maxResponseBytes: this.limits.maxBytes,
    });
  }

  /** The adapter's own credentials, from the default chain. */
  own(): AwsCredentialIdentityProvider {
    if (this.options.own) return this.options.own;
    this.ownCredentials ??= new RenewingCredentials(this.ownSource(), this.limits.timeoutMs, (signal) =>
      this.defaultChain(signal),
    );
    return this.ownCredentials.provider;
  }

  /** The credentials of `role`, assumed with the adapter's own; `metrics` counts each AssumeRole. */
  role(role: AssumedRole, metrics?: AwsMetrics): RoleCredentials {
    const key = JSON.stringify([role.roleArn, role.externalId, role.durationSeconds, role.stsEndpoint]);
    let entry = this.roles.get(key);
    if (!entry) {
      const created: RoleEntry = {
        renewing: new RenewingCredentials(
          `STS AssumeRole of role ${role.roleArn} for account ${role.accountId}`,
          this.limits.timeoutMs,
          this.assume(role, () => created.metrics),
        ),
      };
      entry = created;
      this.roles.set(key, entry);
    }
    entry.metrics ??= metrics;
    const { renewing } = entry;
    return { provider: renewing.provider, forget: () => renewing.forget() };
  }

  private assume(role: AssumedRole, metrics: () => AwsMetrics | undefined): () => Promise<AwsCredentialIdentity> {
    let provider: AwsCredentialIdentityProvider | undefined;
    return async () => {
      if (!provider) {
        // Loaded only when a role is configured: most deployments never assume one.
        const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
        provider = fromTemporaryCredentials({
          params: {
            RoleArn: role.roleArn,
            RoleSessionName: 'hpa-metrics-adapter',
            ...(role.durationSeconds === undefined ? {} : { DurationSeconds: role.durationSeconds }),
            ...(role.externalId === undefined ? {} : { ExternalId: role.externalId }),
          },
          clientConfig: {
            ...this.stsClientConfig(),
            ...(role.region === undefined ? {} : { region: role.region }),
            ...(role.stsEndpoint === undefined ? {} : { endpoint: role.stsEndpoint }),
          },
          masterCredentials: this.own(),
        });
      }
      const assumeRole = provider;
      const counted = metrics();
      if (!counted) return assumeRole();
      return callAws(
        counted,
        { service: 'STS', operation: 'AssumeRole', target: `role ${role.roleArn} for account ${role.accountId}` },
        () => assumeRole(),
      );
    };
  }

  /** STS for roles and web identity: one attempt per fetch, within the fetch's deadline and byte limit. */
  private stsClientConfig(): { requestHandler: BoundedNodeHttpHandler; maxAttempts: number } {
    return { requestHandler: this.handler, maxAttempts: 1 };
  }

  /** The SDK's default chain in its order, the remote endpoints fetched through the bounded handler. */
  private async defaultChain(signal: AbortSignal): Promise<AwsCredentialIdentity> {
    const sdk = await import('@aws-sdk/credential-providers');
    const sts = { clientConfig: this.stsClientConfig() };
    const links: [string, AwsCredentialIdentityProvider][] = [
      ['the shared config files', sdk.fromIni(sts)],
      ['credential_process', sdk.fromProcess()],
      ['STS AssumeRoleWithWebIdentity (AWS_WEB_IDENTITY_TOKEN_FILE, IRSA)', sdk.fromTokenFile(sts)],
    ];
    // As the SDK: AWS_PROFILE set means the profile's credentials, not the key variables.
    if (!this.env.AWS_PROFILE) links.unshift(['the AWS_ACCESS_KEY_ID variables', sdk.fromEnv()]);
    for (const [source, link] of links) {
      try {
        return await link();
      } catch (error) {
        if ((error as { tryNextLink?: boolean }).tryNextLink) continue;
        if (error instanceof CredentialFetchError) throw error;
        const e = error as Error;
        throw new CredentialFetchError(source, clip(`${e.name}: ${e.message}`, 300), { cause: error });
      }
    }
    const remote = remoteCredentialSource(this.env);
    if (!remote) {
      throw new CredentialFetchError(
        'the default chain',
        'no source has credentials (key variables, shared files, IRSA web identity, container endpoint, instance metadata)',
      );
    }
    return remote.fetch(this.handler, signal);
  }

  /** The source the chain will take, by the environment, for messages. */
  private ownSource(): string {
    const env = this.env;
    if (env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) return 'the AWS_ACCESS_KEY_ID variables';
    if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
      return `STS AssumeRoleWithWebIdentity of ${env.AWS_ROLE_ARN} (AWS_WEB_IDENTITY_TOKEN_FILE, IRSA)`;
    }
    return remoteCredentialSource(env)?.description ?? 'the AWS default credential chain';
  }
}

/** The process's one set of credential providers, which every AWS client and signer uses. */
export const processCredentialSources = new AwsCredentialSources();
