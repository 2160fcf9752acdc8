import type { Judgement } from './judge.js';
import type { MetricDefinition } from './resource.js';
import type { DefinitionStateBook } from './state-book.js';

/** A definition that passed judgement and is to be served. */
export interface ServedMember {
  namespace: string;
  /** `namespace/name`, for its state. */
  id: string;
  judged: Extract<Judgement, { ok: true }>;
}

export interface NamespaceJudge {
  maxPerNamespace: number;
  judge(definition: MetricDefinition): Judgement;
  /** Whether the config file's own backends serve the external metric. */
  configServes(metric: string): boolean;
  states: DefinitionStateBook;
}

/**
 * The verdicts of one namespace's definitions, oldest first: beyond maxPerNamespace Forbidden (and
 * not parsed, so 10,000 definitions in a namespace cost no more than its limit); a metric the
 * config serves, or an older definition in the namespace serves, Conflict. Each state is set; the
 * valid ones are returned.
 */
export function judgeNamespace(definitions: readonly MetricDefinition[], judge: NamespaceJudge): ServedMember[] {
  const { states } = judge;
  const ordered = [...definitions].sort((a, b) => a.createdAt - b.createdAt || (a.name < b.name ? -1 : 1));
  const metricsTaken = new Set<string>();
  const valid: ServedMember[] = [];
  for (const [position, definition] of ordered.entries()) {
    const { namespace } = definition;
    if (position >= judge.maxPerNamespace) {
      const metric = 'invalid' in definition.spec ? definition.name : (definition.spec.metric ?? definition.name);
      const message = `namespace "${namespace}" has more than definitions.maxPerNamespace (${judge.maxPerNamespace}) definitions; the oldest are served`;
      states.judged({ definition, metric }, 'Forbidden', message);
      continue;
    }
    const judged = judge.judge(definition);
    const base = { definition, metric: judged.metric };
    if (!judged.ok) {
      states.judged(base, judged.reason, judged.message);
      continue;
    }
    if (judge.configServes(judged.metric)) {
      const message = `the adapter config already serves external metric "${judged.metric}": it stays the config's`;
      states.judged(base, 'Conflict', message);
      continue;
    }
    if (metricsTaken.has(judged.metric)) {
      const message = `an older definition in namespace "${namespace}" serves external metric "${judged.metric}"`;
      states.judged(base, 'Conflict', message);
      continue;
    }
    metricsTaken.add(judged.metric);
    valid.push({ namespace, id: `${namespace}/${definition.name}`, judged });
    states.judged(base, 'Valid', `served as external metric "${judged.metric}" in namespace "${namespace}"`);
  }
  return valid;
}
