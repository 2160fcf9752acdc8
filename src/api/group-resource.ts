/**
 * A Kubernetes resource as the custom metrics API names it in URLs: `pods`,
 * `deployments.apps`, `ingresses.networking.k8s.io`. The HPA always sends the plural,
 * lower-case form; kubectl users type `pod`, `Pod` or `deployment.apps`, so we normalise.
 */
export interface GroupResource {
  /** '' for the core group. */
  group: string;
  /** Plural, lower case. */
  resource: string;
}
