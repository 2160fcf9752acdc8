import type { LabelSelector } from '../../api/selector.js';

/**
 * The labels a selector pins to one value (`a=b`), which the AWS backends use as parameters
 * (queue name, dimension values) and echo in the item's metricLabels. `a in (b)` with a single
 * value pins just as well; a label given twice with different values pins nothing.
 */
export function pinnedLabels(selector: LabelSelector): Record<string, string> {
  const labels: Record<string, string> = {};
  const conflicting = new Set<string>();
  for (const { key, operator, values } of selector.requirements) {
    if ((operator !== 'Equals' && operator !== 'In') || values.length !== 1) continue;
    const value = values[0] ?? '';
    if (Object.hasOwn(labels, key) && labels[key] !== value) conflicting.add(key);
    labels[key] = value;
  }
  for (const key of conflicting) delete labels[key];
  return labels;
}
