import { ApiError } from '../api/errors.js';
import { formatBytes } from '../lib/text.js';

/**
 * How much of one resource the adapter holds in memory: the objects of an informer's index, or
 * of one metadata LIST. Past either cap the informer drops its index and selector requests
 * fall back to a LIST by selector, which is held to the same caps.
 */
export interface ObjectCaps {
  /** Objects held per resource. Default 150,000, kube's documented pods-per-cluster limit. */
  maxObjects: number;
  /** Bytes of names, label keys and label values held per resource. Default 32 MiB. */
  maxLabelBytes: number;
}

export const DEFAULT_OBJECT_CAPS: ObjectCaps = { maxObjects: 150_000, maxLabelBytes: 32 * 1024 * 1024 };

export type CapName = 'objects' | 'label_bytes';

/** More objects, or more label bytes, than a cap allows; a 503 when it reaches a request. */
export class ObjectCapError extends ApiError {
  constructor(
    readonly cap: CapName,
    readonly limit: number,
    what: string,
  ) {
    super(
      'ServiceUnavailable',
      cap === 'objects'
        ? `${what} holds more than ${limit} objects (--watch-max-objects)`
        : `${what} holds more than ${formatBytes(limit)} of names and labels (--watch-max-label-bytes)`,
    );
  }
}
