import { withEntrySlot } from '../../cache/entry-identity.js';
import type { PromSample } from './client.js';
import type { NanReading } from './rules.js';

/**
 * A query's samples as the backend caches and serves them: NaN served as 0 or dropped as the rule
 * reads it (prometheus-adapter answers 0, and migrated HPAs were tuned on that), ±Inf always
 * dropped (no quantity holds it; `dropped` says which: the query part fails such an answer), `__name__` stripped, and
 * frozen, since a cached hit hands this same array out again and it must never change.
 */
export function servedSamples(
  samples: readonly PromSample[],
  nan: NanReading,
): {
  served: readonly PromSample[];
  dropped: readonly PromSample[];
} {
  const isServed = (s: PromSample) => Number.isFinite(s.value) || (nan === 'zero' && Number.isNaN(s.value));
  // filter then map: map sizes the kept array exactly, which a cache full of these answers feels.
  const served = samples
    .filter(isServed)
    .map((s) => (Number.isNaN(s.value) ? { ...withoutMetricName(s), value: 0 } : withoutMetricName(s)));
  // The slot first: a frozen object takes no property, and the cache marks what it stores.
  withEntrySlot(served);
  for (const sample of served) Object.freeze(sample);
  return { served: Object.freeze(served), dropped: samples.filter((s) => !isServed(s)) };
}

function withoutMetricName(sample: PromSample): PromSample {
  if (!('__name__' in sample.labels)) return sample;
  const { __name__: _name, ...labels } = sample.labels;
  return { labels, value: sample.value, timestamp: sample.timestamp };
}
