import { z } from 'zod';
import { type KubeClient, kubeStatusOf } from '../../kube/types.js';
import { clip } from '../../lib/text.js';
import type { RequestHeaderConfig } from './request-header.js';
import { type CaBundle, parseCaBundle } from './x509.js';

/** Where kube-apiserver publishes its client CA and front-proxy settings for extension servers. */
export const AUTHENTICATION_CONFIGMAP = {
  namespace: 'kube-system',
  name: 'extension-apiserver-authentication',
} as const;

export interface ClusterAuthentication {
  clientCa?: CaBundle;
  requestHeader?: RequestHeaderConfig;
}

/** Header names to use when the ConfigMap does not list them (the flag values). */
export type RequestHeaderNames = Pick<
  RequestHeaderConfig,
  'usernameHeaders' | 'uidHeaders' | 'groupHeaders' | 'extraHeaderPrefixes'
>;

const stringArray = z.array(z.string());

/**
 * Read the ConfigMap. Resolves undefined when it does not exist (a cluster without an
 * aggregation layer: kube carries on with what the flags give). Throws an Error saying what
 * to fix when it cannot be read, as kube refuses to start then.
 */
export async function readClusterAuthentication(
  kube: Pick<KubeClient, 'readConfigMap'>,
  fallbackHeaders: RequestHeaderNames,
): Promise<ClusterAuthentication | undefined> {
  const { namespace, name } = AUTHENTICATION_CONFIGMAP;
  let data: Record<string, string>;
  try {
    const configMap = await kube.readConfigMap(namespace, name);
    if (!configMap) return undefined;
    data = configMap.data;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (kubeStatusOf(error) === 403) {
      throw new Error(
        `cannot read configmap ${namespace}/${name} (${message}). Usually fixed by ` +
          `'kubectl create rolebinding -n ${namespace} ROLEBINDING_NAME --role=extension-apiserver-authentication-reader --serviceaccount=YOUR_NS:YOUR_SA', ` +
          'or pass --requestheader-client-ca-file and --client-ca-file',
      );
    }
    throw new Error(`unable to load configmap based request-header-client-ca-file: ${message}`);
  }
  return parseClusterAuthentication(data, fallbackHeaders);
}

/** The ConfigMap's data as kube-apiserver writes it: PEM strings and JSON string arrays. */
export function parseClusterAuthentication(
  data: Record<string, string>,
  fallbackHeaders: RequestHeaderNames,
): ClusterAuthentication {
  const source = (key: string) =>
    `configmap ${AUTHENTICATION_CONFIGMAP.namespace}/${AUTHENTICATION_CONFIGMAP.name} key ${key}`;
  const result: ClusterAuthentication = {};
  const clientCa = data['client-ca-file'];
  if (clientCa?.trim()) result.clientCa = parseCaBundle(clientCa, source('client-ca-file'));
  const requestHeaderCa = data['requestheader-client-ca-file'];
  if (requestHeaderCa?.trim()) {
    const list = (key: string, fallback: string[]): string[] => {
      const raw = data[key];
      if (raw === undefined || raw.trim() === '') return fallback;
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new Error(`${source(key)}: expected a JSON array of strings, got ${JSON.stringify(clip(raw, 80))}`);
      }
      const checked = stringArray.safeParse(parsed ?? []);
      if (!checked.success) throw new Error(`${source(key)}: expected a JSON array of strings`);
      return checked.data.length > 0 ? checked.data : fallback;
    };
    result.requestHeader = {
      ca: parseCaBundle(requestHeaderCa, source('requestheader-client-ca-file')),
      allowedNames: list('requestheader-allowed-names', []),
      usernameHeaders: list('requestheader-username-headers', fallbackHeaders.usernameHeaders),
      uidHeaders: list('requestheader-uid-headers', fallbackHeaders.uidHeaders),
      groupHeaders: list('requestheader-group-headers', fallbackHeaders.groupHeaders),
      extraHeaderPrefixes: list('requestheader-extra-headers-prefix', fallbackHeaders.extraHeaderPrefixes),
    };
  }
  return result;
}
