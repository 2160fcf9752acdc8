import type { PromSample } from './client.js';
import type { NanReading } from './rules.js';

/**
 * A query's samples as the backend caches and serves them: NaN served as 0 or dropped as the rule
 * reads it (prometheus-adapter answers 0, and migrated HPAs were tuned on that), ±Inf always
 * dropped (no quantity holds it; `dropped` says which, for the log), `__name__` stripped, and
 * frozen, since a cached hit hands this same array out again and it must never change.
 */
export function servedSamples(
  samples: readonly PromSample[],
  nan: NanReading,
): {
  served: readonly PromSample[];
  dropped: readonly PromSample[];
} {
  const served: PromSample[] = [];
  const dropped: PromSample[] = [];
  for (const sample of samples) {
    if (Number.isFinite(sample.value)) served.push(withoutMetricName(sample));
    else if (Number.isNaN(sample.value) && nan === 'zero') served.push({ ...withoutMetricName(sample), value: 0 });
    else dropped.push(sample);
  }
  for (const sample of served) Object.freeze(sample);
  return { served: Object.freeze(served), dropped };
}

function withoutMetricName(sample: PromSample): PromSample {
  if (!('__name__' in sample.labels)) return sample;
  const { __name__: _name, ...labels } = sample.labels;
  return { labels, value: sample.value, timestamp: sample.timestamp };
}
