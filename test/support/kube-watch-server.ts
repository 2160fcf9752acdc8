import type { ServerResponse } from 'node:http';

/**
 * LIST and WATCH of object collections for the kube-apiserver double, as the Kubernetes API
 * concepts documentation describes them (reference/using-api/api-concepts: "Efficient
 * detection of changes", "Watch bookmarks", "Retrieving large results sets in chunks",
 * metadata-only fetches):
 *
 * - every change bumps one resourceVersion counter; a LIST reports it in `metadata`;
 * - `?watch=1&resourceVersion=RV` answers 200 with `Transfer-Encoding: chunked` and one JSON
 *   document per line, `{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`, first the
 *   retained changes after RV, then live ones; no RV (or "0") starts with a synthetic ADDED
 *   for every existing object;
 * - an RV older than the retained history gets the watch cache's answer: 200, one `ERROR`
 *   event whose object is a Status `410 Expired` ("too old resource version"), then the end;
 * - `allowWatchBookmarks=true` makes `bookmark()` send `BOOKMARK` events whose object carries
 *   only `metadata.resourceVersion`; `timeoutSeconds` ends the stream cleanly, after a bookmark
 *   as kube-apiserver sends one shortly before a watch's deadline (and every minute, which
 *   tests do by hand: kubernetes/kubernetes#90249);
 * - `Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1` (LIST) and
 *   `…;as=PartialObjectMetadata;…` (WATCH) get `meta.k8s.io/v1` PartialObjectMetadata shapes
 *   (metadata only); a list of Accept types is negotiated in order, nothing acceptable is 406.
 */
export interface WatchedObject {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name: string;
  labels?: Record<string, string>;
  resourceVersion?: string;
  /** The object's spec, served whole unless metadata only was asked for (an HPA's scaleTargetRef and metrics). */
  spec?: Record<string, unknown>;
  /** metadata.generation, when the object has one (custom resources do). */
  generation?: number;
  /** metadata.creationTimestamp (definitions are served oldest first within a namespace's limit). */
  creationTimestamp?: string;
  /** The object's status ({} when absent): a status subresource write changes only this. */
  status?: unknown;
}

export interface CollectionRoute {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
}

export interface WatchControls {
  /** The newest resourceVersion (a number kept as the API's opaque string). */
  readonly resourceVersion: string;
  /** Creates or replaces an object (ADDED / MODIFIED to every watch that sees it). */
  put(object: WatchedObject): void;
  /** Deletes an object (DELETED); false when there was none. */
  remove(object: Pick<WatchedObject, 'group' | 'resource' | 'namespace' | 'name'>): boolean;
  /** Forgets the change history: a watch from any earlier resourceVersion now gets 410 Expired. */
  compact(): void;
  /** Sends a BOOKMARK at the current resourceVersion to every watch that allowed them. */
  bookmark(): void;
  /** Cuts every open watch connection mid-stream (no clean end), as a network failure would. */
  cutWatches(): void;
  /** Ends every open watch cleanly, as the server does when a watch's timeout is up (a bookmark, then the end). */
  endWatches(): void;
  /** Watch streams open right now. */
  readonly openWatches: number;
  /** When set, every new watch is accepted and ended at once with no event (a misbehaving proxy). */
  endAtOnce: boolean;
  /** When set, every new watch is accepted and sent a line that is not a watch event, then left open. */
  sendGarbage: boolean;
}

type Answer = [code: number, body: unknown];
type Failure = (code: number, message: string) => Answer;

interface Change {
  resourceVersion: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: WatchedObject;
  previousLabels?: Record<string, string>;
}

interface OpenWatch {
  route: CollectionRoute;
  selector: (labels: Record<string, string>) => boolean;
  metadataOnly: boolean;
  bookmarks: boolean;
  res: ServerResponse;
}

const METADATA_GROUP_VERSION = 'meta.k8s.io/v1';
/** Changes kept for watches to resume from; older resourceVersions get 410. */
const HISTORY_LIMIT = 10_000;

export function createWatchServer(objects: WatchedObject[], failure: Failure) {
  let current = 1000;
  let oldestRetained = current;
  const history: Change[] = [];
  const watches = new Set<OpenWatch>();

  const inScope = (route: CollectionRoute, o: WatchedObject) =>
    o.group === route.group &&
    o.version === route.version &&
    o.resource === route.resource &&
    (route.namespace === undefined || o.namespace === route.namespace);
  const sameObject = (a: Omit<WatchedObject, 'version'>, b: Omit<WatchedObject, 'version'>) =>
    a.group === b.group && a.resource === b.resource && a.namespace === b.namespace && a.name === b.name;

  function record(change: Omit<Change, 'resourceVersion'>): void {
    current++;
    change.object.resourceVersion = String(current);
    const entry: Change = { ...change, resourceVersion: current };
    history.push(entry);
    if (history.length > HISTORY_LIMIT) oldestRetained = (history.shift() as Change).resourceVersion;
    for (const watch of watches) deliver(watch, entry);
  }

  function deliver(watch: OpenWatch, change: Change): void {
    if (!inScope(watch.route, change.object)) return;
    const now = watch.selector(change.object.labels ?? {});
    const before = change.previousLabels !== undefined && watch.selector(change.previousLabels);
    // A label selector on a watch: an object leaving the selection is DELETED, one entering it ADDED.
    let type: Change['type'] | undefined = change.type;
    if (change.type === 'MODIFIED') type = now && before ? 'MODIFIED' : now ? 'ADDED' : before ? 'DELETED' : undefined;
    else if (!now) type = undefined;
    if (type) writeEvent(watch, type, objectJson(change.object, watch.route, watch.metadataOnly));
  }

  function writeEvent(watch: OpenWatch, type: string, object: unknown): void {
    watch.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  const controls: WatchControls = {
    endAtOnce: false,
    sendGarbage: false,
    get resourceVersion() {
      return String(current);
    },
    get openWatches() {
      return watches.size;
    },
    put(object) {
      const index = objects.findIndex((o) => sameObject(o, object));
      const previous = index === -1 ? undefined : objects[index];
      const stored = { ...object };
      if (index === -1) objects.push(stored);
      else objects[index] = stored;
      record({
        type: previous ? 'MODIFIED' : 'ADDED',
        object: stored,
        ...(previous ? { previousLabels: previous.labels ?? {} } : {}),
      });
    },
    remove(object) {
      const index = objects.findIndex((o) => sameObject(o, object));
      if (index === -1) return false;
      const [removed] = objects.splice(index, 1);
      if (removed) record({ type: 'DELETED', object: { ...removed } });
      return true;
    },
    compact() {
      history.length = 0;
      oldestRetained = current;
    },
    bookmark() {
      for (const watch of watches) sendBookmark(watch);
    },
    cutWatches() {
      for (const watch of watches) watch.res.socket?.destroy();
      watches.clear();
    },
    endWatches() {
      for (const watch of watches) endAtDeadline(watch);
      watches.clear();
    },
  };

  function sendBookmark(watch: OpenWatch): void {
    if (!watch.bookmarks) return;
    const kind = watch.metadataOnly ? 'PartialObjectMetadata' : kindOf(watch.route.resource);
    const apiVersion = watch.metadataOnly ? METADATA_GROUP_VERSION : apiVersionOf(watch.route);
    writeEvent(watch, 'BOOKMARK', { kind, apiVersion, metadata: { resourceVersion: String(current) } });
  }

  function endAtDeadline(watch: OpenWatch): void {
    sendBookmark(watch);
    watch.res.end();
  }

  /** GET a collection (no `watch`): the list, paged with limit/continue, at the current resourceVersion. */
  function list(
    route: CollectionRoute,
    query: URLSearchParams,
    accept: string | undefined,
    selector: (labels: Record<string, string>) => boolean,
  ): Answer {
    const representation = negotiate(accept, 'PartialObjectMetadataList');
    if (!representation) return notAcceptable(accept);
    const metadataOnly = representation === 'metadata';
    const matching = objects
      .filter((o) => inScope(route, o) && selector(o.labels ?? {}))
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    const start = Number(query.get('continue') ? Buffer.from(query.get('continue') ?? '', 'base64url').toString() : 0);
    const limit = Number(query.get('limit') ?? 0) || matching.length;
    const next = start + limit < matching.length ? Buffer.from(String(start + limit)).toString('base64url') : undefined;
    // remainingItemCount is left out when a label selector narrowed the list (its count is unknown).
    const remaining =
      next && !query.get('labelSelector') ? { remainingItemCount: matching.length - start - limit } : {};
    return [
      200,
      {
        kind: metadataOnly ? 'PartialObjectMetadataList' : `${kindOf(route.resource)}List`,
        apiVersion: metadataOnly ? METADATA_GROUP_VERSION : apiVersionOf(route),
        metadata: { resourceVersion: String(current), ...(next ? { continue: next, ...remaining } : {}) },
        items: matching.slice(start, start + limit).map((o) => objectJson(o, route, metadataOnly, false)),
      },
    ];
  }

  /** GET a collection with `watch=1`: streams events until timeoutSeconds, cutWatches() or the client leaves. */
  function watch(
    route: CollectionRoute,
    query: URLSearchParams,
    accept: string | undefined,
    selector: (labels: Record<string, string>) => boolean,
    res: ServerResponse,
  ): Answer | undefined {
    const representation = negotiate(accept, 'PartialObjectMetadata');
    if (!representation) return notAcceptable(accept);
    const requested = query.get('resourceVersion') ?? '';
    if (requested !== '' && !/^\d+$/.test(requested)) {
      return failure(400, `invalid resource version "${requested}"`);
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    // The API server sends the status line at once, before any event: a quiet watch is still open.
    res.flushHeaders();
    const open: OpenWatch = {
      route,
      selector,
      metadataOnly: representation === 'metadata',
      bookmarks: query.get('allowWatchBookmarks') === 'true',
      res,
    };
    if (controls.endAtOnce) {
      res.end();
      return undefined;
    }
    if (controls.sendGarbage) {
      res.write('<html><body>502 Bad Gateway</body></html>\n');
      return undefined;
    }
    const from = Number(requested || 0);
    if (from !== 0 && from < oldestRetained) {
      const message = `too old resource version: ${from} (${oldestRetained})`;
      const status = {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message,
        reason: 'Expired',
        code: 410,
      };
      writeEvent(open, 'ERROR', status);
      res.end();
      return undefined;
    }
    if (from === 0) {
      for (const o of objects) {
        if (inScope(route, o) && selector(o.labels ?? {}))
          writeEvent(open, 'ADDED', objectJson(o, route, open.metadataOnly));
      }
    } else {
      for (const change of history) if (change.resourceVersion > from) deliver(open, change);
    }
    watches.add(open);
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeoutSeconds > 0 ? setTimeout(() => endAtDeadline(open), timeoutSeconds * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      watches.delete(open);
    });
    return undefined;
  }

  return { controls, list, watch, objectJson };
}

/** Which representation the Accept header asks for first: metadata-only, the full object, or none we serve. */
function negotiate(accept: string | undefined, metadataKind: string): 'metadata' | 'full' | undefined {
  for (const range of (accept ?? '*/*').split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim());
    const parameters = new Map(params.map((p) => p.split('=').map((s) => s.trim()) as [string, string]));
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue;
    const as = parameters.get('as');
    if (as === undefined) return 'full';
    if (as === metadataKind && parameters.get('g') === 'meta.k8s.io' && parameters.get('v') === 'v1') return 'metadata';
  }
  return undefined;
}

function notAcceptable(accept: string | undefined): Answer {
  return [
    406,
    {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf (asked: ${accept})`,
      reason: 'NotAcceptable',
      code: 406,
    },
  ];
}

function objectJson(o: WatchedObject, route: CollectionRoute, metadataOnly: boolean, typed = true): unknown {
  const metadata = {
    name: o.name,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    uid: `uid-${o.name}`,
    resourceVersion: o.resourceVersion ?? '1000',
    ...(o.generation !== undefined ? { generation: o.generation } : {}),
    creationTimestamp: o.creationTimestamp ?? '2026-01-01T00:00:00Z',
    ...(o.labels ? { labels: o.labels } : {}),
  };
  if (metadataOnly) return { kind: 'PartialObjectMetadata', apiVersion: METADATA_GROUP_VERSION, metadata };
  // Items of a typed list carry no kind/apiVersion of their own; watch events and single gets do.
  return {
    ...(typed ? { kind: kindOf(route.resource), apiVersion: apiVersionOf(route) } : {}),
    metadata,
    spec: o.spec ?? {},
    status: o.status ?? {},
  };
}

/** Kinds of more than one word, which the resource name alone does not spell (kubectl maps items by kind). */
const MULTI_WORD_KINDS: Record<string, string> = { metricdefinitions: 'MetricDefinition' };

export function kindOf(resource: string): string {
  const known = MULTI_WORD_KINDS[resource];
  if (known) return known;
  const singular = resource.endsWith('ies')
    ? `${resource.slice(0, -3)}y`
    : resource.endsWith('sses')
      ? resource.slice(0, -2)
      : resource.replace(/s$/, '');
  return singular.charAt(0).toUpperCase() + singular.slice(1);
}

export function apiVersionOf(route: Pick<CollectionRoute, 'group' | 'version'>): string {
  return route.group === '' ? route.version : `${route.group}/${route.version}`;
}
