import { ApiError } from '../../api/errors.js';
import type { Limiter } from '../../concurrency/limiter.js';
import type { KubeClient, ResourceAttributes, SubjectAccessReviewSpec } from '../../kube/types.js';
import { CoalescingCache } from './coalescing-cache.js';
import { DecisionKeys } from './decision-keys.js';
import type { Authorizer, UserInfo } from './types.js';

export interface SubjectAccessReviewAuthorizerOptions {
  kube: Pick<KubeClient, 'createSubjectAccessReview'>;
  /** Default 10 s (kube's --authorization-webhook-cache-authorized-ttl for delegated servers). */
  allowedTtlMs?: number;
  /** Default 5 s: a freshly granted RoleBinding should take effect quickly. */
  deniedTtlMs?: number;
  /** Default 10 000 decisions. */
  maxEntries?: number;
  /** Bounds reviews in flight; cached decisions never wait on it. */
  limiter?: Limiter;
  /** Milliseconds on a monotonic clock, for the decisions' TTLs; default performance.now. */
  now?: () => number;
}

interface Decision {
  allowed: boolean;
  reason: string;
}

/**
 * Asks kube-apiserver (SubjectAccessReview) whether the user may read the metric, so RBAC
 * stays the single source of truth. Decisions are cached briefly and identical concurrent
 * reviews are made once: the HPA controller asks for the same metric every sync period. A
 * decision still asked for is reviewed again shortly before it expires, so no request waits for
 * the review that replaces it.
 *
 * When the review itself fails the request is answered 503 ServiceUnavailable rather than
 * kube's 500 InternalError: nothing is wrong in the adapter, the API server is just
 * unreachable, and the HPA controller treats both the same way (retry next sync).
 */
export function createSubjectAccessReviewAuthorizer(options: SubjectAccessReviewAuthorizerOptions): Authorizer {
  const allowedTtlMs = options.allowedTtlMs ?? 10_000;
  const deniedTtlMs = options.deniedTtlMs ?? 5_000;
  const limiter = options.limiter;
  const maxEntries = options.maxEntries ?? 10_000;
  const keys = new DecisionKeys(maxEntries);
  // Every HPA poll of one metric shares a decision: it is reviewed again ahead of its expiry (CoalescingCache).
  const cache = new CoalescingCache<Decision>({
    maxEntries,
    ttlMs: (decision) => (decision.allowed ? allowedTtlMs : deniedTtlMs),
    ...(options.now ? { now: options.now } : {}),
  });

  async function review(spec: SubjectAccessReviewSpec): Promise<Decision> {
    try {
      const status = await options.kube.createSubjectAccessReview(spec);
      return { allowed: status.allowed && !status.denied, reason: status.reason };
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      throw ApiError.unavailable(`cannot authorize the request: SubjectAccessReview failed: ${cause}`, error);
    }
  }

  return {
    async authorize(user: UserInfo, attributes: ResourceAttributes): Promise<void> {
      // The review's body is made only when one is sent: a cached decision needs nothing but its key.
      const load = () => review(reviewSpec(user, attributes));
      const decision = await cache.getOrLoad(keys.keyOf(user, attributes), () =>
        limiter ? limiter.run(load) : load(),
      );
      if (!decision.allowed) throw ApiError.forbidden(forbiddenMessage(user, attributes, decision.reason));
    },
  };
}

export function reviewSpec(user: UserInfo, attributes: ResourceAttributes): SubjectAccessReviewSpec {
  const resourceAttributes: SubjectAccessReviewSpec['resourceAttributes'] = {
    verb: attributes.verb,
    group: attributes.group,
    version: attributes.version,
    resource: attributes.resource,
  };
  if (attributes.subresource) resourceAttributes.subresource = attributes.subresource;
  if (attributes.name) resourceAttributes.name = attributes.name;
  if (attributes.namespace) resourceAttributes.namespace = attributes.namespace;
  const spec: SubjectAccessReviewSpec = { user: user.name, groups: user.groups, extra: user.extra, resourceAttributes };
  if (user.uid) spec.uid = user.uid;
  return spec;
}

/**
 * kube-apiserver's wording, so people can search for it:
 * `pods.custom.metrics.k8s.io "web-1" is forbidden: User "u" cannot get resource
 * "pods/http_requests" in API group "custom.metrics.k8s.io" in the namespace "default"`.
 */
export function forbiddenMessage(user: UserInfo, attributes: ResourceAttributes, reason: string): string {
  const qualified = attributes.group === '' ? attributes.resource : `${attributes.resource}.${attributes.group}`;
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  const denial = `User "${user.name}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}`;
  const subject = attributes.name ? `${qualified} "${attributes.name}"` : qualified;
  return `${subject} is forbidden: ${denial}${reason ? `: ${reason}` : ''}`;
}
