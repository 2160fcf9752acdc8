import type { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import { listMetadata, parseBody } from './metadata.js';
import { KubeTransport, type KubeTransportOptions, statusError } from './transport.js';
import type {
  ConfigMap,
  KubeClient,
  ResourceRef,
  SubjectAccessReviewSpec,
  SubjectAccessReviewStatus,
  TokenReviewStatus,
} from './types.js';

export interface KubeClientOptions extends KubeTransportOptions {
  /** Objects per list page (the `limit` parameter). Default 500. */
  listPageSize?: number;
}

export interface ClosableKubeClient extends KubeClient {
  /** Drops idle keep-alive connections. */
  close(): void;
}

const stringList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);
const extraMap = z
  .record(z.string(), z.array(z.string()).nullish())
  .nullish()
  .transform((v) => Object.fromEntries(Object.entries(v ?? {}).map(([k, vs]) => [k, vs ?? []])));

const tokenReviewSchema = z.object({
  status: z
    .object({
      authenticated: z.boolean().nullish(),
      user: z
        .object({ username: z.string().nullish(), uid: z.string().nullish(), groups: stringList, extra: extraMap })
        .nullish(),
      audiences: z.array(z.string()).nullish(),
      error: z.string().nullish(),
    })
    .nullish(),
});

const subjectAccessReviewSchema = z.object({
  status: z
    .object({
      allowed: z.boolean().nullish(),
      denied: z.boolean().nullish(),
      reason: z.string().nullish(),
      evaluationError: z.string().nullish(),
    })
    .nullish(),
});

const configMapSchema = z.object({
  metadata: z.object({ name: z.string(), namespace: z.string(), resourceVersion: z.string().nullish() }),
  data: z.record(z.string(), z.string()).nullish(),
});

/** A KubeClient for the cluster a KubeConfig points at. */
export function createKubeClient(kubeConfig: KubeConfig, options: KubeClientOptions = {}): ClosableKubeClient {
  const transport = new KubeTransport(kubeConfig, options);
  const pageSize = options.listPageSize ?? 500;

  async function call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    path: string,
    schema: S,
    body: unknown,
    signal: AbortSignal | undefined,
    allowNotFound = false,
  ): Promise<z.infer<S> | undefined> {
    const response = await transport.request(method, path, body, signal);
    if (allowNotFound && response.status === 404) return undefined;
    if (response.status < 200 || response.status > 299) throw statusError(method, path, response);
    return parseBody(method, path, schema, response);
  }

  return {
    async createTokenReview(token, signal) {
      const body = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } };
      const review = await call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', tokenReviewSchema, body, signal);
      const status = review?.status;
      const user = status?.user;
      const result: TokenReviewStatus = { authenticated: status?.authenticated === true };
      if (user?.username) {
        result.user = { username: user.username, groups: user.groups, extra: user.extra };
        if (user.uid) result.user.uid = user.uid;
      }
      if (status?.audiences) result.audiences = status.audiences;
      if (status?.error) result.error = status.error;
      return result;
    },

    async createSubjectAccessReview(spec: SubjectAccessReviewSpec, signal) {
      const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec };
      const path = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
      const review = await call('POST', path, subjectAccessReviewSchema, body, signal);
      const status = review?.status;
      const result: SubjectAccessReviewStatus = {
        allowed: status?.allowed === true,
        denied: status?.denied === true,
        reason: status?.reason ?? '',
      };
      if (status?.evaluationError) result.evaluationError = status.evaluationError;
      return result;
    },

    async readDiscovery(path, signal) {
      const response = await transport.request('GET', path, undefined, signal);
      if (response.status < 200 || response.status > 299) throw statusError('GET', path, response);
      return response.body;
    },

    async readConfigMap(namespace, name, signal) {
      const path = `/api/v1/namespaces/${segment(namespace)}/configmaps/${segment(name)}`;
      const configMap = await call('GET', path, configMapSchema, undefined, signal, true);
      if (!configMap) return undefined;
      const result: ConfigMap = {
        namespace: configMap.metadata.namespace,
        name: configMap.metadata.name,
        data: configMap.data ?? {},
      };
      if (configMap.metadata.resourceVersion) result.resourceVersion = configMap.metadata.resourceVersion;
      return result;
    },

    async listObjects(resource, namespace, labelSelector, deadline) {
      const path = collectionPath(resource, namespace);
      const list = await listMetadata(transport, path, labelSelector, pageSize, deadline?.signal);
      return list.objects;
    },

    close() {
      transport.close();
    },
  };
}

/** /api/v1/namespaces/ns/pods, /apis/apps/v1/deployments, … */
export function collectionPath(resource: ResourceRef, namespace: string | undefined): string {
  const root =
    resource.group === ''
      ? `/api/${segment(resource.version)}`
      : `/apis/${segment(resource.group)}/${segment(resource.version)}`;
  const scope = namespace === undefined ? '' : `/namespaces/${segment(namespace)}`;
  return `${root}${scope}/${segment(resource.resource)}`;
}

function segment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw ApiError.badRequest(`invalid path segment "${value}" for a Kubernetes API call`);
  }
  return encodeURIComponent(value);
}
