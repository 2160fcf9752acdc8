import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  /** For logs: `kubeconfig /path` or `in-cluster service account`. */
  source: string;
}

export interface LoadKubeConfigOptions {
  /** The flag the path came from, named in errors (e.g. `--authentication-kubeconfig`). */
  flag?: string;
  /** Prefix for /var/run/secrets/kubernetes.io/serviceaccount, for tests. */
  serviceAccountRoot?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The cluster to talk to: the kubeconfig file when a path is given; else the in-cluster
 * service account when the pod has one; else the files named by $KUBECONFIG (so a developer
 * can run the adapter against a cluster without flags); else undefined — no cluster, and the
 * caller decides whether that means standalone mode or an error. ~/.kube/config is not
 * consulted without $KUBECONFIG, so a stray current-context never becomes the adapter's
 * cluster by accident. Throws an Error naming the flag and file when a kubeconfig is unusable.
 */
export function loadKubeConfig(
  path: string | undefined,
  options: LoadKubeConfigOptions = {},
): LoadedKubeConfig | undefined {
  const flag = options.flag ?? '--kubeconfig';
  const kubeConfig = new KubeConfig();
  if (path !== undefined && path !== '') {
    try {
      kubeConfig.loadFromFile(path);
    } catch (error) {
      throw new Error(`${flag} ${path}: cannot load kubeconfig: ${messageOf(error)}`);
    }
    checkCluster(kubeConfig, `${flag} ${path}`);
    return { kubeConfig, source: `kubeconfig ${path}` };
  }
  const env = process.env;
  const root = options.serviceAccountRoot ?? '';
  if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(`${root}${SERVICE_ACCOUNT_TOKEN}`)) {
    kubeConfig.loadFromCluster(root);
    return { kubeConfig, source: 'in-cluster service account' };
  }
  if (env.KUBECONFIG) {
    // loadFromDefault quietly falls back to http://localhost:8080 when no listed file exists.
    if (!env.KUBECONFIG.split(delimiter).some((file) => file !== '' && existsSync(file))) {
      throw new Error(`$KUBECONFIG ${env.KUBECONFIG}: no such kubeconfig file`);
    }
    try {
      kubeConfig.loadFromDefault();
    } catch (error) {
      throw new Error(`$KUBECONFIG ${env.KUBECONFIG}: cannot load kubeconfig: ${messageOf(error)}`);
    }
    checkCluster(kubeConfig, `$KUBECONFIG ${env.KUBECONFIG}`);
    return { kubeConfig, source: `kubeconfig $KUBECONFIG=${env.KUBECONFIG}` };
  }
  return undefined;
}

function checkCluster(kubeConfig: KubeConfig, where: string): void {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new Error(`${where}: the current-context does not name a cluster`);
  if (!/^https?:\/\//.test(cluster.server)) {
    throw new Error(`${where}: cluster "${cluster.name}" has no http(s) server URL`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
