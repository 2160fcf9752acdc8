import type { Request, Response } from 'express';
import { ApiError } from '../../api/errors.js';
import { CUSTOM_GROUP, EXTERNAL_GROUP, isCustomVersion, isExternalVersion } from '../../api/groups.js';
import { customMetricValueList, type DescribedSample, externalMetricValueList } from '../../api/metric-values.js';
import type { ResourceResolver } from '../../api/resource-table.js';
import { formatGroupResource } from '../../api/resources.js';
import { clip } from '../../lib/text.js';
import type {
  CustomMetricBySelectorRequest,
  CustomMetricsProvider,
  ExternalMetricsProvider,
  ExternalSample,
  ObjectSample,
  Sample,
} from '../../providers/provider.js';
import type { Forwarding, ForwardingUpstream } from '../../upstreams/forwarding.js';
import type { Authorizer, UserInfo } from '../auth/types.js';
import { authorizationAttributes } from '../request/authorization-attributes.js';
import {
  type CustomMetricPath,
  type ExternalMetricPath,
  notFoundPath,
  parseCustomMetricPath,
  parseExternalMetricPath,
} from '../request/parse-metric-path.js';
import { type MetricQuery, parseMetricQuery } from '../request/query.js';
import { queryStringOf } from '../request/query-string.js';
import { RequestDeadline } from '../request/request-deadline.js';
import { RenderedBodies } from '../respond/rendered-bodies.js';
import { sendForwarded } from '../respond/send-forwarded.js';
import { sendRenderedJson } from '../respond/send-json.js';

export interface MetricsApiOptions {
  provider: CustomMetricsProvider & ExternalMetricsProvider;
  /** Absent when running standalone (authorization off). */
  authorizer?: Authorizer;
  /** Deadline for one metrics request, backend calls included. */
  requestTimeoutMs: number;
  /** Other metrics servers behind ours; absent when none is configured. */
  forwarding?: Forwarding;
  /** Resolves the resource named in a custom-metrics URL, as the cluster serves it. */
  resources: ResourceResolver;
}

/**
 * A metric URL: its version and the decoded path segments after `/apis/<group>/<version>/`, and once
 * a reader has parsed them, the parsed request, so an identical URL is not parsed again. The
 * parse depends on the URL and on the resource's name in the cluster's discovery when first
 * parsed: a served resource is not renamed under a running cluster.
 */
export interface MetricRoute<Path> {
  version: string;
  rest: readonly string[];
  parsed?: { path: Path; query: MetricQuery };
}

type MetricRead<Path> = (req: Request, res: Response, route: MetricRoute<Path>) => Promise<void>;

/** Readers for every metric URL shape of both groups. */
export function createMetricReaders(options: MetricsApiOptions): {
  custom: MetricRead<CustomMetricPath>;
  external: MetricRead<ExternalMetricPath>;
} {
  const externalBodies = new RenderedBodies<readonly ExternalSample[]>();
  const objectBodies = new RenderedBodies<Sample>();
  const selectionBodies = new RenderedBodies<readonly ObjectSample[]>();

  const custom: MetricRead<CustomMetricPath> = async (req, res, route) => {
    const { version } = route;
    if (!isCustomVersion(version)) throw notFoundPath(req.path);
    if (options.authorizer) await authorize(options.authorizer, res, CUSTOM_GROUP, version, route.rest);
    route.parsed ??= {
      path: parseCustomMetricPath(route.rest, req.path, options.resources),
      query: parseMetricQuery(queryStringOf(req)),
    };
    const { path, query } = route.parsed;
    const upstream = forwardingFor(options)?.upstreamFor({
      group: CUSTOM_GROUP,
      version,
      discoveryName: `${formatGroupResource(path.resource)}/${path.metric}`,
      metric: path.metric,
      resource: path.resource,
    });
    if (upstream) return forward(upstream, req, res, path.metric, options.requestTimeoutMs);
    const deadline = new RequestDeadline(req, options.requestTimeoutMs);
    try {
      if (path.name === undefined) {
        const samples = await readSelectedObjects(options.provider, path, query, deadline);
        const render = (selected: readonly ObjectSample[]) =>
          customMetricValueList(version, path.metric, query.metricLabelSelector, describe(path, selected));
        sendRenderedJson(res, selectionBodies.get(samples, req.url, render));
        return;
      }
      const { sample, described } = await readOneObject(options.provider, path, path.name, query, deadline);
      // Everything else the body depends on (version, object, metric, selector) is in the URL.
      const render = () => customMetricValueList(version, path.metric, query.metricLabelSelector, [described]);
      sendRenderedJson(res, objectBodies.get(sample, req.url, render));
    } catch (error) {
      throw deadline.failure(error);
    } finally {
      deadline.dispose();
    }
  };

  const external: MetricRead<ExternalMetricPath> = async (req, res, route) => {
    if (!isExternalVersion(route.version)) throw notFoundPath(req.path);
    if (options.authorizer) await authorize(options.authorizer, res, EXTERNAL_GROUP, route.version, route.rest);
    route.parsed ??= {
      path: parseExternalMetricPath(route.rest, req.path),
      query: parseMetricQuery(queryStringOf(req)),
    };
    const { path, query } = route.parsed;
    const upstream = forwardingFor(options)?.upstreamFor({
      group: EXTERNAL_GROUP,
      version: route.version,
      discoveryName: path.metric,
      metric: path.metric,
    });
    if (upstream) return forward(upstream, req, res, path.metric, options.requestTimeoutMs);
    const deadline = new RequestDeadline(req, options.requestTimeoutMs);
    try {
      const samples = await options.provider.getExternalMetric({
        namespace: path.namespace,
        metric: path.metric,
        metricSelector: query.labelSelector,
        deadline,
      });
      if (samples.length === 0) {
        // The HPA treats an empty external list as an error anyway; say which metric and selector.
        throw ApiError.notFound(
          `no series of external metric "${path.metric}" in namespace "${path.namespace}" match labelSelector "${query.labelSelector.toString()}"`,
        );
      }
      sendRenderedJson(res, externalBodies.get(samples, path.metric, renderExternal));
    } catch (error) {
      throw deadline.failure(error);
    } finally {
      deadline.dispose();
    }
  };

  return { custom, external };
}

/** The forwarding to ask, only while an upstream is configured. */
function forwardingFor(options: MetricsApiOptions): Forwarding | undefined {
  return options.forwarding?.hasUpstreams() ? options.forwarding : undefined;
}

/** The caller is authenticated and authorized by now; the upstream sees the same path and query, asked by us. */
async function forward(
  upstream: ForwardingUpstream,
  req: Request,
  res: Response,
  metric: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = new RequestDeadline(req, timeoutMs);
  try {
    sendForwarded(res, await upstream.forward(req.originalUrl, metric, deadline), timeoutMs);
  } catch (error) {
    throw deadline.failure(error);
  } finally {
    deadline.dispose();
  }
}

function renderExternal(samples: readonly ExternalSample[], metric: string): object {
  return externalMetricValueList(metric, samples);
}

// The objects below are written out, not spread: on Node 20 `{ a, ...(b ? {} : { c }) }` costs ~1 µs per request.
async function readOneObject(
  provider: CustomMetricsProvider,
  path: CustomMetricPath,
  name: string,
  query: MetricQuery,
  deadline: RequestDeadline,
): Promise<{ sample: Sample; described: DescribedSample }> {
  const { resource, namespace, metric } = path;
  if (query.fieldName !== undefined && query.fieldName !== name) {
    throw ApiError.badRequest(
      `fieldSelector metadata.name=${clip(query.fieldName)} does not match the object "${name}" in the path`,
    );
  }
  const object = namespace === undefined ? { resource, name } : { resource, name, namespace };
  const sample = await provider.getMetricByName({
    object,
    metric,
    metricSelector: query.metricLabelSelector,
    deadline,
  });
  return {
    sample,
    described: { object, value: sample.value, timestamp: sample.timestamp, windowSeconds: sample.windowSeconds },
  };
}

async function readSelectedObjects(
  provider: CustomMetricsProvider,
  path: CustomMetricPath,
  query: MetricQuery,
  deadline: RequestDeadline,
): Promise<readonly ObjectSample[]> {
  const { resource, namespace, metric } = path;
  const request: CustomMetricBySelectorRequest = {
    resource,
    objectSelector: query.labelSelector,
    metric,
    metricSelector: query.metricLabelSelector,
    deadline,
  };
  if (namespace !== undefined) request.namespace = namespace;
  const samples = await provider.getMetricBySelector(request);
  const wanted = query.fieldName === undefined ? samples : samples.filter((s) => s.name === query.fieldName);
  if (wanted.length === 0) {
    const where = namespace === undefined ? '' : ` in namespace "${namespace}"`;
    throw ApiError.notFound(
      `no ${formatGroupResource(resource)}${where} matching labelSelector "${query.labelSelector.toString()}" have data for custom metric "${metric}"`,
    );
  }
  return wanted;
}

function describe(path: CustomMetricPath, samples: readonly ObjectSample[]): DescribedSample[] {
  const { resource, namespace } = path;
  return samples.map((s) => ({
    object: { resource, name: s.name, ...(namespace === undefined ? {} : { namespace }) },
    value: s.value,
    timestamp: s.timestamp,
    windowSeconds: s.windowSeconds,
  }));
}

export async function authorize(
  authorizer: Authorizer,
  res: Response,
  group: string,
  version: string,
  segments: readonly string[],
): Promise<void> {
  const user = res.locals.user as UserInfo | undefined;
  if (!user) throw ApiError.unauthorized('Unauthorized: the request carried no authenticated user');
  await authorizer.authorize(user, authorizationAttributes(group, version, segments));
}
