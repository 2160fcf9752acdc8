import { runAtOnce, runInTurns } from '../../lib/turn-slicer.js';
import { ConfigError } from '../../schema/errors.js';
import { listSeries, type Series } from './announced-metrics.js';
import type { PrometheusClient } from './client.js';
import type { DiscoveryRuleConfig } from './rule-schema.js';
import type { CompiledRule } from './rules.js';
import { type PrometheusServerSettings, type PrometheusSettings, withTenant } from './settings.js';

/**
 * Where each rule's queries go: a server, and the X-Scope-OrgID they carry (the rule's `tenant`,
 * else its server's). One source per distinct pair, each with its own client, so a tenant is a
 * header of the connection and never of a single call.
 */
export interface RuleSource {
  /** '' for the first server's own tenant, else `<server>\n<tenant>`: prefixes cache and discovery keys. */
  key: string;
  server: PrometheusServerSettings;
  /** Set when a rule names a tenant other than its server's. */
  tenant?: string;
  client: PrometheusClient;
  rules: CompiledRule[];
}

export interface RuleSources {
  /** In the order of the servers, each server's own tenant first. */
  all: readonly RuleSource[];
  of(rule: CompiledRule): RuleSource;
  /** The key of a rule's series in the map `listSources` answers, and `buildDiscovery` reads. */
  seriesKey(rule: CompiledRule): string;
}

type ClientFor = (server: PrometheusServerSettings, options: PrometheusServerSettings['client']) => PrometheusClient;

/**
 * `rules` are `settings.rules` then `settings.externalRules`, compiled in that order (compileRules).
 * `clientFor` builds a source's client from its server's options with the tenant's header set.
 */
export function ruleSources(
  settings: PrometheusSettings,
  rules: readonly CompiledRule[],
  clientFor: ClientFor,
): RuleSources {
  return runAtOnce(sourceBuilds(settings, rules, clientFor));
}

/** ruleSources between event-loop turns: 500 servers' clients were built in one. */
export function ruleSourcesInTurns(
  settings: PrometheusSettings,
  rules: readonly CompiledRule[],
  clientFor: ClientFor,
  slice: () => Promise<void> | undefined,
): Promise<RuleSources> {
  return runInTurns(sourceBuilds(settings, rules, clientFor), slice);
}

/** ruleSources' steps: a server's own source (its client), then a rule (and any tenant's client) each. */
function* sourceBuilds(
  settings: PrometheusSettings,
  rules: readonly CompiledRule[],
  clientFor: ClientFor,
): Generator<void, RuleSources> {
  const configs: readonly DiscoveryRuleConfig[] = [...settings.rules, ...settings.externalRules];
  const [first] = settings.servers;
  const serversByName = new Map(settings.servers.map((server) => [server.name, server]));
  const byKey = new Map<string, RuleSource>();
  const bySource = new Map<CompiledRule, RuleSource>();
  const sourceFor = (server: PrometheusServerSettings, tenant: string | undefined): RuleSource => {
    const own = tenant === undefined;
    const key = own && server === first ? '' : `${server.name}\n${tenant ?? ''}`;
    let source = byKey.get(key);
    if (!source) {
      const options = own
        ? server.client
        : { ...server.client, headers: withTenant(server.client.headers ?? {}, tenant) };
      source = { key, server, ...(own ? {} : { tenant }), client: clientFor(server, options), rules: [] };
      byKey.set(key, source);
    }
    return source;
  };
  // Every server's own source exists, rules or not, so each is listed and named in logs and explain.
  for (const server of settings.servers) {
    sourceFor(server, undefined);
    yield;
  }
  for (const [i, rule] of rules.entries()) {
    const config = configs[i];
    const server = config?.server === undefined ? first : serversByName.get(config.server);
    // The config schema refuses both; settings built by hand meet them here.
    if (!server) throw new ConfigError(`field prometheus.${rule.id}.server: no server is named "${config?.server}"`);
    const tenant = config?.tenant === undefined || config.tenant === server.tenant ? undefined : config.tenant;
    const source = sourceFor(server, tenant);
    source.rules.push(rule);
    bySource.set(rule, source);
    yield;
  }
  const of = (rule: CompiledRule): RuleSource => {
    const source = bySource.get(rule);
    if (!source) throw new Error(`${rule.id} is not a rule of these settings`);
    return source;
  };
  return {
    all: [...byKey.values()],
    of,
    seriesKey: (rule) => seriesKey(of(rule), rule.seriesQuery),
  };
}

export function seriesKey(source: RuleSource, seriesQuery: string): string {
  return source.key === '' ? seriesQuery : `${source.key}\n${seriesQuery}`;
}

/** Each source's distinct seriesQuery run once against its server, keyed by `seriesKey`. */
export async function listSources(
  sources: readonly RuleSource[],
  window: { start: Date; end: Date },
  signal?: AbortSignal,
): Promise<Map<string, Series[] | Error>> {
  const found = new Map<string, Series[] | Error>();
  const lists = await Promise.all(sources.map((source) => listSeries(source.client, source.rules, window, signal)));
  sources.forEach((source, i) => {
    for (const [query, result] of lists[i] ?? []) found.set(seriesKey(source, query), result);
  });
  return found;
}
