import type { HpaExplanation, MetricAnswer, MetricExplanation } from '../hpa/hpa-explanation.js';

type Print = (line?: string) => void;

/** `explain hpa NAMESPACE/NAME`: every metric's request, answer and proposal, then the result. */
export function printHpa(explanation: HpaExplanation, print: Print): void {
  const { scale } = explanation;
  print(
    `HPA ${explanation.namespace}/${explanation.name} → ${explanation.target}: replicas ${scale.specReplicas} (status ${scale.statusReplicas}), selector ${scale.selector || '(none)'}; minReplicas ${explanation.minReplicas}, maxReplicas ${explanation.maxReplicas}`,
  );
  for (const metric of explanation.metrics) printMetric(metric, print);
  const { decision } = explanation;
  const deciding = explanation.decidingMetric ? `, decided by ${explanation.decidingMetric}` : '';
  print(`result: ${decision.replicas} replicas (${decision.reason}: ${decision.message})${deciding}`);
  const skipped = explanation.metrics.filter((m) => m.skipped !== undefined).map((m) => `metric ${m.index}`);
  if (skipped.length > 0)
    print(`note: the result leaves out ${skipped.join(', ')}, which explain hpa does not compute`);
  for (const warning of explanation.warnings) print(warning.startsWith('note: ') ? warning : `warning: ${warning}`);
}

function printMetric(metric: MetricExplanation, print: Print): void {
  print(`metric ${metric.index}: ${metric.type} ${metric.metric}, target ${metric.target}`);
  if (metric.skipped) {
    print(`  not computed: ${metric.skipped}`);
    return;
  }
  if (metric.request) print(`  request: GET ${metric.request.path}`);
  if (metric.answer) print(`  answer: ${answerText(metric.answer)}`);
  if (metric.value !== undefined) print(`  value: ${metric.value}`);
  const { proposal } = metric;
  if (!proposal) return;
  if (proposal.ok) print(`  proposal: ${proposal.replicas} replicas (${proposal.rule})`);
  else print(`  proposal: <unknown>: ${metric.cause ?? proposal.error}`);
}

function answerText(answer: MetricAnswer): string {
  if (answer.status < 200 || answer.status > 299) {
    return `${answer.status} ${answer.reason ?? ''}: ${answer.message ?? ''}`;
  }
  const items = answer.items ?? [];
  return `${answer.status}, ${items.length} item${items.length === 1 ? '' : 's'}`;
}

/** `explain hpa -n NAMESPACE`: one line per HPA. */
export function hpaLine(explanation: HpaExplanation): string {
  const { decision, scale } = explanation;
  const unknown = explanation.metrics.filter((m) => m.cause !== undefined);
  const parts = [
    `${explanation.name}`,
    explanation.target,
    `replicas ${scale.specReplicas} → ${decision.replicas} (${decision.reason})`,
    ...(explanation.decidingMetric ? [`decided by ${explanation.decidingMetric}`] : []),
    ...unknown.map((m) => `metric ${m.index} <unknown>: ${m.cause}`),
    ...(explanation.warnings.some((w) => !w.startsWith('note: ')) ? ['scale-to-zero warning'] : []),
  ];
  return parts.join('  ');
}
