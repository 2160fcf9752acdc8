import type { Registry } from 'prom-client';
import { BUILTIN_RESOURCES } from '../api/builtin-resources.js';
import { ALL_GROUPS } from '../api/groups.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { findKubeConfigSource, type KubeConfigSource } from '../kube/config-source.js';
import type { HpaWatch, ObjectInformers } from '../kube/index.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../observability/logger.js';
import { FlagError } from '../schema/errors.js';
import type { AuthFlags, AuthSetup } from '../server/auth/types.js';

export interface ClusterAccess {
  /** Absent in standalone mode. */
  auth?: AuthSetup;
  /** Resolves selector requests (watched metadata, LIST as fallback); absent in standalone mode. */
  objects?: ObjectInformers;
  /** The cluster's HPAs, watched for HPA-aware refresh; absent standalone or with --hpa-refresh=off. */
  hpas?: HpaWatch;
  /** The API server for watches of whole objects (MetricDefinitions); absent without a Kubernetes API connection. */
  kubeTransport?: KubeTransport;
  /** Resource names as the cluster serves them; the built-in table without a Kubernetes API connection. */
  resources: ResourceResolver;
  /** The address to listen on. */
  host: string;
  /** Where to send rotated client CAs (the extension-apiserver-authentication ConfigMap changed). */
  onClientCaChange(listener: (clientCaPem: string[]) => void): void;
  close(): void;
}

/** A laptop's $KUBECONFIG often names a cluster that is not running: say how to try the adapter without one. */
function standaloneHint(source: KubeConfigSource | undefined): string {
  if (source?.kind === 'env') return ` (from $KUBECONFIG=${source.files}; to run without a cluster, pass --standalone)`;
  if (source?.kind === 'file')
    return ` (from ${source.flag} ${source.path}; to run without a cluster, pass --standalone)`;
  return '';
}

/** Why no cluster is used, for the standalone warning: what was looked for, and what was found. */
function standaloneBecause(flags: ClusterFlags): string {
  if (flags.standalone) return '--standalone given';
  const kubeconfig = process.env.KUBECONFIG
    ? `$KUBECONFIG=${process.env.KUBECONFIG} names no usable kubeconfig`
    : 'no $KUBECONFIG';
  return `no Kubernetes cluster configured (no in-cluster service account, no --kubeconfig, ${kubeconfig})`;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** A new CRD's name resolves within this long; each read is a few small GETs to the API server. */
const RESOURCE_DISCOVERY_INTERVAL_MS = 60_000;

/** The flags that decide how the adapter reaches its cluster; cli/flags.ts fills them. */
export interface ClusterFlags extends AuthFlags {
  bindAddress?: string;
  /** Turn authentication and authorization off even inside a cluster (for local trials). */
  standalone: boolean;
  /**
   * Resources whose metadata may be watched to answer selector requests (`pods`,
   * `deployments.apps`, `*` for any); others are LISTed per request. Default `*`.
   */
  watchResources: string[];
  /** Objects, and bytes of names and labels, one watched resource (or one LIST) may hold. */
  watchMaxObjects: number;
  watchMaxLabelBytes: number;
  /**
   * HPA-aware refresh: `all` watches the cluster's HPAs and keeps their reads fresh on this
   * replica; `leader` watches them on every replica but only the Lease holder refreshes.
   */
  hpaRefresh: 'all' | 'leader' | 'off';
  /** How long readiness waits for the first refresh of every HPA read; 0 does not wait. */
  hpaRefreshWarmupMs: number;
}

/**
 * In a cluster (a kubeconfig, in-cluster service account, or CA flags): authentication and
 * authorization on, listening on every interface. With no cluster at all: standalone mode,
 * loopback only, with one loud warning, so `npm start` on a laptop just works and an
 * unauthenticated adapter can never be reached from the network.
 *
 * The Kubernetes client and the auth setup are imported only on the cluster path: a standalone
 * process would pay for @kubernetes/client-node in startup time, memory, and CPU per request.
 */
export async function clusterAccess(flags: ClusterFlags, logger: Logger, registry: Registry): Promise<ClusterAccess> {
  // Only an actual kubeconfig source is worth importing @kubernetes/client-node for.
  const source = flags.standalone ? undefined : findKubeConfigSource(flags.kubeconfig);
  let loaded: Awaited<ReturnType<typeof import('../kube/index.js')['loadKubeConfigFrom']>> | undefined;
  try {
    loaded = source && (await import('../kube/index.js')).loadKubeConfigFrom(source);
  } catch (error) {
    throw new FlagError(`${(error as Error).message}${standaloneHint(source)}`);
  }
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
      `STANDALONE MODE: ${standaloneBecause(flags)}; authentication and authorization are OFF, the server listens on loopback only, and custom-metric labelSelector requests are answered only where the config lists the objects (static metrics): others are refused, as there are no cluster objects to list`,
    );
    return { host, resources: BUILTIN_RESOURCES, onClientCaChange() {}, close() {} };
  }
  const { createKubeClient, createObjectInformers, createHpaWatch } = await import('../kube/index.js');
  const { createAuthSetup } = await import('../server/auth/setup.js');
  const kube = loaded ? createKubeClient(loaded.kubeConfig) : undefined;
  if (loaded) logger.info({ source: loaded.source }, 'using Kubernetes API');
  const clusterResources = kube
    ? new (await import('../kube/cluster-resources.js')).ClusterResources({
        kube,
        logger,
        skipGroups: ALL_GROUPS.map((g) => g.name),
        intervalMs: RESOURCE_DISCOVERY_INTERVAL_MS,
      })
    : undefined;
  const objects = loaded
    ? createObjectInformers(loaded.kubeConfig, {
        logger,
        registry,
        watchResources: flags.watchResources,
        caps: { maxObjects: flags.watchMaxObjects, maxLabelBytes: flags.watchMaxLabelBytes },
        ...(clusterResources ? { resources: clusterResources } : {}),
      })
    : undefined;
  const hpas =
    loaded && flags.hpaRefresh !== 'off'
      ? createHpaWatch(loaded.kubeConfig, { logger, resources: clusterResources ?? BUILTIN_RESOURCES })
      : undefined;
  const kubeTransport = loaded
    ? new (await import('../kube/transport.js')).KubeTransport(loaded.kubeConfig, {
        userAgent: 'hpa-metrics-adapter/definitions',
      })
    : undefined;
  let caListener: ((clientCaPem: string[]) => void) | undefined;
  let auth: AuthSetup;
  try {
    await clusterResources?.start();
    auth = await createAuthSetup(flags, {
      logger,
      registry,
      ...(kube ? { kube } : {}),
      onClientCaChange: (pem) => caListener?.(pem),
    });
  } catch (error) {
    kube?.close();
    kubeTransport?.close();
    void objects?.close();
    void hpas?.close();
    throw new FlagError(`${(error as Error).message}${standaloneHint(source)}`);
  }
  hpas?.start();
  return {
    auth,
    objects,
    ...(hpas ? { hpas } : {}),
    ...(kubeTransport ? { kubeTransport } : {}),
    resources: clusterResources ?? BUILTIN_RESOURCES,
    host: flags.bindAddress ?? '0.0.0.0',
    onClientCaChange(listener) {
      caListener = listener;
    },
    close() {
      auth.close();
      void clusterResources?.close();
      kube?.close();
      kubeTransport?.close();
      void objects?.close();
      void hpas?.close();
    },
  };
}
