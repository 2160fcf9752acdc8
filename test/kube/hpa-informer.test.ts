import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { loadKubeConfig } from '../../src/kube/config.js';
import { type HpaChange, HpaInformer } from '../../src/kube/hpa-informer.js';
import type { InformerEvents } from '../../src/kube/list-watch-informer.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { capturingLogger } from '../support/capturing-logger.js';
import { hpaObject } from '../support/hpa-objects.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

describe('HPA informer: autoscaling/v2 HorizontalPodAutoscalers, LIST then WATCH', () => {
  let double: KubeApiserverDouble;
  let informer: HpaInformer | undefined;
  let transport: KubeTransport | undefined;
  const forbidden: string[] = [];

  before(async () => {
    double = await startKubeApiserverDouble();
  });
  after(() => double.close());
  afterEach(async () => {
    await informer?.close();
    transport?.close();
    informer = undefined;
    double.objects.length = 0;
    double.forbiddenResources.clear();
    forbidden.length = 0;
  });

  function start(): { informer: HpaInformer; changes: HpaChange[] } {
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    transport = new KubeTransport(loaded.kubeConfig);
    const events: InformerEvents = {
      relisted() {},
      watchRestarted() {},
      forbidden: (message) => forbidden.push(message),
      overCap() {},
    };
    const started = new HpaInformer({
      transport,
      logger: capturingLogger().logger,
      events,
      timings: { backoffInitialMs: 20, backoffMaxMs: 100, forbiddenRetryMs: 60_000 },
    });
    const changes: HpaChange[] = [];
    started.subscribe((change) => changes.push(change));
    started.start();
    informer = started;
    return { informer: started, changes };
  }

  async function caughtUp(hpas: HpaInformer): Promise<void> {
    await waitUntil(() => hpas.health() === 'serving' && hpas.resourceVersion === double.watch.resourceVersion);
  }

  it('keeps what decides the controller reads, and follows create, a changed metric and delete', async () => {
    double.watch.put(
      hpaObject('shop', 'checkout', [{ type: 'External', name: 'queue_depth', matchLabels: { queue: 'orders' } }]),
    );
    const { informer: hpas, changes } = start();
    await caughtUp(hpas);
    assert.deepEqual(
      [...hpas.hpas()],
      [
        {
          namespace: 'shop',
          name: 'checkout',
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' },
          minReplicas: 1,
          metrics: [
            { type: 'External', metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'orders' } } } },
          ],
        },
      ],
    );
    assert.deepEqual(changes, [{ type: 'replaced' }]);

    double.watch.put(hpaObject('shop', 'web', [{ type: 'Pods', name: 'http_requests' }]));
    double.watch.put(
      hpaObject('shop', 'checkout', [{ type: 'External', name: 'queue_depth', matchLabels: { queue: 'returns' } }]),
    );
    await caughtUp(hpas);
    assert.equal(hpas.size, 2);
    const checkout = [...hpas.hpas()].find((h) => h.name === 'checkout');
    assert.deepEqual(checkout?.metrics[0], {
      type: 'External',
      metric: { name: 'queue_depth', selector: { matchLabels: { queue: 'returns' } } },
    });

    double.watch.remove({ group: 'autoscaling', resource: 'horizontalpodautoscalers', namespace: 'shop', name: 'web' });
    await caughtUp(hpas);
    assert.deepEqual(
      changes.map((c) =>
        c.type === 'upsert' ? `upsert ${c.hpa.name}` : c.type === 'delete' ? `delete ${c.name}` : c.type,
      ),
      ['replaced', 'upsert web', 'upsert checkout', 'delete web'],
    );
    assert.deepEqual(
      [...hpas.hpas()].map((h) => h.name),
      ['checkout'],
    );
  });

  it('leaves out Resource metrics, which are not served here', async () => {
    double.watch.put(
      hpaObject('shop', 'cpu', [
        { type: 'Resource', name: 'cpu' },
        {
          type: 'Object',
          name: 'requests_per_second',
          describedObject: { apiVersion: 'v1', kind: 'Service', name: 'web' },
        },
      ]),
    );
    const { informer: hpas } = start();
    await caughtUp(hpas);
    assert.deepEqual([...hpas.hpas()][0]?.metrics, [
      {
        type: 'Object',
        describedObject: { apiVersion: 'v1', kind: 'Service', name: 'web' },
        metric: { name: 'requests_per_second' },
      },
    ]);
  });

  it('without RBAC to list HPAs, says so once and holds nothing', async () => {
    double.forbiddenResources.add('horizontalpodautoscalers.autoscaling');
    const { informer: hpas } = start();
    await waitUntil(() => hpas.health() === 'watch_forbidden');
    assert.equal(forbidden.length, 1);
    assert.match(forbidden[0] ?? '', /forbidden/);
    assert.equal(hpas.size, 0);
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
