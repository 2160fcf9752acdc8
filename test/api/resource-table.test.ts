import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { ApiError } from '../../src/api/errors.js';
import { kindFor, parseGroupResource, resolveResource } from '../../src/api/resources.js';
import { buildTestApp } from '../support/app.js';

describe('the built-in resource table (standalone mode)', () => {
  it('resolves plurals, singulars, kinds and short names, with or without a group, as kubectl does', () => {
    const cases: [string, string][] = [
      ['pods', 'pods.'],
      ['Pod', 'pods.'],
      ['po', 'pods.'],
      ['deploy', 'deployments.apps'],
      ['deployment.apps', 'deployments.apps'],
      ['deployments.v1.apps', 'deployments.apps'],
      ['secrets', 'secrets.'],
      ['lease', 'leases.coordination.k8s.io'],
      ['jobs.batch', 'jobs.batch'],
      ['hpa', 'horizontalpodautoscalers.autoscaling'],
      ['events', 'events.'],
      ['events.events.k8s.io', 'events.events.k8s.io'],
      ['ingress.networking.k8s.io', 'ingresses.networking.k8s.io'],
      ['endpoints', 'endpoints.'],
    ];
    for (const [text, expected] of cases) {
      const found = BUILTIN_RESOURCES.resolve(text);
      assert.equal(found && `${found.resource}.${found.group}`, expected, text);
    }
  });

  it('an unknown resource in a request is a NotFound naming it and where names come from', () => {
    assert.throws(
      () => resolveResource('widgets.example.com', BUILTIN_RESOURCES),
      (e: ApiError) =>
        e instanceof ApiError &&
        e.code === 404 &&
        /resource "widgets\.example\.com" is not served/.test(e.message) &&
        /built-in table/.test(e.message),
    );
    assert.throws(
      () => resolveResource('Bad_Name', BUILTIN_RESOURCES),
      (e: ApiError) => e.code === 400,
    );
  });

  it('config may name a resource the table does not know yet (a CRD installed later): it is taken as written', () => {
    assert.deepEqual(parseGroupResource('rollout.argoproj.io', BUILTIN_RESOURCES), {
      group: 'argoproj.io',
      resource: 'rollouts',
    });
    assert.deepEqual(kindFor({ group: 'argoproj.io', resource: 'rollouts' }, BUILTIN_RESOURCES), {
      kind: 'Rollout',
      apiVersion: 'argoproj.io/v1',
      namespaced: true,
    });
    assert.deepEqual(kindFor({ group: '', resource: 'nodes' }, BUILTIN_RESOURCES), {
      kind: 'Node',
      apiVersion: '/v1',
      namespaced: false,
    });
  });

  it('a metric URL naming an unknown resource answers a 404 Status that names it', async () => {
    const { app } = buildTestApp();
    const res = await request(app)
      .get('/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/widgets.example.com/w/http_requests')
      .expect(404);
    const status = JSON.parse(res.text);
    assert.equal(status.kind, 'Status');
    assert.match(status.message, /resource "widgets\.example\.com" is not served/);
  });
});
