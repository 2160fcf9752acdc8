import { ApiError } from '../api/errors.js';

/** Throws Forbidden naming the rule when `namespace` may not read the metric. */
export function checkNamespace(
  metric: string,
  namespace: string,
  allowed: readonly string[] | undefined,
  rule: string,
): void {
  if (allowed === undefined || allowed.includes(namespace)) return;
  throw ApiError.forbidden(
    `external metric "${metric}" may not be read from namespace "${namespace}": ${rule} allows only ${allowed.join(', ')}`,
  );
}
