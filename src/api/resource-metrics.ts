import { formatDuration } from '../lib/duration.js';
import { RESOURCE_METRICS_GROUP } from './groups.js';
import type { ApiResource } from './legacy-discovery.js';

/**
 * metrics.k8s.io (v1beta1 and v1, one schema): `NodeMetrics` and `PodMetrics` as metrics-server
 * writes them, so `kubectl top` and the HPA's resource-metrics client decode them unchanged. Pure
 * functions over plain usage values; the HTTP layer renders and serves them.
 */

/** One container's usage; a resource with no value is left out of `usage` (never reported as 0). */
export interface ContainerUsage {
  name: string;
  /** Cores, averaged over the window. */
  cpu?: number;
  /** Bytes. */
  memory?: number;
}

export interface PodUsage {
  name: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** When the oldest of its samples was taken. */
  timestamp: Date;
  windowMs: number;
  containers: readonly ContainerUsage[];
}

export interface NodeUsage {
  name: string;
  labels: Readonly<Record<string, string>>;
  timestamp: Date;
  windowMs: number;
  cpu: number;
  memory: number;
}

/** What discovery lists for the group, in every version (metrics-server's own list). */
export const RESOURCE_METRICS_RESOURCES: readonly ApiResource[] = [
  { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
  { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
];

export function podMetricsList(version: string, pods: readonly PodUsage[]) {
  return { kind: 'PodMetricsList', apiVersion: apiVersion(version), metadata: {}, items: pods.map(podItem) };
}

export function podMetrics(version: string, pod: PodUsage) {
  return { kind: 'PodMetrics', apiVersion: apiVersion(version), ...podItem(pod) };
}

export function nodeMetricsList(version: string, nodes: readonly NodeUsage[]) {
  return { kind: 'NodeMetricsList', apiVersion: apiVersion(version), metadata: {}, items: nodes.map(nodeItem) };
}

export function nodeMetrics(version: string, node: NodeUsage) {
  return { kind: 'NodeMetrics', apiVersion: apiVersion(version), ...nodeItem(node) };
}

function apiVersion(version: string): string {
  return `${RESOURCE_METRICS_GROUP}/${version}`;
}

function podItem(pod: PodUsage) {
  const timestamp = pod.timestamp.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    // creationTimestamp is when the metric object was made, as in metrics-server: here, from its samples.
    metadata: { name: pod.name, namespace: pod.namespace, creationTimestamp: timestamp, labels: pod.labels },
    timestamp,
    window: formatDuration(pod.windowMs),
    containers: pod.containers.map((c) => ({ name: c.name, usage: usageOf(c.cpu, c.memory) })),
  };
}

function nodeItem(node: NodeUsage) {
  const timestamp = node.timestamp.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    metadata: { name: node.name, creationTimestamp: timestamp, labels: node.labels },
    timestamp,
    window: formatDuration(node.windowMs),
    usage: usageOf(node.cpu, node.memory),
  };
}

function usageOf(cpu: number | undefined, memory: number | undefined): Record<string, string> {
  const usage: Record<string, string> = {};
  if (cpu !== undefined) usage.cpu = formatCpu(cpu);
  if (memory !== undefined) usage.memory = formatMemory(memory);
  return usage;
}

const DECIMAL_SUFFIXES: readonly [suffix: string, nanos: bigint][] = [
  ['', 1_000_000_000n],
  ['m', 1_000_000n],
  ['u', 1_000n],
];

/**
 * Cores as metrics-server writes them (a quantity of nanocores, in resource.Quantity's canonical
 * form): `1234567n`, `250m`, `2`. Rounded to the nanocore; negative and NaN are 0.
 */
export function formatCpu(cores: number): string {
  const nanos = BigInt(Math.round(cores > 0 && Number.isFinite(cores) ? cores * 1e9 : 0));
  if (nanos === 0n) return '0';
  for (const [suffix, unit] of DECIMAL_SUFFIXES) {
    if (nanos % unit === 0n) return `${nanos / unit}${suffix}`;
  }
  return `${nanos}n`;
}

const BINARY_SUFFIXES: readonly [suffix: string, bytes: bigint][] = [
  ['Ei', 1n << 60n],
  ['Pi', 1n << 50n],
  ['Ti', 1n << 40n],
  ['Gi', 1n << 30n],
  ['Mi', 1n << 20n],
  ['Ki', 1n << 10n],
];

/**
 * Bytes as metrics-server writes them (a BinarySI quantity, canonical form): `51200Ki` for the
 * page-sized values the kernel reports, `12345` when not a multiple of 1024. Rounded to the byte.
 */
export function formatMemory(bytes: number): string {
  const value = BigInt(Math.round(bytes > 0 && Number.isFinite(bytes) ? bytes : 0));
  if (value === 0n) return '0';
  for (const [suffix, unit] of BINARY_SUFFIXES) {
    if (value % unit === 0n) return `${value / unit}${suffix}`;
  }
  return `${value}`;
}
