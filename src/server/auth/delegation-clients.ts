import { type ClosableKubeClient, createKubeClient } from '../../kube/client.js';
import { loadKubeConfig } from '../../kube/config.js';
import type { KubeClient } from '../../kube/types.js';
import type { Logger } from '../../observability/logger.js';
import { AUTHENTICATION_CONFIGMAP } from './extension-apiserver-authentication.js';
import type { AuthFlags } from './types.js';

/** The API servers authentication (TokenReview, the ConfigMap) and authorization (SubjectAccessReview) are delegated to. */
export interface DelegationClients {
  authentication: KubeClient;
  authorization: KubeClient;
  /** Closes the clients built here (not the one passed in). */
  close(): void;
}

/**
 * --authentication-kubeconfig and --authorization-kubeconfig each name their own API server;
 * where they do not, the adapter's own client (`kube`) serves, else one built from --kubeconfig
 * or the in-cluster service account. Throws naming the flag when none can be found.
 */
export function delegationClients(flags: AuthFlags, kube: KubeClient | undefined, logger: Logger): DelegationClients {
  const owned: ClosableKubeClient[] = [];
  const close = () => {
    for (const client of owned) client.close();
  };
  try {
    const authentication =
      flags.authenticationKubeconfig || !kube
        ? ownedClient(flags.authenticationKubeconfig, '--authentication-kubeconfig', flags, owned, logger)
        : kube;
    const authorization = flags.authorizationKubeconfig
      ? ownedClient(flags.authorizationKubeconfig, '--authorization-kubeconfig', flags, owned, logger)
      : (kube ?? authentication);
    return { authentication, authorization, close };
  } catch (error) {
    close();
    throw error;
  }
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
