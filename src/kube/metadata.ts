import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import { parseSelector } from '../api/selector.js';
import { DEFAULT_OBJECT_CAPS, type ObjectCaps } from './object-caps.js';
import { ObjectIndex } from './object-index.js';
import { type KubeResponse, type KubeTransport, statusError } from './transport.js';
import type { ObjectSummary } from './types.js';

/**
 * Metadata-only reads: the API server answers these Accept types with PartialObjectMetadata
 * (kind, apiVersion meta.k8s.io/v1, metadata only), so a pod costs its name and labels on the
 * wire instead of its whole spec and status. A plain `application/json` is named second so a
 * server that cannot convert (some aggregated APIs) still answers with full objects.
 */
export const METADATA_LIST_ACCEPT =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';
export const METADATA_WATCH_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json';

export const objectMetadataSchema = z.object({
  name: z.string(),
  namespace: z.string().nullish(),
  resourceVersion: z.string().nullish(),
  labels: z.record(z.string(), z.string()).nullish(),
});

const metadataItemSchema = z.object({ metadata: objectMetadataSchema });

export interface MetadataList {
  objects: ObjectSummary[];
  /** The list's resourceVersion: where a watch starts so it misses nothing. */
  resourceVersion: string;
}

/**
 * LIST a collection metadata-only, following `continue` pages (one consistent snapshot), held
 * to `caps`: the first object past one rejects with ObjectCapError. Objects come sorted by
 * namespace and name, as the API server lists them.
 */
export async function listMetadata(
  transport: KubeTransport,
  collection: string,
  labelSelector: string,
  pageSize: number,
  signal?: AbortSignal,
  caps: ObjectCaps = DEFAULT_OBJECT_CAPS,
): Promise<MetadataList> {
  const { index, resourceVersion } = await listIndexed(transport, collection, labelSelector, pageSize, signal, caps);
  return { objects: index.select(undefined, EVERYTHING), resourceVersion };
}

/**
 * A metadata-only LIST into a new ObjectIndex held to `caps`, page by page: each page's objects
 * join the index (sharing equal label values, so those are held and counted once) before the
 * next page is read, and the first object past a cap rejects with ObjectCapError.
 */
export async function listIndexed(
  transport: KubeTransport,
  collection: string,
  labelSelector: string,
  pageSize: number,
  signal: AbortSignal | undefined,
  caps: ObjectCaps,
): Promise<{ index: ObjectIndex; resourceVersion: string }> {
  const index = new ObjectIndex(caps, `the LIST of ${collection}`);
  const page = { labelSelector, pageSize, accept: METADATA_LIST_ACCEPT, item: metadataItemSchema, signal };
  const resourceVersion = await listPages(transport, collection, page, (item) =>
    index.upsert(summaryOf(item.metadata)),
  );
  return { index, resourceVersion };
}

export interface ListPagesRequest<I extends z.ZodType> {
  labelSelector: string;
  pageSize: number;
  accept: string;
  /** How one item of a page is read; a page with an item it refuses is an unexpected body (503). */
  item: I;
  signal: AbortSignal | undefined;
}

/**
 * A LIST of a collection page by page, following `continue` (one consistent snapshot): each
 * page's items go to `onItem` before the next page is read, so a caller can hold them to its
 * caps as they come. Resolves to the list's resourceVersion, where a watch starts to miss nothing.
 */
export async function listPages<I extends z.ZodType>(
  transport: KubeTransport,
  collection: string,
  request: ListPagesRequest<I>,
  onItem: (item: z.infer<I>) => void,
): Promise<string> {
  const pageSchema = z.object({
    metadata: z.object({ continue: z.string().nullish(), resourceVersion: z.string().nullish() }).nullish(),
    items: z.array(request.item).nullish(),
  });
  let continueToken: string | undefined;
  let resourceVersion = '';
  do {
    const query = new URLSearchParams({ limit: String(request.pageSize) });
    if (request.labelSelector !== '') query.set('labelSelector', request.labelSelector);
    if (continueToken) query.set('continue', continueToken);
    const path = `${collection}?${query}`;
    const response = await transport.request('GET', path, undefined, request.signal, request.accept);
    if (response.status < 200 || response.status > 299) throw statusError('GET', path, response);
    const page = parseBody('GET', path, pageSchema, response);
    for (const item of page.items ?? []) onItem(item);
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    continueToken = page.metadata?.continue ?? undefined;
  } while (continueToken);
  return resourceVersion;
}

const EVERYTHING = parseSelector('');

export function summaryOf(metadata: z.infer<typeof objectMetadataSchema>): ObjectSummary {
  const summary: ObjectSummary = { name: metadata.name, labels: metadata.labels ?? {} };
  if (metadata.namespace) summary.namespace = metadata.namespace;
  return summary;
}

export function parseBody<S extends z.ZodType>(
  method: string,
  path: string,
  schema: S,
  response: KubeResponse,
): z.infer<S> {
  const parsed = schema.safeParse(response.body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unexpected shape';
    throw ApiError.unavailable(`kubernetes API answered ${method} ${path} with an unexpected body (${where})`);
  }
  return parsed.data;
}
