import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { parseSelector } from '../api/selector.js';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import { decodeDefinition, METRIC_DEFINITIONS, type MetricDefinition } from '../definitions/resource.js';
import { collectionPath } from '../kube/index.js';
import { statusError } from '../kube/transport.js';
import { deadlineOf } from '../lib/deadline.js';
import { createLogger } from '../observability/logger.js';
import { startBackends } from '../startup/backends.js';
import { clusterAccess } from './cluster-access.js';
import { errorText } from './error-text.js';

const USAGE = `usage: hpa-metrics-adapter explain --definition NS/NAME [--file MANIFEST | --kubeconfig FILE] [--config FILE] [--metric-selector SELECTOR]

What a MetricDefinition does under the config's definitions: policy: the query as it runs (the
namespace injected), the policy's verdict, the request an HPA makes, and the value it gets.
The definition is read from MANIFEST (YAML, the object kubectl applies) before it is applied,
or else from the cluster (--kubeconfig, $KUBECONFIG or in-cluster), as the adapter reads it.`;

class UsageError extends Error {}

/** `explain --definition NS/NAME`: resolves to the process exit status. */
export async function runExplainDefinition(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  try {
    return await explainDefinition(argv, out);
  } catch (error) {
    out.write(errorText('explain', error));
    return 2;
  }
}

async function explainDefinition(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const print = (line = '') => out.write(`${line}\n`);
  const { values } = parseArgs({
    args: argv,
    options: {
      definition: { type: 'string' },
      file: { type: 'string' },
      kubeconfig: { type: 'string' },
      config: { type: 'string' },
      'metric-selector': { type: 'string', default: '' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    print(USAGE);
    return 0;
  }
  const [namespace, name] = (values.definition ?? '').split('/');
  if (!namespace || !name) throw new UsageError(`--definition NS/NAME is required\n${USAGE}`);
  const definition = values.file
    ? await readDefinition(values.file, namespace, name)
    : await readClusterDefinition(values.kubeconfig, namespace, name);
  const config = values.config === undefined ? defaultConfig() : await loadConfigFile(values.config);
  const backends = await startBackends(
    { ...config, definitions: config.definitions && { ...config.definitions, enabled: true } },
    { flags: {}, logger: createLogger('silent'), registry: new (await import('prom-client')).Registry() },
  );
  try {
    const served = backends.definitions();
    if (!served) throw new UsageError('the config has no definitions: section');
    served.backend.upsert(definition);
    await served.backend.settled();
    const judged = served.backend.judgement(definition);
    const state = served.backend.states.get(namespace, name);
    print(`definition ${namespace}/${name}: external metric "${judged.metric}"`);
    if (judged.ok && judged.plan.kind === 'prometheus') print(`query (as it runs): ${judged.plan.query.text}`);
    print(`verdict: ${state?.reason ?? 'unknown'}: ${state?.message ?? ''}`);
    if (config.definitions?.enabled !== true) print('note: definitions.enabled is not true in this config');
    const selector = values['metric-selector'];
    const query = selector === '' ? '' : `?labelSelector=${encodeURIComponent(selector)}`;
    print(`request: GET /apis/external.metrics.k8s.io/v1beta1/namespaces/${namespace}/${judged.metric}${query}`);
    if (state?.reason !== 'Valid') return 1;
    try {
      const samples = await backends.router.getExternalMetric({
        namespace,
        metric: judged.metric,
        metricSelector: parseSelector(selector),
        deadline: deadlineOf(AbortSignal.timeout(30_000)),
      });
      print(`value: ${samples.map((s) => `${s.value} at ${s.timestamp.toISOString()}`).join(', ') || '(no items)'}`);
      return 0;
    } catch (error) {
      print(`value: none: ${(error as Error).message}`);
      return 1;
    }
  } finally {
    await backends.close();
  }
}

async function readDefinition(file: string, namespace: string, name: string): Promise<MetricDefinition> {
  const documents = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as Record<string, unknown>);
  const found = documents.find((doc) => {
    const metadata = doc?.metadata as { name?: string; namespace?: string } | undefined;
    return (
      doc?.kind === 'MetricDefinition' && metadata?.name === name && (metadata.namespace ?? namespace) === namespace
    );
  });
  if (!found) throw new UsageError(`${file} holds no MetricDefinition ${namespace}/${name}`);
  const metadata = found.metadata as Record<string, unknown>;
  return decodeDefinition({ ...found, metadata: { ...metadata, namespace } });
}

/** The definition as the adapter's watch sees it: GET from the API server with the adapter's kubeconfig loading. */
async function readClusterDefinition(
  kubeconfig: string | undefined,
  namespace: string,
  name: string,
): Promise<MetricDefinition> {
  const { transport } = clusterAccess(
    kubeconfig,
    'hpa-metrics-adapter explain --definition',
    () =>
      new UsageError(
        'explain --definition NS/NAME reads the cluster: pass --kubeconfig or set $KUBECONFIG (or check a manifest with --file)',
      ),
  );
  try {
    const path = `${collectionPath(METRIC_DEFINITIONS, namespace)}/${encodeURIComponent(name)}`;
    const response = await transport.request('GET', path);
    if (response.status === 404) throw new UsageError(`the cluster has no MetricDefinition ${namespace}/${name}`);
    if (response.status < 200 || response.status > 299) throw statusError('GET', path, response);
    return decodeDefinition(response.body);
  } finally {
    transport.close();
  }
}
