/**
 * What the adapter knows about each MetricDefinition it watches, for the status writer
 * (src/definitions is the producer, the status writer the consumer). One record per object;
 * a record changes when the definition is re-evaluated (created, changed, its policy verdict
 * changed) or when a read of its metric finishes.
 */

/** The `Ready` condition's reason, as the README explains each. Only `Valid` means Ready=True. */
export type DefinitionReason = 'Valid' | 'QueryInvalid' | 'Forbidden' | 'Conflict' | 'BackendError' | 'NoData';

export interface DefinitionState {
  readonly namespace: string;
  readonly name: string;
  /** metadata.generation of the object this state was computed from (status.observedGeneration). */
  readonly generation: number;
  /** metadata.resourceVersion of that object: a status write uses it as its precondition. */
  readonly resourceVersion: string;
  /** The external metric name the definition serves (spec.metric, default metadata.name). */
  readonly metric: string;
  readonly reason: DefinitionReason;
  /** Human text for the condition's message: why not Ready, or what is served. */
  readonly message: string;
  /** The last value read for the metric (sum over items), absent until a read succeeded. */
  readonly lastValue?: number;
  /** When that value was observed by the backend (the sample's timestamp). */
  readonly lastValueTime?: Date;
  /** The last read's error text, absent when the last read succeeded. */
  readonly lastError?: string;
}

/** Why a listener is called: a state was set (new or changed) or the definition is gone. */
export type DefinitionStateEvent =
  | { readonly type: 'set'; readonly state: DefinitionState }
  | { readonly type: 'deleted'; readonly namespace: string; readonly name: string };

/** The adapter's definition states, read and watched by the status writer. */
export interface DefinitionStates {
  /** Every known definition's current state. */
  list(): readonly DefinitionState[];
  get(namespace: string, name: string): DefinitionState | undefined;
  /**
   * Calls `listener` after each change, synchronously from the change; returns the unsubscribe
   * function. A listener must not throw or block: it queues its own work.
   */
  subscribe(listener: (event: DefinitionStateEvent) => void): () => void;
}
