import type { ContainerUsage, NodeUsage, PodUsage } from '../api/resource-metrics.js';
import type { ObjectSummary } from '../kube/types.js';
import type { PromSample } from '../providers/prometheus/client.js';
import type { ResourceQuery } from './rules.js';

/**
 * The rules that turn query results into usage, prometheus-adapter's (pkg/resourceprovider) where
 * they serve users and ours where users filed them as wrong (docs/resource-metrics.md):
 * - a series is a container of the pod its pod and namespace labels name, called by its container
 *   label; a series without a container name (the pod's own cgroup) is no container, since adding
 *   it would count the pod twice;
 * - NaN and negative values are 0; ±Inf is no value;
 * - a pod is served with the resources it has: a container missing one resource has no value for
 *   it (prometheus-adapter drops the pod when either query has nothing for it, which hides pods for
 *   their first minutes because `irate` needs two samples, and fills the other resource with 0,
 *   which an HPA would average in as real usage); a pod with no container at all is left out;
 * - two series for one container and resource are ambiguous: the pod is left out (and logged);
 * - a node needs both resources, one series each, else it is left out, as in prometheus-adapter;
 * - the timestamp is the oldest sample's, to be conservative about freshness.
 */

export interface Samples {
  cpu: readonly PromSample[];
  memory: readonly PromSample[];
}

export interface JoinProblems {
  /** Names of objects left out because a resource had two series for one container or node. */
  ambiguous: string[];
}

interface PodEntry {
  containers: Map<string, ContainerUsage>;
  oldest: number;
  ambiguous: boolean;
}

/** Pods that have data, in the order of `pods`; `namespace` fills the namespace of series without one. */
export function podUsage(
  pods: readonly ObjectSummary[],
  samples: Samples,
  rules: { cpu: ResourceQuery; memory: ResourceQuery; windowMs: number },
  namespace: string | undefined,
  problems: JoinProblems,
): PodUsage[] {
  const byPod = new Map<string, PodEntry>();
  const add = (query: ResourceQuery, resource: 'cpu' | 'memory', list: readonly PromSample[]) => {
    for (const sample of list) {
      const pod = sample.labels[query.podLabel];
      const container = sample.labels[query.containerLabel];
      const ns = sample.labels[query.namespaceLabel] ?? namespace;
      if (!pod || !container || ns === undefined) continue;
      const value = usable(sample.value);
      if (value === undefined) continue;
      const key = `${ns}/${pod}`;
      let entry = byPod.get(key);
      if (!entry) {
        entry = { containers: new Map(), oldest: Number.POSITIVE_INFINITY, ambiguous: false };
        byPod.set(key, entry);
      }
      let usage = entry.containers.get(container);
      if (!usage) {
        usage = { name: container };
        entry.containers.set(container, usage);
      }
      if (usage[resource] !== undefined) entry.ambiguous = true;
      usage[resource] = value;
      entry.oldest = Math.min(entry.oldest, sample.timestamp.getTime());
    }
  };
  add(rules.cpu, 'cpu', samples.cpu);
  add(rules.memory, 'memory', samples.memory);

  const served: PodUsage[] = [];
  for (const pod of pods) {
    const ns = pod.namespace ?? namespace ?? '';
    const entry = byPod.get(`${ns}/${pod.name}`);
    if (!entry || entry.containers.size === 0) continue;
    if (entry.ambiguous) {
      problems.ambiguous.push(`${ns}/${pod.name}`);
      continue;
    }
    served.push({
      name: pod.name,
      namespace: ns,
      labels: pod.labels,
      timestamp: new Date(entry.oldest),
      windowMs: rules.windowMs,
      containers: [...entry.containers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    });
  }
  return served;
}

/** Nodes that have one CPU and one memory series, in the order of `nodes`. */
export function nodeUsage(
  nodes: readonly ObjectSummary[],
  samples: Samples,
  rules: { cpu: ResourceQuery; memory: ResourceQuery; windowMs: number },
  problems: JoinProblems,
): NodeUsage[] {
  const cpu = byNode(rules.cpu, samples.cpu);
  const memory = byNode(rules.memory, samples.memory);
  const served: NodeUsage[] = [];
  for (const node of nodes) {
    const c = cpu.get(node.name);
    const m = memory.get(node.name);
    if (c === undefined || m === undefined) continue;
    if (c === 'ambiguous' || m === 'ambiguous') {
      problems.ambiguous.push(node.name);
      continue;
    }
    const [cpuValue, memoryValue] = [usable(c.value), usable(m.value)];
    if (cpuValue === undefined || memoryValue === undefined) continue;
    served.push({
      name: node.name,
      labels: node.labels,
      timestamp: new Date(Math.min(c.timestamp.getTime(), m.timestamp.getTime())),
      windowMs: rules.windowMs,
      cpu: cpuValue,
      memory: memoryValue,
    });
  }
  return served;
}

function byNode(query: ResourceQuery, list: readonly PromSample[]): Map<string, PromSample | 'ambiguous'> {
  const found = new Map<string, PromSample | 'ambiguous'>();
  for (const sample of list) {
    const name = sample.labels[query.nodeLabel];
    if (!name) continue;
    found.set(name, found.has(name) ? 'ambiguous' : sample);
  }
  return found;
}

/** The objects the series name, for a reader without a cluster to list them from. */
export function objectsOfSamples(
  samples: Samples,
  label: (query: ResourceQuery) => string,
  namespaceLabel: ((query: ResourceQuery) => string) | undefined,
  rules: { cpu: ResourceQuery; memory: ResourceQuery },
): ObjectSummary[] {
  const seen = new Map<string, ObjectSummary>();
  for (const [query, list] of [
    [rules.cpu, samples.cpu],
    [rules.memory, samples.memory],
  ] as const) {
    for (const sample of list) {
      const name = sample.labels[label(query)];
      const namespace = namespaceLabel ? sample.labels[namespaceLabel(query)] : undefined;
      if (!name) continue;
      const key = `${namespace ?? ''}/${name}`;
      if (!seen.has(key)) seen.set(key, { name, ...(namespace ? { namespace } : {}), labels: {} });
    }
  }
  return [...seen.values()].sort((a, b) =>
    `${a.namespace ?? ''}/${a.name}` < `${b.namespace ?? ''}/${b.name}` ? -1 : 1,
  );
}

function usable(value: number): number | undefined {
  if (Number.isNaN(value)) return 0;
  if (!Number.isFinite(value)) return undefined;
  return Math.max(value, 0);
}
