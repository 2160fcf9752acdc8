/**
 * Legacy discovery as a Kubernetes 1.30 API server answers it: `/api` (APIVersions), `/api/v1`
 * (an APIResourceList without apiVersion, as the core group's is), `/apis` (APIGroupList, groups
 * in the server's priority order, several versions where 1.30 serves several), `/apis/<group>`
 * and `/apis/<group>/<version>` with subresources, short names, categories and storage version
 * hashes. A CRD (Argo Rollouts, `rollouts.argoproj.io/v1alpha1`) is installed by default and
 * more can be added; a group-version can be made to fail, as an aggregated API that is down
 * answers 503. The kube-apiserver double mounts this; it knows nothing else of the double.
 */
export interface DiscoveryResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  storageVersionHash?: string;
}

export interface DiscoveryGroup {
  name: string;
  /** Preferred first. */
  versions: { version: string; resources: DiscoveryResource[] }[];
}

export interface KubeDiscoveryDouble {
  /** '' is the core group. */
  groups: DiscoveryGroup[];
  /** Paths (`/apis/metrics.k8s.io/v1beta1`, `/apis`) that answer this status instead. */
  failing: Map<string, number>;
  /** Discovery requests served, by path. */
  requests: string[];
  addCustomResourceDefinition(crd: { group: string; version: string; resource: DiscoveryResource }): void;
  /** undefined when the path is not a discovery path. */
  answer(path: string): [number, unknown] | undefined;
}

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS = ['get', 'patch', 'update'];

/** `name singular Kind scope [shortNames] [verbs]`; scope ns|cluster; a `/` in name is a subresource. */
function parse(lines: string): DiscoveryResource[] {
  return lines
    .trim()
    .split('\n')
    .map((line) => {
      const [name = '', singular = '', kind = '', scope, short = '-', verbs = 'all'] = line.trim().split(/\s+/);
      const sub = name.includes('/');
      const resource: DiscoveryResource = {
        name,
        singularName: sub ? '' : singular,
        namespaced: scope === 'ns',
        kind,
        verbs: verbs === 'all' ? ALL : verbs === 'status' ? STATUS : verbs.split(','),
      };
      if (short !== '-') resource.shortNames = short.split(',');
      if (!sub && verbs === 'all') resource.storageVersionHash = hashOf(name);
      if (
        [
          'pods',
          'services',
          'deployments',
          'replicasets',
          'statefulsets',
          'daemonsets',
          'jobs',
          'cronjobs',
          'replicationcontrollers',
          'horizontalpodautoscalers',
        ].includes(name)
      )
        resource.categories = ['all'];
      return resource;
    });
}

function hashOf(name: string): string {
  return `${Buffer.from(name.padEnd(6, '=')).toString('base64').slice(0, 11)}=`;
}

function kube130(): DiscoveryGroup[] {
  const g = (name: string, ...versions: [string, string][]): DiscoveryGroup => ({
    name,
    versions: versions.map(([version, lines]) => ({ version, resources: parse(lines) })),
  });
  return [
    g('', [
      'v1',
      `bindings binding Binding ns - create
      componentstatuses componentstatus ComponentStatus cluster cs get,list
      configmaps configmap ConfigMap ns cm
      endpoints endpoints Endpoints ns ep
      events event Event ns ev
      limitranges limitrange LimitRange ns limits
      namespaces namespace Namespace cluster ns create,delete,get,list,patch,update,watch
      namespaces/finalize namespace Namespace cluster - update
      namespaces/status namespace Namespace cluster - status
      nodes node Node cluster no
      nodes/proxy node NodeProxyOptions cluster - create,delete,get,patch,update
      nodes/status node Node cluster - status
      persistentvolumeclaims persistentvolumeclaim PersistentVolumeClaim ns pvc
      persistentvolumeclaims/status persistentvolumeclaim PersistentVolumeClaim ns - status
      persistentvolumes persistentvolume PersistentVolume cluster pv
      pods pod Pod ns po
      pods/attach pod PodAttachOptions ns - create,get
      pods/binding pod Binding ns - create
      pods/ephemeralcontainers pod Pod ns - status
      pods/eviction pod Eviction ns - create
      pods/exec pod PodExecOptions ns - create,get
      pods/log pod Pod ns - get
      pods/portforward pod PodPortForwardOptions ns - create,get
      pods/proxy pod PodProxyOptions ns - create,delete,get,patch,update
      pods/status pod Pod ns - status
      podtemplates podtemplate PodTemplate ns
      replicationcontrollers replicationcontroller ReplicationController ns rc
      replicationcontrollers/scale replicationcontroller Scale ns - status
      replicationcontrollers/status replicationcontroller ReplicationController ns - status
      resourcequotas resourcequota ResourceQuota ns quota
      resourcequotas/status resourcequota ResourceQuota ns - status
      secrets secret Secret ns
      serviceaccounts serviceaccount ServiceAccount ns sa
      serviceaccounts/token serviceaccount TokenRequest ns - create
      services service Service ns svc create,delete,deletecollection,get,list,patch,update,watch
      services/proxy service ServiceProxyOptions ns - create,delete,get,patch,update
      services/status service Service ns - status`,
    ]),
    g('apiregistration.k8s.io', [
      'v1',
      `apiservices apiservice APIService cluster
      apiservices/status apiservice APIService cluster - status`,
    ]),
    g('apps', [
      'v1',
      `controllerrevisions controllerrevision ControllerRevision ns
      daemonsets daemonset DaemonSet ns ds
      daemonsets/status daemonset DaemonSet ns - status
      deployments deployment Deployment ns deploy
      deployments/scale deployment Scale ns - status
      deployments/status deployment Deployment ns - status
      replicasets replicaset ReplicaSet ns rs
      replicasets/scale replicaset Scale ns - status
      replicasets/status replicaset ReplicaSet ns - status
      statefulsets statefulset StatefulSet ns sts
      statefulsets/scale statefulset Scale ns - status
      statefulsets/status statefulset StatefulSet ns - status`,
    ]),
    g('events.k8s.io', ['v1', 'events event Event ns ev']),
    g('authentication.k8s.io', [
      'v1',
      `selfsubjectreviews selfsubjectreview SelfSubjectReview cluster - create
      tokenreviews tokenreview TokenReview cluster - create`,
    ]),
    g('authorization.k8s.io', [
      'v1',
      `localsubjectaccessreviews localsubjectaccessreview LocalSubjectAccessReview ns - create
      selfsubjectaccessreviews selfsubjectaccessreview SelfSubjectAccessReview cluster - create
      selfsubjectrulesreviews selfsubjectrulesreview SelfSubjectRulesReview cluster - create
      subjectaccessreviews subjectaccessreview SubjectAccessReview cluster - create`,
    ]),
    g(
      'autoscaling',
      [
        'v2',
        `horizontalpodautoscalers horizontalpodautoscaler HorizontalPodAutoscaler ns hpa
        horizontalpodautoscalers/status horizontalpodautoscaler HorizontalPodAutoscaler ns - status`,
      ],
      [
        'v1',
        `horizontalpodautoscalers horizontalpodautoscaler HorizontalPodAutoscaler ns hpa
        horizontalpodautoscalers/status horizontalpodautoscaler HorizontalPodAutoscaler ns - status`,
      ],
    ),
    g('batch', [
      'v1',
      `cronjobs cronjob CronJob ns cj
      cronjobs/status cronjob CronJob ns - status
      jobs job Job ns
      jobs/status job Job ns - status`,
    ]),
    g('certificates.k8s.io', [
      'v1',
      `certificatesigningrequests certificatesigningrequest CertificateSigningRequest cluster csr
      certificatesigningrequests/approval certificatesigningrequest CertificateSigningRequest cluster - status
      certificatesigningrequests/status certificatesigningrequest CertificateSigningRequest cluster - status`,
    ]),
    g('networking.k8s.io', [
      'v1',
      `ingressclasses ingressclass IngressClass cluster
      ingresses ingress Ingress ns ing
      ingresses/status ingress Ingress ns - status
      networkpolicies networkpolicy NetworkPolicy ns netpol`,
    ]),
    g('policy', [
      'v1',
      `poddisruptionbudgets poddisruptionbudget PodDisruptionBudget ns pdb
      poddisruptionbudgets/status poddisruptionbudget PodDisruptionBudget ns - status`,
    ]),
    g('rbac.authorization.k8s.io', [
      'v1',
      `clusterrolebindings clusterrolebinding ClusterRoleBinding cluster
      clusterroles clusterrole ClusterRole cluster
      rolebindings rolebinding RoleBinding ns
      roles role Role ns`,
    ]),
    g('storage.k8s.io', [
      'v1',
      `csidrivers csidriver CSIDriver cluster
      csinodes csinode CSINode cluster
      csistoragecapacities csistoragecapacity CSIStorageCapacity ns
      storageclasses storageclass StorageClass cluster sc
      volumeattachments volumeattachment VolumeAttachment cluster
      volumeattachments/status volumeattachment VolumeAttachment cluster - status`,
    ]),
    g('admissionregistration.k8s.io', [
      'v1',
      `mutatingwebhookconfigurations mutatingwebhookconfiguration MutatingWebhookConfiguration cluster
      validatingadmissionpolicies validatingadmissionpolicy ValidatingAdmissionPolicy cluster
      validatingadmissionpolicies/status validatingadmissionpolicy ValidatingAdmissionPolicy cluster - status
      validatingadmissionpolicybindings validatingadmissionpolicybinding ValidatingAdmissionPolicyBinding cluster
      validatingwebhookconfigurations validatingwebhookconfiguration ValidatingWebhookConfiguration cluster`,
    ]),
    g('apiextensions.k8s.io', [
      'v1',
      `customresourcedefinitions customresourcedefinition CustomResourceDefinition cluster crd,crds
      customresourcedefinitions/status customresourcedefinition CustomResourceDefinition cluster - status`,
    ]),
    g('scheduling.k8s.io', ['v1', 'priorityclasses priorityclass PriorityClass cluster pc']),
    g('coordination.k8s.io', ['v1', 'leases lease Lease ns']),
    g('node.k8s.io', ['v1', 'runtimeclasses runtimeclass RuntimeClass cluster']),
    g('discovery.k8s.io', ['v1', 'endpointslices endpointslice EndpointSlice ns']),
    g(
      'flowcontrol.apiserver.k8s.io',
      [
        'v1',
        `flowschemas flowschema FlowSchema cluster
        flowschemas/status flowschema FlowSchema cluster - status
        prioritylevelconfigurations prioritylevelconfiguration PriorityLevelConfiguration cluster
        prioritylevelconfigurations/status prioritylevelconfiguration PriorityLevelConfiguration cluster - status`,
      ],
      [
        'v1beta3',
        `flowschemas flowschema FlowSchema cluster
        prioritylevelconfigurations prioritylevelconfiguration PriorityLevelConfiguration cluster`,
      ],
    ),
    // Aggregated APIs come after the built-in groups, in APIService priority order.
    g('metrics.k8s.io', [
      'v1beta1',
      `nodes node NodeMetrics cluster - get,list
      pods pod PodMetrics ns - get,list`,
    ]),
  ];
}

export function createKubeDiscoveryDouble(): KubeDiscoveryDouble {
  const double: KubeDiscoveryDouble = {
    groups: kube130(),
    failing: new Map(),
    requests: [],
    addCustomResourceDefinition({ group, version, resource }) {
      let existing = double.groups.find((g) => g.name === group);
      if (!existing) {
        existing = { name: group, versions: [] };
        // CRD groups are listed after the built-in ones and before aggregated APIs.
        const aggregated = double.groups.findIndex((g) => g.name === 'metrics.k8s.io');
        double.groups.splice(aggregated === -1 ? double.groups.length : aggregated, 0, existing);
      }
      let v = existing.versions.find((x) => x.version === version);
      if (!v) {
        v = { version, resources: [] };
        existing.versions.push(v);
      }
      // A subresource has no short names, categories or storage version hash of its own.
      const { shortNames: _s, categories: _c, storageVersionHash: _h, ...status } = resource;
      v.resources.push(resource, { ...status, name: `${resource.name}/status`, singularName: '', verbs: STATUS });
    },
    answer(path) {
      const parts = path.split('/').filter((p) => p !== '');
      const isDiscovery = (parts[0] === 'api' && parts.length <= 2) || (parts[0] === 'apis' && parts.length <= 3);
      if (!isDiscovery) return undefined;
      double.requests.push(path);
      const failure = double.failing.get(path);
      if (failure) return [failure, failureStatus(failure, path)];
      if (parts[0] === 'api') {
        if (parts.length === 1) {
          return [
            200,
            {
              kind: 'APIVersions',
              versions: ['v1'],
              serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '172.18.0.2:6443' }],
            },
          ];
        }
        const core = double.groups.find((g) => g.name === '')?.versions.find((v) => v.version === parts[1]);
        if (!core) return [404, notFound()];
        // The core group's list has no apiVersion: kube-apiserver writes it that way.
        return [200, { kind: 'APIResourceList', groupVersion: parts[1], resources: core.resources }];
      }
      const named = double.groups.filter((g) => g.name !== '');
      if (parts.length === 1) return [200, { kind: 'APIGroupList', apiVersion: 'v1', groups: named.map(apiGroup) }];
      const group = named.find((g) => g.name === parts[1]);
      if (!group) return [404, notFound()];
      if (parts.length === 2) return [200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) }];
      const version = group.versions.find((v) => v.version === parts[2]);
      if (!version) return [404, notFound()];
      return [
        200,
        {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: `${group.name}/${version.version}`,
          resources: version.resources,
        },
      ];
    },
  };
  double.addCustomResourceDefinition({
    group: 'argoproj.io',
    version: 'v1alpha1',
    resource: {
      name: 'rollouts',
      singularName: 'rollout',
      namespaced: true,
      kind: 'Rollout',
      verbs: ALL,
      shortNames: ['ro'],
      categories: ['all'],
      storageVersionHash: 'Ub4sYTCrfWU=',
    },
  });
  return double;
}

function apiGroup(group: DiscoveryGroup) {
  const versions = group.versions.map((v) => ({ groupVersion: `${group.name}/${v.version}`, version: v.version }));
  return { name: group.name, versions, preferredVersion: versions[0] };
}

function notFound() {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server could not find the requested resource',
    reason: 'NotFound',
    details: {},
    code: 404,
  };
}

function failureStatus(code: number, path: string) {
  const reason = code === 503 ? 'ServiceUnavailable' : code === 403 ? 'Forbidden' : 'InternalError';
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${path}: the server is currently unable to handle the request`,
    reason,
    code,
  };
}
