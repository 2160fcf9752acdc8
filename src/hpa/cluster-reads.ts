// One-shot reads of what the HPA controller reads, through kube-apiserver with the caller's
// kubeconfig: the HPA, its target's scale subresource, the pods, and the metrics requests
// themselves (so aggregation, RBAC and other adapters are part of what is checked).

import { z } from 'zod';
import type { ResourceResolver } from '../api/resource-table.js';
import { resourceOfKind } from '../api/resources.js';
import { collectionPath } from '../kube/client.js';
import type { KubeResponse, KubeTransport } from '../kube/transport.js';
import type { AnswerItem, MetricAnswer, ScaleState } from './hpa-explanation.js';
import { type Hpa, type HpaObjectReference, parseHpa } from './hpa-spec.js';
import type { PodState } from './metric-proposal.js';

const HPAS = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' };
const PODS = { group: '', version: 'v1', resource: 'pods' };
const PAGE = 500;

const statusSchema = z.object({ message: z.string().nullish(), reason: z.string().nullish() }).nullish();

const scaleSchema = z.object({
  spec: z.object({ replicas: z.number().int().nullish() }).nullish(),
  status: z.object({ replicas: z.number().int().nullish(), selector: z.string().nullish() }).nullish(),
});

const podListSchema = z.object({
  metadata: z.object({ continue: z.string().nullish() }).nullish(),
  items: z.array(
    z.object({
      metadata: z.object({ name: z.string(), deletionTimestamp: z.string().nullish() }),
      status: z
        .object({
          phase: z.enum(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']).nullish(),
          conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
        })
        .nullish(),
    }),
  ),
});

const metricListSchema = z.object({
  items: z
    .array(
      z.object({
        describedObject: z.object({ name: z.string() }).nullish(),
        metricLabels: z.record(z.string(), z.string()).nullish(),
        value: z.string(),
      }),
    )
    .nullish(),
});

const groupSchema = z.object({ preferredVersion: z.object({ version: z.string() }).nullish() });

/** A failed read, with the API server's Status message: the HPA or its target is missing, RBAC … */
export class ClusterReadError extends Error {}

export class ClusterReads {
  constructor(
    private readonly transport: KubeTransport,
    private readonly resources: ResourceResolver,
  ) {}

  async readHpa(namespace: string, name: string): Promise<Hpa> {
    const path = `${collectionPath(HPAS, namespace)}/${encodeURIComponent(name)}`;
    return parseHpa(await this.ok(path), `${namespace}/${name}`);
  }

  async listHpas(namespace: string): Promise<Hpa[]> {
    const body = (await this.ok(collectionPath(HPAS, namespace))) as { items?: unknown[] } | undefined;
    return (body?.items ?? []).map((item, i) =>
      // Items of a typed list carry no apiVersion of their own.
      parseHpa({ apiVersion: 'autoscaling/v2', ...(item as object) }, `${namespace} item ${i}`),
    );
  }

  /** The scale subresource of the HPA's target, as the controller's scale client reads it. */
  async readScale(namespace: string, ref: HpaObjectReference): Promise<ScaleState> {
    const resource = resourceOfKind(ref, this.resources);
    if (!resource)
      throw new ClusterReadError(`unable to map the target's kind ${ref.kind} (${ref.apiVersion}) to a resource`);
    const path = `${collectionPath(resource, namespace)}/${encodeURIComponent(ref.name)}/scale`;
    const scale = scaleSchema.parse(await this.ok(path));
    return {
      specReplicas: scale.spec?.replicas ?? 0,
      statusReplicas: scale.status?.replicas ?? 0,
      selector: scale.status?.selector ?? '',
    };
  }

  async listPods(namespace: string, selector: string): Promise<PodState[]> {
    const pods: PodState[] = [];
    let token = '';
    do {
      const query = new URLSearchParams({ labelSelector: selector, limit: String(PAGE) });
      if (token !== '') query.set('continue', token);
      const list = podListSchema.parse(await this.ok(`${collectionPath(PODS, namespace)}?${query}`));
      for (const pod of list.items) {
        pods.push({
          name: pod.metadata.name,
          phase: pod.status?.phase ?? 'Unknown',
          ready: (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
          deleting: Boolean(pod.metadata.deletionTimestamp),
        });
      }
      token = list.metadata?.continue ?? '';
    } while (token !== '');
    return pods;
  }

  /** The custom metrics version the controller's discovery picks: the group's preferred one. */
  async customVersion(): Promise<string> {
    const response = await this.transport.request('GET', '/apis/custom.metrics.k8s.io');
    const parsed = groupSchema.safeParse(response.body);
    return (response.status === 200 && parsed.success && parsed.data.preferredVersion?.version) || 'v1beta2';
  }

  /** The metrics request as the controller sends it (its path, controller-requests.ts); any answer, never a throw for a status. */
  async ask(path: string): Promise<MetricAnswer> {
    const response = await this.transport.request('GET', path);
    if (response.status < 200 || response.status > 299) return failedAnswer(response);
    const parsed = metricListSchema.safeParse(response.body);
    if (!parsed.success) {
      return {
        status: 500,
        reason: 'InvalidAnswer',
        message: `not a metric value list: ${parsed.error.issues[0]?.message}`,
      };
    }
    const items: AnswerItem[] = (parsed.data.items ?? []).map((item) => ({
      value: item.value,
      ...(item.describedObject ? { name: item.describedObject.name } : {}),
      ...(item.metricLabels ? { labels: item.metricLabels } : {}),
    }));
    return { status: response.status, items };
  }

  private async ok(path: string): Promise<unknown> {
    const response = await this.transport.request('GET', path);
    if (response.status >= 200 && response.status <= 299) return response.body;
    const answer = failedAnswer(response);
    throw new ClusterReadError(`GET ${path}: ${answer.status} ${answer.reason}: ${answer.message}`);
  }
}

function failedAnswer(response: KubeResponse): MetricAnswer {
  const parsed = statusSchema.safeParse(response.body);
  const status = parsed.success ? parsed.data : undefined;
  return {
    status: response.status,
    reason: status?.reason ?? 'Unknown',
    message: status?.message ?? '(no Status message)',
  };
}
