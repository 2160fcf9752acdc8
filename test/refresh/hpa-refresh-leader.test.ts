import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadKubeConfig } from '../../src/kube/config.js';
import { LeaseElector } from '../../src/kube/lease-elector.js';
import { createLeaseStore, type LeaseStore } from '../../src/kube/leases.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { silentLogger } from '../../src/observability/logger.js';
import { metricValue } from '../cache/fakes.js';
import { hpaObject } from '../support/hpa-objects.js';
import { gauge } from '../support/prometheus-server.js';
import { QUEUE_DEPTH_CONFIG, type RefreshReplica } from '../support/refresh-replica.js';
import { refreshSuite } from '../support/refresh-suite.js';

const TTL_MS = 2_000;
// A short Lease, so a takeover comes within seconds: renew deadline 2/3 and retry 2/15 of it, as the adapter sets them.
const LEASE_MS = 3_000;

interface Candidate {
  name: string;
  elector: LeaseElector;
  replica: RefreshReplica;
  /** From now on every Lease read and write fails, as for a replica cut off from the API server (or hung). */
  cutOff(): void;
}

/**
 * `--hpa-refresh=leader`: two adapter replicas share the Lease of the kube-apiserver double; only
 * the holder refreshes the reads HPAs make, the other caches as requests come, and when the
 * holder is lost the other takes over the refreshes.
 */
describe('HPA-aware refresh by the Lease holder only (--hpa-refresh=leader)', () => {
  const suite = refreshSuite((range) =>
    ['q1', 'q2'].map((queue, i) => gauge('broker_queue_depth', { namespace: 'default', queue }, 10 + i, range)),
  );
  const transports: KubeTransport[] = [];
  const electors: LeaseElector[] = [];
  // The suite closes the replicas after the test; their electors and transports stop after that.
  after(async () => {
    for (const elector of electors) await elector.stop();
    for (const transport of transports) transport.close();
  });

  async function candidate(name: string): Promise<Candidate> {
    const token = `token-${name}`;
    suite.double.clientTokens.add(token);
    const loaded = loadKubeConfig(await suite.double.writeKubeconfig(token, `${name}.json`));
    assert.ok(loaded);
    const transport = new KubeTransport(loaded.kubeConfig);
    transports.push(transport);
    const lease = createLeaseStore(transport, 'default', 'hpa-metrics-adapter');
    let cut = false;
    const refuse = () => Promise.reject(new Error(`${name} is cut off from the API server`));
    const store: LeaseStore = {
      name: lease.name,
      get: (signal) => (cut ? refuse() : lease.get(signal)),
      create: (record, signal) => (cut ? refuse() : lease.create(record, signal)),
      update: (record, version, signal) => (cut ? refuse() : lease.update(record, version, signal)),
    };
    const elector = new LeaseElector({
      store,
      identity: name,
      logger: silentLogger(),
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: (LEASE_MS * 2) / 3,
      retryPeriodMs: (LEASE_MS * 2) / 15,
    });
    const replica = await suite.startReplica(QUEUE_DEPTH_CONFIG, { leadership: elector });
    electors.push(elector);
    elector.start();
    const started = {
      name,
      elector,
      replica,
      cutOff: () => {
        cut = true;
      },
    };
    return started;
  }

  const leading = (c: Candidate) => metricValue(c.replica.registry, 'hpa_metrics_adapter_hpa_refresh_leading', {});
  const refreshedInCache = (c: Candidate) =>
    metricValue(c.replica.registry, 'hpa_metrics_adapter_cache_requests_total', {
      backend: 'prometheus',
      result: 'refresh',
    });

  it('only the holder refreshes; the other caches as polls come; on holder loss the other takes over', async () => {
    suite.double.watch.put(
      hpaObject('default', 'checkout', [{ type: 'External', name: 'queue_depth', matchLabels: { queue: 'q1' } }]),
    );
    const [a, b] = await Promise.all([candidate('replica-a'), candidate('replica-b')]);
    assert.ok(a && b);
    await waitUntil(() => a.elector.leading || b.elector.leading, 10_000);
    const [holder, other] = a.elector.leading ? [a, b] : [b, a];
    assert.equal(other.elector.leading, false, 'one holder');
    await waitUntil(() => holder.replica.refresher.kept().length === 1 && other.replica.refresher.kept().length === 1);

    await sleep(2.5 * TTL_MS);
    assert.ok((await holder.replica.refreshes()) >= 2, 'the holder refreshes the read every TTL');
    assert.equal(await other.replica.refreshes(), 0, 'the other makes no refresh call');
    assert.equal(await refreshedInCache(other), 0, 'nor does its cache load anything for a refresh');
    assert.deepEqual([await leading(holder), await leading(other)], [1, 0]);
    assert.deepEqual(await holder.replica.poll('q1'), { result: 'hit', value: 10 }, 'a poll on the holder is a hit');
    assert.deepEqual(await other.replica.poll('q1'), { result: 'miss', value: 10 }, 'the other loads on demand');
    assert.deepEqual(await other.replica.poll('q1'), { result: 'hit', value: 10 }, 'and caches what it loaded');

    // The holder is cut off: it stops leading (renew deadline) and the other takes over once the Lease expires.
    holder.cutOff();
    await waitUntil(() => other.elector.leading, 4 * LEASE_MS);
    assert.equal(holder.elector.leading, false);
    const holderRefreshes = await holder.replica.refreshes();
    await waitUntil(async () => (await other.replica.refreshes()) > 0, 5_000);
    assert.deepEqual(await other.replica.poll('q1'), { result: 'hit', value: 10 }, 'the new holder warmed it at once');
    await sleep(2.5 * TTL_MS);
    assert.deepEqual(await other.replica.poll('q1'), { result: 'hit', value: 10 }, 'and keeps it warm past the TTL');
    assert.ok((await other.replica.refreshes()) >= 2, 'the new holder refreshes every TTL');
    assert.equal(
      await holder.replica.refreshes(),
      holderRefreshes,
      'the old holder, no longer leading, refreshes no more',
    );
    assert.deepEqual([await leading(holder), await leading(other)], [0, 1]);
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
}
