import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_RESOURCES } from '../api/builtin-resources.js';
import { ApiError } from '../api/errors.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import type { AdapterConfig } from '../config/schema.js';
import { ClusterReadError, ClusterReads } from '../hpa/cluster-reads.js';
import {
  type ControllerRequest,
  controllerRequestOfSpec,
  type NoRequest,
  requestPath,
} from '../hpa/controller-requests.js';
import { explainHpaState, type HpaExplanation, type MetricAnswer, type ScaleState } from '../hpa/hpa-explanation.js';
import { type Hpa, parseHpa } from '../hpa/hpa-spec.js';
import type { PodState } from '../hpa/metric-proposal.js';
import { ClusterResources } from '../kube/cluster-resources.js';
import { createKubeClient } from '../kube/index.js';
import { silentLogger } from '../observability/logger.js';
import type { RunningBackends } from '../startup/backends.js';
import { clusterAccess } from './cluster-access.js';
import { errorText } from './error-text.js';
import { askRouter, failureAnswersOf } from './explain-hpa-file.js';
import { hpaLine, printHpa } from './explain-hpa-print.js';
import { startRouting } from './explain-route.js';
import { PROMETHEUS_FLAG_OPTIONS, prometheusFlagsFrom } from './flags.js';

const USAGE = `usage: hpa-metrics-adapter explain hpa NAMESPACE/NAME [-o json] [--kubeconfig FILE] [--config FILE]
       hpa-metrics-adapter explain hpa -n NAMESPACE [-o json]                 one line per HPA
       hpa-metrics-adapter explain hpa --hpa-file FILE --replicas N [--config FILE] [-o json]
  What the HPA controller makes of an HPA: for each metric, the request it sends (same URL,
  labelSelector and metricSelector), the answer or its Status, the replica count the metric
  proposes under the controller's rules and the rule that decides it, why a metric is <unknown>;
  then the replica count the controller sets, which metric decides it, and the scale-to-zero traps.

  With a cluster (--kubeconfig, $KUBECONFIG or in-cluster): reads the autoscaling/v2 HPA, its
  target's scale subresource and the pods, and asks through kube-apiserver as the controller does.
  --config FILE also checks each metric's failure policy in the adapter's config.

  --hpa-file FILE     an autoscaling/v2 HPA manifest, checked without a cluster against the
                      backends of --config (default: the built-in demo config)
  --replicas N        the target's current replicas for --hpa-file (default 1)
  --namespace NS      the HPA's namespace for --hpa-file (default: its metadata.namespace, else default)
  --selector SEL      the target's pod selector for --hpa-file Pods metrics (default: none)
  -o json             the explanation as JSON

exit status: 0 when every metric has a proposal, 1 when one is <unknown>, 2 on usage or config
errors, 3 when the cluster cannot be read`;

type Print = (line?: string) => void;

class UsageError extends Error {}
class ClusterUnreadable extends Error {}

const CLUSTER_UNREADABLE = 3;

/** `hpa-metrics-adapter explain hpa …`: resolves to the process exit status. */
export async function runExplainHpa(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const print: Print = (line = '') => {
    out.write(`${line}\n`);
  };
  try {
    const args = parseHpaArgs(argv);
    if (args.help) {
      print(USAGE);
      return 0;
    }
    const config =
      args.config === undefined ? (args.hpaFile ? defaultConfig() : undefined) : await loadConfigFile(args.config);
    const explanations = args.hpaFile
      ? [await explainHpaFile(args.hpaFile, args, config ?? defaultConfig())]
      : await explainInCluster(args, config);
    if (args.json) print(JSON.stringify(args.list ? explanations : explanations[0], null, 2));
    else if (args.list) {
      if (explanations.length === 0) print(`no HorizontalPodAutoscaler in namespace ${args.list}`);
      for (const explanation of explanations)
        print(
          'error' in explanation ? `${explanation.name}  cannot be read: ${explanation.error}` : hpaLine(explanation),
        );
    } else for (const explanation of explanations) if (!('error' in explanation)) printHpa(explanation, print);
    if (explanations.some((e) => 'error' in e)) return CLUSTER_UNREADABLE;
    return explanations.some((e) => !('error' in e) && e.metrics.some((m) => m.cause !== undefined)) ? 1 : 0;
  } catch (error) {
    out.write(errorText('explain hpa', error));
    if (error instanceof UsageError) print(USAGE);
    return error instanceof ClusterUnreadable ? CLUSTER_UNREADABLE : 2;
  }
}

function parseHpaArgs(argv: string[]) {
  const str = { type: 'string' } as const;
  let parsed: ReturnType<typeof parse>;
  const parse = (args: string[]) =>
    parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o' },
        kubeconfig: str,
        config: str,
        'hpa-file': str,
        replicas: str,
        selector: str,
        help: { type: 'boolean', short: 'h' },
        ...PROMETHEUS_FLAG_OPTIONS,
      },
    });
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.output !== undefined && v.output !== 'json')
    throw new UsageError(`-o: only json is supported, got "${v.output}"`);
  const [target, ...extra] = parsed.positionals;
  if (extra.length > 0) throw new UsageError(`one HPA at most, got ${parsed.positionals.join(' ')}`);
  const hpaFile = v['hpa-file'];
  let hpa: { namespace: string; name: string } | undefined;
  if (target !== undefined) {
    const match = /^([^/]+)\/([^/]+)$/.exec(target);
    if (!match) throw new UsageError(`expected NAMESPACE/NAME, got "${target}"`);
    hpa = { namespace: match[1] ?? '', name: match[2] ?? '' };
  }
  const help = v.help === true;
  if (!help && hpaFile === undefined && !hpa && v.namespace === undefined) {
    throw new UsageError('name an HPA (NAMESPACE/NAME), a namespace (-n NAMESPACE) or a file (--hpa-file)');
  }
  if (hpaFile !== undefined && hpa) throw new UsageError('--hpa-file and NAMESPACE/NAME exclude each other');
  const replicas = v.replicas === undefined ? 1 : Number(v.replicas);
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > 2 ** 31 - 1) {
    throw new UsageError(`--replicas: expected a whole number of replicas, got "${v.replicas}"`);
  }
  let prometheus: ReturnType<typeof prometheusFlagsFrom>;
  try {
    prometheus = prometheusFlagsFrom(v);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  return {
    help,
    json: v.output === 'json',
    hpa,
    list: hpa === undefined && hpaFile === undefined ? v.namespace : undefined,
    namespace: v.namespace,
    hpaFile,
    replicas,
    selector: v.selector ?? '',
    kubeconfig: v.kubeconfig,
    config: v.config,
    prometheus,
  };
}

type HpaArgs = ReturnType<typeof parseHpaArgs>;

/** With -n, an HPA whose target cannot be read is one line saying why, among the others. */
type Explained = HpaExplanation | { namespace: string; name: string; error: string };

async function explainInCluster(args: HpaArgs, config: AdapterConfig | undefined): Promise<Explained[]> {
  const { kubeConfig, transport } = clusterAccess(
    args.kubeconfig,
    'hpa-metrics-adapter explain hpa',
    () =>
      new UsageError(
        'explain hpa NAMESPACE/NAME reads the cluster: pass --kubeconfig or set $KUBECONFIG (or check a manifest with --hpa-file)',
      ),
  );
  const discovery = createKubeClient(kubeConfig);
  const resources = new ClusterResources({
    kube: discovery,
    logger: silentLogger(),
    skipGroups: ['custom.metrics.k8s.io', 'external.metrics.k8s.io'],
    intervalMs: 3_600_000,
  });
  const running = config ? await startRouting(config, args.prometheus, () => new Date()) : undefined;
  try {
    await resources.refresh();
    const reads = new ClusterReads(transport, resources);
    const customVersion = await reads.customVersion();
    const hpas = args.hpa
      ? [{ namespace: args.hpa.namespace, hpa: await reads.readHpa(args.hpa.namespace, args.hpa.name) }]
      : (await reads.listHpas(args.list ?? 'default')).map((hpa) => ({ namespace: args.list ?? 'default', hpa }));
    const explanations: Explained[] = [];
    for (const { namespace, hpa } of hpas) {
      try {
        const scale = await reads.readScale(namespace, hpa.spec.scaleTargetRef);
        const requests = requestsOf(hpa, namespace, resources);
        // The controller stops at an empty selector ("selector is required"); there are no pods to list then.
        const pods = scale.selector === '' ? [] : await reads.listPods(namespace, scale.selector);
        const sent = { podSelector: scale.selector, customVersion };
        const answers = await Promise.all(
          requests.map((r) => (r.kind === 'none' ? undefined : reads.ask(requestPath(r, sent)))),
        );
        explanations.push(explainWith(hpa, namespace, scale, pods, requests, answers, config, running, customVersion));
      } catch (error) {
        // One HPA whose target cannot be read does not hide the others of the namespace.
        if (!args.list || !(error instanceof ClusterReadError || error instanceof ApiError)) throw error;
        explanations.push({ namespace, name: hpa.metadata.name, error: error.message });
      }
    }
    return explanations;
  } catch (error) {
    if (error instanceof ClusterReadError || error instanceof ApiError) throw new ClusterUnreadable(error.message);
    throw error;
  } finally {
    await running?.close();
    await resources.close();
    discovery.close();
    transport.close();
  }
}

async function explainHpaFile(path: string, args: HpaArgs, config: AdapterConfig): Promise<HpaExplanation> {
  let document: unknown;
  try {
    document = parseYaml(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--hpa-file ${path}: ${(error as Error).message}`);
  }
  const hpa = parseHpa(document, `--hpa-file ${path}`);
  const namespace = args.namespace ?? hpa.metadata.namespace ?? 'default';
  const scale: ScaleState = { specReplicas: args.replicas, statusReplicas: args.replicas, selector: args.selector };
  const running = await startRouting(config, args.prometheus, () => new Date());
  try {
    const requests = requestsOf(hpa, namespace, BUILTIN_RESOURCES);
    const answers = await Promise.all(
      requests.map((r) => (r.kind === 'none' ? undefined : askRouter(running.router, r, args.selector))),
    );
    const pods = podsFor(
      hpa,
      args.replicas,
      answers.filter((_, i) => requests[i]?.kind === 'pods'),
    );
    return explainWith(hpa, namespace, scale, pods, requests, answers, config, running);
  } finally {
    await running.close();
  }
}

function requestsOf(hpa: Hpa, namespace: string, resources: ResourceResolver): (ControllerRequest | NoRequest)[] {
  return (hpa.spec.metrics ?? []).map((spec) =>
    controllerRequestOfSpec(namespace, hpa.spec.scaleTargetRef, spec, resources),
  );
}

function explainWith(
  hpa: Hpa,
  namespace: string,
  scale: ScaleState,
  pods: readonly PodState[],
  requests: readonly (ControllerRequest | NoRequest)[],
  answers: readonly (MetricAnswer | undefined)[],
  config: AdapterConfig | undefined,
  running: RunningBackends | undefined,
  customVersion?: string,
): HpaExplanation {
  const failureAnswers = requests.map((r) =>
    r.kind === 'none' || !config || !running ? undefined : failureAnswersOf(config, running.router, r),
  );
  return explainHpaState({
    hpa,
    namespace,
    scale,
    pods,
    requests,
    answers,
    failureAnswers,
    ...(customVersion ? { customVersion } : {}),
  });
}

/**
 * Without a cluster there are no pods to list: the target's replicas stand in, Running and Ready,
 * named as the Pods metrics' answers name them (so those count as pods with metrics).
 */
function podsFor(hpa: Hpa, replicas: number, podsAnswers: readonly (MetricAnswer | undefined)[]): PodState[] {
  const named = [
    ...new Set(podsAnswers.flatMap((a) => (a?.items ?? []).flatMap((item) => (item.name ? [item.name] : [])))),
  ];
  return Array.from({ length: replicas }, (_, i) => ({
    name: named[i] ?? `${hpa.spec.scaleTargetRef.name}-${i}`,
    phase: 'Running' as const,
    ready: true,
    deleting: false,
  }));
}
