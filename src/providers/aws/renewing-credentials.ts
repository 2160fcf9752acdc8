import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { TimeoutDeadline } from '../../lib/deadline.js';

/** Credentials are renewed this long before they expire, so no call is signed with ones about to lapse. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;

/** A credential fetch that failed, naming where the credentials were to come from; a 503 says so. */
export class CredentialFetchError extends Error {
  /** The SDK's credential chains stop here instead of trying the next source. */
  readonly tryNextLink = false;

  constructor(source: string, problem: string, options?: { cause?: unknown }) {
    super(`getting AWS credentials from ${source} failed: ${problem}`, options);
    this.name = 'CredentialFetchError';
  }
}

/**
 * One source of credentials, fetched when first asked for and again shortly before they expire.
 * Callers asking while a fetch runs share it. Every fetch has a deadline: at it the callers are
 * answered with a CredentialFetchError and the next caller starts a fresh fetch, so a stuck
 * endpoint holds nobody longer than one deadline (the fetch itself is given the deadline's
 * signal, and its HTTP handler ends the stuck exchange at the same time). A failure is not
 * remembered.
 */
export class RenewingCredentials {
  private current: AwsCredentialIdentity | undefined;
  private pending: Promise<AwsCredentialIdentity> | undefined;
  readonly provider: AwsCredentialIdentityProvider = () => this.get();

  constructor(
    /** Where the credentials come from, for messages: `the STS role arn:… for account …`. */
    private readonly source: string,
    private readonly timeoutMs: number,
    private readonly fetch: (signal: AbortSignal) => Promise<AwsCredentialIdentity>,
  ) {}

  get(): Promise<AwsCredentialIdentity> {
    if (this.current && this.fresh(this.current)) return Promise.resolve(this.current);
    this.pending ??= this.fetchWithDeadline().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** AWS called the credentials expired before their time (revoked, clock skew): fetch anew next time. */
  forget(): void {
    this.current = undefined;
  }

  private fresh(credentials: AwsCredentialIdentity): boolean {
    return (
      credentials.expiration === undefined || credentials.expiration.getTime() - Date.now() > REFRESH_BEFORE_EXPIRY_MS
    );
  }

  private fetchWithDeadline(): Promise<AwsCredentialIdentity> {
    const deadline = new TimeoutDeadline(this.timeoutMs, undefined);
    return new Promise<AwsCredentialIdentity>((resolve, reject) => {
      deadline.signal.addEventListener(
        'abort',
        () => reject(new CredentialFetchError(this.source, `no answer within the ${this.timeoutMs} ms deadline`)),
        { once: true },
      );
      this.fetch(deadline.signal).then((credentials) => {
        // A late answer (an SDK provider that cannot be aborted) still serves the next callers.
        this.current = credentials;
        resolve(credentials);
      }, reject);
    }).finally(() => deadline.dispose());
  }
}
