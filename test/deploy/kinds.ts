/** The fields of the rendered objects the deploy tests read, and the adapter's place among them. */
import assert from 'node:assert/strict';
import { type Flags, parseFlags } from '../../src/cli/flags.js';
import { type KubeObject, type Labels, theOne } from './render.js';

export const ADAPTER = 'hpa-metrics-adapter';

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
export interface Probe {
  httpGet?: { path?: string; port?: number | string; scheme?: string };
  exec?: unknown;
  tcpSocket?: unknown;
  grpc?: unknown;
}
export interface Container {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command?: string[] } } };
  securityContext?: SecurityContext;
  resources?: { requests?: Labels; limits?: Labels };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface Volume {
  name: string;
  emptyDir?: object;
  configMap?: { name: string };
  secret?: { secretName: string };
}
export interface LabelSelector {
  matchLabels?: Labels;
}
export interface SpreadConstraint {
  topologyKey: string;
  maxSkew: number;
  whenUnsatisfiable: string;
  labelSelector?: LabelSelector;
}
export interface PodSpec {
  serviceAccountName?: string;
  priorityClassName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: SecurityContext;
  topologySpreadConstraints?: SpreadConstraint[];
  affinity?: {
    podAntiAffinity?: {
      preferredDuringSchedulingIgnoredDuringExecution?: {
        weight: number;
        podAffinityTerm: { topologyKey: string; labelSelector?: LabelSelector };
      }[];
    };
  };
  containers: Container[];
  volumes?: Volume[];
}
export interface Deployment extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelector;
    strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    template: { metadata: { labels?: Labels }; spec: PodSpec };
  };
}
export interface Service extends KubeObject {
  spec: { selector?: Labels; ports: { name?: string; port: number; targetPort?: number | string }[] };
}
export interface PodDisruptionBudget extends KubeObject {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector?: LabelSelector };
}
export interface NetworkPolicyPort {
  protocol?: string;
  port?: number | string;
}
export interface NetworkPolicyRule {
  ports?: NetworkPolicyPort[];
  from?: unknown[];
  to?: unknown[];
}
export interface NetworkPolicy extends KubeObject {
  spec: {
    podSelector: LabelSelector;
    policyTypes?: string[];
    ingress?: NetworkPolicyRule[];
    egress?: NetworkPolicyRule[];
  };
}
export interface APIService extends KubeObject {
  spec: {
    group: string;
    version: string;
    groupPriorityMinimum: number;
    versionPriority: number;
    insecureSkipTLSVerify?: boolean;
    caBundle?: string;
    service: { name: string; namespace: string; port?: number };
  };
}
export interface ConfigMap extends KubeObject {
  data?: Labels;
}

export function adapterDeployment(objects: readonly KubeObject[]): Deployment {
  return theOne<Deployment>(objects, 'Deployment', ADAPTER);
}

export function adapterContainer(deployment: Deployment): Container {
  const containers = deployment.spec.template.spec.containers;
  assert.equal(containers.length, 1, 'the adapter pod runs one container');
  return containers[0] as Container;
}

export function adapterFlags(deployment: Deployment): Flags {
  return parseFlags(adapterContainer(deployment).args ?? []);
}

export function podLabels(deployment: Deployment): Labels {
  return deployment.spec.template.metadata.labels ?? {};
}

export function containerPort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

/** The volume mounted at the longest mountPath that contains `path`. */
export function volumeHolding(deployment: Deployment, path: string): Volume {
  const container = adapterContainer(deployment);
  const mount = (container.volumeMounts ?? [])
    .filter((m) => path === m.mountPath || path.startsWith(`${m.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  assert.ok(mount, `${path} is not under any volume mount (the root filesystem is read-only)`);
  const volume = deployment.spec.template.spec.volumes?.find((v) => v.name === mount.name);
  assert.ok(volume, `volume ${mount.name} mounted at ${mount.mountPath} is not declared`);
  return volume;
}

/** The adapter's config file as shipped: the ConfigMap key the --config path names. */
export function shippedConfigText(objects: readonly KubeObject[]): string {
  const deployment = adapterDeployment(objects);
  const { config } = adapterFlags(deployment);
  assert.ok(config, '--config is set');
  const volume = volumeHolding(deployment, config);
  assert.ok(volume.configMap, '--config comes from a ConfigMap');
  const configMap = theOne<ConfigMap>(objects, 'ConfigMap', volume.configMap.name);
  const mountPath = adapterContainer(deployment).volumeMounts?.find((m) => m.name === volume.name)?.mountPath ?? '';
  const key = config.slice(mountPath.replace(/\/$/, '').length + 1);
  const text = configMap.data?.[key];
  assert.ok(text, `ConfigMap ${configMap.metadata.name} holds the file --config=${config} names`);
  return text;
}
