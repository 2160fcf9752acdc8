import { existsSync } from 'node:fs';
import { delimiter } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { findKubeConfigSource, type KubeConfigSource, type LoadKubeConfigOptions } from './config-source.js';

export interface LoadedKubeConfig {
  kubeConfig: KubeConfig;
  /** For logs: `kubeconfig /path` or `in-cluster service account`. */
  source: string;
}

/**
 * The cluster to talk to, from the source findKubeConfigSource picks (see there); undefined when
 * there is none, and the caller decides whether that means standalone mode or an error. Throws an
 * Error naming the flag and file when a kubeconfig is unusable.
 */
export function loadKubeConfig(
  path: string | undefined,
  options: LoadKubeConfigOptions = {},
): LoadedKubeConfig | undefined {
  const source = findKubeConfigSource(path, options);
  return source && loadKubeConfigFrom(source);
}

export function loadKubeConfigFrom(source: KubeConfigSource): LoadedKubeConfig {
  const kubeConfig = new KubeConfig();
  switch (source.kind) {
    case 'file': {
      const { flag, path } = source;
      try {
        kubeConfig.loadFromFile(path);
      } catch (error) {
        throw new Error(`${flag} ${path}: cannot load kubeconfig: ${messageOf(error)}`);
      }
      checkCluster(kubeConfig, `${flag} ${path}`);
      return { kubeConfig, source: `kubeconfig ${path}` };
    }
    case 'in-cluster':
      kubeConfig.loadFromCluster(source.serviceAccountRoot);
      return { kubeConfig, source: 'in-cluster service account' };
    case 'env': {
      const { files } = source;
      // loadFromDefault quietly falls back to http://localhost:8080 when no listed file exists.
      if (!files.split(delimiter).some((file) => file !== '' && existsSync(file))) {
        throw new Error(`$KUBECONFIG ${files}: no such kubeconfig file`);
      }
      try {
        kubeConfig.loadFromDefault();
      } catch (error) {
        throw new Error(`$KUBECONFIG ${files}: cannot load kubeconfig: ${messageOf(error)}`);
      }
      checkCluster(kubeConfig, `$KUBECONFIG ${files}`);
      return { kubeConfig, source: `kubeconfig $KUBECONFIG=${files}` };
    }
  }
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
