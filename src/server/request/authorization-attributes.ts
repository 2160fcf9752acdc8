import type { ResourceAttributes } from '../../kube/types.js';

/**
 * The attributes a generic Kubernetes apiserver's RequestInfo resolver derives from a path, so
 * that RBAC rules written for prometheus-adapter or the custom-metrics apiserver keep working:
 *   namespaces/{ns}/pods/web-1/http_requests → get pods "web-1", subresource http_requests, ns
 *   namespaces/{ns}/metrics/m                → get metrics "m" in ns
 *   namespaces/{ns}/queue-depth (external)   → list queue-depth in ns
 */
export function authorizationAttributes(
  group: string,
  version: string,
  segments: readonly string[],
): ResourceAttributes {
  let parts = segments;
  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    if (parts.length > 2) parts = parts.slice(2);
  }
  const [resource = '', name, subresource] = parts;
  const attributes: ResourceAttributes = { verb: name === undefined ? 'list' : 'get', group, version, resource };
  if (name !== undefined) attributes.name = name;
  if (subresource !== undefined) attributes.subresource = subresource;
  if (namespace !== undefined) attributes.namespace = namespace;
  return attributes;
}
