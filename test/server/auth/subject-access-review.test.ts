import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ClosableKubeClient, createKubeClient } from '../../../src/kube/client.js';
import { loadKubeConfig } from '../../../src/kube/config.js';
import type { ResourceAttributes } from '../../../src/kube/types.js';
import { createSubjectAccessReviewAuthorizer } from '../../../src/server/auth/subject-access-review.js';
import type { UserInfo } from '../../../src/server/auth/types.js';
import { eventually } from '../../support/adapter-client.js';
import { createCertDir } from '../../support/certs.js';
import { rejection } from '../../support/failures.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../../support/kube-apiserver-double.js';

const HPA: UserInfo = {
  name: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
  uid: 'b3f1',
  groups: ['system:serviceaccounts', 'system:authenticated'],
  extra: { 'authentication.kubernetes.io/pod-name': ['kcm-0'] },
};

const POD_METRIC: ResourceAttributes = {
  verb: 'get',
  group: 'custom.metrics.k8s.io',
  version: 'v1beta2',
  resource: 'pods',
  subresource: 'http_requests',
  name: 'web-1',
  namespace: 'default',
};

const EXTERNAL_METRIC: ResourceAttributes = {
  verb: 'list',
  group: 'external.metrics.k8s.io',
  version: 'v1beta1',
  resource: 'sqs-queue-length',
  namespace: 'batch',
};

describe('SubjectAccessReview authorizer', () => {
  let double: KubeApiserverDouble;
  let kube: ClosableKubeClient;

  before(async () => {
    double = await startKubeApiserverDouble();
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    kube = createKubeClient(loaded.kubeConfig, { timeoutMs: 2000 });
  });

  after(async () => {
    kube.close();
    await double.close();
  });

  beforeEach(() => {
    double.allowRules = [];
    double.authorize = undefined;
    double.failures.clear();
    double.delayMs = 0;
  });

  it('allows what RBAC allows, sending user, uid, groups, extra and the resource attributes', async () => {
    double.allowRules.push({
      user: HPA.name,
      verb: 'get',
      group: 'custom.metrics.k8s.io',
      resource: 'pods',
      namespace: 'default',
    });
    const before = double.subjectAccessReviews.length;
    await createSubjectAccessReviewAuthorizer({ kube }).authorize(HPA, POD_METRIC);
    assert.deepEqual(double.subjectAccessReviews.slice(before), [
      {
        user: HPA.name,
        uid: 'b3f1',
        groups: HPA.groups,
        extra: HPA.extra,
        resourceAttributes: {
          verb: 'get',
          group: 'custom.metrics.k8s.io',
          version: 'v1beta2',
          resource: 'pods',
          subresource: 'http_requests',
          name: 'web-1',
          namespace: 'default',
        },
      },
    ]);
  });

  it('denies with the message kube-apiserver would give', async () => {
    const error = await rejection(createSubjectAccessReviewAuthorizer({ kube }).authorize(HPA, POD_METRIC));
    assert.equal(error.code, 403);
    assert.equal(error.reason, 'Forbidden');
    assert.equal(
      error.message,
      'pods.custom.metrics.k8s.io "web-1" is forbidden: User "system:serviceaccount:kube-system:horizontal-pod-autoscaler" ' +
        'cannot get resource "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"',
    );
  });

  it('appends the authorizer reason and words cluster-scoped and unnamed requests as kube does', async () => {
    double.authorize = () => ({ allowed: false, denied: true, reason: 'blocked by policy "no-metrics"' });
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    const namespaced = await rejection(authorizer.authorize(HPA, EXTERNAL_METRIC));
    assert.equal(
      namespaced.message,
      `sqs-queue-length.external.metrics.k8s.io is forbidden: User "${HPA.name}" cannot list resource "sqs-queue-length" ` +
        'in API group "external.metrics.k8s.io" in the namespace "batch": blocked by policy "no-metrics"',
    );
    const nodes: ResourceAttributes = {
      verb: 'get',
      group: 'custom.metrics.k8s.io',
      version: 'v1beta1',
      resource: 'nodes',
      subresource: 'cpu',
      name: 'node-a',
    };
    const clusterScoped = await rejection(authorizer.authorize(HPA, nodes));
    assert.match(
      clusterScoped.message,
      /^nodes.custom.metrics.k8s.io "node-a" is forbidden: .* cannot get resource "nodes\/cpu" in API group "custom.metrics.k8s.io" at the cluster scope: /,
    );
  });

  it('treats an explicit deny as forbidden even if allowed is also set', async () => {
    double.authorize = () => ({ allowed: true, denied: true });
    const error = await rejection(createSubjectAccessReviewAuthorizer({ kube }).authorize(HPA, POD_METRIC));
    assert.equal(error.code, 403);
  });

  it('caches an allowed decision: repeated requests make one review', async () => {
    double.allowRules.push({ subjectGroup: 'system:serviceaccounts' });
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    const before = double.calls.subjectaccessreviews;
    for (let i = 0; i < 3; i++) await authorizer.authorize(HPA, POD_METRIC);
    assert.equal(double.calls.subjectaccessreviews - before, 1);
    await authorizer.authorize(HPA, { ...POD_METRIC, name: 'web-2' });
    assert.equal(double.calls.subjectaccessreviews - before, 2, 'other attributes are another decision');
    await authorizer.authorize({ ...HPA, groups: [...HPA.groups, 'extra-group'] }, POD_METRIC);
    assert.equal(double.calls.subjectaccessreviews - before, 3, 'other groups are another decision');
  });

  it('never lets a user, uid, group, extra or attribute that differs share a decision, even a UserInfo changed after use', async () => {
    // Only exactly HPA asking exactly POD_METRIC is allowed: any shared decision would let a variant through.
    const asked = JSON.stringify({ user: HPA.name, uid: HPA.uid, groups: HPA.groups, extra: HPA.extra, POD_METRIC });
    double.authorize = (spec) => {
      const { user, uid, groups, extra } = spec;
      return { allowed: JSON.stringify({ user, uid, groups, extra, POD_METRIC: spec.resourceAttributes }) === asked };
    };
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    await authorizer.authorize(HPA, POD_METRIC);
    const [group0 = '', group1 = ''] = HPA.groups;
    const variants: [string, UserInfo, ResourceAttributes][] = [
      ['another user', { ...HPA, name: 'system:serviceaccount:default:intruder' }, POD_METRIC],
      ['another uid', { ...HPA, uid: 'b3f2' }, POD_METRIC],
      ['no uid', { name: HPA.name, groups: HPA.groups, extra: HPA.extra }, POD_METRIC],
      ['one more group', { ...HPA, groups: [...HPA.groups, 'system:masters'] }, POD_METRIC],
      ['one group fewer', { ...HPA, groups: [group0] }, POD_METRIC],
      ['two groups as one', { ...HPA, groups: [`${group0}","${group1}`] }, POD_METRIC],
      ['another extra value', { ...HPA, extra: { 'authentication.kubernetes.io/pod-name': ['kcm-1'] } }, POD_METRIC],
      ['another extra key', { ...HPA, extra: { 'authentication.kubernetes.io/node-name': ['kcm-0'] } }, POD_METRIC],
      ['no extra', { ...HPA, extra: {} }, POD_METRIC],
      ['verb list', HPA, { ...POD_METRIC, verb: 'list' }],
      ['another resource', HPA, { ...POD_METRIC, resource: 'services' }],
      ['another metric', HPA, { ...POD_METRIC, subresource: 'cpu' }],
      ['another object', HPA, { ...POD_METRIC, name: 'web-2' }],
      ['another namespace', HPA, { ...POD_METRIC, namespace: 'kube-system' }],
      ['the object name moved into the metric', HPA, { ...POD_METRIC, subresource: 'http_requests5:web-1', name: '' }],
    ];
    for (const [what, user, attributes] of variants) {
      const error = await rejection(authorizer.authorize(user, attributes));
      assert.equal(error.code, 403, what);
    }
    const changed: UserInfo = structuredClone(HPA);
    await authorizer.authorize(changed, POD_METRIC);
    changed.groups.push('system:masters');
    assert.equal(
      (await rejection(authorizer.authorize(changed, POD_METRIC))).code,
      403,
      'a group added to a used UserInfo',
    );
    changed.groups.pop();
    changed.extra['authentication.kubernetes.io/pod-name']?.push('kcm-1');
    assert.equal(
      (await rejection(authorizer.authorize(changed, POD_METRIC))).code,
      403,
      'an extra value added to a used UserInfo',
    );
    await authorizer.authorize(HPA, POD_METRIC);
  });

  it('shares a decision among the orders of groups and extra values a proxy may send', async () => {
    double.allowRules.push({ user: HPA.name });
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    const before = double.calls.subjectaccessreviews;
    await authorizer.authorize({ ...HPA, groups: ['b', 'a'], extra: { x: ['2', '1'], y: ['3'] } }, POD_METRIC);
    await authorizer.authorize({ ...HPA, groups: ['a', 'b'], extra: { y: ['3'], x: ['1', '2'] } }, POD_METRIC);
    assert.equal(double.calls.subjectaccessreviews - before, 1);
  });

  it('serialises an identity into its decision key once, not on every request', async (t) => {
    double.allowRules.push({ user: HPA.name });
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    const stringify = t.mock.method(JSON, 'stringify');
    const identitySerialised = () =>
      stringify.mock.calls.filter((call) => Array.isArray(call.arguments[0]) && call.arguments[0][0] === HPA.name)
        .length;
    for (let i = 0; i < 20; i++) await authorizer.authorize({ ...HPA, groups: [...HPA.groups] }, POD_METRIC);
    await authorizer.authorize(HPA, EXTERNAL_METRIC);
    assert.equal(identitySerialised(), 1, 'one identity, asked 21 times');
    await authorizer.authorize({ ...HPA, groups: ['system:authenticated'] }, POD_METRIC);
    assert.equal(identitySerialised(), 2, 'another identity of the same user');
  });

  it('caches a denial for less time than an allowance', async () => {
    // A clock of its own: on the wall clock, a unit run starved of CPU for 50 ms between the two
    // refusals (it runs at nice 10 beside the end-to-end run) found the denial expired, reviewed it
    // again, and counted two reviews where the test wanted one.
    let now = 1_000;
    const authorizer = createSubjectAccessReviewAuthorizer({
      kube,
      allowedTtlMs: 10_000,
      deniedTtlMs: 50,
      now: () => now,
    });
    const before = double.calls.subjectaccessreviews;
    await rejection(authorizer.authorize(HPA, POD_METRIC));
    now += 30;
    await rejection(authorizer.authorize(HPA, POD_METRIC));
    assert.equal(double.calls.subjectaccessreviews - before, 1, 'the denial is cached');
    double.allowRules.push({ user: HPA.name });
    now += 21;
    await authorizer.authorize(HPA, POD_METRIC);
    assert.equal(double.calls.subjectaccessreviews - before, 2, 'past its 50 ms the denial is reviewed again');
    now += 51;
    await authorizer.authorize(HPA, POD_METRIC);
    assert.equal(double.calls.subjectaccessreviews - before, 2, 'the allowance outlives that');
  });

  it('makes one review for concurrent identical requests', async () => {
    double.allowRules.push({ user: HPA.name });
    double.delayMs = 150;
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    const before = double.calls.subjectaccessreviews;
    await Promise.all(Array.from({ length: 8 }, () => authorizer.authorize(HPA, POD_METRIC)));
    assert.equal(double.calls.subjectaccessreviews - before, 1);
  });

  it('reviews the decision every HPA poll shares again before it expires: the polls at its expiry make no review', async () => {
    double.allowRules.push({ user: HPA.name });
    let now = 1_000;
    const authorizer = createSubjectAccessReviewAuthorizer({ kube, allowedTtlMs: 10_000, now: () => now });
    const before = double.calls.subjectaccessreviews;
    await authorizer.authorize(HPA, EXTERNAL_METRIC);
    now = 9_500;
    await authorizer.authorize(HPA, EXTERNAL_METRIC);
    await eventually('the review ahead of expiry', async () =>
      double.calls.subjectaccessreviews - before === 2 ? true : undefined,
    );
    now = 11_500;
    await Promise.all(Array.from({ length: 5 }, () => authorizer.authorize(HPA, EXTERNAL_METRIC)));
    assert.equal(
      double.calls.subjectaccessreviews - before,
      2,
      'the polls after the first decision expired made no review',
    );
  });

  it('answers 503 naming the cause when the review is refused, and does not cache the failure', async () => {
    double.failures.set('subjectaccessreviews', 403);
    const authorizer = createSubjectAccessReviewAuthorizer({ kube });
    const error = await rejection(authorizer.authorize(HPA, POD_METRIC));
    assert.equal(error.code, 503);
    assert.match(
      error.message,
      /^cannot authorize the request: SubjectAccessReview failed: kubernetes API answered 403 Forbidden to POST \/apis\/authorization.k8s.io\/v1\/subjectaccessreviews: subjectaccessreviews is forbidden/,
    );
    double.failures.clear();
    double.allowRules.push({ user: HPA.name });
    await authorizer.authorize(HPA, POD_METRIC);
  });

  it('answers 503 when the API server is down', async () => {
    const certDir = await createCertDir();
    const down = await startKubeApiserverDouble({ certDir });
    const loaded = loadKubeConfig(down.kubeconfigPath);
    assert.ok(loaded);
    const client = createKubeClient(loaded.kubeConfig, { timeoutMs: 1000 });
    await down.close();
    try {
      const error = await rejection(createSubjectAccessReviewAuthorizer({ kube: client }).authorize(HPA, POD_METRIC));
      assert.equal(error.code, 503);
      assert.match(
        error.message,
        /^cannot authorize the request: SubjectAccessReview failed: kubernetes API unreachable: POST https:\/\/127.0.0.1:\d+\/apis\/authorization.k8s.io\/v1\/subjectaccessreviews: connect ECONNREFUSED/,
      );
    } finally {
      client.close();
      await certDir.cleanup();
    }
  });

  it('answers 503 when the review does not come back before the deadline', async () => {
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    const impatient = createKubeClient(loaded.kubeConfig, { timeoutMs: 100 });
    double.delayMs = 400;
    try {
      const error = await rejection(
        createSubjectAccessReviewAuthorizer({ kube: impatient }).authorize(HPA, POD_METRIC),
      );
      assert.equal(error.code, 503);
      assert.match(error.message, /timed out after 100 ms$/);
    } finally {
      impatient.close();
    }
  });
});
