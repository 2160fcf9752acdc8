import type { GroupResource } from '../api/group-resource.js';
import { CUSTOM_GROUP, CUSTOM_VERSIONS, EXTERNAL_GROUP, EXTERNAL_VERSIONS } from '../api/groups.js';
import { formatGroupResource } from '../api/resources.js';
import type { UpstreamSet } from './upstream-set.js';

export interface UpstreamQuestion {
  metric: string;
  /** Custom metric: its resource; absent: an external metric. */
  resource?: GroupResource;
}

/**
 * For `explain METRIC`: what each upstream's discovery lists, and per group-version whether a
 * request for METRIC is forwarded, and to which upstream and why, asked of the routing table a
 * server uses (`set`, whose discovery the caller has fetched once). A name a backend of ours
 * serves is never forwarded. Resolves to the upstream that takes it in the preferred version.
 */
export function explainUpstreams(
  set: UpstreamSet,
  question: UpstreamQuestion,
  print: (line?: string) => void,
): string | undefined {
  const group = question.resource ? CUSTOM_GROUP : EXTERNAL_GROUP;
  const versions: readonly string[] = question.resource ? CUSTOM_VERSIONS : EXTERNAL_VERSIONS;
  const discoveryName = question.resource
    ? `${formatGroupResource(question.resource)}/${question.metric}`
    : question.metric;
  print(`Upstreams (${group} "${discoveryName}"):`);
  for (const { config, discovery } of set.current) {
    const fetched = config.groupVersions.map((gv) => {
      const [g, v] = gv.split('/') as [string, string];
      return `${gv}: ${discovery.resources(g, v).length} names`;
    });
    const failed = discovery.complete
      ? ''
      : ' (discovery failed for some group-version: is it up, and may we read it?)';
    print(`  ${config.name} ${config.url}: ${fetched.join(', ')}${failed}`);
  }
  let preferred: string | undefined;
  for (const [i, version] of versions.entries()) {
    const route = set.route({
      group,
      version,
      discoveryName,
      metric: question.metric,
      ...(question.resource ? { resource: question.resource } : {}),
    });
    if (i === 0) preferred = route?.upstream.name;
    print(
      route
        ? `  ${group}/${version}: forwarded to "${route.upstream.name}", ${REASONS[route.why]}`
        : `  ${group}/${version}: not forwarded`,
    );
  }
  print();
  return preferred;
}

const REASONS = {
  announced: 'which announces it in its discovery',
  pattern: 'as it matches one of its metrics.matching patterns',
  unserved: 'which takes every name no backend of ours serves (metrics.unserved)',
} as const;
