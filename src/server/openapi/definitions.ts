import { CUSTOM_GROUP, EXTERNAL_GROUP, RESOURCE_METRICS_GROUP, RESOURCE_METRICS_VERSIONS } from '../../api/groups.js';

/**
 * The schemas of every body this adapter returns, named the way Kubernetes names them, so
 * the aggregated cluster spec (kubectl explain, client tooling) sees familiar models.
 *
 * Shared meta types (Status, ListMeta, …) carry no `x-kubernetes-group-version-kind`: the
 * aggregator keeps kube-apiserver's own copy and renames ours `…_v2` unless the two are
 * identical, and a renamed copy that still claimed `/v1, Kind=Status` would give the merged
 * spec two models for one kind, which breaks GVK parsers built from it
 * (kubernetes/kubernetes#103597).
 */
export type JsonObject = { [key: string]: unknown };

export type SpecStyle = 'swagger2' | 'openapi3';

export const DEFINITION = {
  customV1beta1List: 'io.k8s.metrics.pkg.apis.custom_metrics.v1beta1.MetricValueList',
  customV1beta1Value: 'io.k8s.metrics.pkg.apis.custom_metrics.v1beta1.MetricValue',
  customV1beta2List: 'io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValueList',
  customV1beta2Value: 'io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValue',
  customV1beta2Identifier: 'io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricIdentifier',
  externalList: 'io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList',
  externalValue: 'io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue',
  objectReference: 'io.k8s.api.core.v1.ObjectReference',
  labelSelector: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  labelSelectorRequirement: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement',
  listMeta: 'io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta',
  status: 'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
  time: 'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  quantity: 'io.k8s.apimachinery.pkg.api.resource.Quantity',
  objectMeta: 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
} as const;

/** metrics.k8s.io's models of one version, named as metrics-server's spec names them. */
export function resourceMetricsDefinition(
  version: string,
  kind: 'NodeMetrics' | 'NodeMetricsList' | 'PodMetrics' | 'PodMetricsList' | 'ContainerMetrics',
): string {
  return `io.k8s.metrics.pkg.apis.metrics.${version}.${kind}`;
}

const REF_PREFIX: Record<SpecStyle, string> = {
  swagger2: '#/definitions/',
  openapi3: '#/components/schemas/',
};

export function refTo(style: SpecStyle, name: string): string {
  return `${REF_PREFIX[style]}${name}`;
}

/** Every definition, keyed by its Kubernetes model name, with `$ref`s in the given style. */
export function schemaDefinitions(style: SpecStyle): Record<string, JsonObject> {
  // A property that points at another model. Swagger 2.0 keeps `description` beside `$ref`
  // (as kube-openapi does); OpenAPI 3.0 ignores siblings of `$ref`, so wrap it in allOf.
  const ref = (name: string, description: string, options: { nullable?: boolean } = {}): JsonObject => {
    if (style === 'swagger2') return { description, $ref: refTo(style, name) };
    return { description, allOf: [{ $ref: refTo(style, name) }], ...(options.nullable ? { nullable: true } : {}) };
  };
  const str = (description: string): JsonObject => ({ description, type: 'string' });
  const seconds = (description: string): JsonObject => ({ description, type: 'integer', format: 'int64' });
  const stringMap = (description: string): JsonObject => ({
    description,
    type: 'object',
    additionalProperties: { type: 'string' },
  });
  const typeMeta = {
    kind: str('Kind of this object, in CamelCase.'),
    apiVersion: str('Versioned schema of this representation, as group/version.'),
  };
  const list = (description: string, group: string, version: string, kind: string, item: string): JsonObject => ({
    description,
    type: 'object',
    required: ['items'],
    properties: {
      ...typeMeta,
      metadata: ref(DEFINITION.listMeta, 'List metadata; empty for metric lists.'),
      items: { description: 'One entry per matching series.', type: 'array', items: { $ref: refTo(style, item) } },
    },
    'x-kubernetes-group-version-kind': [{ group, kind, version }],
  });
  const windowText =
    'Window in seconds over which a rate was computed ([timestamp - window, timestamp]); absent for instantaneous values.';
  const selectorText = 'Label selector that narrowed the series behind this value; the metric name alone when absent.';

  const resourceMetrics = Object.fromEntries(
    RESOURCE_METRICS_VERSIONS.flatMap((version) => {
      const name = (kind: Parameters<typeof resourceMetricsDefinition>[1]) => resourceMetricsDefinition(version, kind);
      const gvk = (kind: string) => ({
        'x-kubernetes-group-version-kind': [{ group: RESOURCE_METRICS_GROUP, kind, version }],
      });
      const usage = {
        description: 'CPU (cores) and memory (bytes) in use.',
        type: 'object',
        additionalProperties: ref(DEFINITION.quantity, 'A quantity.'),
      };
      const measured = {
        metadata: ref(DEFINITION.objectMeta, 'The name, namespace and labels of the measured object.'),
        timestamp: ref(DEFINITION.time, 'When the oldest sample behind these values was taken.'),
        window: str('The window the CPU rate covers, as a Go duration (5m0s).'),
      };
      /** A measured object and the list of them: NodeMetrics carries usage, PodMetrics containers. */
      const measuredKind = (
        kind: 'NodeMetrics' | 'PodMetrics',
        description: string,
        field: string,
        value: JsonObject,
      ) => [
        [
          name(kind),
          {
            description,
            type: 'object',
            required: ['timestamp', 'window', field],
            properties: { ...typeMeta, ...measured, [field]: value },
            ...gvk(kind),
          },
        ],
        [
          name(`${kind}List`),
          list(`${description} A list.`, RESOURCE_METRICS_GROUP, version, `${kind}List`, name(kind)),
        ],
      ];
      const containers = {
        description: 'Each container with data.',
        type: 'array',
        items: { $ref: refTo(style, name('ContainerMetrics')) },
      };
      return [
        ...measuredKind('NodeMetrics', 'Resource usage of one node.', 'usage', usage),
        ...measuredKind('PodMetrics', 'Resource usage of one pod, per container.', 'containers', containers),
        [
          name('ContainerMetrics'),
          {
            description: 'Resource usage of one container; a resource without data is absent.',
            type: 'object',
            required: ['name', 'usage'],
            properties: { name: str('Container name.'), usage },
          },
        ],
      ];
    }),
  );

  return {
    ...resourceMetrics,
    [DEFINITION.objectMeta]: {
      description: 'Object metadata (the fields metrics.k8s.io objects carry).',
      type: 'object',
      properties: {
        name: str('Name of the object.'),
        namespace: str('Namespace of the object; absent for nodes.'),
        labels: stringMap('Labels of the measured object.'),
        creationTimestamp: ref(DEFINITION.time, 'When these values were taken.'),
      },
    },
    [DEFINITION.customV1beta1List]: list(
      'Values of one custom metric for a set of Kubernetes objects.',
      CUSTOM_GROUP,
      'v1beta1',
      'MetricValueList',
      DEFINITION.customV1beta1Value,
    ),
    [DEFINITION.customV1beta1Value]: {
      description: 'The value of a custom metric for one Kubernetes object.',
      type: 'object',
      required: ['describedObject', 'metricName', 'timestamp', 'value'],
      properties: {
        describedObject: ref(DEFINITION.objectReference, 'The object this value describes.'),
        metricName: str('Name of the metric.'),
        timestamp: ref(DEFINITION.time, 'When the underlying sample was taken (not when it was served).'),
        window: seconds(windowText),
        value: ref(DEFINITION.quantity, 'The metric value as a Kubernetes quantity.'),
        // v1beta1 serialises a missing selector as an explicit null (no omitempty in Go).
        selector: ref(DEFINITION.labelSelector, `${selectorText} Sent as null when absent.`, { nullable: true }),
      },
    },
    [DEFINITION.customV1beta2List]: list(
      'Values of one custom metric for a set of Kubernetes objects.',
      CUSTOM_GROUP,
      'v1beta2',
      'MetricValueList',
      DEFINITION.customV1beta2Value,
    ),
    [DEFINITION.customV1beta2Value]: {
      description: 'The value of a custom metric for one Kubernetes object.',
      type: 'object',
      required: ['describedObject', 'metric', 'timestamp', 'value'],
      properties: {
        describedObject: ref(DEFINITION.objectReference, 'The object this value describes.'),
        metric: ref(DEFINITION.customV1beta2Identifier, 'Which metric, and which series of it, this value is.'),
        timestamp: ref(DEFINITION.time, 'When the underlying sample was taken (not when it was served).'),
        windowSeconds: seconds(windowText),
        value: ref(DEFINITION.quantity, 'The metric value as a Kubernetes quantity.'),
      },
    },
    [DEFINITION.customV1beta2Identifier]: {
      description: 'Names a metric and, optionally, the label selector that narrowed its series.',
      type: 'object',
      required: ['name'],
      properties: {
        name: str('Name of the metric.'),
        selector: ref(DEFINITION.labelSelector, selectorText),
      },
    },
    [DEFINITION.externalList]: list(
      'Values of one external metric, one item per matching series.',
      EXTERNAL_GROUP,
      'v1beta1',
      'ExternalMetricValueList',
      DEFINITION.externalValue,
    ),
    [DEFINITION.externalValue]: {
      description: 'The value of one series of an external metric, identified by name and labels.',
      type: 'object',
      required: ['metricName', 'metricLabels', 'timestamp', 'value'],
      properties: {
        metricName: str('Name of the metric.'),
        metricLabels: stringMap('Labels identifying the series.'),
        timestamp: ref(DEFINITION.time, 'When the underlying sample was taken (not when it was served).'),
        window: seconds(windowText),
        value: ref(DEFINITION.quantity, 'The metric value as a Kubernetes quantity.'),
      },
    },
    [DEFINITION.objectReference]: {
      description: 'Reference to a Kubernetes object.',
      type: 'object',
      properties: {
        apiVersion: str('API version of the referent, as group/version.'),
        fieldPath: str('A field within the referent, when the reference is to part of it.'),
        kind: str('Kind of the referent.'),
        name: str('Name of the referent.'),
        namespace: str('Namespace of the referent; empty for cluster-scoped objects.'),
        resourceVersion: str('Resource version of the referent.'),
        uid: str('UID of the referent.'),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [DEFINITION.labelSelector]: {
      description: 'A label query; all requirements are ANDed. An empty selector matches everything.',
      type: 'object',
      properties: {
        matchExpressions: {
          description: 'Set-based requirements.',
          type: 'array',
          items: { $ref: refTo(style, DEFINITION.labelSelectorRequirement) },
          'x-kubernetes-list-type': 'atomic',
        },
        matchLabels: stringMap('Equality requirements: each key must have exactly this value.'),
      },
      'x-kubernetes-map-type': 'atomic',
    },
    [DEFINITION.labelSelectorRequirement]: {
      description: 'One set-based requirement: a key, an operator and the values it applies to.',
      type: 'object',
      required: ['key', 'operator'],
      properties: {
        key: str('The label key.'),
        operator: str('One of In, NotIn, Exists, DoesNotExist.'),
        values: {
          description: 'Values for In and NotIn; empty for Exists and DoesNotExist.',
          type: 'array',
          items: { type: 'string' },
          'x-kubernetes-list-type': 'atomic',
        },
      },
    },
    [DEFINITION.listMeta]: {
      description: 'Metadata of a list response.',
      type: 'object',
      properties: {
        continue: str('Token for the next page, when the list was paginated.'),
        remainingItemCount: {
          description: 'Items left after this page, when known.',
          type: 'integer',
          format: 'int64',
        },
        resourceVersion: str('Resource version of the list.'),
        selfLink: str('Deprecated; never set.'),
      },
    },
    [DEFINITION.status]: {
      description: 'The body of every error response.',
      type: 'object',
      properties: {
        ...typeMeta,
        code: { description: 'HTTP status code of this error.', type: 'integer', format: 'int32' },
        message: str('What was asked and why it failed, for humans.'),
        metadata: ref(DEFINITION.listMeta, 'Always empty.'),
        reason: str('Machine-readable reason, such as NotFound or ServiceUnavailable.'),
        status: str('"Failure" for every error.'),
      },
    },
    [DEFINITION.time]: {
      description: 'An RFC 3339 timestamp in UTC with second precision.',
      type: 'string',
      format: 'date-time',
    },
    [DEFINITION.quantity]: {
      description: 'A Kubernetes quantity: a decimal number with an optional suffix, such as "42", "1500m" or "2e9".',
      type: 'string',
    },
  };
}
