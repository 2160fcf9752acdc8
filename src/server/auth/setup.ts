import type { Registry } from 'prom-client';
import { createLimiter } from '../../concurrency/limiter.js';
import type { KubeClient } from '../../kube/types.js';
import type { Logger } from '../../observability/logger.js';
import { type ClientCas, clientCas, readFlagCas } from './client-cas.js';
import { createClientCertificateAuthenticator } from './client-certificate.js';
import { createUnionAuthenticator } from './credentials.js';
import { delegationClients } from './delegation-clients.js';
import { createRequestHeaderAuthenticator } from './request-header.js';
import { createSubjectAccessReviewAuthorizer } from './subject-access-review.js';
import { createTokenReviewAuthenticator } from './token-review.js';
import type { Authenticator, AuthFlags, Authorizer, AuthSetup } from './types.js';

export interface AuthSetupOptions {
  logger: Logger;
  /**
   * The API server for TokenReview, SubjectAccessReview and the ConfigMap where
   * --authentication-kubeconfig / --authorization-kubeconfig do not name another;
   * default: --kubeconfig, else the in-cluster service account, else $KUBECONFIG.
   */
  kube?: KubeClient;
  /** How often the extension-apiserver-authentication ConfigMap is re-read when it supplies a CA. Default 60 s; 0 never. */
  refreshIntervalMs?: number;
  /** Called with the new bundle when a refresh changed the CAs, so the TLS server can advertise them. */
  onClientCaChange?: (clientCaPem: string[]) => void;
  tokenCacheTtlMs?: number;
  authorizationAllowedTtlMs?: number;
  authorizationDeniedTtlMs?: number;
  now?: () => Date;
  /** Where the SubjectAccessReview limiter counts its refusals. */
  registry?: Registry;
}

/**
 * Reviews sent to kube-apiserver at once, and waiting: a flood of distinct users or metrics
 * (each a cache miss) is answered 429 beyond them instead of becoming a flood of reviews.
 */
const SUBJECT_ACCESS_REVIEWS_AT_ONCE = 16;
const SUBJECT_ACCESS_REVIEWS_QUEUED = 256;

/**
 * Delegated authentication and authorization, as kube's generic apiservers do it:
 * front-proxy certificates (request-header CA), then client certificates (client CA), then
 * bearer tokens (TokenReview); every decision by SubjectAccessReview. CAs not given by flag
 * come from the kube-system/extension-apiserver-authentication ConfigMap. Throws an Error
 * naming the flag or file when something given is unusable, so the process refuses to start.
 */
export async function createAuthSetup(flags: AuthFlags, options: AuthSetupOptions): Promise<AuthSetup> {
  const alwaysAllowPaths = normaliseAlwaysAllowPaths(flags.authorizationAlwaysAllowPaths);
  const fromFlags = await readFlagCas(flags);
  const clients = delegationClients(flags, options.kube, options.logger);
  let cas: ClientCas;
  try {
    cas = await clientCas(flags, fromFlags, clients.authentication, {
      logger: options.logger,
      refreshIntervalMs: options.refreshIntervalMs ?? 60_000,
      ...(options.onClientCaChange ? { onClientCaChange: options.onClientCaChange } : {}),
    });
  } catch (error) {
    clients.close();
    throw error;
  }
  return {
    authenticator: delegatedAuthenticator(cas, clients.authentication, options),
    authorizer: delegatedAuthorizer(clients.authorization, options),
    alwaysAllowPaths,
    get clientCaPem() {
      return cas.clientCaPem();
    },
    close() {
      cas.close();
      clients.close();
    },
  };
}

/** Front-proxy certificates, then client certificates, then bearer tokens (TokenReview). */
function delegatedAuthenticator(cas: ClientCas, kube: KubeClient, options: AuthSetupOptions): Authenticator {
  const now = options.now ?? (() => new Date());
  return createUnionAuthenticator([
    createRequestHeaderAuthenticator(cas.requestHeader, now),
    createClientCertificateAuthenticator(cas.clientCa, now),
    createTokenReviewAuthenticator({
      kube,
      ...(options.tokenCacheTtlMs !== undefined
        ? { successTtlMs: options.tokenCacheTtlMs, failureTtlMs: options.tokenCacheTtlMs }
        : {}),
    }),
  ]);
}

/** SubjectAccessReviews, cached, at most SUBJECT_ACCESS_REVIEWS_AT_ONCE at a time. */
function delegatedAuthorizer(kube: KubeClient, options: AuthSetupOptions): Authorizer {
  return createSubjectAccessReviewAuthorizer({
    kube,
    limiter: createLimiter({
      name: 'SubjectAccessReview',
      label: 'subjectaccessreview',
      maxConcurrent: SUBJECT_ACCESS_REVIEWS_AT_ONCE,
      maxQueued: SUBJECT_ACCESS_REVIEWS_QUEUED,
      ...(options.registry ? { registry: options.registry } : {}),
    }),
    ...(options.authorizationAllowedTtlMs !== undefined ? { allowedTtlMs: options.authorizationAllowedTtlMs } : {}),
    ...(options.authorizationDeniedTtlMs !== undefined ? { deniedTtlMs: options.authorizationDeniedTtlMs } : {}),
  });
}

/**
 * kube's --authorization-always-allow-paths rules: `*` only as the last character (a prefix
 * match), and a missing leading `/` is added since kube compares paths without it.
 */
export function normaliseAlwaysAllowPaths(patterns: readonly string[]): string[] {
  return patterns.map((pattern) => {
    const path = pattern.startsWith('/') ? pattern : `/${pattern}`;
    if (path.slice(0, -1).includes('*')) {
      throw new Error(`--authorization-always-allow-paths: "${pattern}" may only have * as its last character`);
    }
    return path;
  });
}
