import type { Deadline } from '../lib/deadline.js';

/**
 * The few kube-apiserver calls the adapter makes, as one small injectable interface. The
 * real client talks HTTPS to the cluster; tests pass the HTTPS double or a plain object.
 *
 * Every method has a deadline (the client's timeout, plus the caller's optional signal) and
 * rejects with ApiError.unavailable when the API server cannot give an answer: network
 * failures, timeouts and error statuses alike. The original status is kept on the error's
 * `cause` as a KubeRequestError.
 */
export interface KubeClient {
  /** POST authentication.k8s.io/v1 TokenReview for a bearer token presented to the adapter. */
  createTokenReview(token: string, signal?: AbortSignal): Promise<TokenReviewStatus>;

  /** POST authorization.k8s.io/v1 SubjectAccessReview. */
  createSubjectAccessReview(spec: SubjectAccessReviewSpec, signal?: AbortSignal): Promise<SubjectAccessReviewStatus>;

  /**
   * GET a discovery document of the API server (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`)
   * as parsed JSON, for the caller to validate.
   */
  readDiscovery(path: string, signal?: AbortSignal): Promise<unknown>;

  /** GET a ConfigMap; undefined when it does not exist (404). */
  readConfigMap(namespace: string, name: string, signal?: AbortSignal): Promise<ConfigMap | undefined>;

  /**
   * List the objects of one resource matching a label selector (Kubernetes selector syntax,
   * '' for all), metadata only (PartialObjectMetadataList), following `continue` pages.
   * namespace undefined lists a root-scoped resource (nodes, namespaces) or across all
   * namespaces. The answer may be a frozen array handed out again for as long as the objects
   * it lists are unchanged (the object informers do so): callers may key memos on it.
   *
   * Takes the caller's Deadline, not its signal: a lister reads `deadline.signal` only when it
   * really LISTs, so a request the informers answer from memory never makes the timer,
   * controller and listener a request's lazy signal costs (see src/lib/deadline.ts).
   */
  listObjects(
    resource: ResourceRef,
    namespace: string | undefined,
    labelSelector: string,
    deadline?: Deadline,
  ): Promise<readonly ObjectSummary[]>;
}

/**
 * What selector requests need: the objects of a resource matching a selector. The KubeClient
 * LISTs per call; the object informers (object-informers.ts) answer from a watched index.
 */
export type ObjectLister = Pick<KubeClient, 'listObjects'>;

export interface TokenReviewUser {
  username: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

export interface TokenReviewStatus {
  authenticated: boolean;
  user?: TokenReviewUser;
  audiences?: string[];
  /** Why the token was not authenticated, as the API server words it. */
  error?: string;
}

export interface SubjectAccessReviewSpec {
  user: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
  resourceAttributes: ResourceAttributes;
}

/** What a SubjectAccessReview asks about (its resourceAttributes); the metrics API asks get and list only. */
export interface ResourceAttributes {
  verb: 'get' | 'list';
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  name?: string;
  namespace?: string;
}

export interface SubjectAccessReviewStatus {
  allowed: boolean;
  /** true when an authorizer explicitly denied (rather than had no opinion). */
  denied: boolean;
  reason: string;
  evaluationError?: string;
}

export interface ConfigMap {
  namespace: string;
  name: string;
  resourceVersion?: string;
  data: Record<string, string>;
}

/** Where a resource lives in the API: group '' is the core group (/api/v1). */
export interface ResourceRef {
  group: string;
  version: string;
  /** Plural, lower case: pods, deployments. */
  resource: string;
}

export interface ObjectSummary {
  name: string;
  namespace?: string;
  labels: Record<string, string>;
}

/** The status line and Status body of a failed call, kept as the ApiError's cause. */
export class KubeRequestError extends Error {
  readonly status: number | undefined;
  readonly reason: string | undefined;

  constructor(message: string, status?: number, reason?: string) {
    super(message);
    this.name = 'KubeRequestError';
    this.status = status;
    this.reason = reason;
  }
}

/** The HTTP status the API server answered with, when the failure carried one. */
export function kubeStatusOf(error: unknown): number | undefined {
  const cause = error instanceof KubeRequestError ? error : (error as { cause?: unknown } | undefined)?.cause;
  return cause instanceof KubeRequestError ? cause.status : undefined;
}
