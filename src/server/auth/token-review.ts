import { createHash } from 'node:crypto';
import type { KubeClient } from '../../kube/types.js';
import { CoalescingCache } from './coalescing-cache.js';
import type { CredentialAuthenticator, CredentialOutcome, RequestCredentials } from './credentials.js';
import type { UserInfo } from './types.js';

export interface TokenReviewAuthenticatorOptions {
  kube: Pick<KubeClient, 'createTokenReview'>;
  /** How long an accepted token is trusted without a new review. Default 10 s (kube's delegated default). */
  successTtlMs?: number;
  /** How long a rejected token stays rejected without a new review. Default 10 s, as kube. */
  failureTtlMs?: number;
  /** Default 10 000 tokens. */
  maxEntries?: number;
}

type Review = { kind: 'authenticated'; user: UserInfo } | { kind: 'rejected'; reason: string };

/**
 * A bearer token is whoever a TokenReview says it is. Answers are cached briefly, keyed by
 * the token's SHA-256 so raw tokens are not kept in memory, and concurrent reviews of one
 * token are made once. An unreachable API server is a 503, not a 401: the token may be fine.
 */
export function createTokenReviewAuthenticator(options: TokenReviewAuthenticatorOptions): CredentialAuthenticator {
  const successTtlMs = options.successTtlMs ?? 10_000;
  const failureTtlMs = options.failureTtlMs ?? 10_000;
  const cache = new CoalescingCache<Review>({
    maxEntries: options.maxEntries ?? 10_000,
    ttlMs: (review) => (review.kind === 'authenticated' ? successTtlMs : failureTtlMs),
  });

  async function review(token: string): Promise<Review> {
    const status = await options.kube.createTokenReview(token);
    if (!status.authenticated || !status.user) {
      return {
        kind: 'rejected',
        reason: `bearer token rejected by TokenReview${status.error ? `: ${status.error}` : ''}`,
      };
    }
    const user: UserInfo = { name: status.user.username, groups: status.user.groups, extra: status.user.extra };
    if (status.user.uid !== undefined) user.uid = status.user.uid;
    return { kind: 'authenticated', user };
  }

  return {
    async authenticate(credentials: RequestCredentials): Promise<CredentialOutcome> {
      const token = credentials.bearerToken;
      if (token === undefined) return { kind: 'absent' };
      const key = createHash('sha256').update(token).digest('base64');
      const outcome = await cache.getOrLoad(key, () => review(token));
      // Cached users are shared between requests; hand each request its own copy.
      return outcome.kind === 'authenticated'
        ? { kind: 'authenticated', user: structuredClone(outcome.user) }
        : outcome;
    },
  };
}
