// The replica count one metric of an HPA proposes, by the rules of the Kubernetes HPA controller
// (pkg/controller/podautoscaler/replica_calculator.go). All values are milli-units, as the
// controller reads them (Quantity.MilliValue()); counts are whole replicas.

/** How far the usage ratio may stray from 1 before the controller acts, per direction. */
export interface Tolerances {
  readonly scaleDown: number;
  readonly scaleUp: number;
}

/** The controller's --horizontal-pod-autoscaler-tolerance default. */
export const DEFAULT_TOLERANCE = 0.1;

export const DEFAULT_TOLERANCES: Tolerances = { scaleDown: DEFAULT_TOLERANCE, scaleUp: DEFAULT_TOLERANCE };

/** behavior.scaleUp/scaleDown.tolerance (KEP-4951) replace the default for their direction only. */
export function tolerancesOf(behavior?: {
  scaleUp?: { tolerance?: number };
  scaleDown?: { tolerance?: number };
}): Tolerances {
  return {
    scaleDown: behavior?.scaleDown?.tolerance ?? DEFAULT_TOLERANCE,
    scaleUp: behavior?.scaleUp?.tolerance ?? DEFAULT_TOLERANCE,
  };
}

export function withinTolerance(usageRatio: number, tolerances: Tolerances): boolean {
  return 1 - tolerances.scaleDown <= usageRatio && usageRatio <= 1 + tolerances.scaleUp;
}

/** What the controller knows of one pod the target's selector matches. */
export interface PodState {
  readonly name: string;
  readonly phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';
  readonly ready: boolean;
  /** metadata.deletionTimestamp is set. */
  readonly deleting: boolean;
}

/** Why a proposal is what it is, in the words `explain hpa` prints. */
export type ProposalRule =
  | 'within tolerance: keeps the current count'
  | 'usage ratio × ready pods'
  | 'usage ratio × pods with metrics, missing and unready pods filled in'
  | 'filling in missing or unready pods would flip the direction: keeps the current count'
  | 'from zero replicas: ceil(usage ratio)'
  | 'total ÷ target per pod';

export type MetricProposal =
  | { readonly ok: true; readonly replicas: number; readonly usageMilli: number; readonly rule: ProposalRule }
  | { readonly ok: false; readonly error: string };

function fail(error: string): MetricProposal {
  return { ok: false, error };
}

function positiveTarget(targetMilli: number): boolean {
  return Number.isFinite(targetMilli) && targetMilli > 0;
}

/** The controller caps a proposal at the largest int32 instead of letting it overflow. */
const MAX_REPLICAS = 2 ** 31 - 1;

function replicasOf(x: number): number {
  return Math.min(Math.ceil(x), MAX_REPLICAS);
}

const TARGET_NOT_POSITIVE = 'the target must be a positive quantity';
const NO_PODS = 'no pods returned by selector while calculating replica count';

/** Pods metric (AverageValue over the pods): `metricsMilli` holds the adapter's answer by pod name. */
export function podsMetricProposal(input: {
  readonly currentReplicas: number;
  readonly targetMilli: number;
  readonly metricsMilli: ReadonlyMap<string, number>;
  readonly pods: readonly PodState[];
  readonly tolerances: Tolerances;
}): MetricProposal {
  const { currentReplicas, targetMilli, pods, tolerances } = input;
  if (!positiveTarget(targetMilli)) return fail(TARGET_NOT_POSITIVE);
  if (pods.length === 0) return fail(NO_PODS);
  const metrics = new Map(input.metricsMilli);
  const unready: string[] = [];
  const missing: string[] = [];
  let readyCount = 0;
  for (const pod of pods) {
    if (pod.deleting || pod.phase === 'Failed') {
      metrics.delete(pod.name);
    } else if (pod.phase === 'Pending') {
      // For non-CPU metrics only Pending counts as unready; the Ready condition is not looked at.
      unready.push(pod.name);
      metrics.delete(pod.name);
    } else if (!metrics.has(pod.name)) {
      missing.push(pod.name);
    } else {
      readyCount++;
    }
  }
  if (metrics.size === 0) return fail('did not receive metrics for targeted pods (pods might be unready)');

  const { ratio, usageMilli } = averageUsage(metrics, targetMilli);
  const scaleUpWithUnready = unready.length > 0 && ratio > 1;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (withinTolerance(ratio, tolerances)) return keep(currentReplicas, usageMilli);
    return { ok: true, replicas: replicasOf(ratio * readyCount), usageMilli, rule: 'usage ratio × ready pods' };
  }
  // Missing pods count as using the target on a scale-down and nothing on a scale-up, so that
  // pods without metrics damp the change instead of driving it.
  // At exactly the target they are left out: either filling would move the ratio off 1.
  if (ratio !== 1) for (const name of missing) metrics.set(name, ratio < 1 ? targetMilli : 0);
  if (scaleUpWithUnready) for (const name of unready) metrics.set(name, 0);
  const filled = averageUsage(metrics, targetMilli).ratio;
  const flipped = (ratio < 1 && filled > 1) || (ratio > 1 && filled < 1);
  if (withinTolerance(filled, tolerances)) return keep(currentReplicas, usageMilli);
  const replicas = replicasOf(filled * metrics.size);
  if (flipped || (filled < 1 && replicas > currentReplicas) || (filled > 1 && replicas < currentReplicas)) {
    return {
      ok: true,
      replicas: currentReplicas,
      usageMilli,
      rule: 'filling in missing or unready pods would flip the direction: keeps the current count',
    };
  }
  return {
    ok: true,
    replicas,
    usageMilli,
    rule: 'usage ratio × pods with metrics, missing and unready pods filled in',
  };
}

/** The controller averages in int64 milli-units: the average is truncated before the ratio. */
function averageUsage(
  metrics: ReadonlyMap<string, number>,
  targetMilli: number,
): { ratio: number; usageMilli: number } {
  let total = 0;
  for (const value of metrics.values()) total += value;
  const usageMilli = Math.trunc(total / metrics.size);
  return { ratio: usageMilli / targetMilli, usageMilli };
}

function keep(currentReplicas: number, usageMilli: number): MetricProposal {
  return { ok: true, replicas: currentReplicas, usageMilli, rule: 'within tolerance: keeps the current count' };
}

/**
 * Object metric with a Value target, and External metric with a Value target (`valueMilli` the
 * sum of its items). From zero replicas neither tolerance nor pods are looked at: this is what
 * wakes a pool scaled to zero.
 */
export function valueProposal(input: {
  readonly currentReplicas: number;
  readonly targetMilli: number;
  readonly valueMilli: number;
  readonly pods: readonly PodState[];
  readonly tolerances: Tolerances;
}): MetricProposal {
  const { currentReplicas, targetMilli, valueMilli, pods, tolerances } = input;
  if (!positiveTarget(targetMilli)) return fail(TARGET_NOT_POSITIVE);
  const ratio = valueMilli / targetMilli;
  if (currentReplicas === 0) {
    return {
      ok: true,
      replicas: replicasOf(ratio),
      usageMilli: valueMilli,
      rule: 'from zero replicas: ceil(usage ratio)',
    };
  }
  if (withinTolerance(ratio, tolerances)) return keep(currentReplicas, valueMilli);
  if (pods.length === 0) return fail(`unable to calculate ready pods: ${NO_PODS}`);
  const ready = pods.filter((pod) => pod.phase === 'Running' && pod.ready).length;
  return { ok: true, replicas: replicasOf(ratio * ready), usageMilli: valueMilli, rule: 'usage ratio × ready pods' };
}

/**
 * Object or External metric with an AverageValue target: the total divided by the target per pod,
 * measured against status.replicas (not the spec), and no pods are listed.
 */
export function averageValueProposal(input: {
  readonly statusReplicas: number;
  readonly targetMilli: number;
  readonly valueMilli: number;
  readonly tolerances: Tolerances;
}): MetricProposal {
  const { statusReplicas, targetMilli, valueMilli, tolerances } = input;
  if (!positiveTarget(targetMilli)) return fail(TARGET_NOT_POSITIVE);
  // At zero replicas the ratio is ±Infinity or NaN, never within tolerance, as in the controller.
  const ratio = valueMilli / (targetMilli * statusReplicas);
  const usageMilli = statusReplicas === 0 ? valueMilli : Math.ceil(valueMilli / statusReplicas);
  if (withinTolerance(ratio, tolerances)) return keep(statusReplicas, usageMilli);
  return { ok: true, replicas: replicasOf(valueMilli / targetMilli), usageMilli, rule: 'total ÷ target per pod' };
}

/** An External metric's value is the sum of the items the adapter returns. */
export function externalTotalMilli(itemsMilli: readonly number[]): number {
  return itemsMilli.reduce((sum, value) => sum + value, 0);
}
