import { FlagError, type Flags } from '../cli/flags.js';
import { type ClosableKubeClient, createKubeClient, loadKubeConfig } from '../kube/index.js';
import type { Logger } from '../observability/logger.js';
import { createAuthSetup } from '../server/auth/setup.js';
import type { AuthSetup } from '../server/auth/types.js';

export interface ClusterAccess {
  /** Absent in standalone mode. */
  auth?: AuthSetup;
  /** Lists objects for selector requests; absent in standalone mode. */
  kube?: ClosableKubeClient;
  /** The address to listen on. */
  host: string;
  /** Where to send rotated client CAs (the extension-apiserver-authentication ConfigMap changed). */
  onClientCaChange(listener: (clientCaPem: string[]) => void): void;
  close(): void;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * In a cluster (a kubeconfig, in-cluster service account, or CA flags): authentication and
 * authorization on, listening on every interface. With no cluster at all: standalone mode,
 * loopback only, with one loud warning, so `npm start` on a laptop just works and an
 * unauthenticated adapter can never be reached from the network.
 */
export async function clusterAccess(flags: Flags, logger: Logger): Promise<ClusterAccess> {
  const loaded = flags.standalone ? undefined : loadKubeConfig(flags.kubeconfig);
  const caFlags = flags.requestheaderClientCaFile ?? flags.clientCaFile;
  const standalone = flags.standalone || (!loaded && !caFlags && !flags.authenticationKubeconfig);
  if (standalone) {
    const host = flags.bindAddress ?? '127.0.0.1';
    if (!LOOPBACK.has(host)) {
      throw new FlagError(
        `refusing to serve on ${host} without authentication: standalone mode (no cluster configured) binds loopback only; give --kubeconfig or run in a cluster`,
      );
    }
    logger.warn(
      'STANDALONE MODE: no Kubernetes cluster configured (no in-cluster service account, no --kubeconfig, no $KUBECONFIG); authentication and authorization are OFF and the server listens on loopback only',
    );
    return { host, onClientCaChange() {}, close() {} };
  }
  const kube = loaded ? createKubeClient(loaded.kubeConfig) : undefined;
  if (loaded) logger.info({ source: loaded.source }, 'using Kubernetes API');
  let caListener: ((clientCaPem: string[]) => void) | undefined;
  const auth = await createAuthSetup(flags, {
    logger,
    ...(kube ? { kube } : {}),
    onClientCaChange: (pem) => caListener?.(pem),
  });
  return {
    auth,
    kube,
    host: flags.bindAddress ?? '0.0.0.0',
    onClientCaChange(listener) {
      caListener = listener;
    },
    close() {
      auth.close();
      kube?.close?.();
    },
  };
}
