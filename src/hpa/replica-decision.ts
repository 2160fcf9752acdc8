// From the metrics' proposals to the replica count the HPA controller sets, by the rules of
// pkg/controller/podautoscaler/horizontal.go for one reconcile step. The stabilization windows
// and the policies' periods need the controller's own history of recommendations and scale
// events; one step from a standing start has none, so they do not narrow the result here.

import type { MetricProposal } from './metric-proposal.js';

export interface ScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface ScalingRules {
  readonly selectPolicy?: 'Max' | 'Min' | 'Disabled';
  readonly policies?: readonly ScalingPolicy[];
  readonly stabilizationWindowSeconds?: number;
  readonly tolerance?: number;
}

export interface Behavior {
  readonly scaleUp?: ScalingRules;
  readonly scaleDown?: ScalingRules;
}

/** The API server's defaults for a direction the HPA's behavior leaves out (autoscaling/v2). */
export const DEFAULT_SCALE_UP_POLICIES: readonly ScalingPolicy[] = [
  { type: 'Pods', value: 4, periodSeconds: 15 },
  { type: 'Percent', value: 100, periodSeconds: 15 },
];
export const DEFAULT_SCALE_DOWN_POLICIES: readonly ScalingPolicy[] = [
  { type: 'Percent', value: 100, periodSeconds: 15 },
];

export interface NamedProposal {
  readonly metric: string;
  readonly proposal: MetricProposal;
}

export type CombinedProposal =
  | { readonly ok: true; readonly replicas: number; readonly decidingMetric: string; readonly failedMetrics: number }
  | { readonly ok: false; readonly error: string; readonly failedMetrics: number };

/**
 * The largest proposal wins. Failed metrics only stop the HPA when all failed or when the others
 * would scale below the current count: with some metrics failing it may only scale up.
 */
export function combineProposals(proposals: readonly NamedProposal[], specReplicas: number): CombinedProposal {
  let replicas = 0;
  let decidingMetric = '';
  let firstError = '';
  let failedMetrics = 0;
  for (const { metric, proposal } of proposals) {
    if (!proposal.ok) {
      if (failedMetrics === 0) firstError = `${metric}: ${proposal.error}`;
      failedMetrics++;
      continue;
    }
    // As in the controller, a standing proposal of 0 gives way to the next one even when equal.
    if (replicas === 0 || proposal.replicas > replicas) {
      replicas = proposal.replicas;
      decidingMetric = metric;
    }
  }
  if (failedMetrics >= proposals.length) {
    return { ok: false, error: firstError || 'the HPA has no metrics', failedMetrics };
  }
  if (failedMetrics > 0 && replicas < specReplicas) {
    return {
      ok: false,
      error: `${firstError} (and the metrics that answered would scale down, which is not done while one fails)`,
      failedMetrics,
    };
  }
  return { ok: true, replicas, decidingMetric, failedMetrics };
}

/** The controller's condition reasons, as kubectl describe shows them. */
export type DecisionReason =
  | 'ScalingDisabled'
  | 'AboveMaxReplicas'
  | 'BelowMinReplicas'
  | 'FailedGetMetrics'
  | 'DesiredWithinRange'
  | 'TooManyReplicas'
  | 'TooFewReplicas'
  | 'ScaleUpLimit'
  | 'ScaleDownLimit';

export interface ReplicaDecision {
  readonly replicas: number;
  readonly reason: DecisionReason;
  readonly message: string;
  /** The metrics' combined proposal before min/max and rate limits, when metrics were computed. */
  readonly proposal?: CombinedProposal;
}

export interface DecisionInput {
  /** scale.spec.replicas of the target. */
  readonly specReplicas: number;
  /** spec.minReplicas; the API defaults an absent one to 1. */
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly behavior?: Behavior;
  readonly proposals: readonly NamedProposal[];
}

export function decideReplicas(input: DecisionInput): ReplicaDecision {
  const { specReplicas, minReplicas, maxReplicas } = input;
  if (specReplicas === 0 && minReplicas !== 0) {
    return {
      replicas: 0,
      reason: 'ScalingDisabled',
      message: 'scaling is disabled since the replica count of the target is zero (minReplicas is not 0)',
    };
  }
  if (specReplicas > maxReplicas) {
    return { replicas: maxReplicas, reason: 'AboveMaxReplicas', message: 'current replicas above maxReplicas' };
  }
  if (specReplicas < minReplicas) {
    return { replicas: minReplicas, reason: 'BelowMinReplicas', message: 'current replicas below minReplicas' };
  }
  const proposal = combineProposals(input.proposals, specReplicas);
  if (!proposal.ok) {
    return { replicas: specReplicas, reason: 'FailedGetMetrics', message: proposal.error, proposal };
  }
  const limited = limitOneStep({
    current: specReplicas,
    desired: proposal.replicas,
    min: minReplicas,
    max: maxReplicas,
    behavior: input.behavior,
  });
  return { ...limited, proposal };
}

export type LimitedStep = Pick<ReplicaDecision, 'replicas' | 'reason' | 'message'>;
type Limited = LimitedStep;

/**
 * min/max replicas and the rate limits of one step: spec.behavior's policies (API defaults for a
 * direction it leaves out) or, without spec.behavior, the older fixed max(2 × current, 4).
 */
export function limitOneStep(step: {
  readonly current: number;
  readonly desired: number;
  readonly min: number;
  readonly max: number;
  readonly behavior?: Behavior;
}): LimitedStep {
  const { current, desired, min, max, behavior } = step;
  return behavior === undefined
    ? limitWithoutBehavior(current, desired, min, max)
    : limitWithBehavior(current, desired, min, max, behavior);
}

const WITHIN: Limited = {
  replicas: 0,
  reason: 'DesiredWithinRange',
  message: 'the desired count is within the acceptable range',
};
const FASTER_UP = 'the desired replica count is increasing faster than the maximum scale rate';
const FASTER_DOWN = 'the desired replica count is decreasing faster than the maximum scale rate';
const ABOVE_MAX = 'the desired replica count is more than the maximum replica count';
const BELOW_MIN = 'the desired replica count is less than the minimum replica count';

/** Without spec.behavior: at most max(2 × current, 4) in one step, then min/max. */
function limitWithoutBehavior(current: number, desired: number, min: number, max: number): Limited {
  const scaleUpLimit = Math.max(2 * current, 4);
  const rateLimits = max > scaleUpLimit;
  const ceiling = rateLimits ? scaleUpLimit : max;
  if (desired < min) return { replicas: min, reason: 'TooFewReplicas', message: BELOW_MIN };
  if (desired > ceiling) {
    return rateLimits
      ? { replicas: ceiling, reason: 'ScaleUpLimit', message: FASTER_UP }
      : { replicas: ceiling, reason: 'TooManyReplicas', message: ABOVE_MAX };
  }
  return { ...WITHIN, replicas: desired };
}

function limitWithBehavior(current: number, desired: number, min: number, max: number, behavior: Behavior): Limited {
  if (desired > current) {
    const scaleUpLimit = Math.max(scaleUpLimitOf(current, behavior.scaleUp), current);
    if (max > scaleUpLimit) {
      if (desired > scaleUpLimit) return { replicas: scaleUpLimit, reason: 'ScaleUpLimit', message: FASTER_UP };
    } else if (desired > max) {
      return { replicas: max, reason: 'TooManyReplicas', message: ABOVE_MAX };
    }
  } else if (desired < current) {
    const scaleDownLimit = Math.min(scaleDownLimitOf(current, behavior.scaleDown), current);
    if (min < scaleDownLimit) {
      if (desired < scaleDownLimit) return { replicas: scaleDownLimit, reason: 'ScaleDownLimit', message: FASTER_DOWN };
    } else if (desired < min) {
      return { replicas: min, reason: 'TooFewReplicas', message: BELOW_MIN };
    }
  }
  return { ...WITHIN, replicas: desired };
}

function scaleUpLimitOf(current: number, rules: ScalingRules | undefined): number {
  const select = rules?.selectPolicy ?? 'Max';
  if (select === 'Disabled') return current;
  const proposals = policiesOf(rules, DEFAULT_SCALE_UP_POLICIES).map((policy) =>
    policy.type === 'Pods' ? current + policy.value : Math.ceil(current * (1 + policy.value / 100)),
  );
  return select === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
}

/** Scale-down policies: `Max` selects the policy that removes the most pods, i.e. the lowest floor. */
function scaleDownLimitOf(current: number, rules: ScalingRules | undefined): number {
  const select = rules?.selectPolicy ?? 'Max';
  if (select === 'Disabled') return current;
  const floors = policiesOf(rules, DEFAULT_SCALE_DOWN_POLICIES).map((policy) =>
    policy.type === 'Pods' ? current - policy.value : Math.trunc(current * (1 - policy.value / 100)),
  );
  return select === 'Min' ? Math.max(...floors) : Math.min(...floors);
}

/** The API server fills in the default policies of a direction that names none. */
function policiesOf(rules: ScalingRules | undefined, defaults: readonly ScalingPolicy[]): readonly ScalingPolicy[] {
  return rules?.policies?.length ? rules.policies : defaults;
}
