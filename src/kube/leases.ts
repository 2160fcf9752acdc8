import { z } from 'zod';
import { parseBody } from './metadata.js';
import { type KubeTransport, statusError } from './transport.js';

/** A coordination.k8s.io/v1 Lease's spec as leader election reads and writes it. */
export interface LeaseRecord {
  /** '' when released. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions: number;
}

/** A Lease as read: its record, the resourceVersion a write must name, and the raw spec to see any change by. */
export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
  /** The spec as the API server sent it: a change here (any field, any holder) restarts the expiry clock. */
  rawSpec: string;
}

/**
 * One Lease's reads and writes. A write names the resourceVersion it was computed from, so of
 * two replicas writing at once one gets 409 Conflict (answered as 'conflict'), never both a win.
 */
export interface LeaseStore {
  /** What the Lease is called, for logs: namespace/name. */
  readonly name: string;
  /** undefined when the Lease does not exist (404). */
  get(signal?: AbortSignal): Promise<StoredLease | undefined>;
  /** 'conflict' when it exists already (409 AlreadyExists). */
  create(record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease | 'conflict'>;
  /** 'conflict' when the Lease changed since `resourceVersion` (409). */
  update(record: LeaseRecord, resourceVersion: string, signal?: AbortSignal): Promise<StoredLease | 'conflict'>;
}

const microTime = z
  .string()
  .nullish()
  .transform((v) => (v ? new Date(v) : undefined));

const leaseSchema = z.object({
  metadata: z.object({ resourceVersion: z.string() }),
  spec: z
    .object({
      holderIdentity: z.string().nullish(),
      leaseDurationSeconds: z.number().int().nullish(),
      acquireTime: microTime,
      renewTime: microTime,
      leaseTransitions: z.number().int().nullish(),
    })
    .nullish(),
});

/** The Lease `name` in `namespace`, through the adapter's Kubernetes transport. */
export function createLeaseStore(transport: KubeTransport, namespace: string, name: string): LeaseStore {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const path = `${collection}/${encodeURIComponent(name)}`;
  /** The object last read or written: an update keeps its labels, annotations and owner references. */
  let lastObject: Record<string, unknown> | undefined;

  function stored(method: string, at: string, body: unknown): StoredLease {
    const lease = parseBody(method, at, leaseSchema, { status: 200, body });
    lastObject = body as Record<string, unknown>;
    const spec = lease.spec;
    const record: LeaseRecord = {
      holderIdentity: spec?.holderIdentity ?? '',
      leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
      leaseTransitions: spec?.leaseTransitions ?? 0,
    };
    if (spec?.acquireTime) record.acquireTime = spec.acquireTime;
    if (spec?.renewTime) record.renewTime = spec.renewTime;
    const rawSpec = JSON.stringify((body as { spec?: unknown }).spec ?? {});
    return { record, resourceVersion: lease.metadata.resourceVersion, rawSpec };
  }

  async function write(method: 'POST' | 'PUT', at: string, object: unknown, signal: AbortSignal | undefined) {
    const response = await transport.request(method, at, object, signal);
    if (response.status === 409) return 'conflict' as const;
    if (response.status < 200 || response.status > 299) throw statusError(method, at, response);
    return stored(method, at, response.body);
  }

  return {
    name: `${namespace}/${name}`,
    async get(signal) {
      const response = await transport.request('GET', path, undefined, signal);
      if (response.status === 404) return undefined;
      if (response.status < 200 || response.status > 299) throw statusError('GET', path, response);
      return stored('GET', path, response.body);
    },
    create(record, signal) {
      const object = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: leaseSpec(record),
      };
      return write('POST', collection, object, signal);
    },
    update(record, resourceVersion, signal) {
      const previous = lastObject ?? { metadata: { name, namespace } };
      const metadata = { ...(previous.metadata as Record<string, unknown>), resourceVersion };
      const object = {
        ...previous,
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata,
        spec: leaseSpec(record),
      };
      return write('PUT', path, object, signal);
    },
  };
}

function leaseSpec(record: LeaseRecord): Record<string, unknown> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
    ...(record.acquireTime ? { acquireTime: microTimeOf(record.acquireTime) } : {}),
    ...(record.renewTime ? { renewTime: microTimeOf(record.renewTime) } : {}),
  };
}

/** metav1.MicroTime's wire form: RFC 3339 with six fractional digits. */
function microTimeOf(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z');
}
