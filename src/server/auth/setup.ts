import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import { createLimiter } from '../../concurrency/limiter.js';
import { type ClosableKubeClient, createKubeClient } from '../../kube/client.js';
import { loadKubeConfig } from '../../kube/config.js';
import type { KubeClient } from '../../kube/types.js';
import type { Logger } from '../../observability/logger.js';
import { createClientCertificateAuthenticator } from './client-certificate.js';
import { createUnionAuthenticator } from './credentials.js';
import {
  AUTHENTICATION_CONFIGMAP,
  type ClusterAuthentication,
  type RequestHeaderNames,
  readClusterAuthentication,
} from './extension-apiserver-authentication.js';
import { createRequestHeaderAuthenticator, type RequestHeaderConfig } from './request-header.js';
import { createSubjectAccessReviewAuthorizer } from './subject-access-review.js';
import { createTokenReviewAuthenticator } from './token-review.js';
import type { AuthSetup } from './types.js';
import { type CaBundle, parseCaBundle } from './x509.js';

/** The authentication and authorization flags (kube-apiserver's names); cli/flags.ts fills them. */
export interface AuthFlags {
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames: string[];
  requestheaderUsernameHeaders: string[];
  requestheaderGroupHeaders: string[];
  requestheaderExtraHeadersPrefix: string[];
  clientCaFile?: string;
  kubeconfig?: string;
  authenticationKubeconfig?: string;
  authorizationKubeconfig?: string;
  authorizationAlwaysAllowPaths: string[];
}

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
  const { logger } = options;
  const alwaysAllowPaths = normaliseAlwaysAllowPaths(flags.authorizationAlwaysAllowPaths);
  const flagRequestHeader = flags.requestheaderClientCaFile
    ? {
        ...headerNames(flags),
        ca: await readCaFile(flags.requestheaderClientCaFile, '--requestheader-client-ca-file'),
        allowedNames: flags.requestheaderAllowedNames,
      }
    : undefined;
  const flagClientCa = flags.clientCaFile ? await readCaFile(flags.clientCaFile, '--client-ca-file') : undefined;

  const owned: ClosableKubeClient[] = [];
  const authenticationKube =
    flags.authenticationKubeconfig || !options.kube
      ? ownedClient(flags.authenticationKubeconfig, '--authentication-kubeconfig', flags, owned, logger)
      : options.kube;
  const authorizationKube = flags.authorizationKubeconfig
    ? ownedClient(flags.authorizationKubeconfig, '--authorization-kubeconfig', flags, owned, logger)
    : (options.kube ?? authenticationKube);

  const usesConfigMap = !flagRequestHeader || !flagClientCa;
  let cluster: ClusterAuthentication | undefined;
  try {
    cluster = usesConfigMap ? await readClusterAuthentication(authenticationKube, headerNames(flags)) : undefined;
  } catch (error) {
    for (const client of owned) client.close();
    throw error;
  }
  const requestHeader = (): RequestHeaderConfig | undefined => flagRequestHeader ?? cluster?.requestHeader;
  const clientCa = (): CaBundle | undefined => flagClientCa ?? cluster?.clientCa;
  const clientCaPem = (): string[] => [...new Set([...(requestHeader()?.ca.pem ?? []), ...(clientCa()?.pem ?? [])])];
  logSources(logger, { flagRequestHeader, flagClientCa, cluster, usesConfigMap });

  const refreshMs = options.refreshIntervalMs ?? 60_000;
  const refresh = usesConfigMap && refreshMs > 0 ? setInterval(() => void refreshCluster(), refreshMs) : undefined;
  refresh?.unref();
  let refreshing = false;
  async function refreshCluster(): Promise<void> {
    if (refreshing) return;
    refreshing = true;
    try {
      const next = await readClusterAuthentication(authenticationKube, headerNames(flags));
      if (!next) {
        logger.warn(AUTHENTICATION_CONFIGMAP, 'authentication configmap disappeared; keeping the CAs read before');
        return;
      }
      const before = clientCaPem().join('');
      cluster = next;
      const after = clientCaPem();
      if (after.join('') !== before) {
        logger.info({ certificates: after.length }, 'client CA bundle changed in the authentication configmap');
        options.onClientCaChange?.(after);
      }
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'cannot refresh the authentication configmap; keeping the CAs read before',
      );
    } finally {
      refreshing = false;
    }
  }

  const now = options.now ?? (() => new Date());
  const authenticator = createUnionAuthenticator([
    createRequestHeaderAuthenticator(requestHeader, now),
    createClientCertificateAuthenticator(clientCa, now),
    createTokenReviewAuthenticator({
      kube: authenticationKube,
      ...(options.tokenCacheTtlMs !== undefined
        ? { successTtlMs: options.tokenCacheTtlMs, failureTtlMs: options.tokenCacheTtlMs }
        : {}),
    }),
  ]);
  const authorizer = createSubjectAccessReviewAuthorizer({
    kube: authorizationKube,
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

  return {
    authenticator,
    authorizer,
    alwaysAllowPaths,
    get clientCaPem() {
      return clientCaPem();
    },
    close() {
      if (refresh) clearInterval(refresh);
      for (const client of owned) client.close();
    },
  };
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

async function readCaFile(path: string, flag: string): Promise<CaBundle> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(
      `${flag} ${path}: cannot read the CA file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return parseCaBundle(text, `${flag} ${path}`);
}

function headerNames(flags: AuthFlags): RequestHeaderNames {
  return {
    usernameHeaders: flags.requestheaderUsernameHeaders,
    uidHeaders: [],
    groupHeaders: flags.requestheaderGroupHeaders,
    extraHeaderPrefixes: flags.requestheaderExtraHeadersPrefix,
  };
}

// kube falls back to the in-cluster config only; --kubeconfig is tried first so that one flag
// is enough when the adapter runs outside the cluster.
function ownedClient(
  path: string | undefined,
  flag: string,
  flags: AuthFlags,
  owned: ClosableKubeClient[],
  logger: Logger,
): ClosableKubeClient {
  const chosen = path ?? flags.kubeconfig;
  const loaded = loadKubeConfig(chosen, { flag: path ? flag : '--kubeconfig' });
  if (!loaded) {
    throw new Error(
      'no Kubernetes API to delegate authentication and authorization to (TokenReview, SubjectAccessReview, ' +
        `configmap ${AUTHENTICATION_CONFIGMAP.namespace}/${AUTHENTICATION_CONFIGMAP.name}): give ${flag} or --kubeconfig, ` +
        'run in a cluster with a service account, or pass --standalone',
    );
  }
  logger.info({ flag, source: loaded.source }, 'delegating authentication/authorization to the Kubernetes API');
  const client = createKubeClient(loaded.kubeConfig, { userAgent: 'hpa-metrics-adapter/auth' });
  owned.push(client);
  return client;
}

function logSources(
  logger: Logger,
  state: {
    flagRequestHeader?: RequestHeaderConfig;
    flagClientCa?: CaBundle;
    cluster?: ClusterAuthentication;
    usesConfigMap: boolean;
  },
): void {
  const configMap = `configmap ${AUTHENTICATION_CONFIGMAP.namespace}/${AUTHENTICATION_CONFIGMAP.name}`;
  const requestHeader = state.flagRequestHeader ?? state.cluster?.requestHeader;
  const sourceOf = (fromFlag: unknown, fromCluster: unknown, flag: string) =>
    fromFlag ? flag : fromCluster ? configMap : 'none';
  logger.info(
    {
      requestHeaderCa: sourceOf(
        state.flagRequestHeader,
        state.cluster?.requestHeader,
        '--requestheader-client-ca-file',
      ),
      requestHeaderAllowedNames: requestHeader?.allowedNames,
      clientCa: sourceOf(state.flagClientCa, state.cluster?.clientCa, '--client-ca-file'),
    },
    'client certificate authentication sources',
  );
  if (state.usesConfigMap && !state.cluster) {
    logger.warn(`${configMap} not found: only the CA files given by flag and bearer tokens can authenticate`);
  }
  if (!requestHeader) {
    logger.warn(
      'no request-header (front-proxy) CA: requests proxied by the kube-apiserver aggregator will be rejected with 401',
    );
  }
}
