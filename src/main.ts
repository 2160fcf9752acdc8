#!/usr/bin/env node
import { errorText } from './cli/error-text.js';
import { parseFlags } from './cli/flags.js';
import { defaultConfig, loadConfigFile } from './config/load.js';
import { ConfigReloader } from './config/reloader.js';
import { configureProcessResponseBudget } from './io/response-budget.js';
import type { LeaseElector } from './kube/lease-elector.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createAdapterMetrics } from './observability/metrics.js';
import { routeProcessWarnings } from './observability/process-warnings.js';
import { ConfigError, FlagError } from './schema/errors.js';
import { createApp } from './server/app.js';
import { watchServingCertificate } from './server/certificate-watcher.js';
import { serveMetrics } from './server/metrics-listener.js';
import { serveHttps } from './server/serve.js';
import { loadServingCertificate } from './server/tls.js';
import { startBackends } from './startup/backends.js';
import { clusterAccess } from './startup/cluster.js';
import type { RunningDefinitionStatus } from './startup/definition-status.js';
import { readVersionInfo } from './version.js';

async function main(argv: readonly string[]): Promise<void> {
  // Read before anything can yield: a wrapper killed the moment we log "serving" would otherwise
  // already have left us to PID 1, and a parent of 1 would then look like one that never went.
  const parent = process.ppid;
  if (argv[0] === 'explain') {
    routeProcessWarnings((warning) => process.stderr.write(`explain: ${warning.message}\n`));
    const { runExplain } = await import('./cli/explain.js');
    process.exit(await runExplain(argv.slice(1), process.stdout));
  }
  const flags = parseFlags(argv);
  if (flags.help || flags.version) {
    if (flags.help) process.stdout.write((await import('./cli/usage.js')).usage());
    else process.stdout.write(`hpa-metrics-adapter ${readVersionInfo().version}\n`);
    return;
  }
  const logger = createLogger(flags.logLevel);
  routeProcessWarnings((warning) => logger.warn({ warning: warning.name, code: warning.code }, warning.message));
  const version = readVersionInfo();
  const metrics = createAdapterMetrics();
  configureProcessResponseBudget(flags.maxResponseBytesInFlight, metrics.registry);
  const config = flags.config ? await loadConfigFile(flags.config, flags.configMaxBytes) : defaultConfig();
  if (!flags.config) logger.info('no --config given: serving the built-in demo configuration (static metrics)');

  const cluster = await clusterAccess(flags, logger, metrics.registry);
  const backends = await startBackends(config, {
    flags,
    logger,
    registry: metrics.registry,
    kube: cluster.objects,
    resources: cluster.resources,
    ...(cluster.kubeTransport ? { kubeTransport: cluster.kubeTransport } : {}),
  });

  // One candidate for the adapter's Lease per process, started by the first duty that needs it:
  // its holder writes definition status and, with --hpa-refresh=leader, refreshes HPA reads.
  let elector: LeaseElector | undefined;
  const leaderElection = async (transport: NonNullable<typeof cluster.kubeTransport>) => {
    elector ??= (await import('./startup/leader-election.js')).startLeaderElection(transport, flags, logger);
    return elector;
  };

  const hpaRefresh = cluster.hpas
    ? new (await import('./refresh/hpa-refresher.js')).HpaRefresher({
        hpas: cluster.hpas,
        provider: backends.router,
        resources: cluster.resources,
        targetSelector: cluster.hpas.targetSelector,
        ...(flags.hpaRefresh === 'leader' && cluster.kubeTransport
          ? { leadership: await leaderElection(cluster.kubeTransport) }
          : {}),
        logger,
        registry: metrics.registry,
      })
    : undefined;
  hpaRefresh?.start();

  // MetricDefinition status: one replica at a time writes it (the Lease holder); started once a
  // config (at start or reloaded) turned definitions on.
  let definitionStatus: RunningDefinitionStatus | undefined;
  const startDefinitionStatusOnce = async () => {
    const runningDefinitions = backends.definitions();
    if (definitionStatus || !runningDefinitions || !cluster.kubeTransport) return;
    definitionStatus = (await import('./startup/definition-status.js')).startDefinitionStatus({
      transport: cluster.kubeTransport,
      states: runningDefinitions.backend.states,
      ...(cluster.hpas ? { hpas: cluster.hpas } : {}),
      elector: await leaderElection(cluster.kubeTransport),
      logger,
      registry: metrics.registry,
    });
  };
  await startDefinitionStatusOnce();

  let ready = false;
  const app = createApp({
    provider: backends.router,
    forwarding: backends.upstreams,
    resourceMetrics: backends.resourceMetrics,
    resources: cluster.resources,
    auth: cluster.auth,
    metrics,
    logger,
    version,
    readiness: { isReady: () => ready },
  });
  const certificate = await loadServingCertificate(flags);
  const running = await serveHttps({
    app,
    certificate,
    clientCaPem: cluster.auth?.clientCaPem ?? [],
    host: cluster.host,
    port: flags.securePort,
    logger,
    tlsPolicy: flags.tlsPolicy,
    maxConnections: flags.maxConnections,
    registry: metrics.registry,
  });
  const metricsListener =
    flags.metricsPort > 0 ? await serveMetrics(metrics.registry, cluster.host, flags.metricsPort) : undefined;
  const certificateWatcher = watchServingCertificate(flags, running.updateCertificate, logger);
  cluster.onClientCaChange((pem) => {
    try {
      running.updateClientCa(pem);
      logger.info({ authorities: pem.length }, 'client CA bundle changed; new connections use it');
    } catch (error) {
      logger.error(
        { err: (error as Error).message },
        'client CA bundle changed but TLS cannot use it; new connections keep the previous one',
      );
    }
  });
  if (hpaRefresh && flags.hpaRefreshWarmupMs > 0) {
    // A replica that just started (or took over) answers the first poll of every HPA from cache.
    const started = Date.now();
    const warm = await hpaRefresh.warmUp(flags.hpaRefreshWarmupMs);
    logger.info(
      {
        warm,
        reads: hpaRefresh.kept().length,
        hpas: hpaRefresh.hpaCount,
        ms: Date.now() - started,
        ...(flags.hpaRefresh === 'leader' ? { leading: elector?.leading ?? false } : {}),
      },
      warm ? 'HPA reads refreshed: ready' : 'HPA reads not all refreshed within --hpa-refresh-warmup: ready anyway',
    );
  }
  ready = true;
  logger.info(
    {
      address: running.address.address,
      port: running.address.port,
      certificate: certificate.source,
      version: version.version,
      backends: backends.router.current.map((b) => b.name),
      upstreams: backends.upstreams.current.map((u) => u.name),
      ...(metricsListener ? { metricsPort: metricsListener.port } : {}),
    },
    `serving custom.metrics.k8s.io${backends.resourceMetrics.current() ? ', metrics.k8s.io' : ''} and external.metrics.k8s.io over HTTPS`,
  );

  const reloader = flags.config
    ? new ConfigReloader({
        path: flags.config,
        maxBytes: flags.configMaxBytes,
        registry: metrics.registry,
        logger,
        apply: async (next) => {
          await backends.apply(next);
          await startDefinitionStatusOnce();
        },
      })
    : undefined;
  reloader?.start();
  process.on('SIGHUP', () => {
    if (reloader) void reloader.reload();
    else logger.warn('SIGHUP ignored: no --config file to reload');
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    // Clients keep reusing pooled keep-alive connections whatever the endpoints say: from now on
    // every response closes its connection, so the client's next request opens a new one through
    // the Service to a ready replica instead of racing the drain.
    running.closeConnectionsAfterResponses();
    logger.info(
      { signal, delaySeconds: flags.shutdownDelaySeconds, graceSeconds: flags.shutdownGraceSeconds },
      'shutting down: readiness is now false',
    );
    reloader?.stop();
    certificateWatcher.close();
    // Released now, so another replica writes status (and refreshes) at once rather than after the Lease duration.
    await definitionStatus?.close();
    await elector?.stop();
    metricsListener?.server.close();
    // Endpoints controllers and kube-proxy need a moment to stop routing new requests to us.
    await new Promise((r) => setTimeout(r, flags.shutdownDelaySeconds * 1000));
    const cut = await running.drain(flags.shutdownGraceSeconds * 1000);
    if (cut > 0) logger.warn({ requests: cut }, 'grace period ended with requests still running; they were cut');
    await hpaRefresh?.close();
    await backends.close();
    cluster.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // `npx hpa-metrics-adapter` and `npm start` put npm (and a shell) between a supervisor and this
  // process, and npm exits on SIGTERM without passing it on: a parent gone is a stop signal too.
  setInterval(() => {
    if (process.ppid !== parent) void shutdown('parent exited');
  }, 1000).unref();
}

function fail(logger: Logger, error: unknown): never {
  const known = error instanceof FlagError || error instanceof ConfigError;
  const listen = listenFailure(error);
  const message = listen ?? (error instanceof Error ? error.message : String(error));
  logger.fatal(known || listen ? {} : { err: error }, `cannot start: ${message}`);
  // The JSON line is for log pipelines; whoever started the process reads this one.
  process.stderr.write(errorText('hpa-metrics-adapter: cannot start', message));
  process.exit(known ? 2 : 1);
}

/** A port that cannot be listened on is an operator's problem to fix, said in one line, not a stack trace. */
function listenFailure(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException & { address?: string; port?: number };
  if (e?.syscall !== 'listen') return undefined;
  const where = `${e.address ?? ''}:${e.port ?? ''}`;
  if (e.code === 'EADDRINUSE') return `port ${where} is already in use (--secure-port / --metrics-port)`;
  if (e.code === 'EACCES') return `no permission to listen on ${where} (ports below 1024 need privileges)`;
  return `cannot listen on ${where}: ${e.code ?? e.message}`;
}

main(process.argv.slice(2)).catch((error: unknown) => fail(createLogger('info'), error));
