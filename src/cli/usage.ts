/**
 * `hpa-metrics-adapter --help`: every flag with its default, as the README's flags table has
 * them (a test holds the two, and the flags parseFlags accepts, together).
 */
const FLAGS: readonly [flag: string, defaultValue: string, meaning: string][] = [
  ['--config FILE', 'built-in demo', 'the YAML config file; watched, reloaded on change or SIGHUP'],
  ['--config-max-bytes SIZE', '1Mi', 'larger config files are refused unread'],
  ['--max-response-bytes-in-flight SIZE', 'a tenth of the heap limit', 'backend answers read at once; past it 503'],
  ['--secure-port PORT', '6443', 'HTTPS port (0 picks a free one)'],
  ['--bind-address ADDR', '0.0.0.0 in a cluster, 127.0.0.1 standalone', 'address to listen on'],
  ['--tls-cert-file FILE, --tls-private-key-file FILE', '', 'serving certificate (reloaded when renewed)'],
  ['--cert-dir DIR', '', 'where to keep a generated self-signed certificate'],
  ['--tls-min-version NAME', 'VersionTLS12', 'VersionTLS12 or VersionTLS13'],
  ['--tls-cipher-suites LIST', 'ECDHE AES-GCM and ChaCha20 suites', 'TLS 1.2 suites by Go name'],
  ['--max-connections N', '1000', 'open connections; when full, the oldest that sent no request yet makes room'],
  ['--requestheader-client-ca-file FILE', 'from the extension-apiserver-authentication ConfigMap', 'front-proxy CA'],
  ['--requestheader-allowed-names LIST', 'any', 'allowed CNs of the front-proxy certificate'],
  ['--requestheader-username-headers LIST', 'X-Remote-User', 'user header, trusted after the certificate'],
  ['--requestheader-group-headers LIST', 'X-Remote-Group', 'group header'],
  ['--requestheader-extra-headers-prefix LIST', 'X-Remote-Extra-', 'extra header prefix'],
  ['--client-ca-file FILE', 'from the ConfigMap', 'CA for client-certificate users'],
  ['--kubeconfig FILE (alias --lister-kubeconfig)', 'in-cluster, else $KUBECONFIG', 'the cluster'],
  [
    '--authentication-kubeconfig FILE, --authorization-kubeconfig FILE',
    '--kubeconfig',
    'for TokenReview / SubjectAccessReview',
  ],
  [
    '--authorization-always-allow-paths LIST',
    '/healthz,/livez,/readyz,/version,/openapi/v2,/openapi/v3,/openapi/v3/*,/metrics',
    'served without authentication',
  ],
  ['--standalone', 'off', 'authn/authz off, loopback only'],
  ['--metrics-port PORT', '0 (off)', 'also serve /metrics over plain HTTP'],
  ['--shutdown-delay-seconds N', '0', 'after SIGTERM, keep serving this long'],
  ['--shutdown-grace-seconds N', '25', 'then let requests finish for at most this long'],
  ['--log-level LEVEL', 'info (or $LOG_LEVEL)', 'debug logs one line per request'],
  ['--prometheus-url URL', '', 'Prometheus base URL; turns the Prometheus backend on'],
  ['--prometheus-token-file FILE, --prometheus-ca-file FILE', '', 'bearer token and CA for Prometheus'],
  ['--prometheus-client-cert FILE, --prometheus-client-key FILE', '', 'client certificate for Prometheus'],
  ['--prometheus-header "Name: value"', '', 'extra header, repeatable'],
  ['--prometheus-verb GET|POST', 'GET', 'GET posts a form by itself past 4 KiB'],
  ['--metrics-relist-interval DURATION', '1m', 'how often series are rediscovered'],
  ['--metrics-max-age DURATION', 'the relist interval', 'how far back discovery looks'],
  ['--watch-resources LIST', '*', 'resources whose metadata may be watched for labelSelector requests'],
  ['--watch-max-objects N', '150000', 'objects held per watched resource (and per LIST); past it, LIST by selector'],
  ['--watch-max-label-bytes SIZE', '32Mi', 'names and labels held per watched resource (and per LIST)'],
  [
    '--hpa-refresh all|leader|off',
    'all',
    'in a cluster, keep the metric reads of every HPA fresh in the cache on every replica (all) or on the Lease holder only (leader) (needs list/watch on horizontalpodautoscalers.autoscaling)',
  ],
  [
    '--hpa-refresh-warmup DURATION',
    '5s',
    'readiness waits at most this long for the first refresh of every HPA read; 0 does not wait',
  ],
  [
    '--leader-elect-resource-namespace NS',
    "the pod's namespace, else default",
    'where the Lease "hpa-metrics-adapter" says which replica writes MetricDefinition status',
  ],
  [
    '--leader-elect-lease-duration DURATION',
    '15s',
    'another replica writes status this long after the writer stopped renewing the Lease',
  ],
  ['-h, --help', '', 'print this help and exit'],
  ['--version', '', 'print the version and exit'],
];

export function usage(): string {
  const lines = FLAGS.map(
    ([flag, value, meaning]) => `  ${flag}\n      ${meaning}${value ? ` (default: ${value})` : ''}`,
  );
  return [
    'Usage: hpa-metrics-adapter [flags]',
    '       hpa-metrics-adapter explain [--help] ...   why a metric is (not) served',
    '',
    'Serves custom.metrics.k8s.io and external.metrics.k8s.io for HPAs from Prometheus, SQS and CloudWatch.',
    '',
    'Flags:',
    ...lines,
    '',
  ].join('\n');
}

/** Every `--name` the usage mentions. */
export function flagsInUsage(): Set<string> {
  return new Set(FLAGS.flatMap(([flag]) => [...flag.matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0])));
}
