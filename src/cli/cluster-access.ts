import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/index.js';
import { KubeTransport } from '../kube/transport.js';

/**
 * The API server as explain reads it: `--kubeconfig`, `$KUBECONFIG` or in-cluster, loaded as the
 * adapter loads it, with a transport whose calls give up after 15 s. Throws `missing()` when there
 * is no cluster to read.
 */
export function clusterAccess(
  kubeconfig: string | undefined,
  userAgent: string,
  missing: () => Error,
): { kubeConfig: KubeConfig; transport: KubeTransport } {
  const loaded = loadKubeConfig(kubeconfig, { flag: '--kubeconfig' });
  if (!loaded) throw missing();
  return {
    kubeConfig: loaded.kubeConfig,
    transport: new KubeTransport(loaded.kubeConfig, { timeoutMs: 15_000, userAgent }),
  };
}
