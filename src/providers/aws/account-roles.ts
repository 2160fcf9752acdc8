import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ApiError } from '../../api/errors.js';
import type { AwsCredentials } from './clients.js';
import type { AccountAccess, AwsConnectionSettings } from './config.js';
import { type AwsMetrics, callAws } from './metrics.js';

/** Credentials are renewed this long before they expire, so no call is signed with ones about to lapse. */
const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

export interface AccountRolesOptions {
  /** Section name for messages: `sqs` or `cloudwatch`. */
  section: string;
  metrics: AwsMetrics;
  /** The credentials AssumeRole is signed with; default the SDK's chain (IRSA, Pod Identity …). */
  baseCredentials?: AwsCredentials;
  /** Region of the STS client; default the section's. */
  region?: string;
}

/**
 * Credentials per account: the adapter's own for its account and for listed accounts without a
 * role, a role's temporary credentials (AssumeRole through the SDK's fromTemporaryCredentials)
 * for the others. One provider per account serves every client of the section, whatever the
 * region: the role is assumed once, and again shortly before its credentials expire.
 */
export class AccountRoles {
  private readonly providers = new Map<string, AwsCredentialIdentityProvider>();
  /** Per account: drops the credentials held, so the next call assumes the role again. */
  private readonly forgetters = new Map<string, () => void>();

  constructor(
    private readonly settings: Pick<AwsConnectionSettings, 'accounts' | 'stsEndpoint' | 'region'>,
    private readonly options: AccountRolesOptions,
  ) {}

  /**
   * The credentials for a call on `accountId`'s resources; undefined means the client's own.
   * An account the section does not list, when it lists any, is refused with 403.
   */
  credentialsFor(accountId: string | undefined): AwsCredentials | undefined {
    if (accountId === undefined || this.settings.accounts === undefined) return undefined;
    const access = this.settings.accounts[accountId];
    if (access === undefined) {
      const listed = Object.keys(this.settings.accounts);
      throw ApiError.forbidden(
        `account ${accountId} has no role configured: ${this.options.section}.accounts lists only ${listed.join(', ')} (add ${this.options.section}.accounts."${accountId}".roleArn)`,
      );
    }
    if (access.roleArn === undefined) return undefined;
    // An account's provider is made once and kept: every client of the account shares it.
    let provider = this.providers.get(accountId);
    if (!provider) {
      provider = this.assume(accountId, access, access.roleArn);
      this.providers.set(accountId, provider);
    }
    return provider;
  }

  /** AWS called the account's credentials expired before their time (revoked, clock skew): assume the role again. */
  forget(accountId: string): void {
    this.forgetters.get(accountId)?.();
  }

  private assume(accountId: string, access: AccountAccess, roleArn: string): AwsCredentialIdentityProvider {
    let current: AwsCredentialIdentity | undefined;
    this.forgetters.set(accountId, () => {
      current = undefined;
    });
    let pending: Promise<AwsCredentialIdentity> | undefined;
    const fresh = (): boolean =>
      current !== undefined &&
      (current.expiration === undefined || current.expiration.getTime() - Date.now() > REFRESH_BEFORE_EXPIRY_MS);
    const load = async (): Promise<AwsCredentialIdentity> => {
      // Loaded only when a role is configured: most deployments never assume one.
      const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
      const params: { RoleArn: string; RoleSessionName: string; DurationSeconds: number; ExternalId?: string } = {
        RoleArn: roleArn,
        RoleSessionName: 'hpa-metrics-adapter',
        DurationSeconds: access.durationSeconds,
      };
      if (access.externalId !== undefined) params.ExternalId = access.externalId;
      const clientConfig: { region?: string; endpoint?: string } = {};
      const region = this.options.region ?? this.settings.region;
      if (region !== undefined) clientConfig.region = region;
      if (this.settings.stsEndpoint !== undefined) clientConfig.endpoint = this.settings.stsEndpoint;
      const provider = fromTemporaryCredentials({
        params,
        clientConfig,
        ...(this.options.baseCredentials === undefined ? {} : { masterCredentials: this.options.baseCredentials }),
      });
      const credentials = await callAws(
        this.options.metrics,
        { service: 'STS', operation: 'AssumeRole', target: `role ${roleArn} for account ${accountId}` },
        () => provider(),
      );
      current = credentials;
      return credentials;
    };
    // Concurrent calls share one AssumeRole; a failed one is not remembered, the next call tries again.
    return async () => {
      if (fresh() && current) return current;
      pending ??= load().finally(() => {
        pending = undefined;
      });
      return pending;
    };
  }
}
