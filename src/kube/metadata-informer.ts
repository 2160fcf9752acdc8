import { collectionPath } from './client.js';
import { ListWatchInformer, type ListWatchInformerOptions } from './list-watch-informer.js';
import { listIndexed, METADATA_WATCH_ACCEPT } from './metadata.js';
import type { ObjectCaps } from './object-caps.js';
import { ObjectIndex } from './object-index.js';
import type { ObjectSummary } from './types.js';
import { decodeMetadata } from './watch-stream.js';

export interface MetadataInformerOptions extends Omit<ListWatchInformerOptions<never>, 'store'> {
  pageSize: number;
  caps: ObjectCaps;
}

/**
 * LIST then WATCH of one resource across the cluster, metadata only, kept in an ObjectIndex that
 * answers selectors only while `health()` is `serving` (the caller falls back to a LIST
 * otherwise). Past a cap on what it holds (ObjectCaps) it drops the index and tries again later.
 */
export class MetadataInformer extends ListWatchInformer<ObjectSummary> {
  readonly index: ObjectIndex;

  constructor(options: MetadataInformerOptions) {
    const collection = collectionPath(options.resource, undefined);
    const index = new ObjectIndex(options.caps, `the informer of ${collection}`);
    super({
      ...options,
      store: {
        async list(signal) {
          const list = await listIndexed(options.transport, collection, '', options.pageSize, signal, options.caps);
          index.adopt(list.index);
          return list.resourceVersion;
        },
        watchAccept: METADATA_WATCH_ACCEPT,
        decode: decodeMetadata,
        apply(change) {
          if (change.type === 'DELETED') index.remove(change.object.namespace, change.object.name);
          else index.upsert(change.object);
        },
        clear: () => index.replace([]),
      },
    });
    this.index = index;
  }
}
