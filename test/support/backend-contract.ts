import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ApiError } from '../../src/api/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import { resolveFailurePolicy } from '../../src/providers/failure-policy/config.js';
import { withFailurePolicy } from '../../src/providers/failure-policy/policy-backend.js';
import type { MetricsBackend } from '../../src/providers/provider.js';
import { externalRequest } from './aws-backend-context.js';

/** What the contract suite needs from one backend under test. */
export interface ContractSubject {
  backend: MetricsBackend;
  /** An external metric the backend serves, and a selector that finds at least one series of it. */
  external: { metric: string; selector: string; namespace: string };
  /** Whether answering has to wait on I/O (a static backend never does, so it has no deadline to honour). */
  waits: boolean;
  close(): Promise<void>;
}

/**
 * The rules every backend keeps (src/providers/provider.ts), as one suite each backend's test
 * file runs against its own set-up: static, Prometheus, SQS, CloudWatch; later ones join by
 * calling it with theirs.
 */
export function backendContract(name: string, setUp: () => Promise<ContractSubject>): void {
  describe(`the provider contract: ${name}`, () => {
    let subject: ContractSubject;
    before(async () => {
      subject = await setUp();
    });
    after(() => subject?.close());

    const external = () => {
      const provider = subject.backend.external;
      assert.ok(provider, `${name} serves external metrics`);
      return provider;
    };

    it('announces what it serves, and servesExternal agrees with the list', () => {
      const provider = external();
      const listed = provider.listExternalMetrics().map((m) => m.metric);
      assert.ok(listed.includes(subject.external.metric), `${subject.external.metric} in ${listed}`);
      for (const metric of listed) assert.equal(provider.servesExternal(metric), true, metric);
      assert.equal(provider.servesExternal('no-such-metric-anywhere'), false);
    });

    it('hands out the same list arrays while what it announces is unchanged', () => {
      const { backend } = subject;
      assert.equal(external().listExternalMetrics(), external().listExternalMetrics());
      if (backend.custom) assert.equal(backend.custom.listCustomMetrics(), backend.custom.listCustomMetrics());
    });

    it('wrapped in a failure policy, is still itself: its own members through the prototype, its own lists', () => {
      const { backend } = subject;
      const policy = resolveFailurePolicy(undefined, undefined);
      const deps = { registry: new Registry(), logger: silentLogger(), now: () => new Date() };
      const wrapped = withFailurePolicy(backend, () => policy, deps);
      assert.equal(Object.getPrototypeOf(wrapped), backend);
      assert.equal(wrapped.name, backend.name);
      assert.equal(wrapped.start, backend.start);
      assert.equal(wrapped.close, backend.close);
      assert.equal(wrapped.external?.listExternalMetrics(), external().listExternalMetrics());
      if (backend.custom) assert.equal(wrapped.custom?.listCustomMetrics(), backend.custom.listCustomMetrics());
    });

    it('answers NotFound, as an ApiError, for a metric it does not serve', async () => {
      const error = await Promise.resolve()
        .then(() => external().getExternalMetric(externalRequest('no-such-metric-anywhere')))
        .then(
          () => assert.fail('expected NotFound'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof ApiError, String(error));
      assert.equal(error.reason, 'NotFound');
    });

    it('answers series as samples with finite values and real timestamps', async () => {
      const { metric, selector, namespace } = subject.external;
      const samples = await external().getExternalMetric(externalRequest(metric, selector, namespace));
      assert.ok(samples.length > 0, 'the selector finds a series');
      for (const sample of samples) {
        assert.ok(Number.isFinite(sample.value), String(sample.value));
        assert.ok(sample.timestamp instanceof Date && !Number.isNaN(sample.timestamp.getTime()));
        assert.equal(typeof sample.labels, 'object');
      }
    });

    it('leaves an answer it handed out unchanged by later requests', async () => {
      const { metric, selector, namespace } = subject.external;
      const first = await external().getExternalMetric(externalRequest(metric, selector, namespace));
      const before = structuredClone(first);
      await external().getExternalMetric(externalRequest(metric, selector, namespace));
      await external()
        .getExternalMetric(externalRequest(metric, '', namespace))
        .catch(() => undefined);
      assert.deepEqual(first, before);
    });

    it('honours the deadline: a request whose deadline has passed fails instead of being answered', async (t) => {
      if (!subject.waits) {
        t.diagnostic(`${name} answers from memory without waiting: no deadline applies`);
        return;
      }
      const { metric, selector, namespace } = subject.external;
      const gone = AbortSignal.abort(new Error('deadline passed'));
      await assert.rejects(
        Promise.resolve().then(() => external().getExternalMetric(externalRequest(metric, selector, namespace, gone))),
      );
    });
  });
}
