import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ClosableKubeClient, createKubeClient } from '../../../src/kube/client.js';
import { loadKubeConfig } from '../../../src/kube/config.js';
import { silentLogger } from '../../../src/observability/logger.js';
import { createAuthSetup, normaliseAlwaysAllowPaths } from '../../../src/server/auth/setup.js';
import type { AuthFlags, AuthSetup } from '../../../src/server/auth/types.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../../support/kube-apiserver-double.js';
import { type AuthPki, createAuthPki, startAuthProbe } from './tls-harness.js';

const DEFAULT_FLAGS: AuthFlags = {
  requestheaderAllowedNames: [],
  requestheaderUsernameHeaders: ['X-Remote-User'],
  requestheaderGroupHeaders: ['X-Remote-Group'],
  requestheaderExtraHeadersPrefix: ['X-Remote-Extra-'],
  authorizationAlwaysAllowPaths: ['/healthz', '/openapi/v3/*'],
};

describe('createAuthSetup', () => {
  let pki: AuthPki;
  let double: KubeApiserverDouble;
  let kube: ClosableKubeClient;
  const setups: AuthSetup[] = [];

  async function setup(
    flags: Partial<AuthFlags> = {},
    options: { refreshIntervalMs?: number; onClientCaChange?: (pem: string[]) => void } = {},
    client: ClosableKubeClient = kube,
  ) {
    const created = await createAuthSetup(
      { ...DEFAULT_FLAGS, ...flags },
      { logger: silentLogger(), kube: client, refreshIntervalMs: 0, ...options },
    );
    setups.push(created);
    return created;
  }

  function kubeSystemConfigMap(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      'client-ca-file': pki.clientCa.cert,
      'requestheader-client-ca-file': pki.frontProxyCa.cert,
      'requestheader-allowed-names': '["front-proxy-client"]',
      'requestheader-username-headers': '["X-Remote-User"]',
      'requestheader-group-headers': '["X-Remote-Group"]',
      'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
      ...overrides,
    };
  }

  before(async () => {
    pki = await createAuthPki();
    double = await startKubeApiserverDouble({ certDir: pki.dir });
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    kube = createKubeClient(loaded.kubeConfig);
  });

  beforeEach(() => {
    double.configMaps.clear();
    double.failures.clear();
  });

  after(async () => {
    for (const s of setups) s.close();
    kube.close();
    await double.close();
    await pki.dir.cleanup();
  });

  it('reads both CAs, the allowed names and the header names from kube-system/extension-apiserver-authentication', async () => {
    double.setAuthenticationConfigMap(
      kubeSystemConfigMap({
        'requestheader-username-headers': '["X-Proxy-User"]',
        'requestheader-group-headers': '["X-Proxy-Group"]',
      }),
    );
    const auth = await setup();
    assert.deepEqual(auth.clientCaPem, [pki.frontProxyCa.cert, pki.clientCa.cert]);
    const probe = await startAuthProbe(auth.authenticator, pki, auth.clientCaPem);
    try {
      const proxied = await probe.call({
        cert: pki.frontProxyClient,
        headers: { 'X-Proxy-User': 'alice', 'X-Proxy-Group': 'devs', 'X-Remote-User': 'mallory' },
      });
      assert.deepEqual(proxied.body, { name: 'alice', groups: ['devs'], extra: {} });
      const wrongName = await probe.call({
        cert: await pki.frontProxyCa.issue({ cn: 'other-proxy' }),
        headers: { 'X-Proxy-User': 'alice' },
      });
      assert.equal(wrongName.status, 401);
      const direct = await probe.call({
        cert: await pki.clientCa.issue({ cn: 'ops', organizations: ['system:masters'] }),
      });
      assert.deepEqual(direct.body, { name: 'ops', groups: ['system:masters'], extra: {} });
    } finally {
      await probe.close();
    }
  });

  it('prefers the CA files given by flag over the configmap', async () => {
    double.setAuthenticationConfigMap(kubeSystemConfigMap());
    const before = double.calls.configmaps;
    const auth = await setup({ requestheaderClientCaFile: pki.otherCa.certPath, clientCaFile: pki.clientCa.certPath });
    assert.equal(double.calls.configmaps, before, 'no configmap read when both files are given');
    assert.deepEqual(auth.clientCaPem, [pki.otherCa.cert, pki.clientCa.cert]);
  });

  it('starts without the configmap (no aggregation layer): bearer tokens still work', async () => {
    const auth = await setup();
    assert.deepEqual(auth.clientCaPem, []);
    double.tokens.set('t', { username: 'tina' });
    const probe = await startAuthProbe(auth.authenticator, pki, []);
    try {
      assert.equal((await probe.call({ headers: { Authorization: 'Bearer t' } })).body.name, 'tina');
      const proxied = await probe.call({ cert: pki.frontProxyClient, headers: { 'X-Remote-User': 'alice' } });
      assert.equal(proxied.status, 401);
      assert.match(proxied.body.message ?? '', /no request-header or client CA is configured/);
    } finally {
      await probe.close();
    }
  });

  it('refuses to start when the configmap may not be read, saying which RoleBinding is missing', async () => {
    double.failures.set('configmaps', 403);
    await assert.rejects(
      setup(),
      /cannot read configmap kube-system\/extension-apiserver-authentication .*--role=extension-apiserver-authentication-reader/,
    );
  });

  it('refuses to start on a configmap value that is not a JSON list', async () => {
    double.setAuthenticationConfigMap(kubeSystemConfigMap({ 'requestheader-allowed-names': 'front-proxy-client' }));
    await assert.rejects(
      setup(),
      /configmap kube-system\/extension-apiserver-authentication key requestheader-allowed-names: expected a JSON array of strings/,
    );
  });

  it('refuses to start on an unreadable or non-PEM CA file, naming the flag and the file', async () => {
    await assert.rejects(
      setup({ clientCaFile: '/nonexistent/ca.crt', requestheaderClientCaFile: pki.frontProxyCa.certPath }),
      /^Error: --client-ca-file \/nonexistent\/ca.crt: cannot read the CA file: ENOENT/,
    );
    const notPem = await pki.dir.writeText('not-a-ca.crt', 'hello\n');
    await assert.rejects(
      setup({ requestheaderClientCaFile: notPem }),
      new RegExp(`^Error: --requestheader-client-ca-file ${notPem}: no PEM certificate found`),
    );
    const corrupt = await pki.dir.writeText(
      'corrupt.crt',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
    );
    await assert.rejects(
      setup({ clientCaFile: corrupt }),
      /--client-ca-file .*corrupt.crt: certificate 1 is not a valid X.509 PEM certificate/,
    );
  });

  it('picks up a rotated front-proxy CA from the configmap and reports the new bundle', async () => {
    double.setAuthenticationConfigMap(kubeSystemConfigMap());
    const changes: string[][] = [];
    const auth = await setup({}, { refreshIntervalMs: 30, onClientCaChange: (pem) => changes.push(pem) });
    const rotatedCa = await pki.dir.createCa('front-proxy-ca-2');
    double.setAuthenticationConfigMap(kubeSystemConfigMap({ 'requestheader-client-ca-file': rotatedCa.cert }));
    const deadline = Date.now() + 2000;
    while (changes.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(changes, [[rotatedCa.cert, pki.clientCa.cert]]);
    assert.deepEqual(auth.clientCaPem, [rotatedCa.cert, pki.clientCa.cert]);
    const probe = await startAuthProbe(auth.authenticator, pki, auth.clientCaPem);
    try {
      const cert = await rotatedCa.issue({ cn: 'front-proxy-client' });
      assert.equal((await probe.call({ cert, headers: { 'X-Remote-User': 'alice' } })).body.name, 'alice');
      assert.equal(
        (await probe.call({ cert: pki.frontProxyClient, headers: { 'X-Remote-User': 'alice' } })).status,
        401,
      );
    } finally {
      await probe.close();
    }
  });

  it('uses --authentication-kubeconfig rather than the injected client', async () => {
    double.setAuthenticationConfigMap(kubeSystemConfigMap());
    const rejected = loadKubeConfig(await double.writeKubeconfig('revoked-token', 'revoked.json'));
    assert.ok(rejected);
    const revoked = createKubeClient(rejected.kubeConfig);
    try {
      await assert.rejects(setup({}, {}, revoked), /answered 401 Unauthorized/);
      const auth = await setup({ authenticationKubeconfig: double.kubeconfigPath }, {}, revoked);
      assert.equal(auth.clientCaPem.length, 2);
    } finally {
      revoked.close();
    }
    await assert.rejects(
      createAuthSetup(
        {
          ...DEFAULT_FLAGS,
          authorizationKubeconfig: '/nonexistent/kubeconfig',
          authenticationKubeconfig: double.kubeconfigPath,
        },
        { logger: silentLogger() },
      ),
      /^Error: --authorization-kubeconfig \/nonexistent\/kubeconfig: cannot load kubeconfig/,
    );
  });

  it('says how to configure a cluster when there is none', async () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, kubeconfig: process.env.KUBECONFIG };
    delete process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBECONFIG;
    try {
      await assert.rejects(
        createAuthSetup(DEFAULT_FLAGS, { logger: silentLogger() }),
        /no Kubernetes API to delegate authentication and authorization to .*--standalone/,
      );
    } finally {
      if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      if (saved.kubeconfig !== undefined) process.env.KUBECONFIG = saved.kubeconfig;
    }
  });

  it('validates --authorization-always-allow-paths as kube does', async () => {
    assert.deepEqual(normaliseAlwaysAllowPaths(['/healthz', 'livez', '/openapi/v3/*']), [
      '/healthz',
      '/livez',
      '/openapi/v3/*',
    ]);
    assert.throws(
      () => normaliseAlwaysAllowPaths(['/api/*/x']),
      /--authorization-always-allow-paths: "\/api\/\*\/x" may only have \* as its last character/,
    );
    assert.deepEqual((await setup()).alwaysAllowPaths, ['/healthz', '/openapi/v3/*']);
  });
});
