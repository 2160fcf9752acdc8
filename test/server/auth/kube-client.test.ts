import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { type ClosableKubeClient, createKubeClient } from '../../../src/kube/client.js';
import { loadKubeConfig } from '../../../src/kube/config.js';
import { kubeStatusOf } from '../../../src/kube/types.js';
import { type CertDir, createCertDir } from '../../support/certs.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../../support/kube-apiserver-double.js';

// The kube client lives in src/kube; its tests sit here beside the auth code that uses it most.

async function apiError(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
  return error;
}

describe('kube client against the kube-apiserver double', () => {
  let certDir: CertDir;
  let double: KubeApiserverDouble;
  let kube: ClosableKubeClient;

  function client(
    options: { timeoutMs?: number; listPageSize?: number; kubeconfig?: string } = {},
  ): ClosableKubeClient {
    const loaded = loadKubeConfig(options.kubeconfig ?? double.kubeconfigPath);
    assert.ok(loaded);
    return createKubeClient(loaded.kubeConfig, options);
  }

  before(async () => {
    certDir = await createCertDir();
    double = await startKubeApiserverDouble({ certDir });
    kube = client();
    double.objects.push(
      {
        group: '',
        version: 'v1',
        resource: 'pods',
        namespace: 'default',
        name: 'web-1',
        labels: { app: 'web', tier: 'front' },
      },
      {
        group: '',
        version: 'v1',
        resource: 'pods',
        namespace: 'default',
        name: 'web-2',
        labels: { app: 'web', tier: 'back' },
      },
      { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'web-3', labels: { app: 'web' } },
      { group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'db-1', labels: { app: 'db' } },
      { group: '', version: 'v1', resource: 'pods', namespace: 'other', name: 'web-9', labels: { app: 'web' } },
      {
        group: 'apps',
        version: 'v1',
        resource: 'deployments',
        namespace: 'default',
        name: 'web',
        labels: { app: 'web' },
      },
      { group: '', version: 'v1', resource: 'nodes', name: 'node-a', labels: { zone: 'a' } },
    );
  });

  beforeEach(() => {
    double.failures.clear();
    double.delayMs = 0;
  });

  after(async () => {
    kube.close();
    await double.close();
    await certDir.cleanup();
  });

  it('lists the objects a label selector matches, following continue pages', async () => {
    const paged = client({ listPageSize: 2 });
    try {
      const before = double.calls.objects;
      const pods = await paged.listObjects({ group: '', version: 'v1', resource: 'pods' }, 'default', 'app=web');
      assert.deepEqual(pods, [
        { name: 'web-1', namespace: 'default', labels: { app: 'web', tier: 'front' } },
        { name: 'web-2', namespace: 'default', labels: { app: 'web', tier: 'back' } },
        { name: 'web-3', namespace: 'default', labels: { app: 'web' } },
      ]);
      assert.equal(double.calls.objects - before, 2);
    } finally {
      paged.close();
    }
  });

  it('lists other groups, root-scoped resources and set-based selectors', async () => {
    const deployments = await kube.listObjects(
      { group: 'apps', version: 'v1', resource: 'deployments' },
      'default',
      '',
    );
    assert.deepEqual(
      deployments.map((d) => d.name),
      ['web'],
    );
    const nodes = await kube.listObjects({ group: '', version: 'v1', resource: 'nodes' }, undefined, 'zone in (a,b)');
    assert.deepEqual(nodes, [{ name: 'node-a', labels: { zone: 'a' } }]);
    const notFront = await kube.listObjects(
      { group: '', version: 'v1', resource: 'pods' },
      'default',
      'app=web,tier!=front',
    );
    assert.deepEqual(
      notFront.map((p) => p.name),
      ['web-2', 'web-3'],
    );
  });

  it('reuses one kept-alive connection for consecutive calls', async () => {
    const fresh = client();
    try {
      const before = double.connections;
      for (let i = 0; i < 5; i++) await fresh.readConfigMap('kube-system', 'missing');
      assert.equal(double.connections - before, 1);
    } finally {
      fresh.close();
    }
  });

  it('reads a ConfigMap, and resolves undefined when it does not exist', async () => {
    double.configMaps.set('kube-system/extension-apiserver-authentication', { 'requestheader-allowed-names': '[]' });
    const found = await kube.readConfigMap('kube-system', 'extension-apiserver-authentication');
    assert.deepEqual(found, {
      namespace: 'kube-system',
      name: 'extension-apiserver-authentication',
      resourceVersion: '101',
      data: { 'requestheader-allowed-names': '[]' },
    });
    assert.equal(await kube.readConfigMap('kube-system', 'missing'), undefined);
  });

  it('maps a rejected credential to 503 quoting the Status, keeping the HTTP status as the cause', async () => {
    const wrongToken = client({ kubeconfig: await double.writeKubeconfig('not-the-adapter', 'wrong-token.json') });
    try {
      const error = await apiError(wrongToken.createTokenReview('x'));
      assert.equal(error.code, 503);
      assert.equal(
        error.message,
        'kubernetes API answered 401 Unauthorized to POST /apis/authentication.k8s.io/v1/tokenreviews: Unauthorized',
      );
      assert.equal(kubeStatusOf(error), 401);
    } finally {
      wrongToken.close();
    }
  });

  it('refuses an API server whose certificate the kubeconfig CA did not sign', async () => {
    const stranger = await certDir.createCa('stranger');
    const path = await certDir.writeText(
      'wrong-ca.json',
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        'current-context': 'c',
        clusters: [{ name: 'c', cluster: { server: double.url, 'certificate-authority': stranger.certPath } }],
        users: [{ name: 'u', user: { token: double.adapterToken } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
      }),
    );
    const misconfigured = client({ kubeconfig: path });
    try {
      const error = await apiError(misconfigured.readConfigMap('kube-system', 'x'));
      assert.match(
        error.message,
        /^kubernetes API unreachable: GET https:\/\/127.0.0.1:\d+\/api\/v1\/namespaces\/kube-system\/configmaps\/x: .*(certificate|self.signed)/,
      );
    } finally {
      misconfigured.close();
    }
  });

  it('gives up at its deadline, and says when the caller cancelled', async () => {
    const impatient = client({ timeoutMs: 100 });
    double.delayMs = 500;
    try {
      const timedOut = await apiError(
        impatient.createSubjectAccessReview({
          user: 'u',
          groups: [],
          extra: {},
          resourceAttributes: { verb: 'get', group: '', version: 'v1', resource: 'pods' },
        }),
      );
      assert.match(
        timedOut.message,
        /^kubernetes API unreachable: POST .*subjectaccessreviews: timed out after 100 ms$/,
      );
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 20);
      const cancelled = await apiError(kube.readConfigMap('kube-system', 'x', controller.signal));
      assert.match(cancelled.message, /: request cancelled$/);
    } finally {
      impatient.close();
    }
  });

  it('names the flag and file of an unusable kubeconfig', async () => {
    assert.throws(
      () => loadKubeConfig('/nonexistent/kc', { flag: '--authentication-kubeconfig' }),
      /^Error: --authentication-kubeconfig \/nonexistent\/kc: cannot load kubeconfig/,
    );
    const noCluster = await certDir.writeText(
      'no-cluster.json',
      JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }),
    );
    assert.throws(() => loadKubeConfig(noCluster), /the current-context does not name a cluster/);
  });
});
