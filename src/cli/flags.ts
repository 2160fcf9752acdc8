import { parseArgs } from 'node:util';
import { isValidQuantity, parseQuantity } from '../api/quantity.js';
import { DEFAULT_OBJECT_CAPS } from '../kube/object-caps.js';
import { DURATION_BOUND, parseDuration } from '../lib/duration.js';
import type { PrometheusOverrides } from '../providers/prometheus/settings.js';
import { FlagError } from '../schema/errors.js';
import { type TlsPolicy, TlsPolicyError, tlsPolicy } from '../server/tls-policy.js';
import type { ClusterFlags } from '../startup/cluster.js';
import type { LeaderElectionFlags } from '../startup/leader-election.js';

/** Command-line flags, named as prometheus-adapter and generic apiservers name them. */
/** Every flag, parsed; each layer below takes only its part (PrometheusOverrides, ClusterFlags). */
export interface Flags extends PrometheusOverrides, ClusterFlags, LeaderElectionFlags {
  /** --help / -h and --version: print and exit. */
  help: boolean;
  version: boolean;
  config?: string;
  /** Config files larger than this are refused unread, at start and on reload. */
  configMaxBytes: number;
  /** Bytes of backend answers read at once, process-wide; undefined: a tenth of the heap limit. */
  maxResponseBytesInFlight?: number;
  securePort: number;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  certDir?: string;
  /** --tls-min-version and --tls-cipher-suites, validated. */
  tlsPolicy: TlsPolicy;
  /** Open connections at most; when full, a newcomer takes the slot of the oldest that has sent no request. */
  maxConnections: number;
  metricsPort: number;
  shutdownGraceSeconds: number;
  shutdownDelaySeconds: number;
  logLevel: string;
}

export const DEFAULT_ALWAYS_ALLOW_PATHS = [
  '/healthz',
  '/livez',
  '/readyz',
  '/version',
  '/openapi/v2',
  '/openapi/v3',
  '/openapi/v3/*',
  '/metrics',
];

const LIST = (v: string | undefined, fallback: string[]): string[] =>
  v === undefined
    ? fallback
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

export function parseFlags(argv: readonly string[]): Flags {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new FlagError((error as Error).message);
  }
  const v = parsed.values;
  return {
    help: v.help ?? false,
    version: v.version ?? false,
    config: v.config,
    configMaxBytes: byteFlag('config-max-bytes', v['config-max-bytes'], 1024 * 1024),
    ...(v['max-response-bytes-in-flight'] !== undefined
      ? { maxResponseBytesInFlight: byteFlag('max-response-bytes-in-flight', v['max-response-bytes-in-flight'], 0) }
      : {}),
    securePort: intFlag('secure-port', v['secure-port'], 6443),
    bindAddress: v['bind-address'],
    tlsCertFile: v['tls-cert-file'],
    tlsPrivateKeyFile: v['tls-private-key-file'],
    certDir: v['cert-dir'],
    tlsPolicy: tlsPolicyFlag(v['tls-min-version'], v['tls-cipher-suites']),
    maxConnections: intFlag('max-connections', v['max-connections'], 1000),
    requestheaderClientCaFile: v['requestheader-client-ca-file'],
    requestheaderAllowedNames: LIST(v['requestheader-allowed-names'], []),
    requestheaderUsernameHeaders: LIST(v['requestheader-username-headers'], ['X-Remote-User']),
    requestheaderGroupHeaders: LIST(v['requestheader-group-headers'], ['X-Remote-Group']),
    requestheaderExtraHeadersPrefix: LIST(v['requestheader-extra-headers-prefix'], ['X-Remote-Extra-']),
    clientCaFile: v['client-ca-file'],
    kubeconfig: v.kubeconfig ?? v['lister-kubeconfig'],
    authenticationKubeconfig: v['authentication-kubeconfig'],
    authorizationKubeconfig: v['authorization-kubeconfig'],
    authorizationAlwaysAllowPaths: LIST(v['authorization-always-allow-paths'], DEFAULT_ALWAYS_ALLOW_PATHS),
    standalone: v.standalone ?? false,
    metricsPort: intFlag('metrics-port', v['metrics-port'], 0),
    shutdownGraceSeconds: intFlag('shutdown-grace-seconds', v['shutdown-grace-seconds'], 25),
    shutdownDelaySeconds: intFlag('shutdown-delay-seconds', v['shutdown-delay-seconds'], 0),
    logLevel: v['log-level'] ?? process.env.LOG_LEVEL ?? 'info',
    ...prometheusFlagsFrom(v),
    metricsRelistIntervalMs: durationFlag('metrics-relist-interval', v['metrics-relist-interval']) ?? 60_000,
    watchResources: watchResourcesFlag(v['watch-resources']),
    watchMaxObjects: positive(
      'watch-max-objects',
      intFlag('watch-max-objects', v['watch-max-objects'], DEFAULT_OBJECT_CAPS.maxObjects),
    ),
    watchMaxLabelBytes: byteFlag(
      'watch-max-label-bytes',
      v['watch-max-label-bytes'],
      DEFAULT_OBJECT_CAPS.maxLabelBytes,
    ),
    ...(v['leader-elect-resource-namespace'] ? { leaderElectNamespace: v['leader-elect-resource-namespace'] } : {}),
    leaderElectLeaseDurationMs: leaseDurationFlag(v['leader-elect-lease-duration']),
    hpaRefresh: hpaRefreshFlag(v['hpa-refresh']),
    hpaRefreshWarmupMs:
      v['hpa-refresh-warmup'] === '0' ? 0 : (durationFlag('hpa-refresh-warmup', v['hpa-refresh-warmup']) ?? 5_000),
  };
}

/** At least 3 s: the renew deadline (2/3) must leave the holder a few tries (every 2/15) before others take over. */
function leaseDurationFlag(raw: string | undefined): number {
  const ms = durationFlag('leader-elect-lease-duration', raw) ?? 15_000;
  if (ms < 3000) throw new FlagError(`--leader-elect-lease-duration: at least 3s, got "${raw}"`);
  return ms;
}

function hpaRefreshFlag(raw: string | undefined): 'all' | 'leader' | 'off' {
  if (raw === undefined || raw === 'all') return 'all';
  if (raw === 'leader' || raw === 'off') return raw;
  throw new FlagError(
    `--hpa-refresh: expected all (every replica keeps the reads of every HPA fresh), leader (only the Lease holder does, the others cache as requests come) or off, got "${raw}"`,
  );
}

/** The Prometheus flags, shared by serving and `explain` (prometheus-adapter's names). */
export const PROMETHEUS_FLAG_OPTIONS = {
  'prometheus-url': { type: 'string' },
  'prometheus-token-file': { type: 'string' },
  'prometheus-ca-file': { type: 'string' },
  'prometheus-client-cert': { type: 'string' },
  'prometheus-client-key': { type: 'string' },
  'prometheus-header': { type: 'string', multiple: true },
  'prometheus-verb': { type: 'string' },
  'metrics-relist-interval': { type: 'string' },
  'metrics-max-age': { type: 'string' },
} as const;

export type PrometheusFlagValues = Partial<Record<keyof typeof PROMETHEUS_FLAG_OPTIONS, string | string[] | boolean>>;

/** Validated Prometheus flags; throws FlagError naming the flag. The relist interval has no default here. */
export function prometheusFlagsFrom(
  values: PrometheusFlagValues,
): Pick<
  Flags,
  | 'prometheusUrl'
  | 'prometheusTokenFile'
  | 'prometheusCaFile'
  | 'prometheusClientCert'
  | 'prometheusClientKey'
  | 'prometheusHeaders'
  | 'prometheusVerb'
  | 'metricsMaxAgeMs'
> & { metricsRelistIntervalMs?: number } {
  const text = (key: keyof typeof PROMETHEUS_FLAG_OPTIONS) => {
    const value = values[key];
    return typeof value === 'string' ? value : undefined;
  };
  const headers = values['prometheus-header'];
  return {
    prometheusUrl: text('prometheus-url'),
    prometheusTokenFile: text('prometheus-token-file'),
    prometheusCaFile: text('prometheus-ca-file'),
    prometheusClientCert: text('prometheus-client-cert'),
    prometheusClientKey: text('prometheus-client-key'),
    prometheusHeaders: Array.isArray(headers) ? headers : [],
    prometheusVerb: verbFlag(text('prometheus-verb')),
    metricsRelistIntervalMs: durationFlag('metrics-relist-interval', text('metrics-relist-interval')),
    metricsMaxAgeMs: durationFlag('metrics-max-age', text('metrics-max-age')),
  };
}

const str = { type: 'string' } as const;

/** Every flag serving takes (also what --help must list). */
export const SERVE_FLAG_OPTIONS = {
  config: str,
  'config-max-bytes': str,
  'max-response-bytes-in-flight': str,
  'secure-port': str,
  'bind-address': str,
  'tls-cert-file': str,
  'tls-private-key-file': str,
  'cert-dir': str,
  'tls-min-version': str,
  'tls-cipher-suites': str,
  'max-connections': str,
  'requestheader-client-ca-file': str,
  'requestheader-allowed-names': str,
  'requestheader-username-headers': str,
  'requestheader-group-headers': str,
  'requestheader-extra-headers-prefix': str,
  'client-ca-file': str,
  kubeconfig: str,
  'lister-kubeconfig': str,
  'authentication-kubeconfig': str,
  'authorization-kubeconfig': str,
  'authorization-always-allow-paths': str,
  standalone: { type: 'boolean' },
  'metrics-port': str,
  'shutdown-grace-seconds': str,
  'shutdown-delay-seconds': str,
  'log-level': str,
  'watch-resources': str,
  'watch-max-objects': str,
  'watch-max-label-bytes': str,
  'hpa-refresh': str,
  'leader-elect-resource-namespace': str,
  'leader-elect-lease-duration': str,
  'hpa-refresh-warmup': str,
  ...PROMETHEUS_FLAG_OPTIONS,
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: false, strict: true, options: SERVE_FLAG_OPTIONS });
}

function watchResourcesFlag(raw: string | undefined): string[] {
  const resources = LIST(raw, ['*']);
  const bad = resources.find((r) => r !== '*' && !/^[a-z0-9-]+(\.[a-z0-9.-]+)?$/.test(r));
  if (bad !== undefined) {
    throw new FlagError(
      `--watch-resources: expected resources such as pods,deployments.apps (or * for any), got "${bad}"`,
    );
  }
  return resources;
}

function positive(name: string, n: number): number {
  if (n === 0) throw new FlagError(`--${name}: expected a positive integer, got 0`);
  return n;
}

function intFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535 * 1000) {
    throw new FlagError(`--${name}: expected a non-negative integer, got "${raw}"`);
  }
  return n;
}

function tlsPolicyFlag(minVersion: string | undefined, cipherSuites: string | undefined): TlsPolicy {
  try {
    return tlsPolicy(minVersion, cipherSuites === undefined ? undefined : LIST(cipherSuites, []));
  } catch (error) {
    if (error instanceof TlsPolicyError) throw new FlagError(error.message);
    throw error;
  }
}

/** A byte count: a whole number or a Kubernetes quantity such as 2Mi. */
function byteFlag(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const bytes = isValidQuantity(raw) ? parseQuantity(raw) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0)
    throw new FlagError(`--${name}: expected a positive number of bytes or a size such as 512Ki or 2Mi, got "${raw}"`);
  return bytes;
}

function durationFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0)
    throw new FlagError(`--${name}: expected a duration such as 30s, 1m or 1h30m (${DURATION_BOUND}), got "${raw}"`);
  return ms;
}

function verbFlag(raw: string | undefined): 'GET' | 'POST' | undefined {
  if (raw === undefined) return undefined;
  const upper = raw.toUpperCase();
  if (upper !== 'GET' && upper !== 'POST') throw new FlagError(`--prometheus-verb: expected GET or POST, got "${raw}"`);
  return upper;
}
