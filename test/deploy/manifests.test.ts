/**
 * The install manifests (deploy/) as kubectl's kustomize renders them, cross-checked object
 * against object and against the adapter's own flag parser and config schema: namespaces,
 * ports, volumes, RBAC, Service, APIServices, serving certificates and the EKS wiring.
 * Schemas: schemas.test.ts. Production policies: policies.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { resolvePrometheusSettings } from '../../src/providers/prometheus/settings.js';
import {
  ADAPTER,
  type APIService,
  adapterContainer,
  adapterDeployment,
  adapterFlags,
  containerPort,
  type Deployment,
  type NetworkPolicy,
  podLabels,
  type Service,
  shippedConfigText,
  volumeHolding,
} from './kinds.js';
import {
  deployDirectories,
  INSTALLS,
  type KubeObject,
  needsKubectl,
  ofKind,
  ROOT,
  renderAll,
  selects,
  theOne,
} from './render.js';

interface Binding extends KubeObject {
  roleRef: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}
interface ClusterRole extends KubeObject {
  rules: { apiGroups?: string[]; resources?: string[]; verbs: string[] }[];
}
interface Certificate extends KubeObject {
  spec: { secretName: string; dnsNames?: string[]; issuerRef: { name: string; kind?: string } };
}

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'APIService',
  'CustomResourceDefinition',
]);
const EXPECTED_APISERVICES = [
  { group: 'custom.metrics.k8s.io', version: 'v1beta1' },
  { group: 'custom.metrics.k8s.io', version: 'v1beta2' },
  { group: 'external.metrics.k8s.io', version: 'v1beta1' },
];
const RESOURCE_METRICS_APISERVICES = [
  { group: 'metrics.k8s.io', version: 'v1' },
  { group: 'metrics.k8s.io', version: 'v1beta1' },
];
const SERVING_CERT_SECRET = 'hpa-metrics-adapter-serving-cert';

function isBoundTo(binding: Binding, namespace: string, serviceAccount: string): boolean {
  return (binding.subjects ?? []).some(
    (s) => s.kind === 'ServiceAccount' && s.name === serviceAccount && s.namespace === namespace,
  );
}

function allows(role: ClusterRole, group: string, resource: string, verbs: string[]): boolean {
  return verbs.every((verb) =>
    role.rules.some(
      (r) =>
        (r.apiGroups ?? []).includes(group) &&
        ((r.resources ?? []).includes(resource) || (r.resources ?? []).includes('*')) &&
        (r.verbs.includes(verb) || r.verbs.includes('*')),
    ),
  );
}

function assertNamespaces(objects: KubeObject[], namespace: string): void {
  theOne(objects, 'Namespace', namespace);
  const seen = new Set<string>();
  for (const o of objects) {
    const key = `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    assert.ok(!seen.has(key), `duplicate object ${key}`);
    seen.add(key);
    if (CLUSTER_SCOPED.has(o.kind)) continue;
    const readsAuthConfig = (o as Binding).roleRef?.name === 'extension-apiserver-authentication-reader';
    const expected: string = o.kind === 'RoleBinding' && readsAuthConfig ? 'kube-system' : namespace;
    assert.equal(o.metadata.namespace, expected, `${o.kind} ${o.metadata.name} namespace`);
  }
}

function assertRbac(objects: KubeObject[], namespace: string, serviceAccount: string): void {
  assert.equal(theOne(objects, 'ServiceAccount', serviceAccount).metadata.namespace, namespace);
  const clusterBindings = ofKind<Binding>(objects, 'ClusterRoleBinding');
  assert.ok(
    clusterBindings.some((b) => b.roleRef.name === 'system:auth-delegator' && isBoundTo(b, namespace, serviceAccount)),
    'ServiceAccount bound to system:auth-delegator',
  );
  assert.ok(
    ofKind<Binding>(objects, 'RoleBinding').some(
      (b) =>
        b.metadata.namespace === 'kube-system' &&
        b.roleRef.kind === 'Role' &&
        b.roleRef.name === 'extension-apiserver-authentication-reader' &&
        isBoundTo(b, namespace, serviceAccount),
    ),
    'ServiceAccount bound to extension-apiserver-authentication-reader in kube-system',
  );
  const rolesOf = (ns: string, sa: string) =>
    clusterBindings
      .filter((b) => b.roleRef.kind === 'ClusterRole' && isBoundTo(b, ns, sa))
      .flatMap((b) => ofKind<ClusterRole>(objects, 'ClusterRole').filter((r) => r.metadata.name === b.roleRef.name));
  const reads = (group: string, resource: string) =>
    rolesOf(namespace, serviceAccount).some((r) => allows(r, group, resource, ['get', 'list', 'watch']));
  for (const [group, resource] of [
    ['', 'pods'],
    ['', 'services'],
    ['', 'namespaces'],
    ['', 'nodes'],
    ['apps', 'deployments'],
    ['apps', 'statefulsets'],
    ['apps', 'replicasets'],
    ['networking.k8s.io', 'ingresses'],
    ['batch', 'jobs'],
  ] as const) {
    assert.ok(reads(group, resource), `adapter may get/list/watch ${resource}.${group || 'core'}`);
  }
  assert.ok(
    rolesOf(namespace, serviceAccount).some((r) =>
      allows(r, 'hpa-metrics-adapter.io', 'metricdefinitions/status', ['get', 'update']),
    ),
    'adapter may get/update the status of MetricDefinitions',
  );
  assert.ok(
    rolesOf(namespace, serviceAccount).some((r) =>
      allows(r, 'autoscaling', 'horizontalpodautoscalers', ['list', 'watch']),
    ),
    'adapter may list/watch HPAs (the HPAs a definition status names)',
  );
  const namespaceRoles = ofKind<Binding>(objects, 'RoleBinding')
    .filter(
      (b) => b.metadata.namespace === namespace && b.roleRef.kind === 'Role' && isBoundTo(b, namespace, serviceAccount),
    )
    .flatMap((b) =>
      ofKind<ClusterRole>(objects, 'Role').filter(
        (r) => r.metadata.name === b.roleRef.name && r.metadata.namespace === namespace,
      ),
    );
  assert.ok(
    namespaceRoles.some((r) => allows(r, 'coordination.k8s.io', 'leases', ['get', 'create', 'update'])),
    'adapter may get/create/update Leases in its own namespace (one replica writes definition status)',
  );
  for (const group of ['custom.metrics.k8s.io', 'external.metrics.k8s.io']) {
    assert.ok(
      rolesOf('kube-system', 'horizontal-pod-autoscaler').some((r) => allows(r, group, '*', ['get', 'list'])),
      `the HPA controller may get/list ${group}`,
    );
  }
}

function assertServiceAndApiServices(objects: KubeObject[], deployment: Deployment, namespace: string): void {
  const container = adapterContainer(deployment);
  const service = theOne<Service>(objects, 'Service', ADAPTER);
  assert.ok(selects(service.spec.selector, podLabels(deployment)), 'the Service selects the adapter pods');
  const https = service.spec.ports.find((p) => p.port === 443);
  assert.equal(https?.name, 'https');
  assert.equal(containerPort(container, https?.targetPort), 6443, 'Service 443 → container 6443');

  const apiServices = ofKind<APIService>(objects, 'APIService');
  // components/resource-metrics adds metrics.k8s.io; nothing else may add or drop one.
  const expected = apiServices.some((a) => a.spec.group === RESOURCE_METRICS_APISERVICES[0]?.group)
    ? [...EXPECTED_APISERVICES, ...RESOURCE_METRICS_APISERVICES]
    : EXPECTED_APISERVICES;
  assert.deepEqual(
    apiServices.map((a) => a.metadata.name).sort(),
    expected.map((e) => `${e.version}.${e.group}`).sort(),
  );
  for (const { group, version } of expected) {
    const api = theOne<APIService>(objects, 'APIService', `${version}.${group}`);
    assert.equal(api.spec.group, group);
    assert.equal(api.spec.version, version);
    assert.equal(api.spec.groupPriorityMinimum, 100);
    assert.deepEqual(api.spec.service, { name: service.metadata.name, namespace, port: 443 });
  }
  const priority = (v: string) =>
    theOne<APIService>(objects, 'APIService', `${v}.custom.metrics.k8s.io`).spec.versionPriority;
  assert.ok(priority('v1beta2') > priority('v1beta1'), 'custom.metrics.k8s.io/v1beta2 is the preferred version');
}

/** What must hold in every rendering of the adapter install, with or without components. */
function assertAdapterInstall(objects: KubeObject[]): void {
  const deployment = adapterDeployment(objects);
  const namespace = deployment.metadata.namespace;
  assert.ok(namespace, 'the Deployment names its namespace');
  assertNamespaces(objects, namespace);
  assert.ok(selects(deployment.spec.selector.matchLabels, podLabels(deployment)), 'the Deployment selects its pods');

  const flags = adapterFlags(deployment);
  assert.equal(containerPort(adapterContainer(deployment), 'https'), flags.securePort, 'port "https" is --secure-port');
  assert.equal(flags.securePort, 6443);
  assert.ok(flags.certDir, '--cert-dir is set');
  assert.ok(volumeHolding(deployment, flags.certDir).emptyDir, '--cert-dir is on an emptyDir');
  assert.ok(volumeHolding(deployment, '/tmp').emptyDir, '/tmp is an emptyDir');
  assert.doesNotThrow(
    () => parseConfig(shippedConfigText(objects), 'deploy ConfigMap'),
    'the config passes the schema',
  );

  const serviceAccount = deployment.spec.template.spec.serviceAccountName;
  assert.ok(serviceAccount, 'the pod runs as a dedicated ServiceAccount');
  assertRbac(objects, namespace, serviceAccount);
  assertServiceAndApiServices(objects, deployment, namespace);
}

/** With a serving-certificate Secret: the adapter serves it, and the aggregator verifies it. */
function assertServesSecret(objects: KubeObject[]): void {
  const deployment = adapterDeployment(objects);
  const flags = adapterFlags(deployment);
  for (const [flag, file, base] of [
    ['--tls-cert-file', flags.tlsCertFile, 'tls.crt'],
    ['--tls-private-key-file', flags.tlsPrivateKeyFile, 'tls.key'],
  ] as const) {
    assert.ok(file, `${flag} is set`);
    assert.equal(posix.basename(file), base);
    assert.equal(volumeHolding(deployment, file).secret?.secretName, SERVING_CERT_SECRET, `${flag} file`);
  }
  for (const api of ofKind<APIService>(objects, 'APIService')) {
    assert.equal(api.spec.insecureSkipTLSVerify, false, `${api.metadata.name} verifies the adapter`);
  }
}

describe('deploy/ rendered with kubectl kustomize', () => {
  let rendered = new Map<string, KubeObject[]>();
  const install = (name: string) => rendered.get(name) ?? [];
  before(() => {
    rendered = renderAll();
  });

  it('every overlay and component is part of a checked install', () => {
    const covered = new Set<string>();
    const visit = (dir: string) => {
      if (covered.has(dir)) return;
      covered.add(dir);
      const kustomization = parse(readFileSync(join(ROOT, dir, 'kustomization.yaml'), 'utf8')) as {
        resources?: string[];
        components?: string[];
      };
      for (const ref of [...(kustomization.resources ?? []), ...(kustomization.components ?? [])]) {
        if (ref.startsWith('../')) visit(posix.normalize(posix.join(dir, ref)));
      }
    };
    for (const dir of INSTALLS.flatMap((i) => [...i.resources, ...(i.components ?? [])])) visit(dir);
    for (const dir of [...deployDirectories('overlays'), ...deployDirectories('components')]) {
      assert.ok(covered.has(dir), `${dir} is in no install of test/deploy/render.ts: it would go unchecked`);
    }
  });

  for (const { name } of INSTALLS) {
    it(`${name}: a complete, consistent adapter install`, needsKubectl, () => assertAdapterInstall(install(name)));
  }

  it('base: APIServices skip TLS verification (each pod has its own self-signed certificate)', needsKubectl, () => {
    for (const api of ofKind<APIService>(install('base'), 'APIService'))
      assert.equal(api.spec.insecureSkipTLSVerify, true);
  });

  it('serving-cert-secret: the Secret is served and verified; caBundle is left to the script', needsKubectl, () => {
    const objects = install('base + components/serving-cert-secret + components/monitoring');
    assertServesSecret(objects);
    for (const api of ofKind<APIService>(objects, 'APIService')) {
      assert.equal(api.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
      assert.equal(api.spec.caBundle, undefined, 'a caBundle in the manifest would be overwritten at every apply');
    }
  });

  for (const name of ['overlays/cert-manager', 'overlays/eks']) {
    it(
      `${name}: APIServices trust the CA cert-manager injects from the Certificate the adapter serves`,
      needsKubectl,
      () => {
        const objects = install(name);
        assertServesSecret(objects);
        const service = theOne<Service>(objects, 'Service', ADAPTER);
        for (const api of ofKind<APIService>(objects, 'APIService')) {
          const source = api.metadata.annotations?.['cert-manager.io/inject-ca-from'];
          assert.ok(source, `${api.metadata.name} has cert-manager.io/inject-ca-from`);
          const [certNamespace, certName] = source.split('/');
          assert.equal(certNamespace, service.metadata.namespace);
          const certificate = theOne<Certificate>(objects, 'Certificate', certName);
          assert.equal(
            certificate.spec.secretName,
            SERVING_CERT_SECRET,
            'the Certificate writes the Secret the pod mounts',
          );
          assert.ok(
            certificate.spec.dnsNames?.includes(`${service.metadata.name}.${service.metadata.namespace}.svc`),
            'the certificate names <service>.<namespace>.svc, the name the aggregator dials',
          );
          theOne(objects, certificate.spec.issuerRef.kind ?? 'Issuer', certificate.spec.issuerRef.name);
        }
      },
    );
  }

  it('overlays/eks: IRSA on the ServiceAccount, a token the non-root user can read', needsKubectl, () => {
    const objects = install('overlays/eks');
    const deployment = adapterDeployment(objects);
    const account = theOne(objects, 'ServiceAccount', deployment.spec.template.spec.serviceAccountName);
    assert.match(
      account.metadata.annotations?.['eks.amazonaws.com/role-arn'] ?? '',
      /^arn:aws:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    );
    const podSecurity = deployment.spec.template.spec.securityContext as { fsGroup?: number; runAsUser?: number };
    assert.equal(podSecurity.fsGroup, podSecurity.runAsUser, 'fsGroup makes the projected token readable');
  });

  it('overlays/eks: egress to 443 (EKS API server, AWS) and the Pod Identity agent, not 6443', needsKubectl, () => {
    const egress = theOne<NetworkPolicy>(install('overlays/eks'), 'NetworkPolicy').spec.egress ?? [];
    const ports = egress.flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
    assert.ok(!ports.includes(6443), 'no kubeadm-style API server port on EKS');
    assert.ok(
      egress.some((rule) => JSON.stringify(rule.to ?? []).includes('169.254.170.23/32') && ports.includes(80)),
      'the EKS Pod Identity agent',
    );
  });

  it('overlays/eks: the config serves Prometheus, SQS and CloudWatch metrics', needsKubectl, () => {
    const config = parseConfig(shippedConfigText(install('overlays/eks')), 'EKS ConfigMap');
    assert.ok(config.prometheus?.rules?.length, 'Prometheus rules');
    assert.ok(config.sqs, 'sqs');
    assert.ok(config.cloudwatch?.metrics.length, 'CloudWatch metrics');
  });

  it('overlays/eks-amp: the eks install, its config signing for the AMP workspace it names', needsKubectl, () => {
    const objects = install('overlays/eks-amp');
    const config = parseConfig(shippedConfigText(objects), 'EKS AMP ConfigMap');
    const settings = resolvePrometheusSettings(config.prometheus, {});
    const url = settings?.servers[0]?.client.url ?? '';
    const [, region] =
      /^https:\/\/aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com\/workspaces\/ws-[0-9a-f-]+$/.exec(url) ?? [];
    assert.ok(region, `an AMP workspace query URL: ${url}`);
    assert.equal(settings?.servers[0]?.client.signer?.description, `SigV4 (region ${region}, service aps)`);
    assert.ok(config.prometheus?.rules?.length, 'Prometheus rules');
    const deployment = adapterDeployment(objects);
    const account = theOne(objects, 'ServiceAccount', deployment.spec.template.spec.serviceAccountName);
    assert.ok(account.metadata.annotations?.['eks.amazonaws.com/role-arn'], 'IRSA, as the eks overlay');
  });
});
