/**
 * What production asks of the adapter's install (issue 6): it must stay available through
 * node failures, drains, zone outages and upgrades, shut down without failing requests, and
 * run locked down. Each policy throws an AssertionError saying what is wrong;
 * policies.test.ts runs them on every install and breaks each one on purpose.
 */
import assert from 'node:assert/strict';
import {
  ADAPTER,
  adapterContainer,
  adapterDeployment,
  adapterFlags,
  type ConfigMap,
  containerPort,
  type Deployment,
  type NetworkPolicy,
  type NetworkPolicyPort,
  type PodDisruptionBudget,
  podLabels,
  volumeHolding,
} from './kinds.js';
import { type KubeObject, ofKind, selects, theOne } from './render.js';

export interface Policy {
  name: string;
  check(objects: readonly KubeObject[]): void;
}

const HEALTH_PATHS = { startupProbe: ['/livez', '/readyz'], livenessProbe: ['/livez'], readinessProbe: ['/readyz'] };
const ZONE = 'topology.kubernetes.io/zone';
const HOSTNAME = 'kubernetes.io/hostname';

function replicasOf(deployment: Deployment): number {
  return deployment.spec.replicas ?? 1;
}

/** Seconds a preStop hook holds the container before SIGTERM (sleep action or `sleep N`). */
function preStopSeconds(deployment: Deployment): number {
  const preStop = adapterContainer(deployment).lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command?.join(' ') ?? '';
  const sleep = /\bsleep\s+(\d+)/.exec(command);
  return sleep ? Number(sleep[1]) : 0;
}

function allowsPort(ports: NetworkPolicyPort[] | undefined, port: number, protocol: string, named?: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some(
    (p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port || p.port === named),
  );
}

export const POLICIES: readonly Policy[] = [
  {
    name: 'at least two replicas',
    check(objects) {
      const replicas = replicasOf(adapterDeployment(objects));
      assert.ok(replicas >= 2, `replicas is ${replicas}: with one, every HPA stalls whenever that pod is down`);
    },
  },
  {
    name: 'rolling updates never drop below the replica count',
    check(objects) {
      const { strategy } = adapterDeployment(objects).spec;
      assert.equal(strategy?.type ?? 'RollingUpdate', 'RollingUpdate', 'strategy type');
      assert.equal(
        strategy?.rollingUpdate?.maxUnavailable,
        0,
        'maxUnavailable 0: old pods serve until new ones are Ready',
      );
      assert.equal(strategy?.rollingUpdate?.maxSurge, 1, 'maxSurge 1');
    },
  },
  {
    name: 'a PodDisruptionBudget selects the pods, keeps one and lets one go',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const budgets = ofKind<PodDisruptionBudget>(objects, 'PodDisruptionBudget').filter(
        (b) =>
          b.metadata.namespace === deployment.metadata.namespace &&
          selects(b.spec.selector?.matchLabels, podLabels(deployment)),
      );
      assert.equal(budgets.length, 1, 'exactly one PodDisruptionBudget selects the adapter pods');
      const { minAvailable, maxUnavailable } = (budgets[0] as PodDisruptionBudget).spec;
      const replicas = replicasOf(deployment);
      assert.ok(
        typeof minAvailable === 'number' || typeof maxUnavailable === 'number',
        'minAvailable or maxUnavailable as a number of pods',
      );
      const keeps = typeof minAvailable === 'number' ? minAvailable : replicas - (maxUnavailable as number);
      assert.ok(keeps >= 1, `the budget keeps ${keeps} pods available during drains`);
      assert.ok(keeps < replicas, `the budget keeps all ${replicas} pods: node drains would block forever`);
    },
  },
  {
    name: 'spread over nodes (required) and zones (preferred), selecting the pods',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const constraints = deployment.spec.template.spec.topologySpreadConstraints ?? [];
      const expected = { [HOSTNAME]: 'DoNotSchedule', [ZONE]: 'ScheduleAnyway' };
      for (const [topologyKey, whenUnsatisfiable] of Object.entries(expected)) {
        const constraint = constraints.find((c) => c.topologyKey === topologyKey);
        assert.ok(constraint, `a topologySpreadConstraint over ${topologyKey}`);
        assert.ok(
          selects(constraint.labelSelector?.matchLabels, podLabels(deployment)),
          `the ${topologyKey} constraint's labelSelector selects the adapter pods`,
        );
        assert.equal(constraint.maxSkew, 1, `${topologyKey} maxSkew`);
        assert.equal(constraint.whenUnsatisfiable, whenUnsatisfiable, `${topologyKey} whenUnsatisfiable`);
      }
    },
  },
  {
    name: 'preferred pod anti-affinity per node, selecting the pods',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const preferred =
        deployment.spec.template.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
      assert.ok(
        (preferred ?? []).some(
          (term) =>
            term.podAffinityTerm.topologyKey === HOSTNAME &&
            selects(term.podAffinityTerm.labelSelector?.matchLabels, podLabels(deployment)),
        ),
        `a preferred podAntiAffinity term over ${HOSTNAME} selecting the adapter pods`,
      );
    },
  },
  {
    name: 'startup, liveness and readiness probe the health endpoints over HTTPS, never a backend',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const container = adapterContainer(deployment);
      const securePort = adapterFlags(deployment).securePort;
      for (const [which, paths] of Object.entries(HEALTH_PATHS)) {
        const probe = container[which as keyof typeof HEALTH_PATHS];
        assert.ok(probe, `${which} is set`);
        assert.ok(probe.httpGet && !probe.exec && !probe.tcpSocket && !probe.grpc, `${which} is an HTTP GET`);
        // Only the health endpoints answer from process state; /apis/…, /metrics, /openapi
        // would tie the pod's fate to Prometheus, AWS or the kube-apiserver.
        assert.ok(paths.includes(probe.httpGet.path ?? ''), `${which} path ${probe.httpGet.path} is one of ${paths}`);
        assert.equal(probe.httpGet.scheme, 'HTTPS', `${which} scheme`);
        assert.equal(containerPort(container, probe.httpGet.port), securePort, `${which} port is --secure-port`);
      }
    },
  },
  {
    name: 'the grace period outlasts the drain',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const { shutdownDelaySeconds, shutdownGraceSeconds } = adapterFlags(deployment);
      const preStop = preStopSeconds(deployment);
      assert.ok(
        preStop + shutdownDelaySeconds > 0,
        'a preStop sleep or --shutdown-delay-seconds keeps serving while endpoints are updated',
      );
      const drain = preStop + shutdownDelaySeconds + shutdownGraceSeconds;
      const grace = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      assert.ok(
        grace > drain,
        `terminationGracePeriodSeconds ${grace} must exceed preStop ${preStop} + --shutdown-delay-seconds ` +
          `${shutdownDelaySeconds} + --shutdown-grace-seconds ${shutdownGraceSeconds} = ${drain}`,
      );
    },
  },
  {
    name: 'priorityClassName system-cluster-critical',
    check(objects) {
      const { priorityClassName } = adapterDeployment(objects).spec.template.spec;
      assert.equal(priorityClassName, 'system-cluster-critical');
    },
  },
  {
    name: 'non-root, read-only root filesystem, no capabilities, seccomp RuntimeDefault',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const pod = deployment.spec.template.spec.securityContext ?? {};
      const container = adapterContainer(deployment).securityContext ?? {};
      assert.equal(container.runAsNonRoot ?? pod.runAsNonRoot, true, 'runAsNonRoot');
      assert.notEqual(container.runAsUser ?? pod.runAsUser, 0, 'runAsUser is not 0');
      assert.equal(container.readOnlyRootFilesystem, true, 'readOnlyRootFilesystem');
      assert.equal(container.allowPrivilegeEscalation, false, 'allowPrivilegeEscalation');
      assert.notEqual(container.privileged, true, 'not privileged');
      assert.deepEqual(container.capabilities?.drop, ['ALL'], 'capabilities drop ALL');
      assert.deepEqual(container.capabilities?.add ?? [], [], 'no capabilities added');
      assert.equal((container.seccompProfile ?? pod.seccompProfile)?.type, 'RuntimeDefault', 'seccomp');
    },
  },
  {
    name: 'cpu and memory requests, a memory limit',
    check(objects) {
      const { resources } = adapterContainer(adapterDeployment(objects));
      assert.ok(resources?.requests?.cpu, 'cpu request');
      assert.ok(resources?.requests?.memory, 'memory request');
      assert.ok(resources?.limits?.memory, 'memory limit');
    },
  },
  {
    name: 'a NetworkPolicy selects the pods, admits 6443 from anywhere and lets them reach DNS and HTTPS',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const securePort = adapterFlags(deployment).securePort;
      const policies = ofKind<NetworkPolicy>(objects, 'NetworkPolicy').filter(
        (p) =>
          p.metadata.namespace === deployment.metadata.namespace &&
          selects(p.spec.podSelector.matchLabels, podLabels(deployment)),
      );
      assert.ok(policies.length > 0, 'a NetworkPolicy selects the adapter pods');
      const types = policies.flatMap((p) => p.spec.policyTypes ?? ['Ingress']);
      assert.ok(types.includes('Ingress'), 'the NetworkPolicy governs ingress');
      // The aggregator's source address differs by platform: no `from` may narrow 6443.
      const ingress = policies.flatMap((p) => p.spec.ingress ?? []);
      assert.ok(
        ingress.some((rule) => (rule.from ?? []).length === 0 && allowsPort(rule.ports, securePort, 'TCP', 'https')),
        `an ingress rule admits TCP ${securePort} from any source`,
      );
      if (types.includes('Egress')) {
        const egress = policies.flatMap((p) => p.spec.egress ?? []);
        assert.ok(
          egress.some((rule) => allowsPort(rule.ports, 53, 'UDP')),
          'egress to DNS (UDP 53)',
        );
        assert.ok(
          egress.some((rule) => (rule.to ?? []).length === 0 && allowsPort(rule.ports, 443, 'TCP')),
          'egress to TCP 443 anywhere (kube-apiserver, AWS APIs)',
        );
      }
    },
  },
  {
    name: 'the config ConfigMap keeps its name (no hash suffix), so edits are hot-reloaded',
    check(objects) {
      const deployment = adapterDeployment(objects);
      const { config } = adapterFlags(deployment);
      assert.ok(config, '--config is set');
      const name = volumeHolding(deployment, config).configMap?.name;
      assert.equal(name, `${ADAPTER}-config`, 'the mounted ConfigMap is hpa-metrics-adapter-config, not a hashed name');
      theOne<ConfigMap>(objects, 'ConfigMap', name);
    },
  },
];
