import { existsSync } from 'node:fs';

/** Where a cluster's kubeconfig comes from, decided without loading it (nor @kubernetes/client-node). */
export type KubeConfigSource =
  | { kind: 'file'; path: string; flag: string }
  | { kind: 'in-cluster'; serviceAccountRoot: string }
  | { kind: 'env'; files: string };

export interface LoadKubeConfigOptions {
  /** The flag the path came from, named in errors (e.g. `--authentication-kubeconfig`). */
  flag?: string;
  /** Prefix for /var/run/secrets/kubernetes.io/serviceaccount, for tests. */
  serviceAccountRoot?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The kubeconfig file when a path is given; else the in-cluster service account when the pod has
 * one; else the files named by $KUBECONFIG (so a developer can run the adapter against a cluster
 * without flags); else undefined: no cluster. ~/.kube/config is not consulted without
 * $KUBECONFIG, so a stray current-context never becomes the adapter's cluster by accident.
 */
export function findKubeConfigSource(
  path: string | undefined,
  options: LoadKubeConfigOptions = {},
): KubeConfigSource | undefined {
  if (path !== undefined && path !== '') return { kind: 'file', path, flag: options.flag ?? '--kubeconfig' };
  const env = process.env;
  const root = options.serviceAccountRoot ?? '';
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(`${root}${SERVICE_ACCOUNT_TOKEN}`)) {
    return { kind: 'in-cluster', serviceAccountRoot: root };
  }
  if (env.KUBECONFIG) return { kind: 'env', files: env.KUBECONFIG };
  return undefined;
}
