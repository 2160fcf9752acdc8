import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { configError } from '../support/failures.js';

/**
 * A duration longer than a Node.js timer can wait (2^31-1 ms, about 596h) is a config error
 * naming the field: the timer would fire after 1 ms instead, so `timeout: 1000h` timed every
 * Prometheus call out at once and an upstream's `discoveryInterval: 1000h` ran in a hot loop.
 */

describe('durations a timer cannot hold', () => {
  it('are refused in every section, naming the field', () => {
    assert.match(
      configError('prometheus:\n  url: http://127.0.0.1:9090\n  timeout: 1000h\n'),
      /field prometheus\.timeout: expected a duration .*at most 596h.*got "1000h"/,
    );
    assert.match(
      configError('prometheus:\n  servers:\n  - name: a\n    url: http://127.0.0.1:9090\n    timeout: 600h\n'),
      /field prometheus\.servers\[0\]\.timeout: expected a duration .*at most 596h/,
    );
    assert.match(
      configError('static:\n  external: []\ncache:\n  default: { ttl: 25000h }\n'),
      /field cache\.default\.ttl: expected a duration .*at most 596h/,
    );
    assert.match(
      configError(
        'upstreams:\n- name: keda\n  url: https://127.0.0.1:6443\n  groupVersions: [external.metrics.k8s.io/v1beta1]\n  insecureSkipTLSVerify: true\n  discoveryInterval: 1000h\n',
      ),
      /field upstreams\[0\]\.discoveryInterval: .*at most 596h/,
    );
  });

  it('596h still loads', () => {
    const config = parseConfig('prometheus:\n  url: http://127.0.0.1:9090\n  timeout: 596h\n', 't.yaml');
    assert.equal(config.prometheus?.timeout, 596 * 3_600_000);
  });
});
