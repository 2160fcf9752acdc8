import { request as httpsRequest } from 'node:https';
import type { IssuedCert } from './certs.js';

/**
 * What the HPA controller reads from kube-apiserver besides the HPAs (the double's `objects` serve
 * those, with their spec), for the kube-apiserver double: the scale subresource of their targets, full Pod objects (phase,
 * Ready condition) for a plain JSON LIST, and the aggregated metrics groups forwarded to the
 * adapter as kube-apiserver's aggregator proxies them: the front-proxy client certificate and the
 * caller in X-Remote-User / X-Remote-Group, the adapter's answer (or Status) passed back as is.
 * Without an aggregator the metrics groups answer 404, as with no APIService registered.
 */
export interface HpaClusterState {
  /** `group/resource/namespace/name` (group '' for the core group) → the target's scale. */
  scales: Map<string, { specReplicas: number; statusReplicas: number; selector: string }>;
  /** Pods with their status; metadata-only LISTs (the adapter's) still come from the double's `objects`. */
  pods: PodSpecForDouble[];
  aggregator: AggregatorRoute | undefined;
  /** Paths of the metrics requests forwarded to the adapter. */
  forwarded: string[];
}

export interface PodSpecForDouble {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  ready?: boolean;
}

export interface AggregatorRoute {
  /** The adapter's base URL (the APIService's Service). */
  url: string;
  /** The CA of the adapter's serving certificate (the APIService's caBundle). */
  caPem: string;
  /** The front-proxy client certificate. */
  proxyClient: IssuedCert;
  /** The user kube-apiserver authenticated and passes on. */
  user: string;
  groups: string[];
}

type Answer = [code: number, body: unknown];
type Failure = (code: number, message: string) => Answer;

export function createHpaClusterState(): HpaClusterState {
  return { scales: new Map(), pods: [], aggregator: undefined, forwarded: [] };
}

const METRICS_GROUPS = /^\/apis\/(custom|external)\.metrics\.k8s\.io(\/|$)/;

/** The double's answer for an HPA-related GET, or undefined to let its other routes answer. */
export async function answerHpaRoute(
  state: HpaClusterState,
  url: URL,
  accept: string | undefined,
  failure: Failure,
): Promise<Answer | undefined> {
  const path = url.pathname;
  if (METRICS_GROUPS.test(path)) {
    if (!state.aggregator) return failure(404, 'the server could not find the requested resource');
    state.forwarded.push(`${path}${url.search}`);
    return forward(state.aggregator, `${path}${url.search}`);
  }
  const scale = /^\/apis?\/(?:([^/]+)\/)?v1\/namespaces\/([^/]+)\/([^/]+)\/([^/]+)\/scale$/.exec(path);
  if (scale) {
    const [, group = '', namespace = '', resource = '', name = ''] = scale;
    const found = state.scales.get(`${group}/${resource}/${namespace}/${name}`);
    if (!found) return failure(404, `${resource}${group ? `.${group}` : ''} "${name}" not found`);
    return [
      200,
      {
        kind: 'Scale',
        apiVersion: 'autoscaling/v1',
        metadata: { name, namespace, resourceVersion: '1' },
        spec: { replicas: found.specReplicas },
        status: { replicas: found.statusReplicas, selector: found.selector },
      },
    ];
  }
  const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path);
  if (pods && state.pods.length > 0 && !(accept ?? '').includes('as=')) {
    const namespace = decodeURIComponent(pods[1] ?? '');
    const wanted = selectorRequirements(url.searchParams.get('labelSelector') ?? '');
    const items = state.pods
      .filter((p) => p.namespace === namespace && wanted.every(([k, v]) => p.labels[k] === v))
      .map((p) => ({
        metadata: { name: p.name, namespace: p.namespace, labels: p.labels, uid: `uid-${p.name}` },
        spec: { containers: [{ name: 'worker', image: 'worker' }] },
        status: {
          phase: p.phase ?? 'Running',
          conditions: [{ type: 'Ready', status: (p.ready ?? true) ? 'True' : 'False' }],
        },
      }));
    return [200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items }];
  }
  return undefined;
}

/** `a=b,c=d` only: the pod selectors of scale subresources in these tests are equality selectors. */
function selectorRequirements(selector: string): [string, string][] {
  return selector
    .split(',')
    .filter((r) => r !== '')
    .map((r) => {
      const [key = '', value = ''] = r.split('=');
      return [key, value];
    });
}

function forward(aggregator: AggregatorRoute, pathAndQuery: string): Promise<Answer> {
  const target = new URL(pathAndQuery, aggregator.url);
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        ca: aggregator.caPem,
        cert: aggregator.proxyClient.chain,
        key: aggregator.proxyClient.key,
        agent: false,
        headers: {
          Accept: 'application/json',
          'X-Remote-User': aggregator.user,
          'X-Remote-Group': aggregator.groups,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          try {
            resolve([res.statusCode ?? 502, JSON.parse(text)]);
          } catch {
            resolve([502, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 502, message: text }]);
          }
        });
      },
    );
    // kube-apiserver answers 503 when the APIService's backend cannot be reached.
    req.on('error', (error) =>
      resolve([
        503,
        {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `error trying to reach service: ${error.message}`,
          reason: 'ServiceUnavailable',
          code: 503,
        },
      ]),
    );
    req.end();
  });
}
