import type { DefinitionsConfig } from '../../src/definitions/definitions-backend.js';
import { definitionsPolicySchema } from '../../src/definitions/policy-config.js';
import { decodeDefinition, type MetricDefinition } from '../../src/definitions/resource.js';
import { cloudWatchBackendSchema } from '../../src/providers/cloudwatch/config.js';
import { sqsBackendSchema } from '../../src/providers/sqs/config.js';
import { METRIC_DEFINITIONS_REF } from './forbidden-definition.js';
import type { StoredObject } from './kube-apiserver-double.js';

/**
 * What a DefinitionsBackend is built with in tests and benches: definitions on, every namespace
 * allowed every Prometheus server, one server `default` at `prometheusUrl` (by default a port
 * nothing answers on: judgement and serving without a query), the SQS and CloudWatch defaults.
 */
export function definitionsConfigFor(
  prometheusUrl = 'http://127.0.0.1:9',
  overrides: {
    policy?: Record<string, unknown>;
    configServes?: (metric: string) => boolean;
    /** The Prometheus server's query timeout; 1 s unless a test holds its answers back. */
    timeoutMs?: number;
  } = {},
): DefinitionsConfig {
  return {
    policy: definitionsPolicySchema.parse({
      enabled: true,
      rules: [{ namespaces: ['*'], prometheus: { servers: ['*'] } }],
      ...overrides.policy,
    }),
    prometheusServers: [
      {
        name: 'default',
        client: { url: prometheusUrl, timeoutMs: overrides.timeoutMs ?? 1000 },
        cacheName: 'prometheus',
      },
    ],
    sqs: sqsBackendSchema.parse({}),
    cloudwatch: cloudWatchBackendSchema.parse({}),
    configServes: overrides.configServes ?? (() => false),
  };
}

/** A PromQL MetricDefinition as the watch hands it over (decoded). */
export function promqlDefinition(namespace: string, name: string, query = 'sum(up)', createdAt = 0): MetricDefinition {
  return decodeDefinition({
    metadata: {
      namespace,
      name,
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: new Date(createdAt).toISOString(),
    },
    spec: { prometheus: { query } },
  });
}

/** A MetricDefinition as the kube double stores and lists it (`kube.watch.put`). */
export function definitionObject(namespace: string, name: string, spec: Record<string, unknown>): StoredObject {
  return { ...METRIC_DEFINITIONS_REF, namespace, name, generation: 1, spec };
}
