import { ApiError } from '../../api/errors.js';
import type { AwsCredentials } from './clients.js';
import type { AwsConnectionSettings } from './config.js';
import type { AwsCredentialSources, RoleCredentials } from './credential-sources.js';
import type { AwsMetrics } from './metrics.js';

export interface AccountRolesOptions {
  /** The config section the accounts are listed in, for messages: `sqs` or `cloudwatch`. */
  section: string;
  metrics: AwsMetrics;
  /** Where the roles' credentials come from: the process's one provider per role. */
  sources: AwsCredentialSources;
}

/**
 * Credentials per account of one config section: the adapter's own for its account and for
 * listed accounts without a role, a role's temporary credentials for the others. The role's
 * provider is the process's (AwsCredentialSources.role): every client of every backend reading
 * the account shares it, so the role is assumed once, and again shortly before its credentials
 * expire.
 */
export class AccountRoles {
  private readonly roles = new Map<string, RoleCredentials>();

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
    let role = this.roles.get(accountId);
    if (!role) {
      role = this.options.sources.role(
        {
          accountId,
          roleArn: access.roleArn,
          durationSeconds: access.durationSeconds,
          ...(access.externalId === undefined ? {} : { externalId: access.externalId }),
          ...(this.settings.stsEndpoint === undefined ? {} : { stsEndpoint: this.settings.stsEndpoint }),
          ...(this.settings.region === undefined ? {} : { region: this.settings.region }),
        },
        this.options.metrics,
      );
      this.roles.set(accountId, role);
    }
    return role.provider;
  }

  /** AWS called the account's credentials expired before their time (revoked, clock skew): assume the role again. */
  forget(accountId: string): void {
    this.roles.get(accountId)?.forget();
  }
}
