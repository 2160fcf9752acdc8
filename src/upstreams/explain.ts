import { Registry } from 'prom-client';
import type { GroupResource } from '../api/group-resource.js';
import { CUSTOM_GROUP, CUSTOM_VERSIONS, EXTERNAL_GROUP, EXTERNAL_VERSIONS } from '../api/groups.js';
import { formatGroupResource } from '../api/resources.js';
import { silentLogger } from '../observability/logger.js';
import { UpstreamClient } from './client.js';
import type { UpstreamConfig } from './config.js';
import { UpstreamDiscovery } from './discovery.js';
import { createUpstreamMetrics } from './metrics.js';
import { Upstream } from './upstream.js';
import { UpstreamSet } from './upstream-set.js';

export interface UpstreamQuestion {
  metric: string;
  /** Custom metric: its resource; absent: an external metric. */
  resource?: GroupResource;
}

/**
 * For `explain METRIC`: which upstream a request for it would be forwarded to, and why, after one
 * fetch of every upstream's discovery with the adapter's own credentials. A backend of ours that
 * serves the metric still wins; the backend sections of explain say whether one does.
 * Resolves to the name of the upstream that takes it in the preferred version, if any.
 */
export async function explainUpstreams(
  configs: readonly UpstreamConfig[],
  question: UpstreamQuestion,
  print: (line?: string) => void,
): Promise<string | undefined> {
  const metrics = createUpstreamMetrics(new Registry());
  const none = { servesExternal: () => false, servesCustom: () => false, ownsName: () => false };
  const upstreams: Upstream[] = [];
  const group = question.resource ? CUSTOM_GROUP : EXTERNAL_GROUP;
  const versions: readonly string[] = question.resource ? CUSTOM_VERSIONS : EXTERNAL_VERSIONS;
  const discoveryName = question.resource
    ? `${formatGroupResource(question.resource)}/${question.metric}`
    : question.metric;
  print(`Upstreams (a backend of ours serving ${group} "${discoveryName}" answers it instead):`);
  try {
    for (const config of configs) {
      const client = new UpstreamClient(config);
      const discovery = new UpstreamDiscovery(config, client, {
        logger: silentLogger(),
        metrics,
        ownsName: none.ownsName,
      });
      await discovery.refresh();
      upstreams.push(new Upstream(config, client, discovery, metrics));
      const fetched = config.groupVersions.map((gv) => {
        const [g, v] = gv.split('/') as [string, string];
        return `${gv}: ${discovery.resources(g, v).length} names`;
      });
      const failed = discovery.complete
        ? ''
        : ' (discovery failed for some group-version: is it up, and may we read it?)';
      print(`  ${config.name} ${config.url}: ${fetched.join(', ')}${failed}`);
    }
    const set = new UpstreamSet(upstreams, none);
    let preferred: string | undefined;
    for (const version of versions) {
      const route = set.route({
        group,
        version,
        discoveryName,
        metric: question.metric,
        ...(question.resource ? { resource: question.resource } : {}),
      });
      preferred ??= route?.upstream.name ?? '';
      print(
        route
          ? `  ${group}/${version}: forwarded to "${route.upstream.name}", ${REASONS[route.why]}`
          : `  ${group}/${version}: no upstream takes it`,
      );
    }
    print();
    return preferred === '' ? undefined : preferred;
  } finally {
    await Promise.all(upstreams.map((u) => u.close()));
  }
}

const REASONS = {
  announced: 'which announces it in its discovery',
  pattern: 'as it matches one of its metrics.matching patterns',
  unserved: 'which takes every name no backend of ours serves (metrics.unserved)',
} as const;
