import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { configError } from '../../support/failures.js';

/**
 * A header Node.js would refuse to send is a config error naming its field: accepted, it made
 * every call of the server fail as "unreachable" (and a reload to it replaced a working config).
 */
const RULES = `
  externalRules:
  - seriesQuery: up
    metricsQuery: up`;

describe('Prometheus headers and tenants Node.js cannot send', () => {
  it('refuses a header name that is no HTTP token, and a value or tenant with a control character', () => {
    assert.match(
      configError(`prometheus:\n  url: http://127.0.0.1:9090\n  headers: { "Bad Name": x }${RULES}`),
      /field prometheus\.headers\.Bad Name: .*header name/,
    );
    assert.match(
      configError(`prometheus:\n  url: http://127.0.0.1:9090\n  headers: { X-A: "v\\r\\nX-Evil: 1" }${RULES}`),
      /field prometheus\.headers\.X-A: .*header value/,
    );
    assert.match(
      configError(
        `prometheus:\n  servers:\n  - name: a\n    url: http://127.0.0.1:9090\n    tenant: "team\\nX-Evil: 1"${RULES}`,
      ),
      /field prometheus\.servers\[0\]\.tenant: .*header value/,
    );
    assert.match(
      configError(`prometheus:\n  url: http://127.0.0.1:9090${RULES}\n    tenant: "a\\u0000"`),
      /field prometheus\.externalRules\[0\]\.tenant: .*header value/,
    );
  });

  it('still takes any value Node.js sends, tabs and Latin-1 included', () => {
    const config = parseConfig(
      `prometheus:\n  url: http://127.0.0.1:9090\n  tenant: "équipe\\tA"\n  headers: { X-Extra: "a b; c=d" }${RULES}`,
      't.yaml',
    );
    assert.equal(config.prometheus?.tenant, 'équipe\tA');
  });
});
