import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import {
  type ControllerRequest,
  controllerRequest,
  controllerRequestOfSpec,
  type NoRequest,
  requestPath,
  sentRequest,
} from '../../src/hpa/controller-requests.js';
import { parseHpa } from '../../src/hpa/hpa-spec.js';
import { decodeHpa } from '../../src/kube/hpa-informer.js';

const TARGET = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker' };
const QUEUE_SELECTOR = { matchLabels: { queue: 'jobs' } };

/** An autoscaling/v2 HPA as the API server serves it, with these metric specs. */
function hpaJson(metrics: unknown[], scaleTargetRef: object = TARGET) {
  return {
    apiVersion: 'autoscaling/v2',
    metadata: { name: 'worker', namespace: 'batch', resourceVersion: '7' },
    spec: { scaleTargetRef, minReplicas: 1, maxReplicas: 10, metrics },
  };
}

const external = (selector?: object) => ({
  type: 'External',
  external: {
    metric: { name: 'queue-depth', ...(selector ? { selector } : {}) },
    target: { type: 'Value', value: '5' },
  },
});
const pods = {
  type: 'Pods',
  pods: { metric: { name: 'rps', selector: QUEUE_SELECTOR }, target: { type: 'AverageValue', averageValue: '1' } },
};
const object = (describedObject: object) => ({
  type: 'Object',
  object: { describedObject, metric: { name: 'backlog' }, target: { type: 'Value', value: '10' } },
});
const resource = {
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
};

/** What explain hpa derives: one result per metric of the spec, in order. */
function explainRequests(metrics: unknown[]): (ControllerRequest | NoRequest)[] {
  const hpa = parseHpa(hpaJson(metrics), 'test');
  return (hpa.spec.metrics ?? []).map((spec) =>
    controllerRequestOfSpec('batch', hpa.spec.scaleTargetRef, spec, BUILTIN_RESOURCES),
  );
}

/** What HPA-aware refresh derives: from the HPA informer's summary, the metrics it may serve. */
function refreshRequests(metrics: unknown[]): (ControllerRequest | NoRequest)[] {
  const { object: hpa } = decodeHpa(hpaJson(metrics));
  return hpa.metrics.map((metric) => controllerRequest(hpa.namespace, hpa.scaleTargetRef, metric, BUILTIN_RESOURCES));
}

function made(request: ControllerRequest | NoRequest | undefined): ControllerRequest {
  assert.ok(request && request.kind !== 'none', `a request, got ${JSON.stringify(request)}`);
  return request;
}

describe('the metrics API requests an HPA makes (explain hpa and HPA-aware refresh)', () => {
  it('an External metric: the external.metrics.k8s.io URL with the metric selector as labelSelector', () => {
    const request = made(explainRequests([external(QUEUE_SELECTOR)])[0]);
    assert.equal(
      requestPath(request),
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/batch/queue-depth?labelSelector=queue%3Djobs',
    );
    assert.equal(request.kind === 'external' && request.metricSelector.matches({ queue: 'jobs' }), true);
    assert.equal(
      requestPath(made(explainRequests([external()])[0])).includes('?'),
      false,
      'an empty selector is left out',
    );
  });

  it('an Object metric: the described object by its group-qualified resource, at the discovered custom version', () => {
    const [deployment, service] = explainRequests([
      object({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'worker' }),
      object({ apiVersion: 'v1', kind: 'Service', name: 'jobs' }),
    ]).map(made);
    assert.deepEqual(deployment?.kind === 'object' && deployment.resource, { group: 'apps', resource: 'deployments' });
    assert.equal(
      requestPath(made(service), { customVersion: 'v1beta1' }),
      '/apis/custom.metrics.k8s.io/v1beta1/namespaces/batch/services/jobs/backlog',
    );
    assert.equal(
      requestPath(made(deployment)),
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/batch/deployments.apps/worker/backlog',
    );
  });

  it('a Pods metric: the scale target pods by the selector given, else a path naming the target', () => {
    const request = made(explainRequests([pods])[0]);
    assert.deepEqual(request.kind === 'pods' && request.target, TARGET);
    assert.equal(
      requestPath(request, { podSelector: 'app=worker' }),
      '/apis/custom.metrics.k8s.io/v1beta2/namespaces/batch/pods/*/rps?labelSelector=app%3Dworker&metricLabelSelector=queue%3Djobs',
    );
    const keyed = requestPath(request);
    const query = new URLSearchParams(keyed.slice(keyed.indexOf('?')));
    assert.equal(query.get('labelSelector'), '<selector of apps/v1/Deployment/worker>');
    const other = made(refreshRequests([pods])[0]);
    assert.equal(requestPath(other), keyed, 'the same target: the same read');
  });

  it('explain and refresh derive the same request from the same HPA', () => {
    const metrics = [external(QUEUE_SELECTOR), pods, object({ apiVersion: 'v1', kind: 'Service', name: 'jobs' })];
    assert.deepEqual(
      refreshRequests(metrics).map((r) => requestPath(made(r), { podSelector: 'app=worker' })),
      explainRequests(metrics).map((r) => requestPath(made(r), { podSelector: 'app=worker' })),
    );
  });

  it('writes metric selectors as metav1.LabelSelectorAsSelector does: sorted by key, set values sorted', () => {
    const selector = {
      matchLabels: { queue: 'jobs', env: 'prod' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['b', 'a'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    };
    const request = made(explainRequests([external(selector)])[0]);
    assert.equal(sentRequest(request, {}).metricSelector, '!canary,env=prod,queue=jobs,tier in (a,b)');
  });

  it('no request, and why: a Resource metric, a kind no resource serves, an invalid selector', () => {
    const none = explainRequests([
      resource,
      object({ apiVersion: 'example.com/v1', kind: 'Queue', name: 'jobs' }),
      external({ matchExpressions: [{ key: 'queue', operator: 'In', values: [] }] }),
      { type: 'Pods' },
    ]);
    assert.deepEqual(
      none.map((r) => r.kind === 'none' && r.why),
      [
        'resource metrics come from metrics.k8s.io, which explain hpa does not read',
        `unable to map kind Queue.example.com to a resource: not in ${BUILTIN_RESOURCES.source}`,
        'invalid matchExpressions entry for "queue": In needs values',
        'the Pods metric has no pods field',
      ],
    );
    assert.deepEqual(refreshRequests([resource]), [], 'the informer keeps no Resource metric');
  });

  it('as sent: the JSON explain hpa writes keeps the text of the URL', () => {
    const [service, podsRequest] = explainRequests([object({ apiVersion: 'v1', kind: 'Service', name: 'jobs' }), pods]);
    assert.deepEqual(sentRequest(made(service), { customVersion: 'v1beta2', podSelector: 'app=worker' }), {
      kind: 'object',
      path: '/apis/custom.metrics.k8s.io/v1beta2/namespaces/batch/services/jobs/backlog',
      namespace: 'batch',
      metric: 'backlog',
      resource: 'services',
      name: 'jobs',
      metricSelector: '',
    });
    assert.equal(sentRequest(made(podsRequest), { podSelector: 'app=worker' }).podSelector, 'app=worker');
  });
});
