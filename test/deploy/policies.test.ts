/**
 * The production policies (policies.ts) hold for every install, and each one fails when the
 * rendered base is broken the way a careless edit would break it.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { ADAPTER, adapterContainer, adapterDeployment, type NetworkPolicy, type PodDisruptionBudget } from './kinds.js';
import { POLICIES } from './policies.js';
import { copyOf, INSTALLS, type KubeObject, needsKubectl, ofKind, renderAll, theOne } from './render.js';

type Breakage = [description: string, breakIt: (objects: KubeObject[]) => KubeObject[]];

const deploymentOf = (objects: KubeObject[]) => adapterDeployment(objects);
const podSpecOf = (objects: KubeObject[]) => deploymentOf(objects).spec.template.spec;
const argsOf = (objects: KubeObject[]) => adapterContainer(deploymentOf(objects)).args ?? [];
const setArg = (objects: KubeObject[], flag: string, value: string) => {
  const args = argsOf(objects);
  args.splice(
    args.findIndex((a) => a.startsWith(`${flag}=`)),
    1,
    `${flag}=${value}`,
  );
};

/** Per policy, edits of the base that each must make it fail. */
const BREAKAGES: Record<string, Breakage[]> = {
  'at least two replicas': [
    [
      'replicas: 1',
      (o) => {
        deploymentOf(o).spec.replicas = 1;
        return o;
      },
    ],
    [
      'replicas left out (defaults to 1)',
      (o) => {
        delete deploymentOf(o).spec.replicas;
        return o;
      },
    ],
  ],
  'rolling updates never drop below the replica count': [
    [
      'maxUnavailable: 1',
      (o) => {
        const strategy = deploymentOf(o).spec.strategy;
        if (strategy?.rollingUpdate) strategy.rollingUpdate.maxUnavailable = 1;
        return o;
      },
    ],
    [
      'strategy Recreate',
      (o) => {
        deploymentOf(o).spec.strategy = { type: 'Recreate' };
        return o;
      },
    ],
  ],
  'a PodDisruptionBudget selects the pods, keeps one and lets one go': [
    ['no PodDisruptionBudget', (o) => o.filter((x) => x.kind !== 'PodDisruptionBudget')],
    [
      'the budget selects other pods',
      (o) => {
        theOne<PodDisruptionBudget>(o, 'PodDisruptionBudget').spec.selector = { matchLabels: { app: 'other' } };
        return o;
      },
    ],
    [
      'minAvailable equal to replicas (drains block)',
      (o) => {
        theOne<PodDisruptionBudget>(o, 'PodDisruptionBudget').spec.minAvailable = 2;
        return o;
      },
    ],
  ],
  'spread over nodes (required) and zones (preferred), selecting the pods': [
    [
      'no zone constraint',
      (o) => {
        const spec = podSpecOf(o);
        spec.topologySpreadConstraints = spec.topologySpreadConstraints?.filter((c) => !c.topologyKey.includes('zone'));
        return o;
      },
    ],
    [
      'the hostname constraint selects other pods',
      (o) => {
        for (const c of podSpecOf(o).topologySpreadConstraints ?? []) c.labelSelector = { matchLabels: { app: 'x' } };
        return o;
      },
    ],
    [
      'zones required (blocks rescheduling while a zone is down)',
      (o) => {
        for (const c of podSpecOf(o).topologySpreadConstraints ?? []) c.whenUnsatisfiable = 'DoNotSchedule';
        return o;
      },
    ],
  ],
  'preferred pod anti-affinity per node, selecting the pods': [
    [
      'no affinity',
      (o) => {
        delete podSpecOf(o).affinity;
        return o;
      },
    ],
  ],
  'startup, liveness and readiness probe the health endpoints over HTTPS, never a backend': [
    [
      'readiness probes a metrics API path',
      (o) => {
        const probe = adapterContainer(deploymentOf(o)).readinessProbe;
        if (probe?.httpGet) probe.httpGet.path = '/apis/external.metrics.k8s.io/v1beta1';
        return o;
      },
    ],
    [
      'no liveness probe',
      (o) => {
        delete adapterContainer(deploymentOf(o)).livenessProbe;
        return o;
      },
    ],
    [
      'startup probe over HTTP',
      (o) => {
        const probe = adapterContainer(deploymentOf(o)).startupProbe;
        if (probe?.httpGet) probe.httpGet.scheme = 'HTTP';
        return o;
      },
    ],
  ],
  'the grace period outlasts the drain': [
    [
      'terminationGracePeriodSeconds equal to delay + grace',
      (o) => {
        podSpecOf(o).terminationGracePeriodSeconds = 30;
        return o;
      },
    ],
    [
      'a preStop sleep on top of the drain',
      (o) => {
        adapterContainer(deploymentOf(o)).lifecycle = { preStop: { sleep: { seconds: 15 } } };
        return o;
      },
    ],
    [
      'no shutdown delay (requests still routed to a closed server)',
      (o) => {
        setArg(o, '--shutdown-delay-seconds', '0');
        return o;
      },
    ],
  ],
  'priorityClassName system-cluster-critical': [
    [
      'no priority class',
      (o) => {
        delete podSpecOf(o).priorityClassName;
        return o;
      },
    ],
  ],
  'non-root, read-only root filesystem, no capabilities, seccomp RuntimeDefault': [
    [
      'runAsNonRoot false',
      (o) => {
        const container = adapterContainer(deploymentOf(o));
        if (container.securityContext) container.securityContext.runAsNonRoot = false;
        return o;
      },
    ],
    [
      'runAsUser 0',
      (o) => {
        const pod = podSpecOf(o);
        if (pod.securityContext) pod.securityContext.runAsUser = 0;
        return o;
      },
    ],
    [
      'writable root filesystem',
      (o) => {
        const container = adapterContainer(deploymentOf(o));
        if (container.securityContext) container.securityContext.readOnlyRootFilesystem = false;
        return o;
      },
    ],
    [
      'NET_BIND_SERVICE added',
      (o) => {
        const container = adapterContainer(deploymentOf(o));
        if (container.securityContext)
          container.securityContext.capabilities = { drop: ['ALL'], add: ['NET_BIND_SERVICE'] };
        return o;
      },
    ],
  ],
  'cpu and memory requests, a memory limit': [
    [
      'no limits',
      (o) => {
        const { resources } = adapterContainer(deploymentOf(o));
        if (resources) delete resources.limits;
        return o;
      },
    ],
  ],
  'a NetworkPolicy selects the pods, admits 6443 from anywhere and lets them reach DNS and HTTPS': [
    ['no NetworkPolicy', (o) => o.filter((x) => x.kind !== 'NetworkPolicy')],
    [
      'the policy selects other pods',
      (o) => {
        theOne<NetworkPolicy>(o, 'NetworkPolicy').spec.podSelector = { matchLabels: { app: 'other' } };
        return o;
      },
    ],
    [
      'ingress on 8443 only',
      (o) => {
        for (const rule of theOne<NetworkPolicy>(o, 'NetworkPolicy').spec.ingress ?? []) rule.ports = [{ port: 8443 }];
        return o;
      },
    ],
    [
      'ingress only from the adapter namespace (the aggregator is not there)',
      (o) => {
        for (const rule of theOne<NetworkPolicy>(o, 'NetworkPolicy').spec.ingress ?? [])
          rule.from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ADAPTER } } }];
        return o;
      },
    ],
    [
      'no egress to 443',
      (o) => {
        const spec = theOne<NetworkPolicy>(o, 'NetworkPolicy').spec;
        spec.egress = spec.egress?.filter((rule) => !rule.ports?.some((p) => p.port === 443));
        return o;
      },
    ],
  ],
  'the config ConfigMap keeps its name (no hash suffix), so edits are hot-reloaded': [
    [
      'a hash-suffixed ConfigMap',
      (o) => {
        const hashed = `${ADAPTER}-config-8t5g2dh7km`;
        for (const configMap of ofKind(o, 'ConfigMap')) configMap.metadata.name = hashed;
        for (const volume of podSpecOf(o).volumes ?? []) if (volume.configMap) volume.configMap.name = hashed;
        return o;
      },
    ],
  ],
};

describe('production policies on every install', () => {
  let rendered = new Map<string, KubeObject[]>();
  before(() => {
    rendered = renderAll();
  });

  for (const install of INSTALLS) {
    for (const policy of POLICIES) {
      it(`${install.name}: ${policy.name}`, needsKubectl, () => policy.check(rendered.get(install.name) ?? []));
    }
  }
});

describe('each policy fails on a broken copy of the base', () => {
  let base: KubeObject[] = [];
  before(() => {
    base = renderAll().get('base') ?? [];
  });

  it('every policy has breakages, and every breakage names a policy', () => {
    assert.deepEqual(Object.keys(BREAKAGES).sort(), POLICIES.map((p) => p.name).sort());
  });

  for (const policy of POLICIES) {
    for (const [description, breakIt] of BREAKAGES[policy.name] ?? []) {
      it(`${policy.name} ✗ ${description}`, needsKubectl, () => {
        const broken = breakIt(copyOf(base));
        assert.throws(() => policy.check(broken), assert.AssertionError);
      });
    }
  }
});
