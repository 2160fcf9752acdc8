import type { PromSample } from './client.js';

/**
 * A query's samples as the backend caches and serves them: NaN and ±Inf dropped (the HPA cannot
 * use them; `dropped` says which, for the log), `__name__` stripped, and frozen, since a cached
 * hit hands this same array out again and it must never change.
 */
export function servedSamples(samples: readonly PromSample[]): {
  served: readonly PromSample[];
  dropped: readonly PromSample[];
} {
  const served = samples.filter((s) => Number.isFinite(s.value)).map(withoutMetricName);
  for (const sample of served) Object.freeze(sample);
  return { served: Object.freeze(served), dropped: samples.filter((s) => !Number.isFinite(s.value)) };
}

function withoutMetricName(sample: PromSample): PromSample {
  if (!('__name__' in sample.labels)) return sample;
  const { __name__: _name, ...labels } = sample.labels;
  return { labels, value: sample.value, timestamp: sample.timestamp };
}
