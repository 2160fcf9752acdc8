import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { ApiError, asApiError, toStatus } from '../api/errors.js';
import { servedGroups } from '../api/groups.js';
import type { ResourceResolver } from '../api/resource-table.js';
import { clip } from '../lib/text.js';
import { createLogSampler } from '../observability/log-sampler.js';
import type { Logger } from '../observability/logger.js';
import type { AdapterMetrics } from '../observability/metrics.js';
import type { CustomMetricsProvider, ExternalMetricsProvider } from '../providers/provider.js';
import type { ResourceMetricsSource } from '../resource-metrics/provider.js';
import type { Forwarding } from '../upstreams/forwarding.js';
import type { VersionInfo } from '../version.js';
import { pathMatchesAny } from './always-allow-paths.js';
import type { AuthSetup } from './auth/types.js';
import { observeRequests } from './observe-requests.js';
import { createOpenApiRouter } from './openapi/handlers.js';
import { sendJson } from './respond/send-json.js';
import { createApisHandler } from './routes/apis.js';
import { createHealthRouter, type Readiness } from './routes/health.js';

export interface AppOptions {
  provider: CustomMetricsProvider & ExternalMetricsProvider;
  /** Resource names in URLs, resolved as the cluster serves them (the built-in table when standalone). */
  resources: ResourceResolver;
  /** Absent: standalone mode, no authentication or authorization. */
  auth?: AuthSetup;
  metrics: AdapterMetrics;
  logger: Logger;
  readiness: Readiness;
  version: VersionInfo;
  requestTimeoutMs?: number;
  /** Other metrics servers answering the metrics ours do not serve. */
  forwarding?: Forwarding;
  /** metrics.k8s.io, served while the running config has resourceRules; absent: never served. */
  resourceMetrics?: ResourceMetricsSource;
}

const MAX_URL_LENGTH = 8192;

/** The Kubernetes-facing HTTP surface. It knows the metrics API and nothing of any backend. */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);

  // Everything under /apis is the metrics API and its discovery, answered here: the HPA's requests
  // do not walk past the health, /metrics and OpenAPI routes first.
  const apis = createApisHandler({
    provider: options.provider,
    authorizer: options.auth?.authorizer,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    forwarding: options.forwarding,
    resources: options.resources,
    ...(options.resourceMetrics ? { resourceMetrics: options.resourceMetrics } : {}),
  });
  const auth = options.auth;
  const observe = observeRequests(options.metrics, options.logger);
  // One layer for what every request goes through, /apis included: each layer costs a router step per request.
  app.use((req, res, next) => {
    observe(req, res);
    refuseOversizedRequest(req);
    refuseWrites(req, res);
    if (!isUnderApis(req.path)) return next();
    const route = apis.route(req);
    return auth
      ? authenticateRequest(auth, req, res).then(() => apis.serve(req, res, route))
      : apis.serve(req, res, route);
  });
  app.use(createHealthRouter(options.readiness, options.version));
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  const resourceMetrics = options.resourceMetrics;
  app.use(
    createOpenApiRouter(resourceMetrics ? { groups: () => servedGroups(resourceMetrics.current() !== undefined) } : {}),
  );
  if (options.auth) app.use(authenticate(options.auth));
  app.use(notFound);
  app.use(errorToStatus(options.logger));
  return app;
}

function notFound(req: Request): never {
  throw ApiError.notFound(`the server could not find the requested resource (path ${clip(req.path)})`);
}

/** `/apis` and below, matched by hand: a route pattern would cost a regexp and parameter decoding per request. */
function isUnderApis(path: string): boolean {
  return path.startsWith('/apis') && (path.length === 5 || path[5] === '/');
}

async function authenticateRequest(auth: AuthSetup, req: Request, res: Response): Promise<void> {
  if (pathMatchesAny(req.path, auth.alwaysAllowPaths)) return;
  res.locals.user = await auth.authenticator.authenticate(req);
}

function authenticate(auth: AuthSetup) {
  return async (req: Request, res: Response, next: NextFunction) => {
    await authenticateRequest(auth, req, res);
    next();
  };
}

function refuseOversizedRequest(req: Request): void {
  if (req.originalUrl.length > MAX_URL_LENGTH) {
    throw new ApiError('BadRequest', `request URL is longer than ${MAX_URL_LENGTH} characters`);
  }
}

function refuseWrites(req: Request, res: Response): void {
  if (req.method === 'GET' || req.method === 'HEAD') return;
  res.setHeader('Allow', 'GET, HEAD');
  throw new ApiError(
    'MethodNotAllowed',
    `the server does not allow method ${clip(req.method, 16)} on ${clip(req.path)}; this API is read-only`,
  );
}

/**
 * Client errors, and server errors (a backend down answers every request 503), logged per window
 * each; the rest are counted into the next line logged.
 */
const ERRORS_LOGGED_PER_MINUTE = 60;

function errorToStatus(logger: Logger) {
  const clientErrors = createLogSampler(ERRORS_LOGGED_PER_MINUTE, 60_000);
  const serverErrors = createLogSampler(ERRORS_LOGGED_PER_MINUTE, 60_000);
  return (error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = fromExpressError(error, req);
    const server = apiError.code >= 500;
    const dropped = (server ? serverErrors : clientErrors).fields();
    if (dropped) {
      if (server) logger.error({ err: error, path: req.path, code: apiError.code, ...dropped }, apiError.message);
      else logger.warn({ path: req.path, code: apiError.code, reason: apiError.reason, ...dropped }, apiError.message);
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (apiError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(apiError.retryAfterSeconds));
    sendJson(res, toStatus(apiError), apiError.code);
  };
}

/** express and its body/URL parsers throw http-errors with a status; keep their 4xx meaning. */
function fromExpressError(error: unknown, req: Request): ApiError {
  if (error instanceof ApiError) return error;
  const status = (error as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return ApiError.badRequest(`malformed request ${clip(req.path)}: ${(error as Error).message}`);
  }
  return asApiError(error);
}
