/**
 * Schema validation of rendered objects, offline.
 *
 * Built-in kinds: kubernetes-models (its per-kind JSON-schema validators, generated from the
 * Kubernetes OpenAPI spec). Those schemas allow unknown fields, as the OpenAPI spec does, but
 * `kubectl apply` validates strictly and refuses them; so every field is also probed: set to a
 * value no schema accepts (a Symbol), a known field makes validation fail, an unknown one does
 * not.
 *
 * CRD kinds (cert-manager, Prometheus Operator): strict zod schemas of the fields their CRDs
 * define that installs are likely to use; a field they don't list is reported, to be checked
 * against the CRD and added here.
 */
import { z } from 'zod';
import type { KubeObject } from './render.js';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

const modelClasses = new Map<string, ModelClass | undefined>();

/** The kubernetes-models class of an apiVersion/kind, or undefined when it has none. */
async function modelClass(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  if (!modelClasses.has(key)) {
    const path = apiVersion.includes('/') ? apiVersion : `v1`;
    let found: ModelClass | undefined;
    try {
      const module = (await import(`kubernetes-models/${path}/${kind}`)) as Record<string, ModelClass>;
      found = module[kind];
    } catch {
      found = undefined;
    }
    modelClasses.set(key, found);
  }
  return modelClasses.get(key);
}

function errorsOf(model: ModelClass, object: unknown): string[] {
  try {
    new model(object).validate();
    return [];
  } catch (error) {
    return [(error as Error).message];
  }
}

/** Paths of fields the schema ignores: a probe value there does not fail validation. */
function unknownFields(model: ModelClass, root: Record<string, unknown>): string[] {
  const unknown: string[] = [];
  const PROBE = Symbol('not a valid value for any field');
  const visit = (node: unknown, path: string) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        visit(item, `${path}[${i}]`);
      });
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const object = node as Record<string, unknown>;
    for (const key of Object.keys(object)) {
      const value = object[key];
      object[key] = PROBE;
      const accepted = errorsOf(model, root).length === 0;
      object[key] = value;
      if (accepted) unknown.push(`${path}.${key}`);
      else visit(value, `${path}.${key}`);
    }
  };
  visit(root, '');
  return unknown;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const stringMap = z.record(z.string(), z.string());
const metadata = z
  .object({
    name: z.string().max(253).regex(DNS_SUBDOMAIN),
    namespace: z.string().max(63).regex(DNS_SUBDOMAIN),
    labels: stringMap.optional(),
    annotations: stringMap.optional(),
  })
  .strict();
const labelSelector = z
  .object({
    matchLabels: stringMap.optional(),
    matchExpressions: z
      .array(
        z
          .object({
            key: z.string(),
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
            values: z.array(z.string()).optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
const goDuration = z.string().regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, 'a Go duration such as 2160h');
/** The Prometheus Operator's duration pattern. */
const promDuration = z
  .string()
  .regex(/^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/);
const secretKey = z.object({ name: z.string(), key: z.string(), optional: z.boolean().optional() }).strict();

const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
] as const;

const certificateSpec = z
  .object({
    secretName: z.string(),
    commonName: z.string().max(64).optional(),
    dnsNames: z.array(z.string()).optional(),
    ipAddresses: z.array(z.string()).optional(),
    uris: z.array(z.string()).optional(),
    duration: goDuration.optional(),
    renewBefore: goDuration.optional(),
    isCA: z.boolean().optional(),
    usages: z.array(z.enum(KEY_USAGES)).optional(),
    privateKey: z
      .object({
        algorithm: z.enum(['RSA', 'ECDSA', 'Ed25519']).optional(),
        size: z.number().int().optional(),
        encoding: z.enum(['PKCS1', 'PKCS8']).optional(),
        rotationPolicy: z.enum(['Never', 'Always']).optional(),
      })
      .strict()
      .optional(),
    issuerRef: z
      .object({ name: z.string(), kind: z.enum(['Issuer', 'ClusterIssuer']).optional(), group: z.string().optional() })
      .strict(),
    secretTemplate: z.object({ labels: stringMap.optional(), annotations: stringMap.optional() }).strict().optional(),
  })
  .strict()
  .refine((s) => s.commonName || s.dnsNames?.length || s.ipAddresses?.length || s.uris?.length, {
    message: 'a Certificate needs a commonName, dnsNames, ipAddresses or uris',
  });

const issuerSpec = z
  .object({
    selfSigned: z
      .object({ crlDistributionPoints: z.array(z.string()).optional() })
      .strict()
      .optional(),
    ca: z
      .object({
        secretName: z.string(),
        crlDistributionPoints: z.array(z.string()).optional(),
        ocspServers: z.array(z.string()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((s) => (s.selfSigned ? 1 : 0) + (s.ca ? 1 : 0) === 1, { message: 'an Issuer has exactly one type' });

const relabeling = z
  .object({
    sourceLabels: z.array(z.string()).optional(),
    separator: z.string().optional(),
    targetLabel: z.string().optional(),
    regex: z.string().optional(),
    modulus: z.number().int().optional(),
    replacement: z.string().optional(),
    action: z
      .enum(['replace', 'keep', 'drop', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'keepequal', 'dropequal'])
      .optional(),
  })
  .strict();

const tlsConfig = z
  .object({
    insecureSkipVerify: z.boolean().optional(),
    serverName: z.string().optional(),
    ca: z.object({ secret: secretKey.optional(), configMap: secretKey.optional() }).strict().optional(),
    cert: z.object({ secret: secretKey.optional(), configMap: secretKey.optional() }).strict().optional(),
    keySecret: secretKey.optional(),
  })
  .strict();

const serviceMonitorSpec = z
  .object({
    selector: labelSelector,
    namespaceSelector: z
      .object({ any: z.boolean().optional(), matchNames: z.array(z.string()).optional() })
      .strict()
      .optional(),
    jobLabel: z.string().optional(),
    targetLabels: z.array(z.string()).optional(),
    podTargetLabels: z.array(z.string()).optional(),
    sampleLimit: z.number().int().optional(),
    endpoints: z
      .array(
        z
          .object({
            port: z.string().optional(),
            targetPort: z.union([z.string(), z.number().int()]).optional(),
            scheme: z.enum(['http', 'https']).optional(),
            path: z.string().optional(),
            interval: promDuration.optional(),
            scrapeTimeout: promDuration.optional(),
            honorLabels: z.boolean().optional(),
            tlsConfig: tlsConfig.optional(),
            authorization: z
              .object({ type: z.string().optional(), credentials: secretKey.optional() })
              .strict()
              .optional(),
            relabelings: z.array(relabeling).optional(),
            metricRelabelings: z.array(relabeling).optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const prometheusRuleSpec = z
  .object({
    groups: z.array(
      z
        .object({
          name: z.string().min(1),
          interval: promDuration.optional(),
          rules: z.array(
            z
              .object({
                alert: z.string().optional(),
                record: z.string().optional(),
                expr: z.union([z.string().min(1), z.number().int()]),
                for: promDuration.optional(),
                keep_firing_for: promDuration.optional(),
                labels: stringMap.optional(),
                annotations: stringMap.optional(),
              })
              .strict()
              .refine((r) => (r.alert ? 1 : 0) + (r.record ? 1 : 0) === 1, {
                message: 'a rule is either an alert or a record',
              }),
          ),
        })
        .strict(),
    ),
  })
  .strict();

const crd = (apiVersion: string, kind: string, spec: z.ZodType) =>
  z.object({ apiVersion: z.literal(apiVersion), kind: z.literal(kind), metadata, spec }).strict();

const CRD_SCHEMAS: Record<string, z.ZodType> = {
  'cert-manager.io/v1/Certificate': crd('cert-manager.io/v1', 'Certificate', certificateSpec),
  'cert-manager.io/v1/Issuer': crd('cert-manager.io/v1', 'Issuer', issuerSpec),
  'monitoring.coreos.com/v1/ServiceMonitor': crd('monitoring.coreos.com/v1', 'ServiceMonitor', serviceMonitorSpec),
  'monitoring.coreos.com/v1/PrometheusRule': crd('monitoring.coreos.com/v1', 'PrometheusRule', prometheusRuleSpec),
};

/** What is wrong with an object, as messages; empty when it is valid. */
export async function schemaErrors(object: KubeObject): Promise<string[]> {
  const crdSchema = CRD_SCHEMAS[`${object.apiVersion}/${object.kind}`];
  if (crdSchema) {
    const result = crdSchema.safeParse(object);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }
  const model = await modelClass(object.apiVersion, object.kind);
  if (!model) return [`no schema for ${object.apiVersion} ${object.kind}: add one to test/deploy/schemas.ts`];
  const errors = errorsOf(model, object);
  if (errors.length > 0) return errors;
  // kubernetes-models' CRD validator accepts any value inside a JSONSchemaProps and a printer
  // column's description, so probing would call real fields unknown; our own CRD's schema is
  // checked field by field in test/definitions/crd-schema.test.ts.
  if (object.kind === 'CustomResourceDefinition') return [];
  return unknownFields(model, structuredClone(object) as Record<string, unknown>).map(
    (path) => `unknown field ${path.slice(1)} (kubectl apply would refuse it)`,
  );
}
