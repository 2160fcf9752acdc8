import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { parse } from 'yaml';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { parseSelector } from '../../src/api/selector.js';
import { resolveCacheSettings } from '../../src/cache/config.js';
import { isCachedEntry } from '../../src/cache/entry-identity.js';
import { createQueryCache } from '../../src/cache/lru-query-cache.js';
import type { ObjectLister, ObjectSummary } from '../../src/kube/types.js';
import { deadlineOf } from '../../src/lib/deadline.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createPrometheusClient, type PrometheusClient } from '../../src/providers/prometheus/client.js';
import { resourceRulesSchema } from '../../src/providers/prometheus/resource-rule-schema.js';
import { createPrometheusResourceReader } from '../../src/resource-metrics/reader.js';
import { compileResourceRules } from '../../src/resource-metrics/rules.js';
import { passThroughCache } from '../support/backend-context.js';
import { rejection } from '../support/failures.js';
import { type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { clusterSeries, kubePrometheusConfig } from '../support/resource-metrics-cluster.js';

/**
 * The reader over a real Prometheus with kube-prometheus's rules: how many queries a request
 * costs, and what a rule with the wrong result shape answers.
 */

const deadline = deadlineOf(new AbortController().signal);
const everything = parseSelector('');

async function kubePrometheusRules(change: (rules: Record<string, Record<string, unknown>>) => void = () => {}) {
  const { resourceRules } = parse(await kubePrometheusConfig()) as {
    resourceRules: Record<string, Record<string, unknown>>;
  };
  change(resourceRules);
  return compileResourceRules(resourceRulesSchema.parse(resourceRules), 'resourceRules', BUILTIN_RESOURCES);
}

/** The informer's answer, as a plain lister: `count` pods spread over `namespaces`, plus the pods the series name. */
function listerOf(count: number, namespaces: number): ObjectLister {
  const pods: ObjectSummary[] = [
    { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
    { name: 'web-2', namespace: 'shop', labels: { app: 'web' } },
    { name: 'web-1', namespace: 'other', labels: { app: 'web' } },
  ];
  for (let i = 0; i < count; i++)
    pods.push({ name: `p-${i}`, namespace: `ns-${i % namespaces}`, labels: { app: 'x' } });
  return {
    async listObjects(_resource, namespace) {
      return namespace === undefined ? pods : pods.filter((p) => p.namespace === namespace);
    },
  };
}

describe('the resource metrics reader over a real Prometheus', () => {
  let prometheus: PrometheusServer;
  let client: PrometheusClient;
  before(async () => {
    prometheus = await startPrometheus({ series: clusterSeries() });
    client = createPrometheusClient({ url: prometheus.url, timeoutMs: 10_000 });
  });
  after(async () => {
    client?.close();
    await prometheus?.stop();
  });

  const reader = async (kube: ObjectLister, rules?: Awaited<ReturnType<typeof kubePrometheusRules>>) => {
    const cache = passThroughCache();
    const read = createPrometheusResourceReader({
      rules: rules ?? (await kubePrometheusRules()),
      client,
      cache,
      kube,
      now: () => new Date(),
      logger: silentLogger(),
    });
    return { read, cache };
  };

  it('asks two queries for every pod of 50,000 in 100 namespaces, the same two for a namespace', async () => {
    const { read, cache } = await reader(listerOf(50_000, 100));
    const all = await read.pods({ selector: everything, deadline });
    assert.deepEqual(
      all.map((p) => `${p.namespace}/${p.name}`),
      ['shop/web-1', 'shop/web-2', 'other/web-1'],
    );
    assert.equal(cache.keys.length, 2, cache.keys.join('\n'));
    assert.match(cache.keys[0] ?? '', /namespace!=""/);
    await read.pods({ namespace: 'ns-7', selector: parseSelector('app=x'), deadline });
    assert.equal(cache.keys.length, 4);
    assert.match(cache.keys[2] ?? '', /\{namespace="ns-7",container!="",pod!=""\}/);
    assert.doesNotMatch(cache.keys[2] ?? '', /p-7/, 'the pods are not named in the query');
  });

  it('a containerQuery that answers a scalar is a 400 naming the field; a range vector one too', async () => {
    const scalar = await reader(
      listerOf(0, 1),
      await kubePrometheusRules((r) => {
        (r.cpu as Record<string, unknown>).containerQuery =
          'scalar(sum(container_cpu_usage_seconds_total{<<.LabelMatchers>>}))';
      }),
    );
    const notVector = await rejection(scalar.read.pods({ namespace: 'shop', selector: everything, deadline }));
    assert.equal(notVector.code, 400);
    assert.match(
      notVector.message,
      /resourceRules\.cpu\.containerQuery must produce an instant vector; .* answered a scalar/,
    );
    const range = await reader(
      listerOf(0, 1),
      await kubePrometheusRules((r) => {
        (r.memory as Record<string, unknown>).containerQuery =
          'container_memory_working_set_bytes{<<.LabelMatchers>>}[1m]';
      }),
    );
    const matrix = await rejection(range.read.pods({ namespace: 'shop', selector: everything, deadline }));
    assert.equal(matrix.code, 400);
    assert.match(matrix.message, /matrix result/);
  });

  it('a containerQuery that does not aggregate leaves out the pods it gives two series for a container', async () => {
    const { read } = await reader(
      listerOf(0, 1),
      await kubePrometheusRules((r) => {
        (r.memory as Record<string, unknown>).containerQuery =
          'container_memory_working_set_bytes{<<.LabelMatchers>>} or label_replace(container_memory_working_set_bytes{<<.LabelMatchers>>,pod="web-2"}, "copy", "1", "", "")';
      }),
    );
    const pods = await read.pods({ namespace: 'shop', selector: everything, deadline });
    assert.deepEqual(
      pods.map((p) => p.name),
      ['web-1'],
    );
  });

  it('a cache hit hands out the answer joined from the same objects and samples, as a cached entry', async () => {
    let pods: readonly ObjectSummary[] = Object.freeze([
      { name: 'web-1', namespace: 'shop', labels: { app: 'web' } },
      { name: 'web-2', namespace: 'shop', labels: { app: 'web' } },
    ]);
    const lister: ObjectLister = { listObjects: async () => pods };
    const cache = createQueryCache('prometheus', resolveCacheSettings(undefined, 'prometheus'), {
      registry: new Registry(),
    });
    const read = createPrometheusResourceReader({
      rules: await kubePrometheusRules(),
      client,
      cache,
      kube: lister,
      now: () => new Date(),
      logger: silentLogger(),
    });
    try {
      const request = { namespace: 'shop', selector: everything, deadline };
      const first = await read.pods(request);
      assert.equal(await read.pods(request), first, 'a hit is the kept answer, not a new join');
      assert.ok(isCachedEntry(first), 'marked, so the HTTP layer keeps the body rendered from it');
      const one = await read.pods({ ...request, name: 'web-2' });
      assert.deepEqual(
        one.map((p) => p.name),
        ['web-2'],
      );
      assert.equal(await read.pods({ ...request, name: 'web-2' }), one);

      pods = Object.freeze(pods.slice(0, 1));
      const changed = await read.pods(request);
      assert.deepEqual(
        changed.map((p) => p.name),
        ['web-1'],
        'other objects: joined anew',
      );
      const unshared = { ...request, selector: parseSelector('app=web') };
      pods = [...pods];
      assert.notEqual(await read.pods(unshared), await read.pods(unshared), 'objects listed per request are not kept');
    } finally {
      cache.close();
    }
  });
});
