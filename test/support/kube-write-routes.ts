import type { CollectionRoute, WatchControls, WatchedObject } from './kube-watch-server.js';

/**
 * The writes the adapter makes to kube-apiserver, for the double: coordination.k8s.io/v1 Leases
 * (GET, POST, PUT) and the status subresource of stored objects (GET, PUT, PATCH with
 * application/merge-patch+json; the API server's other patch types answer 415 here), with
 * resourceVersion preconditions as the API server checks them:
 *
 * - a PUT naming a `metadata.resourceVersion` other than the stored one is 409 Conflict ("the
 *   object has been modified"); one naming none is unconditional;
 * - a merge patch carrying `metadata.resourceVersion` is held to it the same way;
 * - a POST of a Lease that exists is 409 AlreadyExists;
 * - a status write changes only `status` (spec and metadata in the body are ignored), bumps the
 *   object's resourceVersion, not its generation, and is a MODIFIED event to watches.
 *
 * Every write is recorded with the bearer token that made it, so a test with two replicas (two
 * tokens) can say which one wrote.
 */
export interface WriteRecord {
  endpoint: 'leases' | 'status';
  method: string;
  namespace: string;
  name: string;
  /** The caller's bearer token. */
  token: string;
  /** The status code answered. */
  code: number;
}

export interface WriteRoute {
  endpoint: 'leases' | 'status';
  method: string;
  group: string;
  version: string;
  resource: string;
  namespace: string;
  name?: string;
}

type Answer = [code: number, body: unknown];
type Failure = (code: number, message: string, details?: Record<string, string>) => Answer;
interface WatchServer {
  controls: WatchControls;
  objectJson(o: WatchedObject, route: CollectionRoute, metadataOnly: boolean): unknown;
}

interface StoredLease {
  metadata: Record<string, unknown> & { name: string; namespace: string; resourceVersion: string };
  spec: unknown;
}

const LEASES = 'coordination.k8s.io';

export function createWriteRoutes(objects: WatchedObject[], watchServer: WatchServer, failure: Failure) {
  /** Leases by namespace/name, as the API server stores them. */
  const leases = new Map<string, StoredLease>();
  const writes: WriteRecord[] = [];
  /** GETs of Leases and status subresources, with the token that made them. */
  const reads: Pick<WriteRecord, 'endpoint' | 'namespace' | 'name' | 'token'>[] = [];
  let leaseVersion = 5000;

  /** The write route a request is for, undefined when it is not one of these. */
  function route(method: string, path: string): WriteRoute | undefined {
    const parts = path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    const [root, group = '', version = '', namespaces, namespace = '', resource = '', name, sub, ...rest] = parts;
    if (root !== 'apis' || namespaces !== 'namespaces' || rest.length > 0) return undefined;
    if (group === LEASES && version === 'v1' && resource === 'leases' && sub === undefined) {
      if (name === undefined ? method !== 'POST' : method !== 'GET' && method !== 'PUT') return undefined;
      return { endpoint: 'leases', method, group, version, resource, namespace, ...(name ? { name } : {}) };
    }
    if (sub === 'status' && name !== undefined && ['GET', 'PUT', 'PATCH'].includes(method)) {
      return { endpoint: 'status', method, group, version, resource, namespace, name };
    }
    return undefined;
  }

  function answer(at: WriteRoute, body: string, token: string, contentType: string | undefined): Answer {
    const answered = at.endpoint === 'leases' ? lease(at, body) : status(at, body, contentType);
    if (at.method === 'GET') reads.push({ endpoint: at.endpoint, namespace: at.namespace, name: at.name ?? '', token });
    else {
      const name = at.name ?? (parse(body) as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? '';
      writes.push({
        endpoint: at.endpoint,
        method: at.method,
        namespace: at.namespace,
        name,
        token,
        code: answered[0],
      });
    }
    return answered;
  }

  function lease(at: WriteRoute, body: string): Answer {
    const qualified = `leases.${LEASES}`;
    if (at.method === 'GET') {
      const found = leases.get(`${at.namespace}/${at.name}`);
      return found ? [200, leaseJson(found)] : notFound(qualified, at.name ?? '');
    }
    const object = parse(body) as { metadata?: Record<string, unknown>; spec?: unknown } | undefined;
    if (!object || typeof object !== 'object') return failure(400, 'the request body is not a JSON object');
    const name = at.name ?? String(object.metadata?.name ?? '');
    if (name === '')
      return failure(
        422,
        `Lease.${LEASES} "" is invalid: metadata.name: Required value: name or generateName is required`,
      );
    const key = `${at.namespace}/${name}`;
    const existing = leases.get(key);
    if (at.method === 'POST') {
      if (existing) return alreadyExists(qualified, name);
    } else {
      if (!existing) return notFound(qualified, name);
      const precondition = object.metadata?.resourceVersion;
      if (precondition && precondition !== existing.metadata.resourceVersion) return conflict(qualified, name);
    }
    const metadata = {
      ...(object.metadata ?? {}),
      name,
      namespace: at.namespace,
      uid: existing?.metadata.uid ?? `uid-lease-${name}`,
      creationTimestamp: existing?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      resourceVersion: String(++leaseVersion),
    };
    const stored: StoredLease = { metadata, spec: object.spec ?? {} };
    leases.set(key, stored);
    return [at.method === 'POST' ? 201 : 200, leaseJson(stored)];
  }

  function status(at: WriteRoute, body: string, contentType: string | undefined): Answer {
    const qualified = at.group === '' ? at.resource : `${at.resource}.${at.group}`;
    const found = objects.find(
      (o) => o.group === at.group && o.resource === at.resource && o.namespace === at.namespace && o.name === at.name,
    );
    if (!found) return notFound(qualified, at.name ?? '');
    if (at.method === 'GET') return [200, watchServer.objectJson(found, at, false)];
    const patch = at.method === 'PATCH';
    if (patch && !(contentType ?? '').startsWith('application/merge-patch+json')) {
      return failure(
        415,
        `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (the double's subset; asked: ${contentType})`,
      );
    }
    const object = parse(body) as { metadata?: { resourceVersion?: unknown }; status?: unknown } | undefined;
    if (!object || typeof object !== 'object') return failure(400, 'the request body is not a JSON object');
    const precondition = object.metadata?.resourceVersion;
    if (precondition !== undefined && precondition !== '' && precondition !== found.resourceVersion) {
      return conflict(qualified, found.name);
    }
    const nextStatus = patch ? mergePatch(found.status ?? {}, object.status ?? {}) : (object.status ?? {});
    const updated = { ...found, status: nextStatus };
    watchServer.controls.put(updated);
    return [200, watchServer.objectJson(updated, at, false)];
  }

  function notFound(qualified: string, name: string): Answer {
    return failure(404, `${qualified} "${name}" not found`, { name, kind: qualified.split('.')[0] ?? qualified });
  }

  function conflict(qualified: string, name: string): Answer {
    return failure(
      409,
      `Operation cannot be fulfilled on ${qualified} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, kind: qualified.split('.')[0] ?? qualified },
    );
  }

  function alreadyExists(qualified: string, name: string): Answer {
    const [code, body] = failure(409, `${qualified} "${name}" already exists`, { name, kind: 'leases' });
    return [code, { ...(body as object), reason: 'AlreadyExists' }];
  }

  return { leases, writes, reads, route, answer };
}

function leaseJson(lease: StoredLease): unknown {
  return { kind: 'Lease', apiVersion: `${LEASES}/v1`, metadata: lease.metadata, spec: lease.spec };
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}
