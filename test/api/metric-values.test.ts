import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILTIN_RESOURCES } from '../../src/api/builtin-resources.js';
import { customMetricValueList, externalMetricValueList, rfc3339 } from '../../src/api/metric-values.js';
import type { ResourceInfo } from '../../src/api/resource-table.js';
import { parseSelector } from '../../src/api/selector.js';

const POD = BUILTIN_RESOURCES.resolve('pods') as ResourceInfo;

const at = new Date('2026-03-04T05:06:07.890Z');

function externalValue(value: number): string {
  const list = externalMetricValueList('m', [{ labels: {}, value, timestamp: at }]) as { items: { value: string }[] };
  return list.items[0]?.value ?? '';
}

describe('MetricValueList bodies', () => {
  it('drops float noise that Go would round up at nano precision', () => {
    assert.equal(externalValue(0.1 + 0.2), '300m');
    assert.equal(externalValue(1 / 3), '3.33333333333333e-1');
  });

  it('keeps small and large values exact to 15 significant digits', () => {
    assert.equal(externalValue(1e-12), '1e-12');
    assert.equal(externalValue(123456789012345), '123456789012345');
    assert.equal(externalValue(2.5e21), '2.5e21');
  });

  it('writes timestamps in RFC 3339 at second precision, UTC', () => {
    assert.equal(rfc3339(at), '2026-03-04T05:06:07Z');
  });

  it('refuses a non-finite value as an internal error rather than emitting it', () => {
    assert.throws(
      () =>
        customMetricValueList('v1beta2', 'm', parseSelector(''), [
          {
            object: { resource: POD, namespace: 'a', name: 'b' },
            value: Number.NaN,
            timestamp: at,
          },
        ]),
      (error: Error & { reason?: string }) => error.reason === 'InternalError' && /non-finite/.test(error.message),
    );
  });
});
