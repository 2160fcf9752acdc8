import { ApiError } from '../../api/errors.js';
import { type LabelSelector, parseSelector } from '../../api/selector.js';
import { clip } from '../../lib/text.js';

const KNOWN_PARAMETERS = new Set(['labelSelector', 'metricLabelSelector', 'fieldSelector', 'pretty', 'timeout']);

export interface MetricQuery {
  labelSelector: LabelSelector;
  metricLabelSelector: LabelSelector;
  /** From fieldSelector=metadata.name=<x>, when given. */
  fieldName?: string;
}

/**
 * The query string of a metrics request. Unknown parameters are ignored, as kube-apiserver
 * does; a known parameter given twice is refused, since which one the caller meant is unknowable.
 */
export function parseMetricQuery(search: string): MetricQuery {
  const params = new URLSearchParams(search);
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!KNOWN_PARAMETERS.has(key)) continue;
    if (seen.has(key)) throw ApiError.badRequest(`query parameter "${key}" given more than once`);
    seen.add(key);
  }
  const query: MetricQuery = {
    labelSelector: selectorParam(params, 'labelSelector'),
    metricLabelSelector: selectorParam(params, 'metricLabelSelector'),
  };
  const field = params.get('fieldSelector');
  if (field !== null && field !== '') query.fieldName = parseNameFieldSelector(field);
  return query;
}

function selectorParam(params: URLSearchParams, name: string): LabelSelector {
  const text = params.get(name) ?? '';
  try {
    return parseSelector(text);
  } catch (error) {
    if (error instanceof ApiError) throw ApiError.badRequest(`invalid ${name}: ${error.message}`);
    throw error;
  }
}

/** Only `metadata.name=<x>` (or `==`) is meaningful for metrics, as in the custom-metrics apiserver. */
function parseNameFieldSelector(text: string): string {
  const match = /^\s*metadata\.name\s*(?:==|=)\s*([^,=!\s]+)\s*$/.exec(text);
  if (!match?.[1]) {
    throw ApiError.badRequest(`invalid fieldSelector "${clip(text)}": only metadata.name=<name> is supported`);
  }
  return match[1];
}
