import { SERVED_GROUPS, type ServedGroup } from '../../api/groups.js';
import { readVersionInfo } from '../../version.js';
import { type JsonObject, refTo, type SpecStyle, schemaDefinitions } from './definitions.js';
import { metricPaths } from './paths.js';

/**
 * The OpenAPI documents kube-apiserver's aggregator downloads and merges into the cluster's
 * spec: `/openapi/v2` (Swagger 2.0, every served group-version in one document; the
 * aggregator keeps only the paths under each APIService's own `/apis/<group>/<version>/`)
 * and one OpenAPI 3.0 document per group-version for `/openapi/v3/apis/<group>/<version>`.
 * The documents depend only on the adapter version and on whether metrics.k8s.io is served
 * (resourceRules in the running config), never on the metrics configured.
 */

const TITLE = 'hpa-metrics-adapter';

export interface OpenApiV3GroupVersion {
  /** `custom.metrics.k8s.io/v1beta2` */
  groupVersion: string;
  /** The key in the `/openapi/v3` discovery document: `apis/custom.metrics.k8s.io/v1beta2`. */
  path: string;
}

/** Every group-version this adapter serves, in the order of `groups`. */
export function openApiV3Paths(groups: readonly ServedGroup[] = SERVED_GROUPS): OpenApiV3GroupVersion[] {
  return groups.flatMap((group) =>
    group.versions.map((version) => ({
      groupVersion: `${group.name}/${version}`,
      path: `apis/${group.name}/${version}`,
    })),
  );
}

export function buildOpenApiV2(
  adapterVersion: string = readVersionInfo().version,
  groups: readonly ServedGroup[] = SERVED_GROUPS,
): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const { groupVersion } of openApiV3Paths(groups)) Object.assign(paths, pathsFor(groupVersion, 'swagger2'));
  return {
    swagger: '2.0',
    info: { title: TITLE, version: adapterVersion },
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    paths,
    definitions: reachableDefinitions(paths, 'swagger2'),
  };
}

/** The document for one group-version (`custom.metrics.k8s.io/v1beta2`); undefined when not served. */
export function buildOpenApiV3(
  groupVersion: string,
  adapterVersion: string = readVersionInfo().version,
  groups: readonly ServedGroup[] = SERVED_GROUPS,
): JsonObject | undefined {
  if (!openApiV3Paths(groups).some((gv) => gv.groupVersion === groupVersion)) return undefined;
  const paths = pathsFor(groupVersion, 'openapi3');
  return {
    openapi: '3.0.0',
    info: { title: TITLE, version: adapterVersion },
    paths,
    components: { schemas: reachableDefinitions(paths, 'openapi3') },
  };
}

function pathsFor(groupVersion: string, style: SpecStyle): Record<string, JsonObject> {
  const slash = groupVersion.indexOf('/');
  return metricPaths(groupVersion.slice(0, slash), groupVersion.slice(slash + 1), style);
}

/** Only the models the paths use, directly or through other models, as kube publishes them. */
function reachableDefinitions(paths: Record<string, JsonObject>, style: SpecStyle): Record<string, JsonObject> {
  const all = schemaDefinitions(style);
  const prefix = refTo(style, '');
  const found = new Map<string, JsonObject>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && value.startsWith(prefix)) {
        const name = value.slice(prefix.length);
        const definition = all[name];
        if (definition && !found.has(name)) {
          found.set(name, definition);
          visit(definition);
        }
      } else {
        visit(value);
      }
    }
  };
  visit(paths);
  return Object.fromEntries([...found.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
