import { type PromSample, parseQueryData } from '../../src/providers/prometheus/client-answer.js';
import { servedSamples } from '../../src/providers/prometheus/served-samples.js';

/**
 * Cache keys and values shaped as the Prometheus backend caches them, for measuring what cached
 * entries cost: the value is an API response body parsed by the backend's own `parseQueryData`
 * (src/providers/prometheus/client.ts) and made into what the backend stores by its own
 * `servedSamples`; the key is a flat string, as rendered PromQL is.
 */
export interface AnswerShape {
  samples: number;
  /** Labels per sample besides `__name__`. */
  labels: number;
  /** Characters in each label value. */
  labelLength: number;
  /** Characters in the key (about as many, for a concatenated one). */
  keyLength: number;
  /** Whether Prometheus keeps `__name__` (a query without aggregation), which the backend strips. */
  metricName: boolean;
  /**
   * A key built piece by piece with `+=`, as a template executor builds its output: V8 keeps it
   * as a rope of small strings, several times the size of its characters, until something
   * flattens it. Otherwise the key is one flat string, as rendered PromQL is once trimmed.
   */
  concatenatedKey?: boolean;
}

export const ANSWER_SHAPES = {
  /** One pod's rate: `sum(rate(…{namespace="…",pod="…"}[2m])) by (pod)`. */
  onePod: { samples: 1, labels: 1, labelLength: 26, keyLength: 95, metricName: false },
  /** Three pods of a deployment in one query. */
  threePods: { samples: 3, labels: 1, labelLength: 26, keyLength: 150, metricName: false },
  /** An external metric with its selector's labels kept, long label values, a long key. */
  externalRaw: { samples: 1, labels: 4, labelLength: 60, keyLength: 500, metricName: true },
  /** Three series of a raw gauge: short key, short label values, `__name__` stripped. */
  rawGauges: { samples: 3, labels: 3, labelLength: 12, keyLength: 50, metricName: true },
  /** One pod's rate under a key that is still a rope. */
  concatenatedKey: { samples: 1, labels: 1, labelLength: 26, keyLength: 200, metricName: false, concatenatedKey: true },
} as const satisfies Record<string, AnswerShape>;

/** A key and a value of `shape`, distinct for every `i` (as 50,000 HPAs' queries are). */
export function prometheusAnswer(i: number, shape: AnswerShape): { key: string; value: readonly PromSample[] } {
  const result = Array.from({ length: shape.samples }, (_, n) => ({
    metric: metric(i, n, shape),
    value: [1_767_225_600 + i + 0.123, n === 0 ? String(i % 50) : String(0.25 * (i + n))],
  }));
  const body = JSON.stringify({ status: 'success', data: { resultType: 'vector', result } });
  const key = shape.concatenatedKey ? concatenatedKey(i, shape.keyLength) : flatKey(i, shape.keyLength);
  const { data } = JSON.parse(body) as { data: unknown };
  return { key, value: servedSamples(parseQueryData(data, 'http://prometheus.test').samples, 'zero').served };
}

function metric(i: number, n: number, shape: AnswerShape): Record<string, string> {
  const labels: Record<string, string> = shape.metricName ? { __name__: 'broker_queue_depth' } : {};
  for (let l = 0; l < shape.labels; l++) {
    labels[l === 0 ? 'pod' : `label_${l}`] = padded(`v${i}-${n}-${l}-`, shape.labelLength);
  }
  return labels;
}

function flatKey(i: number, length: number): string {
  const head = `sum(rate(requests{pod="${i}-`;
  const tail = '"}[2m]))';
  // join builds one flat string.
  return [head, padded('', length - head.length - tail.length), tail].join('');
}

function concatenatedKey(i: number, length: number): string {
  let key = `sum(rate(requests{pod="${i}"`;
  for (let n = 0; key.length < length - 8; n++) key += `,l${n % 10}="${n}"`;
  key += '}[2m]))';
  return key;
}

function padded(prefix: string, length: number): string {
  if (length < prefix.length) throw new Error(`cannot fit ${prefix} into ${length} characters`);
  return prefix.padEnd(length, 'abcdefghij');
}
