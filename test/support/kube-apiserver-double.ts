import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type AggregatedApi, proxyToAggregated } from './aggregator-proxy.js';
import { type CertDir, createCertDir, issueServingCert } from './certs.js';
import { createKubeDiscoveryDouble, type KubeDiscoveryDouble } from './kube-discovery-double.js';
import { answerHpaRoute, createHpaClusterState, type HpaClusterState } from './kube-hpa-routes.js';
import { createWatchServer, type WatchControls } from './kube-watch-server.js';
import { createWriteRoutes, type WriteRecord } from './kube-write-routes.js';

/**
 * The parts of kube-apiserver the adapter calls — TokenReview, SubjectAccessReview, the
 * extension-apiserver-authentication ConfigMap, object lists by label selector and watches
 * (kube-watch-server.ts), Leases and status subresource writes (kube-write-routes.ts) — over HTTPS with the real JSON shapes, status codes and Status bodies. Like the real one it answers
 * 401 unless the caller presents a known bearer token. Everything is programmable and every
 * call is counted, so tests can assert "one review, not two".
 */
export interface DoubleUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface SarSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes?: Partial<
    Record<'verb' | 'group' | 'version' | 'resource' | 'subresource' | 'name' | 'namespace', string>
  >;
  nonResourceAttributes?: { path?: string; verb?: string };
}

/** One allow rule; an absent field matches anything. `subjectGroup` matches one of the user's groups. */
export interface SarRule {
  user?: string;
  subjectGroup?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  namespace?: string;
  reason?: string;
}

export interface SarDecision {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

export interface StoredObject {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
  spec?: Record<string, unknown>;
  generation?: number;
  status?: unknown;
}

/**
 * `objects` counts GETs and LISTs of objects, `watches` watch requests, `leases` Lease calls and
 * `status` status subresource calls (kube-write-routes.ts).
 */
export type Endpoint =
  | 'tokenreviews'
  | 'subjectaccessreviews'
  | 'configmaps'
  | 'objects'
  | 'watches'
  | 'leases'
  | 'status';

export interface KubeApiserverDouble {
  url: string;
  caPem: string;
  caPath: string;
  /** A kubeconfig (server, CA, the adapter's token) for the adapter to load. */
  kubeconfigPath: string;
  adapterToken: string;
  /** Bearer tokens the double itself accepts (the adapter's service account). */
  clientTokens: Set<string>;
  /** What TokenReview answers: token → user; any other token is not authenticated. */
  tokens: Map<string, DoubleUser>;
  /** SubjectAccessReview allow-list; ignored when `authorize` is set. */
  allowRules: SarRule[];
  authorize: ((spec: SarSpec) => SarDecision) | undefined;
  configMaps: Map<string, Record<string, string>>;
  /** Pushed objects are listed; change them through `watch` for watches to see it. */
  objects: StoredObject[];
  watch: WatchControls;
  /** `/api`, `/apis` and group-version documents, as a 1.30 API server with a CRD answers them. */
  discovery: KubeDiscoveryDouble;
  /** HPAs, scale subresources, pods with status, and the metrics groups forwarded to an adapter (kube-hpa-routes.ts). */
  hpaCluster: HpaClusterState;
  calls: Record<Endpoint | 'unauthorized', number>;
  /** TLS connections accepted, to see whether clients keep connections alive. */
  connections: number;
  subjectAccessReviews: SarSpec[];
  /** Answer this status (with a real Status body) instead of serving the endpoint. */
  failures: Map<Endpoint, number>;
  /** Resources (`horizontalpodautoscalers.autoscaling`, `pods`) whose GET, LIST and WATCH RBAC forbids: 403. */
  forbiddenResources: Set<string>;
  /**
   * Resources (`metricdefinitions.hpa-metrics-adapter.io`) whose CRD is not installed: GET, LIST and
   * WATCH answer 404 as kube-apiserver does for a resource it does not know (RBAC is checked first).
   */
  missingResources: Set<string>;
  /** The Accept header of the last object LIST, GET or watch. */
  lastObjectAccept: string | undefined;
  /** Latency added before every answer, in ms. */
  delayMs: number;
  /** Leases by namespace/name (kube-write-routes.ts). */
  leases: Map<string, { metadata: { resourceVersion: string }; spec: unknown }>;
  /** Every Lease and status write, answered or refused, with the token that made it. */
  writes: WriteRecord[];
  /** APIServices by group: their resource paths (past `/apis/<group>/<version>`) are proxied there, as the aggregator does. */
  aggregated: Map<string, AggregatedApi>;
  /** Every Lease and status subresource GET answered, with the token that made it. */
  reads: Pick<WriteRecord, 'endpoint' | 'namespace' | 'name' | 'token'>[];
  setAuthenticationConfigMap(data: Record<string, string>): void;
  writeKubeconfig(token?: string, fileName?: string): Promise<string>;
  /** down: stop listening and cut every connection (refused, as when the API server is gone); up: listen again on the same port. */
  setDown(down: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface DoubleOptions {
  /** Where to write the CA, serving certificate and kubeconfig; a fresh temp dir (removed on close) otherwise. */
  certDir?: CertDir;
  adapterToken?: string;
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

export async function startKubeApiserverDouble(options: DoubleOptions = {}): Promise<KubeApiserverDouble> {
  const ownDir = options.certDir === undefined;
  const certDir = options.certDir ?? (await createCertDir('kube-apiserver-double-'));
  const ca = await certDir.createCa('kube-apiserver-double-ca');
  const serving = await issueServingCert(ca, 'kube-apiserver');
  const adapterToken = options.adapterToken ?? `adapter-sa-${randomUUID()}`;

  const double = {
    adapterToken,
    clientTokens: new Set([adapterToken]),
    tokens: new Map<string, DoubleUser>(),
    allowRules: [] as SarRule[],
    authorize: undefined as ((spec: SarSpec) => SarDecision) | undefined,
    configMaps: new Map<string, Record<string, string>>(),
    objects: [] as StoredObject[],
    discovery: createKubeDiscoveryDouble(),
    hpaCluster: createHpaClusterState(),
    calls: {
      tokenreviews: 0,
      subjectaccessreviews: 0,
      configmaps: 0,
      objects: 0,
      watches: 0,
      leases: 0,
      status: 0,
      unauthorized: 0,
    },
    connections: 0,
    subjectAccessReviews: [] as SarSpec[],
    failures: new Map<Endpoint, number>(),
    forbiddenResources: new Set<string>(),
    missingResources: new Set<string>(),
    lastObjectAccept: undefined as string | undefined,
    delayMs: 0,
    aggregated: new Map<string, AggregatedApi>(),
  };

  const watchServer = createWatchServer(double.objects, failure);
  const writeRoutes = createWriteRoutes(double.objects, watchServer, failure);

  const server: Server = createServer({ cert: serving.cert, key: serving.key }, (req, res) => {
    answer(req, res).then(
      (answered) => answered && send(res, answered[0], answered[1]),
      (error: unknown) => send(res, 500, status(500, `internal error: ${String(error)}`)),
    );
  });

  /** An answer to send, or undefined when a watch stream took over the response. */
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<Answer | undefined> {
    const body = await readBody(req);
    if (double.delayMs > 0) await new Promise((r) => setTimeout(r, double.delayMs));
    const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !double.clientTokens.has(token)) {
      double.calls.unauthorized++;
      return failure(401, 'Unauthorized');
    }
    const url = new URL(req.url ?? '/', 'https://double');
    const write = writeRoutes.route(req.method ?? 'GET', url.pathname);
    if (write) {
      double.calls[write.endpoint]++;
      const refused = double.failures.get(write.endpoint);
      if (refused) {
        const { endpoint, method, namespace, name = '' } = write;
        if (method !== 'GET') writeRoutes.writes.push({ endpoint, method, namespace, name, token, code: refused });
        return failure(refused, failureMessage(refused, write.endpoint));
      }
      return writeRoutes.answer(write, body, token, req.headers['content-type']);
    }
    const hpaRoute =
      req.method === 'GET' ? await answerHpaRoute(double.hpaCluster, url, req.headers.accept, failure) : undefined;
    if (hpaRoute) return hpaRoute;
    const aggregated = double.aggregated.get(/^\/apis\/([^/]+)\/[^/]+\/./.exec(url.pathname)?.[1] ?? '');
    if (aggregated) {
      const user = double.tokens.get(token);
      proxyToAggregated(
        aggregated,
        req,
        res,
        {
          username: user?.username ?? 'system:anonymous',
          groups: user?.groups ?? [],
        },
        (message) => send(res, ...failure(503, message)),
      );
      return undefined;
    }
    const discovery = req.method === 'GET' ? double.discovery.answer(url.pathname) : undefined;
    if (discovery) return discovery;
    const route = routeOf(req.method ?? 'GET', url.pathname);
    if (!route) return failure(404, 'the server could not find the requested resource');
    const watching = route.endpoint === 'objects' && ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
    const endpoint: Endpoint = watching ? 'watches' : route.endpoint;
    double.calls[endpoint]++;
    const programmed = double.failures.get(endpoint);
    if (programmed) return failure(programmed, failureMessage(programmed, endpoint));
    if (route.endpoint === 'objects') {
      const resource = route.group === '' ? route.resource : `${route.resource}.${route.group}`;
      if (double.forbiddenResources.has(resource))
        return failure(
          403,
          `${resource} is forbidden: User "system:serviceaccount:default:adapter" cannot ${watching ? 'watch' : 'list'} resource "${route.resource}" in API group "${route.group}" at the cluster scope`,
          { group: route.group, kind: route.resource },
        );
      if (double.missingResources.has(resource))
        return failure(404, 'the server could not find the requested resource', {});
    }
    if (route.endpoint === 'tokenreviews' || route.endpoint === 'subjectaccessreviews') {
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
        return failure(
          415,
          'the body of the request was in an unknown format - accepted media types include: application/json',
        );
      }
      let spec: unknown;
      try {
        spec = (JSON.parse(body) as { spec?: unknown }).spec ?? {};
      } catch {
        return failure(400, 'the request body is not valid JSON');
      }
      return route.endpoint === 'tokenreviews'
        ? tokenReview(spec as { token?: unknown })
        : subjectAccessReview(spec as SarSpec);
    }
    if (route.endpoint === 'configmaps') {
      const data = double.configMaps.get(`${route.namespace}/${route.name}`);
      if (!data) return failure(404, `configmaps "${route.name}" not found`, { name: route.name, kind: 'configmaps' });
      const metadata = {
        name: route.name,
        namespace: route.namespace,
        uid: `uid-${route.name}`,
        resourceVersion: '101',
        creationTimestamp: '2026-01-01T00:00:00Z',
      };
      return [200, { kind: 'ConfigMap', apiVersion: 'v1', metadata, data }];
    }
    double.lastObjectAccept = req.headers.accept;
    return objects(route, url.searchParams, req.headers.accept, watching ? res : undefined);
  }

  function tokenReview(spec: { token?: unknown }): Answer {
    const user = typeof spec.token === 'string' ? double.tokens.get(spec.token) : undefined;
    const review = {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
    };
    if (!user) return [201, { ...review, status: { user: {}, error: '[invalid bearer token, token lookup failed]' } }];
    const groups = [...(user.groups ?? []), 'system:authenticated'];
    const reviewed = {
      username: user.username,
      uid: user.uid ?? randomUUID(),
      groups,
      ...(user.extra ? { extra: user.extra } : {}),
    };
    return [
      201,
      { ...review, status: { authenticated: true, user: reviewed, audiences: ['https://kubernetes.default.svc'] } },
    ];
  }

  function subjectAccessReview(spec: SarSpec): Answer {
    const invalid = 'SubjectAccessReview.authorization.k8s.io "" is invalid';
    if (!spec.user && !spec.groups?.length) {
      return failure(422, `${invalid}: spec.user: Invalid value: "": at least one of user or group must be specified`);
    }
    if (!spec.resourceAttributes === !spec.nonResourceAttributes) {
      return failure(
        422,
        `${invalid}: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      );
    }
    double.subjectAccessReviews.push(spec);
    const decision = double.authorize ? double.authorize(spec) : decideByRules(spec);
    return [
      201,
      {
        kind: 'SubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec,
        status: decision,
      },
    ];
  }

  function decideByRules(spec: SarSpec): SarDecision {
    const attrs = spec.resourceAttributes ?? {};
    const matches = (want: string | undefined, got: string | undefined) => want === undefined || want === got;
    const rule = double.allowRules.find(
      (r) =>
        matches(r.user, spec.user) &&
        (r.subjectGroup === undefined || (spec.groups ?? []).includes(r.subjectGroup)) &&
        matches(r.verb, attrs.verb) &&
        matches(r.group, attrs.group) &&
        matches(r.resource, attrs.resource) &&
        matches(r.subresource, attrs.subresource) &&
        matches(r.name, attrs.name) &&
        matches(r.namespace, attrs.namespace),
    );
    if (!rule) return { allowed: false };
    return {
      allowed: true,
      reason: rule.reason ?? `RBAC: allowed by ClusterRoleBinding "test" of ClusterRole "test" to User "${spec.user}"`,
    };
  }

  function objects(
    route: ObjectRoute,
    query: URLSearchParams,
    accept: string | undefined,
    watchResponse: ServerResponse | undefined,
  ): Answer | undefined {
    let selector: (labels: Record<string, string>) => boolean;
    try {
      selector = parseLabelSelector(query.get('labelSelector') ?? '');
    } catch (error) {
      return failure(400, `unable to parse requirement: ${(error as Error).message}`);
    }
    if (route.name === undefined) {
      return watchResponse
        ? watchServer.watch(route, query, accept, selector, watchResponse)
        : watchServer.list(route, query, accept, selector);
    }
    const found = double.objects.find(
      (o) =>
        o.group === route.group &&
        o.version === route.version &&
        o.resource === route.resource &&
        (route.namespace === undefined || o.namespace === route.namespace) &&
        o.name === route.name,
    );
    if (!found)
      return failure(404, `${route.resource} "${route.name}" not found`, { name: route.name, kind: route.resource });
    return [200, watchServer.objectJson(found, route, false)];
  }

  server.on('secureConnection', () => double.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  async function writeKubeconfig(token = adapterToken, fileName = 'kubeconfig.json'): Promise<string> {
    const path = join(certDir.dir, fileName);
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'double',
      clusters: [{ name: 'double', cluster: { server: url, 'certificate-authority': ca.certPath } }],
      users: [{ name: 'adapter', user: { token } }],
      contexts: [{ name: 'double', context: { cluster: 'double', user: 'adapter' } }],
    };
    await writeFile(path, JSON.stringify(kubeconfig, null, 2));
    return path;
  }
  const kubeconfigPath = await writeKubeconfig();

  return Object.assign(double, {
    url,
    leases: writeRoutes.leases,
    writes: writeRoutes.writes,
    reads: writeRoutes.reads,
    watch: watchServer.controls,
    caPem: ca.cert,
    caPath: ca.certPath,
    kubeconfigPath,
    writeKubeconfig,
    setAuthenticationConfigMap(data: Record<string, string>) {
      double.configMaps.set('kube-system/extension-apiserver-authentication', data);
    },
    async setDown(down: boolean) {
      if (down && server.listening) {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
      } else if (!down && !server.listening) {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => {
            server.off('error', reject);
            resolve();
          });
        });
      }
    },
    async close() {
      watchServer.controls.cutWatches();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await certDir.cleanup();
    },
  });
}

interface ObjectRoute {
  endpoint: 'objects';
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
}
type Route =
  | { endpoint: 'tokenreviews' }
  | { endpoint: 'subjectaccessreviews' }
  | { endpoint: 'configmaps'; namespace: string; name: string }
  | ObjectRoute;

function routeOf(method: string, path: string): Route | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  if (method === 'POST') {
    if (path === '/apis/authentication.k8s.io/v1/tokenreviews') return { endpoint: 'tokenreviews' };
    if (path === '/apis/authorization.k8s.io/v1/subjectaccessreviews') return { endpoint: 'subjectaccessreviews' };
    return undefined;
  }
  if (method !== 'GET') return undefined;
  const [root, ...rest] = parts;
  const [group, version, ...tail] = root === 'api' ? ['', ...rest] : root === 'apis' ? rest : [];
  if (group === undefined || version === undefined || tail.length === 0) return undefined;
  const namespaced = tail[0] === 'namespaces' && tail.length >= 3;
  const [resource, name, extra] = namespaced ? tail.slice(2) : tail;
  const namespace = namespaced ? tail[1] : undefined;
  if (resource === undefined || extra !== undefined) return undefined;
  if (group === '' && resource === 'configmaps' && namespace !== undefined && name !== undefined)
    return { endpoint: 'configmaps', namespace, name };
  return {
    endpoint: 'objects',
    group,
    version,
    resource,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

function failureMessage(code: number, endpoint: Endpoint): string {
  if (code === 403)
    return `${endpoint} is forbidden: User "system:serviceaccount:default:adapter" cannot access ${endpoint}`;
  return code === 429
    ? 'Too many requests, please try again later.'
    : `${REASONS[code] ?? 'error'} serving ${endpoint}`;
}

type Answer = [code: number, body: unknown];

function failure(code: number, message: string, details?: Record<string, string>): Answer {
  return [code, status(code, message, details)];
}

function status(code: number, message: string, details?: Record<string, string>): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? 'Unknown',
    ...(details ? { details } : {}),
    code,
  };
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Kubernetes label-selector grammar, independent of the adapter's own parser. */
export function parseLabelSelector(text: string): (labels: Record<string, string>) => boolean {
  const requirements = text.trim() === '' ? [] : (text.match(/(?:[^,(]|\([^)]*\))+/g) ?? []).map((r) => r.trim());
  const tests = requirements.map(requirement);
  return (labels) => tests.every((test) => test(labels));
}

function requirement(text: string): (labels: Record<string, string>) => boolean {
  const has = (labels: Record<string, string>, key: string) => Object.hasOwn(labels, key);
  const absent = /^!\s*([\w./-]+)$/.exec(text);
  if (absent) return (labels) => !has(labels, absent[1] ?? '');
  const set = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(text);
  if (set) {
    const [, key = '', op, list = ''] = set;
    const values = list.split(',').map((v) => v.trim());
    const member = (labels: Record<string, string>) => has(labels, key) && values.includes(labels[key] ?? '');
    return op === 'in' ? member : (labels) => !member(labels);
  }
  const equality = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(text);
  if (equality) {
    const [, key = '', op, value = ''] = equality;
    return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
  }
  const exists = /^([\w./-]+)$/.exec(text);
  if (exists) return (labels) => has(labels, exists[1] ?? '');
  throw new Error(`"${text}"`);
}
