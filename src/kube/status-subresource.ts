import { collectionPath } from './client.js';
import { type KubeTransport, statusError } from './transport.js';
import type { ResourceRef } from './types.js';

/** An object as read through its status subresource: the whole object, its resourceVersion and status. */
export interface ObjectWithStatus {
  object: Record<string, unknown>;
  resourceVersion: string;
  status: unknown;
}

/**
 * The status subresource of one namespaced resource: read an object, replace its status naming
 * the resourceVersion it was read at (so a write computed from an old read is 409, never lost
 * over someone else's). Every other failure rejects (ApiError.unavailable, the Status kept).
 */
export interface StatusSubresource {
  /** undefined when the object does not exist (404). */
  read(namespace: string, name: string, signal?: AbortSignal): Promise<ObjectWithStatus | undefined>;
  /** 'conflict' when the object changed since it was read (409), 'gone' when it was deleted (404). */
  replace(read: ObjectWithStatus, status: unknown, signal?: AbortSignal): Promise<'written' | 'conflict' | 'gone'>;
}

export function createStatusSubresource(transport: KubeTransport, resource: ResourceRef): StatusSubresource {
  const pathOf = (namespace: string, name: string) =>
    `${collectionPath(resource, namespace)}/${encodeURIComponent(name)}/status`;
  return {
    async read(namespace, name, signal) {
      const path = pathOf(namespace, name);
      const response = await transport.request('GET', path, undefined, signal);
      if (response.status === 404) return undefined;
      if (response.status < 200 || response.status > 299) throw statusError('GET', path, response);
      const object = (typeof response.body === 'object' && response.body !== null ? response.body : {}) as Record<
        string,
        unknown
      >;
      const metadata = (object.metadata ?? {}) as { resourceVersion?: unknown };
      const resourceVersion = typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '';
      return { object, resourceVersion, status: object.status };
    },
    async replace(read, status, signal) {
      const metadata = (read.object.metadata ?? {}) as { namespace?: string; name?: string };
      const path = pathOf(metadata.namespace ?? '', metadata.name ?? '');
      // An empty resourceVersion would make the update unconditional: always name the one read.
      const body = { ...read.object, metadata: { ...metadata, resourceVersion: read.resourceVersion }, status };
      const response = await transport.request('PUT', path, body, signal);
      if (response.status === 409) return 'conflict';
      if (response.status === 404) return 'gone';
      if (response.status < 200 || response.status > 299) throw statusError('PUT', path, response);
      return 'written';
    },
  };
}
