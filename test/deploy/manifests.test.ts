/**
 * The install manifests (deploy/) and the image recipe (Dockerfile), checked structurally:
 * kustomize output is rendered with the real kubectl and cross-checked object against
 * object, and against the adapter's own flag parser and config schema. Field types are not
 * validated against the Kubernetes OpenAPI schemas (no schema package is installed).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { parseFlags } from '../../src/cli/flags.js';
import { parseConfig } from '../../src/config/load.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Labels = Record<string, string>;
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
  [field: string]: unknown;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface Probe {
  httpGet?: { path?: string; port?: number | string; scheme?: string };
}
interface Container {
  name: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  securityContext?: SecurityContext;
  resources?: { requests?: Labels; limits?: Labels };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Volume {
  name: string;
  emptyDir?: object;
  configMap?: { name: string };
  secret?: { secretName: string };
}
interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector: { matchLabels?: Labels };
    template: {
      metadata: { labels?: Labels };
      spec: {
        serviceAccountName?: string;
        securityContext?: SecurityContext;
        containers: Container[];
        volumes?: Volume[];
      };
    };
  };
}
interface Service extends KubeObject {
  spec: { selector?: Labels; ports: { name?: string; port: number; targetPort?: number | string }[] };
}
interface APIService extends KubeObject {
  spec: {
    group: string;
    version: string;
    groupPriorityMinimum: number;
    versionPriority: number;
    insecureSkipTLSVerify?: boolean;
    service: { name: string; namespace: string; port?: number };
  };
}
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
interface HorizontalPodAutoscaler extends KubeObject {
  spec: {
    scaleTargetRef: { kind: string; name: string };
    metrics: { type: string; external?: { metric: { name: string; selector?: { matchLabels?: Labels } } } }[];
  };
}

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'APIService']);
const EXPECTED_APISERVICES = [
  { group: 'custom.metrics.k8s.io', version: 'v1beta1' },
  { group: 'custom.metrics.k8s.io', version: 'v1beta2' },
  { group: 'external.metrics.k8s.io', version: 'v1beta1' },
];

/** The versioned kubectl beside google-cloud-cli's dispatcher if present, else kubectl on PATH. */
function findKubectl(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const onPath = join(dir, 'kubectl');
    if (!isExecutable(onPath)) continue;
    const versioned = join(dirname(realpathSync(onPath)), 'kubectl.1.32');
    return isExecutable(versioned) ? versioned : onPath;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function parseYamlStream(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    assert.deepEqual(doc.errors, [], `${source}: invalid YAML`);
    const value = doc.toJS() as KubeObject | null;
    return value ? [value] : [];
  });
}

function ofKind<T extends KubeObject>(objects: KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

function theOne<T extends KubeObject>(objects: KubeObject[], kind: string, name?: string): T {
  const found = ofKind<T>(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  assert.equal(found.length, 1, `expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as T;
}

function adapterContainer(deployment: Deployment): Container {
  const containers = deployment.spec.template.spec.containers;
  assert.equal(containers.length, 1, 'the adapter pod runs one container');
  return containers[0] as Container;
}

function containerPort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The volume mounted at the longest mountPath that contains `path`. */
function volumeHolding(deployment: Deployment, path: string): Volume {
  const container = adapterContainer(deployment);
  const mount = (container.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  assert.ok(mount, `${path} is not under any volume mount (the root filesystem is read-only)`);
  const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === mount.name);
  assert.ok(volume, `volume ${mount.name} mounted at ${mount.mountPath} is not declared`);
  return volume;
}

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

/** What must hold in every rendering of the adapter install, with or without components. */
function assertAdapterInstall(objects: KubeObject[]): void {
  const deployment = theOne<Deployment>(objects, 'Deployment', 'hpa-metrics-adapter');
  const namespace = deployment.metadata.namespace;
  assert.ok(namespace, 'the Deployment names its namespace');
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

  const pod = deployment.spec.template;
  const container = adapterContainer(deployment);
  assert.ok((deployment.spec.replicas ?? 1) >= 2, 'at least two replicas: every HPA stalls while the adapter is down');
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels ?? {})) {
    assert.equal(pod.metadata.labels?.[key], value, `Deployment selector ${key}=${value} matches its pods`);
  }

  const flags = parseFlags(container.args ?? []);
  assert.equal(containerPort(container, 'https'), flags.securePort, 'container port "https" is --secure-port');
  assert.equal(flags.securePort, 6443);

  const probes = {
    startupProbe: /^\/(livez|readyz|healthz)$/,
    livenessProbe: /^\/livez$/,
    readinessProbe: /^\/readyz$/,
  };
  for (const [which, pathPattern] of Object.entries(probes)) {
    const probe = container[which as keyof typeof probes];
    assert.ok(probe?.httpGet, `${which} is an HTTP GET`);
    assert.match(probe.httpGet.path ?? '', pathPattern, `${which} path`);
    assert.doesNotMatch(
      probe.httpGet.path ?? '',
      /prometheus|aws|sqs|cloudwatch/i,
      `${which} must not depend on a backend`,
    );
    assert.equal(probe.httpGet.scheme, 'HTTPS', `${which} scheme`);
    assert.equal(containerPort(container, probe.httpGet.port), 6443, `${which} port`);
  }

  const podSecurity = pod.spec.securityContext ?? {};
  const security = container.securityContext ?? {};
  assert.equal(security.runAsNonRoot ?? podSecurity.runAsNonRoot, true, 'runAsNonRoot');
  assert.equal(security.readOnlyRootFilesystem, true, 'readOnlyRootFilesystem');
  assert.equal(security.allowPrivilegeEscalation, false, 'allowPrivilegeEscalation');
  assert.notEqual(security.privileged, true, 'not privileged');
  assert.deepEqual(security.capabilities?.drop, ['ALL'], 'capabilities drop ALL');
  assert.deepEqual(security.capabilities?.add ?? [], [], 'no capabilities added');
  assert.equal((security.seccompProfile ?? podSecurity.seccompProfile)?.type, 'RuntimeDefault', 'seccomp');
  assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, 'cpu and memory requests');
  assert.ok(container.resources?.limits?.memory, 'memory limit');

  assert.ok(flags.certDir, '--cert-dir is set');
  assert.ok(volumeHolding(deployment, flags.certDir).emptyDir, '--cert-dir is on an emptyDir');
  assert.ok(volumeHolding(deployment, '/tmp').emptyDir, '/tmp is an emptyDir');

  assert.ok(flags.config, '--config is set');
  const configVolume = volumeHolding(deployment, flags.config);
  assert.ok(configVolume.configMap, '--config comes from a ConfigMap');
  const configMap = theOne<KubeObject & { data?: Labels }>(objects, 'ConfigMap', configVolume.configMap.name);
  const mountPath = adapterContainer(deployment).volumeMounts?.find((m) => m.name === configVolume.name)?.mountPath;
  const configText = configMap.data?.[posix.relative(mountPath ?? '', flags.config)];
  assert.ok(configText, `ConfigMap ${configMap.metadata.name} holds the file --config=${flags.config} names`);
  assert.doesNotThrow(() => parseConfig(configText, 'deploy ConfigMap'), 'the shipped config passes the schema');

  const serviceAccount = pod.spec.serviceAccountName;
  assert.ok(serviceAccount, 'the pod runs as a dedicated ServiceAccount');
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
  for (const group of ['custom.metrics.k8s.io', 'external.metrics.k8s.io']) {
    assert.ok(
      rolesOf('kube-system', 'horizontal-pod-autoscaler').some((r) => allows(r, group, '*', ['get', 'list'])),
      `the HPA controller may get/list ${group}`,
    );
  }

  const service = theOne<Service>(objects, 'Service', 'hpa-metrics-adapter');
  const selector = Object.entries(service.spec.selector ?? {});
  assert.ok(selector.length > 0, 'the Service has a selector');
  for (const [key, value] of selector) {
    assert.equal(pod.metadata.labels?.[key], value, `Service selector ${key}=${value} matches the adapter pods`);
  }
  const https = service.spec.ports.find((p) => p.port === 443);
  assert.equal(https?.name, 'https');
  assert.equal(containerPort(container, https?.targetPort), 6443, 'Service 443 → container 6443');

  const apiServices = ofKind<APIService>(objects, 'APIService');
  assert.deepEqual(
    apiServices.map((a) => a.metadata.name).sort(),
    EXPECTED_APISERVICES.map((e) => `${e.version}.${e.group}`).sort(),
  );
  for (const { group, version } of EXPECTED_APISERVICES) {
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

const kubectl = findKubectl();
const needsKubectl = { skip: kubectl ? false : 'kubectl not found: deploy/ kustomize output is NOT checked' };

function render(dir: string, home: string): KubeObject[] {
  const result = spawnSync(kubectl as string, ['kustomize', join(ROOT, dir)], {
    env: { ...process.env, HOME: home },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `kubectl kustomize ${dir} failed: ${result.stderr || result.error?.message}`);
  return parseYamlStream(result.stdout, `kubectl kustomize ${dir}`);
}

describe('deploy/ rendered with kubectl kustomize', () => {
  let home = '';
  let base: KubeObject[] = [];
  let certManager: KubeObject[] = [];
  before(() => {
    if (!kubectl) return;
    home = mkdtempSync(join(tmpdir(), 'kubectl-home-'));
    base = render('deploy/base', home);
    certManager = render('deploy/overlays/cert-manager', home);
  });
  after(() => home && rmSync(home, { recursive: true, force: true }));

  it('base: a complete, consistent adapter install', needsKubectl, () => assertAdapterInstall(base));

  it('base: APIServices skip TLS verification (no CA to trust yet)', needsKubectl, () => {
    for (const api of ofKind<APIService>(base, 'APIService')) assert.equal(api.spec.insecureSkipTLSVerify, true);
  });

  it('cert-manager overlay: still a complete adapter install', needsKubectl, () => assertAdapterInstall(certManager));

  it('cert-manager overlay: APIServices trust the injected CA, never skip verification', needsKubectl, () => {
    const namespace = theOne<Deployment>(certManager, 'Deployment').metadata.namespace;
    for (const api of ofKind<APIService>(certManager, 'APIService')) {
      const source = api.metadata.annotations?.['cert-manager.io/inject-ca-from'];
      assert.ok(source, `${api.metadata.name} has cert-manager.io/inject-ca-from`);
      const [certNamespace, certName] = source.split('/');
      assert.equal(certNamespace, namespace);
      theOne(certManager, 'Certificate', certName);
      assert.notEqual(api.spec.insecureSkipTLSVerify, true, `${api.metadata.name} insecureSkipTLSVerify`);
    }
    assert.doesNotMatch(JSON.stringify(certManager), /"insecureSkipTLSVerify":true/);
  });

  it('cert-manager overlay: the adapter serves the Certificate issued for its Service name', needsKubectl, () => {
    const deployment = theOne<Deployment>(certManager, 'Deployment');
    const service = theOne<Service>(certManager, 'Service');
    const api = ofKind<APIService>(certManager, 'APIService')[0];
    const certName = api?.metadata.annotations?.['cert-manager.io/inject-ca-from']?.split('/')[1];
    const certificate = theOne<Certificate>(certManager, 'Certificate', certName);
    assert.ok(
      certificate.spec.dnsNames?.includes(`${service.metadata.name}.${service.metadata.namespace}.svc`),
      'the certificate names <service>.<namespace>.svc, the name the aggregator dials',
    );
    theOne(certManager, certificate.spec.issuerRef.kind ?? 'Issuer', certificate.spec.issuerRef.name);

    const flags = parseFlags(adapterContainer(deployment).args ?? []);
    for (const [flag, file] of [
      ['--tls-cert-file', flags.tlsCertFile],
      ['--tls-private-key-file', flags.tlsPrivateKeyFile],
    ] as const) {
      assert.ok(file, `${flag} is set`);
      assert.equal(volumeHolding(deployment, file).secret?.secretName, certificate.spec.secretName, `${flag} file`);
    }
    assert.equal(posix.basename(flags.tlsCertFile ?? ''), 'tls.crt');
    assert.equal(posix.basename(flags.tlsPrivateKeyFile ?? ''), 'tls.key');
  });

  it('examples/hpa-static.yaml scales on an external metric the base config serves', needsKubectl, () => {
    const example = parseYamlStream(readFileSync(join(ROOT, 'deploy/examples/hpa-static.yaml'), 'utf8'), 'example');
    const hpa = theOne<HorizontalPodAutoscaler>(example, 'HorizontalPodAutoscaler');
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    theOne(example, hpa.spec.scaleTargetRef.kind, hpa.spec.scaleTargetRef.name);
    const external = hpa.spec.metrics.find((m) => m.type === 'External')?.external;
    assert.ok(external, 'the HPA uses an External metric');

    const configMap = theOne<KubeObject & { data?: Labels }>(base, 'ConfigMap');
    const config = parseConfig(configMap.data?.['config.yaml'] ?? '', 'deploy ConfigMap');
    const served = config.static?.external.find((m) => m.metric === external.metric.name);
    assert.ok(served, `metric ${external.metric.name} is in the base config`);
    const wanted = Object.entries(external.metric.selector?.matchLabels ?? {});
    assert.ok(
      served.series.some((s) => wanted.every(([k, v]) => s.labels[k] === v)),
      'the selector matches a served series (else the HPA sees no metrics)',
    );
  });
});

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions by stage: comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Instruction[][] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') stages.push([]);
    const stage = stages.at(-1);
    if (stage) stage.push(instruction);
    else assert.match(instruction.keyword, /^ARG$/, `only ARG may precede the first FROM, found ${keyword}`);
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1) ?? [];
  const build = stages.slice(0, -1).flat();
  const runtimeArgs = (keyword: string) => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('is multi-stage on a Node.js LTS image (22 or 24)', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    const stageNames = new Set<string>();
    for (const stage of stages) {
      const [image = '', , name] = (stage[0]?.args ?? '').replace(/--platform=\S+\s+/, '').split(/\s+/);
      if (!stageNames.has(image))
        assert.match(image, /^(docker\.io\/(library\/)?)?node:(22|24)([.-][\w.-]*)?(@sha256:[0-9a-f]{64})?$/);
      if (name) stageNames.add(name);
    }
  });

  it('builds with npm ci and npm run build, and ships production dependencies only', () => {
    const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const ran = (command: RegExp) => runs.some((r) => command.test(r));
    assert.ok(ran(/\bnpm ci\b/), 'npm ci');
    assert.ok(ran(/\bnpm run build\b/), 'npm run build');
    assert.ok(ran(/\bnpm (prune|ci)\b[^&;]*--omit=dev/), 'dev dependencies dropped');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Labels };
    assert.ok(pkg.scripts?.build, 'package.json defines the build script the image runs');
    const copies = runtimeArgs('COPY').join('\n');
    assert.match(copies, /--from=\S+\s+\S*package\.json\s/, 'package.json ships ("type": "module" for dist/*.js)');
    assert.match(copies, /--from=\S+\s+\S*\/dist\s/, 'dist/ ships');
    assert.match(copies, /--from=\S+\s+\S*\/node_modules\s/, 'node_modules ships');
  });

  it('runs as a numeric non-root user under tini, exec form, without HEALTHCHECK', () => {
    const user = runtimeArgs('USER').at(-1);
    assert.ok(user, 'the runtime stage sets USER');
    assert.match(user, /^\d+(:\d+)?$/, 'numeric, so Kubernetes can verify runAsNonRoot');
    assert.notEqual(user.split(':')[0], '0', 'not root');

    assert.ok(
      runtimeArgs('RUN').some((r) => /(apt-get install|apk add)\b.*\btini\b/.test(r)),
      'tini from OS packages',
    );
    const entrypointText = runtimeArgs('ENTRYPOINT').at(-1) ?? '';
    let entrypoint: string[] = [];
    assert.doesNotThrow(() => {
      entrypoint = JSON.parse(entrypointText) as string[];
    }, `exec-form ENTRYPOINT (a JSON array), got: ${entrypointText}`);
    assert.ok(Array.isArray(entrypoint), 'exec-form ENTRYPOINT (a JSON array)');
    assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node']);
    assert.match(entrypoint[3] ?? '', /(^|\/)dist\/main\.js$/);

    const all = stages.flat();
    assert.ok(!all.some((i) => i.keyword === 'HEALTHCHECK'), 'no HEALTHCHECK (Kubernetes probes instead)');
    const labels = runtimeArgs('LABEL').join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision']) {
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), `OCI label ${key}`);
    }
  });

  it('.dockerignore keeps host artefacts out and the build inputs in', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/\/$/, ''))
      .filter((l) => l && !l.startsWith('#'));
    for (const path of ['node_modules', '.git', 'dist']) assert.ok(ignored.includes(path), `${path} is ignored`);
    const inputs = build
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1))
      .map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''));
    assert.ok(inputs.length > 0);
    for (const input of inputs) assert.ok(!ignored.includes(input), `${input} is copied, so must not be ignored`);
  });
});
