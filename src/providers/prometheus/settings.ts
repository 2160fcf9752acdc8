import { ConfigError } from '../../config/errors.js';
import type { PrometheusClientOptions } from './client.js';
import type { DiscoveryRuleConfig, PrometheusSection } from './config.js';

/** Everything the Prometheus backend is built from: the config section with the flags laid over it. */
export interface PrometheusSettings {
  client: PrometheusClientOptions;
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
 * The backend runs when a URL is configured (flag or `prometheus.url`), or when rules exist —
 * then a missing URL is a config error. Flags win over the file where both name a setting.
 */
export function resolvePrometheusSettings(
  section: PrometheusSection | undefined,
  flags: Partial<PrometheusOverrides> | undefined,
): PrometheusSettings | undefined {
  const rules = section?.rules ?? [];
  const externalRules = section?.externalRules ?? [];
  const url = flags?.prometheusUrl ?? section?.url;
  if (url === undefined) {
    if (rules.length === 0 && externalRules.length === 0) return undefined;
    throw new ConfigError(
      'field prometheus.url: the config has Prometheus rules but no Prometheus URL: pass --prometheus-url or set prometheus.url',
    );
  }
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new ConfigError(`--prometheus-url / prometheus.url: expected an http:// or https:// URL, got "${url}"`);
  }
  const clientCert = flags?.prometheusClientCert ?? section?.clientCert;
  const clientKey = flags?.prometheusClientKey ?? section?.clientKey;
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new ConfigError('--prometheus-client-cert and --prometheus-client-key must be given together');
  }
  const relistIntervalMs = flags?.metricsRelistIntervalMs ?? DEFAULT_RELIST_INTERVAL_MS;
  return {
    client: {
      url,
      timeoutMs: section?.timeout ?? DEFAULT_TIMEOUT_MS,
      tokenFile: flags?.prometheusTokenFile ?? section?.tokenFile,
      caFile: flags?.prometheusCaFile ?? section?.caFile,
      clientCert,
      clientKey,
      headers: mergeHeaders(section?.headers ?? {}, flags?.prometheusHeaders ?? []),
      verb: flags?.prometheusVerb ?? section?.verb ?? 'GET',
      ...(section?.maxResponseBytes !== undefined ? { maxResponseBytes: section.maxResponseBytes } : {}),
    },
    relistIntervalMs,
    // prometheus-adapter looks back one relist interval unless told otherwise.
    maxAgeMs: flags?.metricsMaxAgeMs ?? section?.maxAge ?? relistIntervalMs,
    rules,
    externalRules,
  };
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
