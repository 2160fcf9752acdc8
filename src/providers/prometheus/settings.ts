import type { CacheLevel } from '../../cache/config.js';
import { clip, percentDecoded } from '../../lib/text.js';
import { ConfigError } from '../../schema/errors.js';
import { type PrometheusClientOptions, redactUrl } from './client.js';
import { type PrometheusSection, type PrometheusServerConfig, SINGLE_SERVER_NAME } from './config.js';
import type { DiscoveryRuleConfig } from './rule-schema.js';
import { resolveSigV4, sigV4Signer } from './sigv4.js';

/** One Prometheus the rules query. */
export interface PrometheusServerSettings {
  /** How rules (`server:`), logs, metrics and explain name it; `default` in the single-server form. */
  name: string;
  /** Its `tenant` is already among the headers, as X-Scope-OrgID. */
  client: PrometheusClientOptions;
  /** X-Scope-OrgID of its calls, unless a rule names its own. */
  tenant?: string;
  /** The cache its answers go through: `prometheus` in the single-server form, else `prometheus:<name>`. */
  cacheName: string;
  /** Its own cache settings, over `cache.prometheus` over `cache.default`. */
  cache?: CacheLevel;
}

/** Everything the Prometheus backend is built from: the config section with the flags laid over it. */
export interface PrometheusSettings {
  /** At least one; rules without `server:` query the first. */
  servers: readonly PrometheusServerSettings[];
  relistIntervalMs: number;
  /** How far back discovery looks for series (start = now - maxAge). */
  maxAgeMs: number;
  rules: readonly DiscoveryRuleConfig[];
  externalRules: readonly DiscoveryRuleConfig[];
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RELIST_INTERVAL_MS = 60_000;

/** What the command line may set over the config file (prometheus-adapter's flag names); cli/flags.ts fills it. */
export interface PrometheusOverrides {
  prometheusUrl?: string;
  prometheusTokenFile?: string;
  prometheusCaFile?: string;
  prometheusClientCert?: string;
  prometheusClientKey?: string;
  prometheusHeaders: string[];
  prometheusVerb?: 'GET' | 'POST';
  metricsRelistIntervalMs: number;
  metricsMaxAgeMs?: number;
}

/**
 * The backend runs when a URL is configured (flag or `prometheus.url`), when `prometheus.servers`
 * lists servers, or when rules exist — then a missing URL is a config error. In the single-server
 * form flags win over the file where both name a setting; with `servers` the connection flags are
 * refused (they would have to pick a server silently).
 */
export function resolvePrometheusSettings(
  section: PrometheusSection | undefined,
  flags: Partial<PrometheusOverrides> | undefined,
): PrometheusSettings | undefined {
  const rules = section?.rules ?? [];
  const externalRules = section?.externalRules ?? [];
  const servers = section?.servers ? listedServers(section.servers, flags) : singleServer(section, flags);
  if (servers === undefined) {
    if (rules.length === 0 && externalRules.length === 0) return undefined;
    throw new ConfigError(
      'field prometheus.url: the config has Prometheus rules but no Prometheus URL: pass --prometheus-url or set prometheus.url (or prometheus.servers)',
    );
  }
  const relistIntervalMs = flags?.metricsRelistIntervalMs ?? DEFAULT_RELIST_INTERVAL_MS;
  return {
    servers,
    relistIntervalMs,
    // prometheus-adapter looks back one relist interval unless told otherwise.
    maxAgeMs: flags?.metricsMaxAgeMs ?? section?.maxAge ?? relistIntervalMs,
    rules,
    externalRules,
  };
}

type Connection = Omit<PrometheusServerConfig, 'name' | 'url' | 'cache' | 'failurePolicy'>;

function singleServer(
  section: PrometheusSection | undefined,
  flags: Partial<PrometheusOverrides> | undefined,
): PrometheusServerSettings[] | undefined {
  const url = flags?.prometheusUrl ?? section?.url;
  if (url === undefined) return undefined;
  checkUrl(url, flags?.prometheusUrl !== undefined ? '--prometheus-url' : 'field prometheus.url');
  const clientCert = flags?.prometheusClientCert ?? section?.clientCert;
  const clientKey = flags?.prometheusClientKey ?? section?.clientKey;
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new ConfigError('--prometheus-client-cert and --prometheus-client-key must be given together');
  }
  const connection: Connection = {
    ...section,
    tokenFile: flags?.prometheusTokenFile ?? section?.tokenFile,
    caFile: flags?.prometheusCaFile ?? section?.caFile,
    clientCert,
    clientKey,
    headers: mergeHeaders(section?.headers ?? {}, flags?.prometheusHeaders ?? []),
    verb: flags?.prometheusVerb ?? section?.verb,
  };
  return [
    {
      name: SINGLE_SERVER_NAME,
      client: clientOptions(url, connection, 'prometheus'),
      cacheName: 'prometheus',
      ...(connection.tenant !== undefined ? { tenant: connection.tenant } : {}),
    },
  ];
}

const CONNECTION_FLAGS: [keyof PrometheusOverrides, string][] = [
  ['prometheusUrl', '--prometheus-url'],
  ['prometheusTokenFile', '--prometheus-token-file'],
  ['prometheusCaFile', '--prometheus-ca-file'],
  ['prometheusClientCert', '--prometheus-client-cert'],
  ['prometheusClientKey', '--prometheus-client-key'],
  ['prometheusVerb', '--prometheus-verb'],
];

function listedServers(
  servers: readonly PrometheusServerConfig[],
  flags: Partial<PrometheusOverrides> | undefined,
): PrometheusServerSettings[] {
  const given = CONNECTION_FLAGS.filter(([key]) => flags?.[key] !== undefined).map(([, flag]) => flag);
  if ((flags?.prometheusHeaders ?? []).length > 0) given.push('--prometheus-header');
  if (given.length > 0) {
    throw new ConfigError(
      `field prometheus.servers: ${given.join(', ')} set${given.length === 1 ? 's' : ''} the single-server form's Prometheus; with prometheus.servers give each server's settings in the config and drop the flag`,
    );
  }
  servers.forEach((server, i) => {
    checkUrl(server.url, `field prometheus.servers[${i}].url`);
  });
  return servers.map((server, i) => ({
    name: server.name,
    client: clientOptions(server.url, server, `prometheus.servers[${i}]`),
    cacheName: `prometheus:${server.name}`,
    ...(server.tenant !== undefined ? { tenant: server.tenant } : {}),
    ...(server.cache ? { cache: server.cache } : {}),
  }));
}

/**
 * Refuses a URL the client could not use, naming `field` (a flag or a config field) and never
 * showing its password: another scheme than http(s), or user info that is not valid %-encoding.
 */
function checkUrl(url: string, field: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${field}: expected an http:// or https:// URL, got one that does not parse`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigError(`${field}: expected an http:// or https:// URL, got "${clip(redactUrl(parsed))}"`);
  }
  if (percentDecoded(parsed.username) === undefined || percentDecoded(parsed.password) === undefined) {
    throw new ConfigError(
      `${field}: the user name or password in the URL has a malformed %-escape (a literal % is written %25)`,
    );
  }
}

function clientOptions(url: string, connection: Connection, field: string): PrometheusClientOptions {
  if (connection.auth && (connection.tokenFile !== undefined || new URL(url).username !== '')) {
    throw new ConfigError(
      `field ${field}.auth: a request is signed or carries a bearer token / URL credentials, not both: drop one`,
    );
  }
  return {
    url,
    timeoutMs: connection.timeout ?? DEFAULT_TIMEOUT_MS,
    tokenFile: connection.tokenFile,
    caFile: connection.caFile,
    clientCert: connection.clientCert,
    clientKey: connection.clientKey,
    headers: withTenant(connection.headers ?? {}, connection.tenant),
    verb: connection.verb ?? 'GET',
    ...(connection.maxResponseBytes !== undefined ? { maxResponseBytes: connection.maxResponseBytes } : {}),
    ...(connection.auth ? { signer: sigV4Signer(resolveSigV4(connection.auth, url, field)) } : {}),
  };
}

/** The headers with X-Scope-OrgID set to `tenant` (any other spelling of it dropped); unchanged without one. */
export function withTenant(
  headers: Readonly<Record<string, string>>,
  tenant: string | undefined,
): Record<string, string> {
  if (tenant === undefined) return { ...headers };
  const others = Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'x-scope-orgid');
  return { ...Object.fromEntries(others), 'X-Scope-OrgID': tenant };
}

/** `--prometheus-header "Name: value"` entries over the file's `headers`; names compare case-insensitively. */
export function mergeHeaders(
  fromConfig: Readonly<Record<string, string>>,
  fromFlags: readonly string[],
): Record<string, string> {
  const merged = new Map<string, [string, string]>();
  for (const [name, value] of Object.entries(fromConfig)) merged.set(name.toLowerCase(), [name, value]);
  for (const entry of fromFlags) {
    const colon = entry.indexOf(':');
    const name = colon === -1 ? '' : entry.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new ConfigError(`--prometheus-header: expected "Name: value", got "${entry}"`);
    }
    merged.set(name.toLowerCase(), [name, entry.slice(colon + 1).trim()]);
  }
  return Object.fromEntries(merged.values());
}
