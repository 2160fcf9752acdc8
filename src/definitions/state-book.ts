import { ApiError } from '../api/errors.js';
import { clip } from '../lib/text.js';
import type { ExternalSample } from '../providers/provider.js';
import type { MetricDefinition } from './resource.js';
import type { DefinitionReason, DefinitionState, DefinitionStateEvent, DefinitionStates } from './state.js';

/** Reasons a read can change: a definition refused by judgement keeps its reason whatever is read. */
const SERVING: ReadonlySet<DefinitionReason> = new Set(['Valid', 'NoData', 'BackendError']);

/**
 * The definitions' states (state.ts): set by judgement on every rebuild and by each read of a
 * served metric, announced to subscribers only when something in them changed, so a steady
 * metric read every 15 s announces nothing.
 */
export class DefinitionStateBook implements DefinitionStates {
  private readonly states = new Map<string, DefinitionState>();
  private readonly listeners = new Set<(event: DefinitionStateEvent) => void>();

  list(): readonly DefinitionState[] {
    return [...this.states.values()];
  }

  get(namespace: string, name: string): DefinitionState | undefined {
    return this.states.get(`${namespace}/${name}`);
  }

  subscribe(listener: (event: DefinitionStateEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The verdict of a rebuild for one definition; a served one keeps what its reads said. */
  judged(
    { definition, metric }: { definition: MetricDefinition; metric: string },
    reason: DefinitionReason,
    message: string,
  ): void {
    const id = `${definition.namespace}/${definition.name}`;
    const previous = this.states.get(id);
    const keepsRead = previous !== undefined && reason === 'Valid' && SERVING.has(previous.reason);
    const next: DefinitionState = {
      ...(keepsRead ? previous : {}),
      namespace: definition.namespace,
      name: definition.name,
      generation: definition.generation,
      resourceVersion: definition.resourceVersion,
      metric,
      reason: keepsRead ? previous.reason : reason,
      message: keepsRead && previous.reason !== 'Valid' ? previous.message : message,
    };
    this.set(id, next);
  }

  /** What one read of a served definition's metric found. */
  read(id: string, samples: readonly ExternalSample[] | undefined, error: unknown): void {
    const previous = this.states.get(id);
    if (!previous || !SERVING.has(previous.reason)) return;
    if (samples !== undefined && samples.length > 0) {
      const value = samples.reduce((sum, s) => sum + s.value, 0);
      const time = samples[0]?.timestamp;
      const { lastError: _cleared, ...rest } = previous;
      this.set(id, {
        ...rest,
        reason: 'Valid',
        message: `served as external metric "${previous.metric}" in namespace "${previous.namespace}"`,
        lastValue: value,
        ...(time ? { lastValueTime: time } : {}),
      });
      return;
    }
    const noData = samples !== undefined || (error instanceof ApiError && error.reason === 'NotFound');
    const text =
      samples !== undefined ? 'the query returned no series' : clip((error as Error).message ?? String(error), 500);
    const refused = error instanceof ApiError && (error.reason === 'BadRequest' || error.reason === 'Forbidden');
    this.set(id, {
      ...previous,
      reason: refused ? previous.reason : noData ? 'NoData' : 'BackendError',
      message: refused ? previous.message : text,
      lastError: text,
    });
  }

  /** Drops the state of a definition no longer held (`namespace/name`). */
  forget(id: string): void {
    const state = this.states.get(id);
    if (!state) return;
    this.states.delete(id);
    this.emit({ type: 'deleted', namespace: state.namespace, name: state.name });
  }

  private set(id: string, next: DefinitionState): void {
    const previous = this.states.get(id);
    if (previous && sameState(previous, next)) return;
    this.states.set(id, next);
    this.emit({ type: 'set', state: next });
  }

  private emit(event: DefinitionStateEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function sameState(a: DefinitionState, b: DefinitionState): boolean {
  return (
    a.generation === b.generation &&
    a.resourceVersion === b.resourceVersion &&
    a.metric === b.metric &&
    a.reason === b.reason &&
    a.message === b.message &&
    a.lastValue === b.lastValue &&
    a.lastValueTime?.getTime() === b.lastValueTime?.getTime() &&
    a.lastError === b.lastError
  );
}
