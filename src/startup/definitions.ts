import type { Registry } from 'prom-client';
import type { QueryCache } from '../cache/query-cache.js';
import type { AdapterConfig } from '../config/schema.js';
import { watchDefinitions } from '../definitions/definition-watch.js';
import { DefinitionsBackend, type DefinitionsConfig } from '../definitions/definitions-backend.js';
import { definitionsPolicySchema } from '../definitions/policy-config.js';
import type { KubeTransport } from '../kube/transport.js';
import type { Logger } from '../observability/logger.js';
import type { BackendEnvironment } from '../providers/backend-module.js';
import { cloudWatchBackendSchema } from '../providers/cloudwatch/config.js';
import { type PrometheusOverrides, resolvePrometheusSettings } from '../providers/prometheus/settings.js';
import type { MetricsBackend } from '../providers/provider.js';
import { sqsBackendSchema } from '../providers/sqs/config.js';

export interface RunningDefinitions {
  readonly backend: DefinitionsBackend;
  /** A reloaded config: new policy and sections; starts the watch if it turned definitions on. */
  reconfigure(config: AdapterConfig): void;
  close(): Promise<void>;
}

export interface DefinitionsDeps {
  env: BackendEnvironment;
  /** See DefinitionsBackendDeps.cachesInUse. */
  cachesInUse?(caches: ReadonlySet<QueryCache>): void;
  flags: Partial<PrometheusOverrides>;
  logger: Logger;
  registry: Registry;
  /** The config's own backends now: a metric one of them serves is theirs. */
  configBackends: () => readonly MetricsBackend[];
  /** The API server, for the watch; absent standalone (definitions then never arrive). */
  transport?: KubeTransport;
}

/**
 * MetricDefinitions in the running adapter: the backend that serves them (after the config's
 * backends in the router) and the watch that feeds it, started only while the config turns
 * definitions on, so an adapter without them asks the API server for nothing more.
 */
export function startDefinitions(initial: AdapterConfig, deps: DefinitionsDeps): RunningDefinitions {
  const configOf = (config: AdapterConfig): DefinitionsConfig => ({
    policy: config.definitions ?? definitionsPolicySchema.parse({}),
    prometheusServers: resolvePrometheusSettings(config.prometheus, deps.flags)?.servers ?? [],
    sqs: config.sqs ?? sqsBackendSchema.parse({}),
    cloudwatch: config.cloudwatch ?? cloudWatchBackendSchema.parse({}),
    configServes: (metric) => deps.configBackends().some((b) => b.external?.servesExternal(metric)),
  });
  let current = configOf(initial);
  const backend = new DefinitionsBackend(current, {
    env: deps.env,
    logger: deps.logger,
    ...(deps.cachesInUse ? { cachesInUse: deps.cachesInUse } : {}),
  });
  let watch: ReturnType<typeof watchDefinitions> | undefined;
  const ensureWatch = () => {
    if (watch || !current.policy.enabled) return;
    if (!deps.transport) {
      deps.logger.warn(
        'definitions.enabled is set but the adapter has no Kubernetes API connection: no definitions are read',
      );
      return;
    }
    watch = watchDefinitions({
      transport: deps.transport,
      backend,
      logger: deps.logger,
      registry: deps.registry,
      maxTotal: () => current.policy.maxTotal,
    });
  };
  ensureWatch();
  return {
    backend,
    reconfigure(config) {
      current = configOf(config);
      backend.reconfigure(current);
      ensureWatch();
    },
    async close() {
      await watch?.close();
      await backend.close();
    },
  };
}
