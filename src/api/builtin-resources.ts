import { type ResourceInfo, ResourceTable } from './resource-table.js';

/**
 * Every resource a standard cluster serves (Kubernetes 1.30 to 1.34, each group at its preferred
 * version), for standalone mode, where there is no cluster discovery to ask. In a cluster the
 * cluster's own discovery replaces it (src/kube/cluster-resources.ts), CRDs included.
 *
 * Each line: resource, singular, kind, scope ('ns' or 'cluster'), short names.
 */
const GROUPS: readonly (readonly [group: string, version: string, resources: string])[] = [
  [
    '',
    'v1',
    `bindings binding Binding ns
    componentstatuses componentstatus ComponentStatus cluster cs
    configmaps configmap ConfigMap ns cm
    endpoints endpoints Endpoints ns ep
    events event Event ns ev
    limitranges limitrange LimitRange ns limits
    namespaces namespace Namespace cluster ns
    nodes node Node cluster no
    persistentvolumeclaims persistentvolumeclaim PersistentVolumeClaim ns pvc
    persistentvolumes persistentvolume PersistentVolume cluster pv
    pods pod Pod ns po
    podtemplates podtemplate PodTemplate ns
    replicationcontrollers replicationcontroller ReplicationController ns rc
    resourcequotas resourcequota ResourceQuota ns quota
    secrets secret Secret ns
    serviceaccounts serviceaccount ServiceAccount ns sa
    services service Service ns svc`,
  ],
  ['apiregistration.k8s.io', 'v1', 'apiservices apiservice APIService cluster'],
  [
    'apps',
    'v1',
    `controllerrevisions controllerrevision ControllerRevision ns
    daemonsets daemonset DaemonSet ns ds
    deployments deployment Deployment ns deploy
    replicasets replicaset ReplicaSet ns rs
    statefulsets statefulset StatefulSet ns sts`,
  ],
  ['events.k8s.io', 'v1', 'events event Event ns ev'],
  [
    'authentication.k8s.io',
    'v1',
    `selfsubjectreviews selfsubjectreview SelfSubjectReview cluster
    tokenreviews tokenreview TokenReview cluster`,
  ],
  [
    'authorization.k8s.io',
    'v1',
    `localsubjectaccessreviews localsubjectaccessreview LocalSubjectAccessReview ns
    selfsubjectaccessreviews selfsubjectaccessreview SelfSubjectAccessReview cluster
    selfsubjectrulesreviews selfsubjectrulesreview SelfSubjectRulesReview cluster
    subjectaccessreviews subjectaccessreview SubjectAccessReview cluster`,
  ],
  ['autoscaling', 'v2', 'horizontalpodautoscalers horizontalpodautoscaler HorizontalPodAutoscaler ns hpa'],
  [
    'batch',
    'v1',
    `cronjobs cronjob CronJob ns cj
    jobs job Job ns`,
  ],
  [
    'certificates.k8s.io',
    'v1',
    'certificatesigningrequests certificatesigningrequest CertificateSigningRequest cluster csr',
  ],
  [
    'networking.k8s.io',
    'v1',
    `ingressclasses ingressclass IngressClass cluster
    ingresses ingress Ingress ns ing
    ipaddresses ipaddress IPAddress cluster ip
    networkpolicies networkpolicy NetworkPolicy ns netpol
    servicecidrs servicecidr ServiceCIDR cluster`,
  ],
  ['policy', 'v1', 'poddisruptionbudgets poddisruptionbudget PodDisruptionBudget ns pdb'],
  [
    'rbac.authorization.k8s.io',
    'v1',
    `clusterrolebindings clusterrolebinding ClusterRoleBinding cluster
    clusterroles clusterrole ClusterRole cluster
    rolebindings rolebinding RoleBinding ns
    roles role Role ns`,
  ],
  [
    'storage.k8s.io',
    'v1',
    `csidrivers csidriver CSIDriver cluster
    csinodes csinode CSINode cluster
    csistoragecapacities csistoragecapacity CSIStorageCapacity ns
    storageclasses storageclass StorageClass cluster sc
    volumeattachments volumeattachment VolumeAttachment cluster
    volumeattributesclasses volumeattributesclass VolumeAttributesClass cluster vac`,
  ],
  [
    'admissionregistration.k8s.io',
    'v1',
    `mutatingwebhookconfigurations mutatingwebhookconfiguration MutatingWebhookConfiguration cluster
    validatingadmissionpolicies validatingadmissionpolicy ValidatingAdmissionPolicy cluster
    validatingadmissionpolicybindings validatingadmissionpolicybinding ValidatingAdmissionPolicyBinding cluster
    validatingwebhookconfigurations validatingwebhookconfiguration ValidatingWebhookConfiguration cluster`,
  ],
  [
    'apiextensions.k8s.io',
    'v1',
    'customresourcedefinitions customresourcedefinition CustomResourceDefinition cluster crd crds',
  ],
  ['scheduling.k8s.io', 'v1', 'priorityclasses priorityclass PriorityClass cluster pc'],
  ['coordination.k8s.io', 'v1', 'leases lease Lease ns'],
  ['node.k8s.io', 'v1', 'runtimeclasses runtimeclass RuntimeClass cluster'],
  ['discovery.k8s.io', 'v1', 'endpointslices endpointslice EndpointSlice ns'],
  [
    'flowcontrol.apiserver.k8s.io',
    'v1',
    `flowschemas flowschema FlowSchema cluster
    prioritylevelconfigurations prioritylevelconfiguration PriorityLevelConfiguration cluster`,
  ],
  [
    'resource.k8s.io',
    'v1',
    `deviceclasses deviceclass DeviceClass cluster
    resourceclaims resourceclaim ResourceClaim ns
    resourceclaimtemplates resourceclaimtemplate ResourceClaimTemplate ns
    resourceslices resourceslice ResourceSlice cluster`,
  ],
];

function parse(): ResourceInfo[] {
  return GROUPS.flatMap(([group, version, lines]) =>
    lines.split('\n').map((line) => {
      const [resource = '', singular = '', kind = '', scope, ...shortNames] = line.trim().split(/\s+/);
      return { group, version, resource, singular, kind, namespaced: scope === 'ns', shortNames };
    }),
  );
}

export const BUILTIN_RESOURCES = new ResourceTable(
  'the built-in table of standard Kubernetes resources (standalone mode: no cluster discovery)',
  parse(),
);
