import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { type CertDir, createCertDir, issueServingCert } from '../support/certs.js';
import { aggregatedAdapterArgs } from '../support/cluster-harness.js';
import { freePort } from '../support/free-port.js';
import { hpaObject } from '../support/hpa-objects.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';
import { gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { QUEUE_DEPTH_CONFIG } from '../support/refresh-replica.js';

/**
 * `--hpa-refresh=leader` in the built adapter: two replicas (dist/main.js) share the Lease of one
 * kube-apiserver; only the holder refreshes the HPA's read (its /metrics say so); killed without
 * releasing it (SIGKILL), the other takes the Lease once it expires and refreshes.
 */

const LEASE_SECONDS = 3;

interface Replica {
  adapter: AdapterProcess;
  metricsPort: number;
}

/** Polls `check` until it returns a value, for at most `timeoutMs`. */
async function eventually<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A sample of the replica's /metrics (0 when the series is not there). */
async function sample(replica: Replica, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${replica.metricsPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

const refreshed = (replica: Replica) => sample(replica, 'hpa_metrics_adapter_hpa_refreshes_total{outcome="success"}');
const leading = (replica: Replica) => sample(replica, 'hpa_metrics_adapter_hpa_refresh_leading');

describe('--hpa-refresh=leader with two adapter replicas and a Lease', () => {
  let kube: KubeApiserverDouble;
  let certs: CertDir;
  let prometheus: PrometheusServer;
  const replicas: Replica[] = [];

  before(async () => {
    certs = await createCertDir('e2e-hpa-refresh-leader-');
    kube = await startKubeApiserverDouble({ certDir: certs });
    const end = Math.floor(Date.now() / 1000) + 3600;
    prometheus = await startPrometheus({
      series: [
        gauge('broker_queue_depth', { namespace: 'default', queue: 'q1' }, 10, { end, seconds: 4800, step: 240 }),
      ],
    });
    const frontProxyCa = await certs.createCa('front-proxy-ca');
    const serving = await issueServingCert(await certs.createCa('adapter-serving-ca'));
    const configPath = join(certs.dir, 'config.yaml');
    await writeFile(configPath, QUEUE_DEPTH_CONFIG);
    kube.watch.put(
      hpaObject('default', 'checkout', [{ type: 'External', name: 'queue_depth', matchLabels: { queue: 'q1' } }]),
    );
    for (const name of ['a', 'b']) {
      const token = `replica-${name}`;
      kube.clientTokens.add(token);
      const kubeconfigPath = await kube.writeKubeconfig(token, `${name}.json`);
      const metricsPort = await freePort();
      const adapter = await startAdapter({
        args: [
          ...aggregatedAdapterArgs({ configPath, serving, frontProxyCa, kubeconfigPath }),
          `--prometheus-url=${prometheus.url}`,
          '--hpa-refresh=leader',
          `--metrics-port=${metricsPort}`,
          '--leader-elect-resource-namespace=hpa-metrics-adapter',
          `--leader-elect-lease-duration=${LEASE_SECONDS}s`,
        ],
        timeoutMs: 60_000,
      });
      replicas.push({ adapter, metricsPort });
    }
  });
  after(async () => {
    for (const { adapter } of replicas) await adapter.stop('SIGKILL');
    await kube.close();
    await prometheus.stop();
    await certs.cleanup();
  });

  it('only the holder refreshes; killed, the other takes the Lease and refreshes', async () => {
    const [holder, standby] = await eventually('one replica refreshing', 30_000, async () => {
      const [a, b] = replicas as [Replica, Replica];
      const refreshing = [(await refreshed(a)) > 0, (await refreshed(b)) > 0];
      if (refreshing[0] === refreshing[1]) return undefined;
      return refreshing[0] ? [a, b] : [b, a];
    });
    // The holder refreshes the 2 s key about every second; the standby has tried the Lease every 0.4 s meanwhile.
    await new Promise((r) => setTimeout(r, 2 * LEASE_SECONDS * 1000));
    assert.ok((await refreshed(holder)) >= 3, 'the holder keeps refreshing');
    assert.equal(await refreshed(standby), 0, 'the standby has not refreshed once');
    assert.deepEqual([await leading(holder), await leading(standby)], [1, 0]);

    await holder.adapter.stop('SIGKILL');
    await eventually('the standby refreshing', (LEASE_SECONDS + 20) * 1000, async () =>
      (await refreshed(standby)) > 0 ? true : undefined,
    );
    assert.equal(await leading(standby), 1);
  });
});
