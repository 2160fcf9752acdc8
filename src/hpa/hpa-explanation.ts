// What the HPA controller makes of one HPA, metric by metric: the request it sends, the answer,
// the proposal under its rules, and why a metric is <unknown>; then the replica count it sets and
// the scale-to-zero traps. Pure: the answers come in from the caller (a cluster or our backends).

import { type ControllerRequest, type NoRequest, type SentRequest, sentRequest } from './controller-requests.js';
import { behaviorOf, type Hpa, type HpaMetricSpec, type HpaMetricTarget, milliOf } from './hpa-spec.js';
import {
  averageValueProposal,
  externalTotalMilli,
  type MetricProposal,
  type PodState,
  podsMetricProposal,
  type Tolerances,
  tolerancesOf,
  valueProposal,
} from './metric-proposal.js';
import { decideReplicas, type NamedProposal, type ReplicaDecision } from './replica-decision.js';

/** The answer to one metrics request: 2xx with its items, or the Status of a failure. */
export interface MetricAnswer {
  readonly status: number;
  readonly reason?: string;
  readonly message?: string;
  readonly items?: readonly AnswerItem[];
}

export interface AnswerItem {
  /** describedObject.name (custom metrics). */
  readonly name?: string;
  readonly value: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/** The target's scale subresource. */
export interface ScaleState {
  readonly specReplicas: number;
  readonly statusReplicas: number;
  readonly selector: string;
}

/** What the backend behind a metric answers when it has no data or is down (from the adapter's config). */
export interface FailureAnswers {
  readonly backend: string;
  /** `noData: error`: no series / no datapoint answers 404. */
  readonly noDataIsError: boolean;
  /** `fail` answers 503 at once; `lastGood` only after maxStale; a number never. */
  readonly onError: 'fail' | 'lastGood' | 'value';
  readonly maxStale?: string;
  /** The backend can have no data for a metric that exists (an absent series, a queue idle for hours). */
  readonly noDataPossible: boolean;
}

export interface MetricExplanation {
  /** 1-based, in spec order. */
  readonly index: number;
  readonly type: HpaMetricSpec['type'];
  /** `sqs-queue-length{queue-name=jobs}`. */
  readonly metric: string;
  /** `AverageValue 5`. */
  readonly target: string;
  readonly request?: SentRequest;
  readonly answer?: MetricAnswer;
  /** The value the controller reads: the sum, the object's value, the pods' values. */
  readonly value?: string;
  /** undefined for a metric the controller reads elsewhere (Resource metrics). */
  readonly proposal?: MetricProposal;
  /** Why the metric is <unknown>, in one line. */
  readonly cause?: string;
  /** Why no proposal was computed (Resource metrics). */
  readonly skipped?: string;
  readonly failureAnswers?: FailureAnswers;
}

export interface HpaExplanation {
  readonly namespace: string;
  readonly name: string;
  /** `Deployment/worker`. */
  readonly target: string;
  readonly scale: ScaleState;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metrics: readonly MetricExplanation[];
  readonly decision: ReplicaDecision;
  /** `metric 1 (External sqs-queue-length)` when a metric decides. */
  readonly decidingMetric?: string;
  readonly warnings: readonly string[];
}

export interface HpaInputs {
  readonly hpa: Hpa;
  readonly namespace: string;
  readonly scale: ScaleState;
  /** The pods the scale selector matches. */
  readonly pods: readonly PodState[];
  /** Per metric of the spec, in order. */
  readonly requests: readonly (ControllerRequest | NoRequest)[];
  /** The custom metrics version the requests were sent to (the group's preferred one). Default v1beta2. */
  readonly customVersion?: string;
  /** Per request made (undefined where none was). */
  readonly answers: readonly (MetricAnswer | undefined)[];
  readonly failureAnswers?: readonly (FailureAnswers | undefined)[];
}

export function explainHpaState(inputs: HpaInputs): HpaExplanation {
  const { hpa, scale } = inputs;
  const tolerances = tolerancesOf(behaviorOf(hpa));
  const metrics = (hpa.spec.metrics ?? []).map((spec, i) =>
    explainMetric(spec, i + 1, inputs.requests[i], inputs.answers[i], inputs.failureAnswers?.[i], inputs, tolerances),
  );
  const proposals: NamedProposal[] = metrics.flatMap((m) =>
    m.proposal ? [{ metric: `metric ${m.index} (${m.type} ${m.metric})`, proposal: m.proposal }] : [],
  );
  const minReplicas = hpa.spec.minReplicas ?? 1;
  const behavior = behaviorOf(hpa);
  const decision = decideReplicas({
    specReplicas: scale.specReplicas,
    minReplicas,
    maxReplicas: hpa.spec.maxReplicas,
    ...(behavior ? { behavior } : {}),
    proposals,
  });
  const deciding = decision.proposal?.ok ? decision.proposal.decidingMetric : undefined;
  const ref = hpa.spec.scaleTargetRef;
  return {
    namespace: inputs.namespace,
    name: hpa.metadata.name,
    target: `${ref.kind}/${ref.name}`,
    scale,
    minReplicas,
    maxReplicas: hpa.spec.maxReplicas,
    metrics,
    decision,
    ...(deciding ? { decidingMetric: deciding } : {}),
    warnings: minReplicas === 0 ? scaleToZeroWarnings(metrics) : [],
  };
}

function explainMetric(
  spec: HpaMetricSpec,
  index: number,
  request: ControllerRequest | NoRequest | undefined,
  answer: MetricAnswer | undefined,
  failureAnswers: FailureAnswers | undefined,
  inputs: HpaInputs,
  tolerances: Tolerances,
): MetricExplanation {
  const described = describe(spec);
  const base = { index, type: spec.type, ...described, ...(failureAnswers ? { failureAnswers } : {}) };
  if (!request || request.kind === 'none') {
    const why = request?.why ?? 'no request';
    if (spec.type === 'Resource' || spec.type === 'ContainerResource') return { ...base, skipped: why };
    return { ...base, proposal: { ok: false, error: why }, cause: why };
  }
  const sent = sentRequest(request, {
    podSelector: inputs.scale.selector,
    ...(inputs.customVersion ? { customVersion: inputs.customVersion } : {}),
  });
  if (!answer) return { ...base, request: sent, proposal: { ok: false, error: 'no answer' }, cause: 'no answer' };
  const withAnswer = { ...base, request: sent, answer };
  if (answer.status < 200 || answer.status > 299) {
    const error = `${answer.status} ${answer.reason ?? ''}: ${answer.message ?? ''}`;
    return { ...withAnswer, proposal: { ok: false, error }, cause: causeOfStatus(answer) };
  }
  const items = answer.items ?? [];
  const target = targetOf(spec);
  const { scale, pods } = inputs;
  const failed = (error: string, cause = error): MetricExplanation => ({
    ...withAnswer,
    proposal: { ok: false, error },
    cause,
  });
  const empty = 'empty list: the controller takes an answer without items as an error';
  let proposal: MetricProposal;
  let value: string;
  try {
    if (request.kind === 'pods') {
      if (items.length === 0) return failed('no metrics returned from custom metrics API', empty);
      const metricsMilli = new Map(items.map((item) => [item.name ?? '', milliOf(item.value)]));
      value = items.map((item) => `${item.name} ${item.value}`).join(', ');
      proposal = target.averageValue
        ? podsMetricProposal({
            currentReplicas: scale.specReplicas,
            targetMilli: target.averageValue,
            metricsMilli,
            pods,
            tolerances,
          })
        : { ok: false, error: 'a Pods metric takes an AverageValue target' };
    } else {
      if (request.kind === 'object' && items.length !== 1) {
        const error = `the custom metrics API server returned ${items.length} results when we asked for exactly one`;
        return failed(error, items.length === 0 ? empty : error);
      }
      if (items.length === 0) return failed('no metrics returned from external metrics API', empty);
      const valueMilli = externalTotalMilli(items.map((item) => milliOf(item.value)));
      value =
        items.length === 1
          ? (items[0]?.value ?? '')
          : `${formatMilli(valueMilli)} (sum of ${items.map((item) => item.value).join(' + ')})`;
      proposal =
        target.type === 'Value' && target.value != null
          ? valueProposal({
              currentReplicas: scale.specReplicas,
              targetMilli: target.value,
              valueMilli,
              pods,
              tolerances,
            })
          : target.type === 'AverageValue' && target.averageValue != null
            ? averageValueProposal({
                statusReplicas: scale.statusReplicas,
                targetMilli: target.averageValue,
                valueMilli,
                tolerances,
              })
            : { ok: false, error: `an ${spec.type} metric takes a Value or AverageValue target` };
    }
  } catch (error) {
    return failed(`an answer is not a quantity: ${(error as Error).message}`);
  }
  if (proposal.ok) return { ...withAnswer, value, proposal };
  const noPods = proposal.error.includes('no pods returned by selector');
  return {
    ...withAnswer,
    value,
    proposal,
    cause: noPods ? `the selector "${scale.selector}" matches no pods` : proposal.error,
  };
}

/** One line saying why a failed request leaves the metric <unknown>. */
export function causeOfStatus(answer: MetricAnswer): string {
  const message = answer.message ?? '(no message)';
  switch (answer.status) {
    case 404:
      return `404 not served: ${message}`;
    case 503:
      return `503 backend error: ${message}`;
    case 403:
      return `403 RBAC: ${message}`;
    case 401:
      return `401 not authenticated: ${message}`;
    default:
      return `${answer.status} ${answer.reason ?? ''}: ${message}`;
  }
}

function targetOf(spec: HpaMetricSpec): HpaMetricTarget {
  const target = spec.pods?.target ?? spec.object?.target ?? spec.external?.target;
  return target ?? { type: 'Value' };
}

function describe(spec: HpaMetricSpec): { metric: string; target: string } {
  const identifier = spec.pods?.metric ?? spec.object?.metric ?? spec.external?.metric;
  const selector = identifier?.selector;
  const labels = [
    ...Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(selector?.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(',')}`.trim()),
  ];
  const name = identifier?.name ?? spec.resource?.name ?? spec.containerResource?.name ?? '';
  const on = spec.object ? ` of ${spec.object.describedObject.kind}/${spec.object.describedObject.name}` : '';
  const target = spec.pods?.target ?? spec.object?.target ?? spec.external?.target ?? spec.resource?.target;
  const amount =
    target?.type === 'Utilization'
      ? `${target.averageUtilization ?? '?'}%`
      : formatMilli((target?.type === 'Value' ? target.value : target?.averageValue) ?? Number.NaN);
  return {
    metric: `${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''}${on}`,
    target: `${target?.type ?? '?'} ${amount}`,
  };
}

/** A milli-value as a quantity a person reads: 7000 → 7, 1500 → 1500m. */
export function formatMilli(milli: number): string {
  if (!Number.isFinite(milli)) return '?';
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function wakers(metrics: readonly MetricExplanation[]): MetricExplanation[] {
  return metrics.filter((m) => m.type === 'Object' || m.type === 'External');
}

/**
 * minReplicas 0: from zero only Object and External metrics are computed, and a metric that
 * cannot be read either keeps the pool at zero (all fail) or keeps it from going back to zero
 * (some fail: only scaling up is done).
 */
function scaleToZeroWarnings(metrics: readonly MetricExplanation[]): string[] {
  const warnings: string[] = [];
  const canWake = wakers(metrics);
  if (canWake.length === 0) {
    warnings.push(
      'minReplicas is 0 but no metric is an Object or External metric: at zero replicas only those can be computed, so this HPA never scales up from zero',
    );
    return warnings;
  }
  const failing = canWake.filter((m) => m.proposal && !m.proposal.ok);
  if (failing.length > 0 && failing.length === canWake.length) {
    warnings.push(
      `minReplicas is 0 and every Object/External metric is <unknown> now (${failing.map((m) => `metric ${m.index}`).join(', ')}): at zero replicas the pool stays at zero until one answers`,
    );
  } else {
    for (const m of failing) {
      warnings.push(
        `minReplicas is 0 and metric ${m.index} (${m.metric}) is <unknown> now: while it is, the HPA only scales up, so the pool does not go back to zero`,
      );
    }
  }
  for (const m of canWake) {
    const answers = m.failureAnswers;
    if (!answers) continue;
    if (answers.noDataIsError && answers.noDataPossible) {
      warnings.push(
        `minReplicas is 0 and metric ${m.index} (${m.metric}) answers 404 when ${answers.backend} has no data for it (noData: error): set its failure policy to noData: zero, or the HPA cannot compute it when the queue or series is idle`,
      );
    }
    if (answers.onError === 'fail') {
      warnings.push(
        `minReplicas is 0 and metric ${m.index} (${m.metric}) answers 503 as soon as ${answers.backend} is down (onError: fail): use onError: lastGood with a bounded maxStale, so a short outage does not strand the pool`,
      );
    } else if (answers.onError === 'lastGood') {
      const after = answers.maxStale ? `after maxStale ${answers.maxStale}` : "after the cache's maxStale";
      warnings.push(
        `note: metric ${m.index} (${m.metric}) answers 503 when ${answers.backend} stays down ${after} (onError: lastGood): from then on a pool at zero stays there`,
      );
    }
  }
  return warnings;
}
