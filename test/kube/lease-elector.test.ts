import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { loadKubeConfig } from '../../src/kube/config.js';
import { LeaseElector } from '../../src/kube/lease-elector.js';
import { createLeaseStore, type LeaseStore } from '../../src/kube/leases.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { silentLogger } from '../../src/observability/logger.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

const NAMESPACE = 'metrics';
const LEASE = 'hpa-metrics-adapter';
const START = Date.parse('2026-12-07T08:00:00Z');

interface Lease {
  metadata: { resourceVersion: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

describe('Lease elector against kube-apiserver (coordination.k8s.io/v1)', () => {
  let double: KubeApiserverDouble;
  const transports: KubeTransport[] = [];
  let clock = START;

  before(async () => {
    double = await startKubeApiserverDouble();
  });
  after(async () => {
    for (const transport of transports) transport.close();
    await double.close();
  });
  afterEach(() => {
    double.leases.clear();
    double.writes.length = 0;
    double.failures.clear();
    clock = START;
  });

  /** A replica: its own service-account token (so the double says who wrote), store and elector. */
  async function replica(identity: string): Promise<{ store: LeaseStore; elector: LeaseElector; token: string }> {
    const token = `token-${identity}`;
    double.clientTokens.add(token);
    const loaded = loadKubeConfig(await double.writeKubeconfig(token, `${identity}.json`));
    assert.ok(loaded);
    const transport = new KubeTransport(loaded.kubeConfig);
    transports.push(transport);
    const store = createLeaseStore(transport, NAMESPACE, LEASE);
    const elector = new LeaseElector({ store, identity, logger: silentLogger(), now: () => clock });
    return { store, elector, token };
  }

  const stored = () => double.leases.get(`${NAMESPACE}/${LEASE}`) as Lease | undefined;
  const writesBy = (token: string) => double.writes.filter((w) => w.endpoint === 'leases' && w.token === token);

  it('creates the Lease when there is none and leads', async () => {
    const a = await replica('a');
    const changes: boolean[] = [];
    a.elector.subscribe((leading) => changes.push(leading));

    assert.equal(await a.elector.tryAcquireOrRenew(), true);

    assert.equal(a.elector.leading, true);
    assert.deepEqual(changes, [true]);
    const spec = stored()?.spec;
    assert.equal(spec?.holderIdentity, 'a');
    assert.equal(spec?.leaseDurationSeconds, 15);
    assert.equal(spec?.leaseTransitions, 0);
    assert.equal(spec?.acquireTime, '2026-12-07T08:00:00.000000Z');
    assert.deepEqual(
      writesBy(a.token).map((w) => [w.method, w.code]),
      [['POST', 201]],
    );
  });

  it('renews: same acquireTime, a later renewTime, a new resourceVersion', async () => {
    const a = await replica('a');
    await a.elector.tryAcquireOrRenew();
    const firstVersion = stored()?.metadata.resourceVersion;
    clock += 2000;

    assert.equal(await a.elector.tryAcquireOrRenew(), true);

    const lease = stored();
    assert.equal(lease?.spec.acquireTime, '2026-12-07T08:00:00.000000Z');
    assert.equal(lease?.spec.renewTime, '2026-12-07T08:00:02.000000Z');
    assert.equal(lease?.spec.leaseTransitions, 0);
    assert.notEqual(lease?.metadata.resourceVersion, firstVersion);
    assert.equal(a.elector.leading, true);
  });

  it('a candidate does not write while another replica holds an unexpired Lease', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.elector.tryAcquireOrRenew();
    clock += 14_000;

    assert.equal(await b.elector.tryAcquireOrRenew(), false);

    assert.equal(b.elector.leading, false);
    assert.deepEqual(writesBy(b.token), []);
    assert.equal(stored()?.spec.holderIdentity, 'a');
  });

  it('of two candidates writing from the same read, one wins and the other gets 409 and does not lead', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const c = await replica('c');
    await a.elector.tryAcquireOrRenew();
    await b.elector.tryAcquireOrRenew();
    await c.elector.tryAcquireOrRenew();
    clock += 16_000;
    const readByC = await c.store.get();
    assert.ok(readByC);
    const cRacing = new LeaseElector({
      store: { ...c.store, get: async () => readByC },
      identity: 'c',
      logger: silentLogger(),
      now: () => clock,
    });
    // c's view of the Lease (its observed time) starts from c's earlier read, as in the real race.
    await cRacing.tryAcquireOrRenew();
    double.writes.length = 0;
    clock += 16_000;

    assert.equal(await b.elector.tryAcquireOrRenew(), true);
    assert.equal(await cRacing.tryAcquireOrRenew(), false);

    assert.equal(stored()?.spec.holderIdentity, 'b');
    assert.equal(cRacing.leading, false);
    assert.deepEqual(
      writesBy(c.token).map((w) => [w.method, w.code]),
      [['PUT', 409]],
    );
  });

  it('takes over once the holder has not renewed for leaseDurationSeconds, counted from when the candidate saw the Lease change', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.elector.tryAcquireOrRenew();
    clock += 10_000;
    // b first sees the Lease now: the holder's renewTime (10 s ago) is another node's clock, not b's.
    assert.equal(await b.elector.tryAcquireOrRenew(), false);
    clock += 14_999;
    assert.equal(await b.elector.tryAcquireOrRenew(), false);
    clock += 2;

    assert.equal(await b.elector.tryAcquireOrRenew(), true);

    const spec = stored()?.spec;
    assert.equal(spec?.holderIdentity, 'b');
    assert.equal(spec?.leaseTransitions, 1);
    assert.equal(spec?.acquireTime, new Date(clock).toISOString().replace('Z', '000Z'));
    assert.equal(b.elector.leading, true);
    // The old holder, back, sees b's fresh Lease and does not lead.
    assert.equal(await a.elector.tryAcquireOrRenew(), false);
    assert.equal(a.elector.leading, false);
  });

  it('the holder stops leading when it could not renew for the renew deadline', async () => {
    const a = await replica('a');
    const changes: boolean[] = [];
    a.elector.subscribe((leading) => changes.push(leading));
    await a.elector.tryAcquireOrRenew();
    double.failures.set('leases', 503);
    clock += 5000;
    assert.equal(await a.elector.tryAcquireOrRenew(), false);
    assert.equal(a.elector.leading, true, 'one failed renewal within the deadline keeps the lead');
    clock += 5000;

    assert.equal(await a.elector.tryAcquireOrRenew(), false);

    assert.equal(a.elector.leading, false);
    assert.deepEqual(changes, [true, false]);
  });

  it('stop() releases the Lease and another replica takes it at once', async () => {
    const a = await replica('a');
    const b = await replica('b');
    await a.elector.tryAcquireOrRenew();
    assert.equal(await b.elector.tryAcquireOrRenew(), false);

    await a.elector.stop();

    assert.equal(a.elector.leading, false);
    assert.equal(stored()?.spec.holderIdentity, '');
    assert.equal(stored()?.spec.leaseDurationSeconds, 1);
    assert.equal(await b.elector.tryAcquireOrRenew(), true, 'no waiting for the Lease duration');
    assert.equal(stored()?.spec.holderIdentity, 'b');
  });

  it('a Lease the adapter may not read is a failed round, not a crash', async () => {
    const a = await replica('a');
    double.failures.set('leases', 403);

    assert.equal(await a.elector.tryAcquireOrRenew(), false);

    assert.equal(a.elector.leading, false);
  });

  it('refuses timings where another replica could take over before the holder stops leading', () => {
    const store = { name: 'x' } as LeaseStore;
    assert.throws(
      () =>
        new LeaseElector({
          store,
          identity: 'a',
          logger: silentLogger(),
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
        }),
      /longer than the renew deadline/,
    );
  });
});
