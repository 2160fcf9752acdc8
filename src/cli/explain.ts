import { parseArgs } from 'node:util';
import { BUILTIN_RESOURCES } from '../api/builtin-resources.js';
import { formatGroupResource, parseGroupResource } from '../api/resources.js';
import { parseSelector } from '../api/selector.js';
import { describeFreshness, resolveCacheSettings } from '../cache/config.js';
import { defaultConfig, loadConfigFile } from '../config/load.js';
import { type ClosableKubeClient, createKubeClient, loadKubeConfig } from '../kube/index.js';
import { LIST_PRICES } from '../providers/aws/cost.js';
import { buildDiscovery } from '../providers/prometheus/announced-metrics.js';
import { compileRules } from '../providers/prometheus/backend.js';
import { createPrometheusClient } from '../providers/prometheus/client.js';
import { resourceRulesOf } from '../providers/prometheus/config.js';
import {
  explainMetric,
  type MetricQuestion,
  printDiscovery,
  type RuleServers,
} from '../providers/prometheus/explain.js';
import { listSources, type RuleSources, ruleSources } from '../providers/prometheus/rule-sources.js';
import { seriesHoldMs } from '../providers/prometheus/series-discovery-hold.js';
import { type PrometheusServerSettings, resolvePrometheusSettings } from '../providers/prometheus/settings.js';
import type { BackendRouter } from '../providers/router.js';
import { ConfigError } from '../schema/errors.js';
import { errorText } from './error-text.js';
import { explainAwsMetric } from './explain-aws.js';
import { completeQuestion, explainRoute, explainServedValue, startRouting } from './explain-route.js';
import { PROMETHEUS_FLAG_OPTIONS, type PrometheusFlagValues, prometheusFlagsFrom } from './flags.js';

/** The backends whose answers go through a QueryCache: explain prints how fresh they are. */
const CACHED_BACKENDS: ReadonlySet<string> = new Set(['prometheus', 'sqs', 'cloudwatch']);

const USAGE = `usage: hpa-metrics-adapter explain [--config FILE] [--prometheus-url URL] [METRIC]
       hpa-metrics-adapter explain hpa ...   what the HPA controller makes of an HPA (explain hpa --help)
       hpa-metrics-adapter explain --definition NS/NAME [--file MANIFEST]   a MetricDefinition under the policy (from the cluster without --file)
  Prints, per Prometheus rule, the series its seriesQuery finds and the metrics and resources
  derived from them, and what the other backends announce. For METRIC, first where a request
  for it goes, asked of the same router serving uses (an upstream, one of our backends, or the
  404/503 a request gets); then for Prometheus the exact PromQL a request runs and the value it
  returns, for SQS and CloudWatch the AWS request(s) and cost, for static metrics the value.

  --config FILE                  the adapter's (or prometheus-adapter's) config file
                                 (default: the built-in demo config, as serving without --config)
  --prometheus-url URL           and --prometheus-token-file, --prometheus-ca-file,
                                 --prometheus-client-cert, --prometheus-client-key,
                                 --prometheus-header "Name: value", --prometheus-verb as for serving
  --metrics-max-age DURATION     how far back to look for series (default: relist interval, 1m)
  --resource RESOURCE            custom metric: which resource (pods, services, deployments.apps …)
  --namespace NS                 the object's namespace; for external metrics the HPA's namespace
  --name NAME[,NAME…]            the object(s); default: one found in the series
  --selector SELECTOR            custom metric: objects by label selector (needs --kubeconfig or $KUBECONFIG)
  --metric-selector SELECTOR     metricLabelSelector (custom) or labelSelector (external)
  --external                     explain METRIC as an external metric
  --time RFC3339                 evaluate at this time instead of now
  --all                          list every series name per rule (default: the first 50; with
                                 METRIC only the series that would be named METRIC)
  --kubeconfig FILE              cluster to list objects for --selector

  For an SQS or CloudWatch METRIC (no Prometheus needed): the AWS request(s) one read makes, the
  value AWS answers (credentials and region as for serving), and an estimate of what it costs:
  --replicas N                   adapter replicas, each with its own cache (default 2, as deployed)
  --hpa-refresh all|leader|off   as the adapter runs: all (its default) counts every replica refreshing every key an HPA uses,
                                 leader the Lease holder refreshing and the others reading as polls reach them
  --sqs-price DOLLARS            per million SQS requests (default 0.40, the list price)
  --cloudwatch-price DOLLARS     per 1,000 CloudWatch metrics requested (default 0.01, the list price)

exit status: 0 when the metric has data or is forwarded to an upstream (or no METRIC was asked), 1 when it has
none, 2 on usage or config errors, 3 when Prometheus (or a source that may serve METRIC) cannot be reached, so
nothing can be said about the metric`;

/** `hpa-metrics-adapter explain …`: resolves to the process exit status. */
export async function runExplain(argv: string[], out: NodeJS.WritableStream): Promise<number> {
  const print = (line = '') => {
    out.write(`${line}\n`);
  };
  if (argv[0] === 'hpa') return (await import('./explain-hpa.js')).runExplainHpa(argv.slice(1), out);
  if (argv.some((arg) => arg === '--definition' || arg.startsWith('--definition=')))
    return (await import('./explain-definition.js')).runExplainDefinition(argv, out);
  let kube: ClosableKubeClient | undefined;
  try {
    const args = parseExplainArgs(argv);
    if (args.help) {
      print(USAGE);
      return 0;
    }
    const config = args.config === undefined ? defaultConfig() : await loadConfigFile(args.config);
    if (args.selector !== undefined) {
      const loaded = loadKubeConfig(args.kubeconfig, { flag: '--kubeconfig' });
      if (!loaded)
        throw new UsageError('--selector lists objects from a cluster: pass --kubeconfig or set $KUBECONFIG');
      kube = createKubeClient(loaded.kubeConfig);
    }
    const settings = resolvePrometheusSettings(config.prometheus, args.prometheus);
    const time = args.time === undefined ? new Date() : parseTime(args.time);
    const running = await startRouting(config, args.prometheus, () => time);
    try {
      if (args.metric === undefined) {
        printOtherBackends(running.router, print);
        if (!settings) return 0;
      } else {
        const resource = args.resource === undefined ? undefined : parseGroupResource(args.resource, BUILTIN_RESOURCES);
        const question = completeQuestion(running.router, {
          metric: args.metric,
          external: args.external,
          ...(resource ? { resource } : {}),
        });
        const route = explainRoute(running, question, print);
        if ('upstream' in route) return 0;
        if ('backend' in route && CACHED_BACKENDS.has(route.backend))
          print(describeFreshness(resolveCacheSettings(config.cache, route.backend)));
        print();
        // Not served: the Prometheus report below says which series came near, or what is down.
        if ('error' in route) {
          if (!settings) return route.error.reason === 'ServiceUnavailable' ? PROMETHEUS_UNREACHABLE : 1;
        } else if (route.backend === 'sqs' || route.backend === 'cloudwatch') {
          const aws = {
            metric: args.metric,
            namespace: args.namespace ?? 'default',
            metricSelector: args.metricSelector ?? '',
            replicas: args.replicas,
            prices: args.prices,
            hpaRefresh: args.hpaRefresh,
          };
          return (await explainAwsMetric(config, route.backend, aws, print)) ? 0 : 1;
        } else if (route.backend !== 'prometheus' || !settings) {
          const value = {
            ...question,
            metricSelector: args.metricSelector ?? '',
            ...(args.namespace === undefined ? {} : { namespace: args.namespace }),
            ...(args.name === undefined ? {} : { names: args.name.split(',').filter((n) => n !== '') }),
            ...(args.selector === undefined ? {} : { objectSelector: args.selector }),
          };
          return (await explainServedValue(running.router, value, print)) ? 0 : 1;
        }
      }
    } finally {
      await running.close();
    }
    if (!settings) throw new ConfigError('no Prometheus is configured: pass --prometheus-url or set prometheus.url');
    const rules = compileRules(settings, BUILTIN_RESOURCES);
    const sources = ruleSources(settings, rules, (_server, options) => createPrometheusClient(options));
    try {
      // As the adapter's first relist looks back: over the whole series hold.
      const start = new Date(time.getTime() - seriesHoldMs(settings));
      const several = settings.servers.length > 1;
      for (const server of settings.servers) {
        const named = several ? ` (server ${server.name})` : '';
        print(
          `Prometheus ${urlOf(sources, server.name)}${named}: series seen between ${start.toISOString()} and ${time.toISOString()}`,
        );
      }
      const resourceRules = resourceRulesOf(config);
      if (resourceRules) print(`${resourceRules.field}: served as metrics.k8s.io (v1 and v1beta1), pods and nodes`);
      print();
      const answers = await listSources(sources.all, { start, end: time });
      const answersOf = (server: PrometheusServerSettings) =>
        sources.all
          .filter((source) => source.server === server)
          .flatMap((source) => source.rules.map((rule) => answers.get(sources.seriesKey(rule))));
      const unreachable = settings.servers.filter((server) => {
        const own = answersOf(server);
        return own.length > 0 && own.every((answer) => answer instanceof Error);
      });
      for (const server of unreachable) {
        const failed = answersOf(server).find((answer) => answer instanceof Error);
        const who = several ? `server ${server.name} at ${urlOf(sources, server.name)}` : urlOf(sources, server.name);
        // Not "not announced by any rule": nothing is known about its metrics.
        print(`explain: Prometheus at ${who} cannot be reached, so no rule could discover series: ${failed?.message}`);
      }
      if (unreachable.length > 0 && unreachable.length === settings.servers.length) return PROMETHEUS_UNREACHABLE;
      const discovery = buildDiscovery(rules, answers, sources.seriesKey);
      const servers: RuleServers = {
        client: (rule) => sources.of(rule).client,
        describe(rule) {
          const source = sources.of(rule);
          const tenant = source.tenant === undefined ? '' : `, X-Scope-OrgID ${source.tenant}`;
          if (!several && tenant === '') return undefined;
          return `${source.server.name} ${urlOf(sources, source.server.name)}${tenant}`;
        },
      };
      printDiscovery(
        discovery,
        print,
        {
          limit: args.all ? Number.POSITIVE_INFINITY : 50,
          ...(args.metric === undefined ? {} : { metric: args.metric }),
        },
        servers,
      );
      if (args.metric === undefined) return 0;
      print();
      const question: MetricQuestion = {
        metric: args.metric,
        external: args.external,
        metricSelector: parseSelector(args.metricSelector ?? ''),
        time,
        ...(args.resource === undefined ? {} : { resource: parseGroupResource(args.resource, BUILTIN_RESOURCES) }),
        ...(args.namespace === undefined ? {} : { namespace: args.namespace }),
        ...(args.name === undefined ? {} : { names: args.name.split(',').filter((n) => n !== '') }),
        ...(args.selector === undefined ? {} : { objectSelector: parseSelector(args.selector) }),
      };
      return (await explainMetric(question, discovery, servers, kube, print)) ? 0 : 1;
    } finally {
      for (const source of sources.all) source.client.close();
    }
  } catch (error) {
    out.write(errorText('explain', error));
    if (error instanceof UsageError) print(USAGE);
    return 2;
  } finally {
    kube?.close();
  }
}

class UsageError extends Error {}

/** A server's URL as its client shows it (without credentials). */
function urlOf(sources: RuleSources, server: string): string {
  return sources.all.find((s) => s.server.name === server)?.client.url ?? '';
}

/** Distinct from 1 ("no data"): scripts must not read an outage as a missing metric. */
const PROMETHEUS_UNREACHABLE = 3;

function parseExplainArgs(argv: string[]) {
  const str = { type: 'string' } as const;
  let parsed: ReturnType<
    typeof parseArgs<{
      options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;
      allowPositionals: true;
      strict: true;
    }>
  >;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: str,
        ...PROMETHEUS_FLAG_OPTIONS,
        resource: str,
        namespace: str,
        name: str,
        selector: str,
        'metric-selector': str,
        external: { type: 'boolean' },
        time: str,
        kubeconfig: str,
        all: { type: 'boolean' },
        help: { type: 'boolean' },
        replicas: str,
        'hpa-refresh': str,
        'sqs-price': str,
        'cloudwatch-price': str,
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (parsed.positionals.length > 1) throw new UsageError(`one METRIC at most, got ${parsed.positionals.join(' ')}`);
  if (v.name !== undefined && v.selector !== undefined)
    throw new UsageError('--name and --selector exclude each other');
  const text = (key: string) => (typeof v[key] === 'string' ? (v[key] as string) : undefined);
  return {
    help: v.help === true,
    all: v.all === true,
    metric: parsed.positionals[0],
    config: text('config'),
    prometheus: prometheusFlags(v),
    resource: text('resource'),
    namespace: text('namespace'),
    name: text('name'),
    selector: text('selector'),
    metricSelector: text('metric-selector'),
    external: v.external === true,
    time: text('time'),
    kubeconfig: text('kubeconfig'),
    replicas: positiveNumber('--replicas', text('replicas'), 2),
    hpaRefresh: hpaRefreshOf(text('hpa-refresh')),
    prices: {
      sqsPerMillionRequests: positiveNumber('--sqs-price', text('sqs-price'), LIST_PRICES.sqsPerMillionRequests),
      cloudWatchPerThousandMetrics: positiveNumber(
        '--cloudwatch-price',
        text('cloudwatch-price'),
        LIST_PRICES.cloudWatchPerThousandMetrics,
      ),
    },
  };
}

function hpaRefreshOf(raw: string | undefined): 'all' | 'leader' | 'off' {
  if (raw === undefined) return 'all';
  if (raw === 'all' || raw === 'leader' || raw === 'off') return raw;
  throw new UsageError(`--hpa-refresh: expected all, leader or off, got "${raw}"`);
}

function positiveNumber(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag}: expected a positive number, got "${raw}"`);
  return value;
}

function prometheusFlags(values: PrometheusFlagValues) {
  try {
    return prometheusFlagsFrom(values);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function parseTime(raw: string): Date {
  const time = /^\d+(\.\d+)?$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  if (Number.isNaN(time.getTime())) throw new UsageError(`--time: expected RFC 3339 or Unix seconds, got "${raw}"`);
  return time;
}

/** Without METRIC: what the backends other than Prometheus (whose rules are reported below) announce. */
function printOtherBackends(router: BackendRouter, print: (line?: string) => void): void {
  for (const backend of router.current) {
    if (backend.name === 'prometheus') continue;
    const external = backend.external?.listExternalMetrics().map((m) => m.metric) ?? [];
    const custom =
      backend.custom?.listCustomMetrics().map((m) => `${formatGroupResource(m.resource)}/${m.metric}`) ?? [];
    print(`${backend.name} backend: external metrics (${external.length}): ${external.join(', ') || 'none'}`);
    print(`${backend.name} backend: custom metrics (${custom.length}): ${custom.join(', ') || 'none'}`);
  }
}
