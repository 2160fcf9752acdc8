import { CUSTOM_GROUP, EXTERNAL_GROUP, RESOURCE_METRICS_GROUP, RESOURCE_METRICS_VERSIONS } from '../../api/groups.js';
import { DEFINITION, type JsonObject, refTo, resourceMetricsDefinition, type SpecStyle } from './definitions.js';

/** The URL shapes of one served group-version, as OpenAPI path items (DESIGN §1). */

interface Parameter {
  name: string;
  in: 'path' | 'query';
  description: string;
}

const PATH_PARAMETER = {
  namespace: { name: 'namespace', in: 'path', description: 'Namespace of the object(s) or of the external metric.' },
  resource: {
    name: 'resource',
    in: 'path',
    description:
      'Resource of the described object(s), as resource.group for non-core groups: pods, nodes, deployments.apps, ingresses.networking.k8s.io.',
  },
  name: { name: 'name', in: 'path', description: 'Name of the described object.' },
  metric: { name: 'metric', in: 'path', description: 'Name of the metric.' },
} satisfies Record<string, Parameter>;

const QUERY_PARAMETER = {
  objectSelector: {
    name: 'labelSelector',
    in: 'query',
    description:
      'Label selector choosing the objects whose values are returned (a=b, a!=b, a in (x,y), a notin (x), a, !a; comma means AND).',
  },
  externalSelector: {
    name: 'labelSelector',
    in: 'query',
    description: 'Label selector on the metric series (for example queue-name=jobs); comma means AND.',
  },
  metricLabelSelector: {
    name: 'metricLabelSelector',
    in: 'query',
    description: 'Label selector narrowing the series of the metric itself.',
  },
  fieldSelector: {
    name: 'fieldSelector',
    in: 'query',
    description: 'Only metadata.name=<the name in the path> is accepted.',
  },
} satisfies Record<string, Parameter>;

const ERROR_RESPONSES: ReadonlyArray<[code: string, description: string]> = [
  ['400', 'BadRequest: a malformed selector or path.'],
  ['401', 'Unauthorized: no valid client certificate or token.'],
  ['403', 'Forbidden: the user may not read this metric.'],
  ['404', 'NotFound: no such metric, object or series.'],
  ['503', 'ServiceUnavailable: the backend failed and no fresh enough value is cached.'],
];

interface Shape {
  suffix: string;
  action: 'get' | 'list';
  /** Completes the operationId after the verb and group-version, e.g. NamespacedObjectMetric. */
  subject: string;
  summary: string;
  pathParameters: Parameter[];
  queryParameters: Parameter[];
}

function customShapes(): Shape[] {
  const { namespace, resource, name, metric } = PATH_PARAMETER;
  const { objectSelector, metricLabelSelector, fieldSelector } = QUERY_PARAMETER;
  return [
    {
      suffix: 'namespaces/{namespace}/{resource}/{name}/{metric}',
      action: 'get',
      subject: 'NamespacedObjectMetric',
      summary: 'read a custom metric for one namespaced object',
      pathParameters: [namespace, resource, name, metric],
      queryParameters: [metricLabelSelector, fieldSelector],
    },
    {
      suffix: 'namespaces/{namespace}/{resource}/*/{metric}',
      action: 'list',
      subject: 'NamespacedObjectsMetric',
      summary: 'read a custom metric for every object of a resource in a namespace that matches labelSelector',
      pathParameters: [namespace, resource, metric],
      queryParameters: [objectSelector, metricLabelSelector],
    },
    {
      suffix: '{resource}/{name}/{metric}',
      action: 'get',
      subject: 'ClusterObjectMetric',
      summary: 'read a custom metric for one cluster-scoped object (a node, a namespace)',
      pathParameters: [resource, name, metric],
      queryParameters: [metricLabelSelector, fieldSelector],
    },
    {
      suffix: '{resource}/*/{metric}',
      action: 'list',
      subject: 'ClusterObjectsMetric',
      summary: 'read a custom metric for every cluster-scoped object of a resource that matches labelSelector',
      pathParameters: [resource, metric],
      queryParameters: [objectSelector, metricLabelSelector],
    },
    {
      suffix: 'namespaces/{namespace}/metrics/{metric}',
      action: 'get',
      subject: 'NamespaceMetric',
      summary: 'read a custom metric that describes the namespace itself',
      pathParameters: [namespace, metric],
      queryParameters: [metricLabelSelector],
    },
  ];
}

function externalShapes(): Shape[] {
  return [
    {
      suffix: 'namespaces/{namespace}/{metric}',
      action: 'list',
      subject: 'NamespacedMetric',
      summary: 'read every series of an external metric that matches labelSelector',
      pathParameters: [PATH_PARAMETER.namespace, PATH_PARAMETER.metric],
      queryParameters: [QUERY_PARAMETER.externalSelector],
    },
  ];
}

/** metrics.k8s.io's URL shapes, each with the kind it answers. */
function resourceShapes(version: string): (Shape & { kind: Parameters<typeof resourceMetricsDefinition>[1] })[] {
  const { namespace, name } = PATH_PARAMETER;
  const { objectSelector, fieldSelector } = QUERY_PARAMETER;
  const list = [
    objectSelector,
    { ...fieldSelector, description: 'metadata.name=<name> narrows the list to one object.' },
  ];
  return [
    {
      suffix: 'nodes',
      action: 'list',
      subject: 'NodeMetrics',
      summary: 'list the usage of nodes',
      pathParameters: [],
      queryParameters: list,
      kind: 'NodeMetricsList',
    },
    {
      suffix: 'nodes/{name}',
      action: 'get',
      subject: 'NodeMetrics',
      summary: 'read the usage of one node',
      pathParameters: [name],
      queryParameters: [],
      kind: 'NodeMetrics',
    },
    {
      suffix: 'pods',
      action: 'list',
      subject: 'PodMetricsForAllNamespaces',
      summary: 'list the usage of pods in every namespace',
      pathParameters: [],
      queryParameters: list,
      kind: 'PodMetricsList',
    },
    {
      suffix: 'namespaces/{namespace}/pods',
      action: 'list',
      subject: 'NamespacedPodMetrics',
      summary: 'list the usage of pods in a namespace',
      pathParameters: [namespace],
      queryParameters: list,
      kind: 'PodMetricsList',
    },
    {
      suffix: 'namespaces/{namespace}/pods/{name}',
      action: 'get',
      subject: 'NamespacedPodMetrics',
      summary: 'read the usage of one pod',
      pathParameters: [namespace, name],
      queryParameters: [],
      kind: 'PodMetrics',
    },
  ].map((shape) => ({ ...shape, summary: `${shape.summary} (${version})` })) as (Shape & {
    kind: Parameters<typeof resourceMetricsDefinition>[1];
  })[];
}

function resourcePaths(version: string, style: SpecStyle): Record<string, JsonObject> {
  const paths: Record<string, JsonObject> = {};
  for (const shape of resourceShapes(version)) {
    paths[`/apis/${RESOURCE_METRICS_GROUP}/${version}/${shape.suffix}`] = {
      parameters: shape.pathParameters.map((p) => parameter(p, style)),
      get: {
        summary: shape.summary,
        operationId: `${shape.action}Metrics${capitalise(version)}${shape.subject}`,
        tags: [`metrics_${version}`],
        parameters: shape.queryParameters.map((p) => parameter(p, style)),
        responses: responses(resourceMetricsDefinition(version, shape.kind), style),
        'x-kubernetes-action': shape.action,
        'x-kubernetes-group-version-kind': {
          group: RESOURCE_METRICS_GROUP,
          version,
          kind: shape.kind.replace(/List$/, ''),
        },
      },
    };
  }
  return paths;
}

/** Path items keyed by absolute path, for one group-version; empty for one not served. */
export function metricPaths(group: string, version: string, style: SpecStyle): Record<string, JsonObject> {
  if (group === RESOURCE_METRICS_GROUP) {
    return (RESOURCE_METRICS_VERSIONS as readonly string[]).includes(version) ? resourcePaths(version, style) : {};
  }
  const listDefinition = listDefinitionFor(group, version);
  if (!listDefinition) return {};
  const kind = group === CUSTOM_GROUP ? 'MetricValueList' : 'ExternalMetricValueList';
  const shapes = group === CUSTOM_GROUP ? customShapes() : externalShapes();
  const groupWord = group === CUSTOM_GROUP ? 'CustomMetrics' : 'ExternalMetrics';
  const paths: Record<string, JsonObject> = {};
  for (const shape of shapes) {
    paths[`/apis/${group}/${version}/${shape.suffix}`] = {
      parameters: shape.pathParameters.map((p) => parameter(p, style)),
      get: {
        summary: shape.summary,
        operationId: `${shape.action}${groupWord}${capitalise(version)}${shape.subject}`,
        tags: [`${lowerFirst(groupWord)}_${version}`],
        parameters: shape.queryParameters.map((p) => parameter(p, style)),
        responses: responses(listDefinition, style),
        'x-kubernetes-action': shape.action,
        'x-kubernetes-group-version-kind': { group, version, kind },
      },
    };
  }
  return paths;
}

export function listDefinitionFor(group: string, version: string): string | undefined {
  if (group === CUSTOM_GROUP && version === 'v1beta1') return DEFINITION.customV1beta1List;
  if (group === CUSTOM_GROUP && version === 'v1beta2') return DEFINITION.customV1beta2List;
  if (group === EXTERNAL_GROUP && version === 'v1beta1') return DEFINITION.externalList;
  return undefined;
}

function parameter(p: Parameter, style: SpecStyle): JsonObject {
  const required = p.in === 'path';
  if (style === 'swagger2') return { name: p.name, in: p.in, description: p.description, required, type: 'string' };
  return { name: p.name, in: p.in, description: p.description, required, schema: { type: 'string' } };
}

function responses(listDefinition: string, style: SpecStyle): JsonObject {
  const body = (description: string, definition: string): JsonObject => {
    const schema = { $ref: refTo(style, definition) };
    if (style === 'swagger2') return { description, schema };
    return { description, content: { 'application/json': { schema } } };
  };
  const result: JsonObject = { '200': body('OK', listDefinition) };
  for (const [code, description] of ERROR_RESPONSES) result[code] = body(description, DEFINITION.status);
  return result;
}

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function lowerFirst(word: string): string {
  return word.charAt(0).toLowerCase() + word.slice(1);
}
