import type { LabelSelector } from '../api/selector.js';
import { ObjectCapError, type ObjectCaps } from './object-caps.js';
import type { ObjectSummary } from './types.js';

/**
 * The objects of one resource, indexed namespace → label key → value → names, so a selector is
 * answered in memory at a cost proportional to the objects of its namespace that carry its most
 * selective `key=value` (or `key in (…)`), not to the cluster. Summaries are frozen and handed
 * out as they are. With `caps`, an upsert that takes it past one throws ObjectCapError and leaves
 * the index over it: the caller drops it.
 */
export class ObjectIndex {
  private namespaces = new Map<string, NamespaceEntries>();
  /** Changes per namespace ('' for root-scoped objects), and in all; never reset, so an old reading never matches again. */
  private readonly changes = new Map<string, number>();
  private allChanges = 0;
  private resets = 0;
  private count = 0;
  /** Names, and label keys and values, held: a value shared by many objects counts once. */
  private heldLabelBytes = 0;

  constructor(
    private readonly caps?: ObjectCaps,
    private readonly what = 'the index',
  ) {}

  get size(): number {
    return this.count;
  }

  get labelBytes(): number {
    return this.heldLabelBytes;
  }

  /**
   * A number that changes whenever an object of `namespace` (undefined: of any namespace) is
   * added, changed or removed, so an answer computed from the index can be kept until then.
   */
  generation(namespace: string | undefined): number {
    return namespace === undefined ? this.allChanges : (this.changes.get(namespace) ?? 0) + this.resets;
  }

  /** Adds or replaces one object (ADDED, MODIFIED). */
  upsert(object: ObjectSummary): void {
    const namespace = object.namespace ?? '';
    let entries = this.namespaces.get(namespace);
    if (!entries) {
      entries = { namespace: object.namespace, byName: new Map(), byLabel: new Map() };
      this.namespaces.set(namespace, entries);
    }
    const previous = entries.byName.get(object.name);
    // Most MODIFIED events change a pod's status, which the index does not hold: nothing to do,
    // and answers kept for the namespace stay valid.
    if (previous && sameLabels(previous.labels, object.labels)) return;
    this.changed(namespace);
    if (previous) this.unindex(entries, previous);
    else {
      this.count++;
      this.heldLabelBytes += object.name.length;
    }
    const labels: Record<string, string> = {};
    const buckets: Bucket[] = [];
    for (const [key, value] of Object.entries(object.labels)) {
      let values = entries.byLabel.get(key);
      if (!values) {
        values = new Map();
        entries.byLabel.set(key, values);
      }
      let bucket = values.get(value);
      if (!bucket) {
        bucket = { value, names: new Set() };
        values.set(value, bucket);
        this.heldLabelBytes += key.length + value.length;
      }
      // The bucket's copy of the value: every pod of a workload then shares one string.
      labels[key] = bucket.value;
      buckets.push(bucket);
    }
    const stored: ObjectSummary = Object.freeze({
      name: object.name,
      ...(entries.namespace !== undefined ? { namespace: entries.namespace } : {}),
      labels: Object.freeze(labels),
    });
    entries.byName.set(stored.name, stored);
    for (const bucket of buckets) bucket.names.add(stored.name);
    if (this.caps && this.count > this.caps.maxObjects)
      throw new ObjectCapError('objects', this.caps.maxObjects, this.what);
    if (this.caps && this.heldLabelBytes > this.caps.maxLabelBytes)
      throw new ObjectCapError('label_bytes', this.caps.maxLabelBytes, this.what);
  }

  /** Removes one object (DELETED); unknown objects are ignored. */
  remove(namespace: string | undefined, name: string): void {
    const entries = this.namespaces.get(namespace ?? '');
    const previous = entries?.byName.get(name);
    if (!entries || !previous) return;
    this.changed(namespace ?? '');
    this.unindex(entries, previous);
    entries.byName.delete(name);
    this.count--;
    this.heldLabelBytes -= name.length;
    if (entries.byName.size === 0) this.namespaces.delete(namespace ?? '');
  }

  /** Replaces everything (after a LIST). */
  replace(objects: readonly ObjectSummary[]): void {
    const fresh = new ObjectIndex(this.caps, this.what);
    for (const object of objects) fresh.upsert(object);
    this.adopt(fresh);
  }

  /**
   * Takes over the objects of `fresh` (an index filled from a LIST page by page), dropping its
   * own; `fresh` must not be used afterwards.
   */
  adopt(fresh: ObjectIndex): void {
    this.namespaces = fresh.namespaces;
    this.count = fresh.count;
    this.heldLabelBytes = fresh.heldLabelBytes;
    // Every namespace's generation moves, including namespaces the new list no longer has.
    this.resets++;
    this.allChanges++;
  }

  /**
   * The objects matching `selector`, sorted by name as the API server lists them; `namespace`
   * undefined means every namespace (and is the only scope of a root-scoped resource).
   */
  select(namespace: string | undefined, selector: LabelSelector): ObjectSummary[] {
    const scopes =
      namespace === undefined ? [...this.namespaces.values()] : [this.namespaces.get(namespace)].filter(isDefined);
    const matched: ObjectSummary[] = [];
    for (const entries of scopes) {
      for (const object of candidates(entries, selector)) {
        if (selector.matches(object.labels)) matched.push(object);
      }
    }
    return matched.sort(byNamespaceAndName);
  }

  private changed(namespace: string): void {
    this.allChanges++;
    this.changes.set(namespace, (this.changes.get(namespace) ?? 0) + 1);
  }

  private unindex(entries: NamespaceEntries, object: ObjectSummary): void {
    for (const [key, value] of Object.entries(object.labels)) {
      const values = entries.byLabel.get(key);
      const bucket = values?.get(value);
      bucket?.names.delete(object.name);
      if (bucket?.names.size === 0) {
        values?.delete(value);
        this.heldLabelBytes -= key.length + value.length;
      }
      if (values?.size === 0) entries.byLabel.delete(key);
    }
  }
}

interface NamespaceEntries {
  namespace: string | undefined;
  byName: Map<string, ObjectSummary>;
  byLabel: Map<string, Map<string, Bucket>>;
}

/** The names carrying one label value; it lives exactly as long as one object does. */
interface Bucket {
  value: string;
  names: Set<string>;
}

/** The smallest set of objects a selector's `=`/`in` requirements allow, or the whole namespace. */
function candidates(entries: NamespaceEntries, selector: LabelSelector): Iterable<ObjectSummary> {
  let best: string[] | undefined;
  for (const { key, operator, values } of selector.requirements) {
    if (operator !== 'Equals' && operator !== 'In') continue;
    const byValue = entries.byLabel.get(key);
    const names = values.flatMap((value) => [...(byValue?.get(value)?.names ?? [])]);
    if (best === undefined || names.length < best.length) best = names;
    if (best.length === 0) break;
  }
  if (best === undefined) return entries.byName.values();
  return best.map((name) => entries.byName.get(name)).filter(isDefined);
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

function byNamespaceAndName(a: ObjectSummary, b: ObjectSummary): number {
  const namespaces = (a.namespace ?? '').localeCompare(b.namespace ?? '');
  return namespaces !== 0 ? namespaces : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined;
}
