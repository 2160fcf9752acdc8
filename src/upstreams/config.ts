import { z } from 'zod';
import { CUSTOM_GROUP, CUSTOM_VERSIONS, EXTERNAL_GROUP, EXTERNAL_VERSIONS } from '../api/groups.js';
import { compileRe2 } from '../lib/re2.js';
import { positiveDuration } from '../schema/fields.js';

/** Where kubelet mounts the pod's projected service-account token, and rotates it in place. */
export const SERVICE_ACCOUNT_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export const UPSTREAM_GROUP_VERSIONS = [
  ...CUSTOM_VERSIONS.map((v) => `${CUSTOM_GROUP}/${v}`),
  ...EXTERNAL_VERSIONS.map((v) => `${EXTERNAL_GROUP}/${v}`),
] as const;

/** A metric-name pattern (RE2, Go's syntax), matched against the whole name. */
const namePattern = z
  .string()
  .min(1)
  .max(256)
  .transform((text, context) => {
    try {
      return compileRe2(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

const takesSchema = z
  .object({
    /** The names the upstream lists in its discovery documents. */
    announced: z.boolean().default(true),
    /** Names matching any of these (KEDA announces a placeholder and serves `s0-…` names). */
    matching: z.array(namePattern).default([]),
    /** Every name no backend of ours and no earlier upstream serves. */
    unserved: z.boolean().default(false),
  })
  .strict();

const upstreamSchema = z
  .object({
    /** Used in logs, metrics, error messages and `explain`. */
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and -')
      .max(63),
    /** The upstream's HTTPS base address, e.g. a Service: https://keda-operator-metrics-apiserver.keda:443 */
    url: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'must be an https:// URL (aggregated API servers serve TLS)'),
    /** Which of our group-versions it serves, e.g. [external.metrics.k8s.io/v1beta1]. */
    groupVersions: z.array(z.enum(UPSTREAM_GROUP_VERSIONS)).min(1),
    /** CA bundle that signed the upstream's serving certificate; absent: the system roots. */
    caFile: z.string().min(1).optional(),
    /** Do not verify the upstream's certificate. Logged as a warning at every start. */
    insecureSkipTLSVerify: z.boolean().default(false),
    /** Bearer token file sent to the upstream; re-read as kubelet rotates it. Ignored with a client certificate. */
    tokenFile: z.string().min(1).default(SERVICE_ACCOUNT_TOKEN_PATH),
    /** Authenticate with this client certificate instead of the token. */
    clientCertFile: z.string().min(1).optional(),
    clientKeyFile: z.string().min(1).optional(),
    /** Deadline of one call to the upstream; keep it below the request deadline (10 s). */
    timeout: positiveDuration.default(5_000),
    /** How often its discovery documents are fetched in the background. */
    discoveryInterval: positiveDuration.default(30_000),
    /** Which metric names it takes; ours always win. */
    metrics: takesSchema.default({ announced: true, matching: [], unserved: false }),
    /** Resources in its discovery that are no metric (KEDA's never-empty placeholder): neither announced nor routed. */
    placeholderResources: z.array(z.string().min(1)).default(['externalmetrics']),
    /** Cache its answers in our cache (the `cache.default` settings); off: every request is forwarded. */
    cache: z.boolean().default(false),
  })
  .strict()
  .refine((u) => (u.clientCertFile === undefined) === (u.clientKeyFile === undefined), {
    message: 'clientCertFile and clientKeyFile go together',
  })
  .refine((u) => !(u.insecureSkipTLSVerify && u.caFile !== undefined), {
    message: 'caFile and insecureSkipTLSVerify exclude each other',
  });

/** The `upstreams:` section: other metrics servers whose metrics we serve behind our APIService. */
export const upstreamsSchema = z
  .array(upstreamSchema)
  .refine((list) => new Set(list.map((u) => u.name)).size === list.length, {
    message: 'upstream names must be unique',
  });

export type UpstreamConfig = z.infer<typeof upstreamSchema>;
