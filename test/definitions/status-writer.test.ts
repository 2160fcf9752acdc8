import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import type { DefinitionState, DefinitionStates } from '../../src/definitions/state.js';
import { type HpaSource, StatusWriter, type WriteLeadership } from '../../src/definitions/status-writer.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import type { HpaChange, HpaSummary } from '../../src/kube/hpa-informer.js';
import { createStatusSubresource, type StatusSubresource } from '../../src/kube/status-subresource.js';
import { KubeTransport } from '../../src/kube/transport.js';
import { silentLogger } from '../../src/observability/logger.js';
import { type KubeApiserverDouble, startKubeApiserverDouble } from '../support/kube-apiserver-double.js';

const DEFINITIONS = { group: 'hpa-metrics-adapter.io', version: 'v1alpha1', resource: 'metricdefinitions' };
const START = Date.parse('2026-12-07T08:00:00Z');

/** The adapter's side: definition states and their change events, as src/definitions keeps them. */
function stateBook() {
  const states = new Map<string, DefinitionState>();
  const listeners = new Set<Parameters<DefinitionStates['subscribe']>[0]>();
  const inputs: DefinitionStates = {
    list: () => [...states.values()],
    get: (namespace, name) => states.get(`${namespace}/${name}`),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    inputs,
    set(state: DefinitionState) {
      states.set(`${state.namespace}/${state.name}`, state);
      for (const listener of listeners) listener({ type: 'set', state });
    },
  };
}

function hpaSource(): HpaSource & { add(hpa: HpaSummary): void } {
  const held: HpaSummary[] = [];
  const listeners = new Set<(change: HpaChange) => void>();
  return {
    hpas: () => held.values(),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    add(hpa) {
      held.push(hpa);
      for (const listener of listeners) listener({ type: 'upsert', hpa });
    },
  };
}

function leadership(initially: boolean): WriteLeadership & { set(leading: boolean): void } {
  const listeners = new Set<(leading: boolean) => void>();
  let leading = initially;
  return {
    get leading() {
      return leading;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    set(value) {
      leading = value;
      for (const listener of listeners) listener(value);
    },
  };
}

const valid = (value: number, extra: Partial<DefinitionState> = {}): DefinitionState => ({
  namespace: 'team-a',
  name: 'jobs',
  generation: 2,
  resourceVersion: '1',
  metric: 'jobs',
  reason: 'Valid',
  message: 'served as external metric "jobs" in namespace "team-a"',
  lastValue: value,
  lastValueTime: new Date(START - 5000),
  ...extra,
});

describe('definition status writer against kube-apiserver (status subresource)', () => {
  let double: KubeApiserverDouble;
  let transport: KubeTransport;
  let statuses: StatusSubresource;
  let clock: number;
  let writer: StatusWriter | undefined;
  let registry: Registry;

  before(async () => {
    double = await startKubeApiserverDouble();
    const loaded = loadKubeConfig(double.kubeconfigPath);
    assert.ok(loaded);
    transport = new KubeTransport(loaded.kubeConfig);
    statuses = createStatusSubresource(transport, DEFINITIONS);
  });
  after(async () => {
    transport.close();
    await double.close();
  });
  beforeEach(() => {
    clock = START;
    registry = new Registry();
    double.watch.put({ ...DEFINITIONS, namespace: 'team-a', name: 'jobs', generation: 2, spec: { metric: 'jobs' } });
  });
  afterEach(async () => {
    await writer?.close();
    writer = undefined;
    double.objects.length = 0;
    double.writes.length = 0;
    double.failures.clear();
    double.calls.status = 0;
  });

  function start(
    book: ReturnType<typeof stateBook>,
    options: { leading?: WriteLeadership; hpas?: HpaSource; statuses?: StatusSubresource } = {},
  ): StatusWriter {
    writer = new StatusWriter({
      inputs: book.inputs,
      statuses: options.statuses ?? statuses,
      leadership: options.leading ?? leadership(true),
      ...(options.hpas ? { hpas: options.hpas } : {}),
      logger: silentLogger(),
      registry,
      now: () => clock,
    });
    return writer;
  }

  const storedStatus = () => double.objects.find((o) => o.name === 'jobs')?.status as Record<string, unknown>;
  const statusWrites = () => double.writes.filter((w) => w.endpoint === 'status').map((w) => [w.method, w.code]);
  const counted = async (result: string) =>
    (await registry.getSingleMetric('hpa_metrics_adapter_definition_status_writes_total')?.get())?.values.find(
      (v) => v.labels.result === result,
    )?.value ?? 0;

  it('writes observedGeneration, the Ready condition, the value, its time and the HPAs that use it', async () => {
    const book = stateBook();
    const hpas = hpaSource();
    hpas.add({
      namespace: 'team-a',
      name: 'workers',
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'workers' },
      metrics: [{ type: 'External', metric: { name: 'jobs' } }],
    });
    hpas.add({
      namespace: 'team-b',
      name: 'other',
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'other' },
      metrics: [{ type: 'External', metric: { name: 'jobs' } }],
    });
    book.set(valid(1.5));

    await start(book, { hpas }).flush();

    assert.deepEqual(statusWrites(), [['PUT', 200]]);
    assert.deepEqual(storedStatus(), {
      observedGeneration: 2,
      metric: 'jobs',
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Valid',
          message: 'served as external metric "jobs" in namespace "team-a"',
          lastTransitionTime: '2026-12-07T08:00:00Z',
          observedGeneration: 2,
        },
      ],
      value: '1500m',
      valueTime: '2026-12-07T07:59:55Z',
      hpas: ['workers'],
    });
  });

  it('writes nothing, and reads nothing, when the state is set again unchanged', async () => {
    const book = stateBook();
    book.set(valid(42));
    await start(book).flush();
    const calls = double.calls.status;
    clock += 60_000;

    book.set(valid(42));
    book.set(valid(42));
    await writer?.flush();

    assert.deepEqual(statusWrites(), [['PUT', 200]]);
    assert.equal(double.calls.status, calls, 'no GET either');
  });

  it('writes an object at most once per 30 s, the latest state when its turn comes', async () => {
    const book = stateBook();
    book.set(valid(1));
    await start(book).flush();
    clock += 10_000;
    book.set(valid(2));
    await writer?.flush();
    clock += 19_999;
    book.set(valid(3));
    await writer?.flush();
    assert.deepEqual(statusWrites(), [['PUT', 200]], 'nothing before the turn');

    clock += 1;
    await writer?.flush();

    assert.deepEqual(statusWrites(), [
      ['PUT', 200],
      ['PUT', 200],
    ]);
    assert.equal(storedStatus().value, '3');
  });

  it('on 409 reads the object again and writes with its new resourceVersion', async () => {
    const book = stateBook();
    book.set(valid(7));
    let raced = false;
    // Another writer changes the object between this writer's read and its write.
    const racing: StatusSubresource = {
      async read(namespace, name) {
        const read = await statuses.read(namespace, name);
        if (!raced && read) {
          raced = true;
          const object = double.objects.find((o) => o.name === name);
          assert.ok(object);
          double.watch.put({ ...object, labels: { touched: 'yes' } });
        }
        return read;
      },
      replace: (read, status) => statuses.replace(read, status),
    };

    await start(book, { statuses: racing }).flush();

    assert.deepEqual(statusWrites(), [
      ['PUT', 409],
      ['PUT', 200],
    ]);
    assert.equal(storedStatus().value, '7');
    assert.equal(await counted('conflict'), 1);
  });

  it('a failing write is counted and tried again at the next turn, never thrown', async () => {
    const book = stateBook();
    book.set(valid(5));
    double.failures.set('status', 500);

    await start(book).flush();

    assert.equal(await counted('failed'), 1);
    assert.equal(storedStatus(), undefined);
    double.failures.clear();
    clock += 29_000;
    await writer?.flush();
    assert.equal(storedStatus(), undefined, 'not before its turn');
    clock += 1000;
    await writer?.flush();
    assert.equal(storedStatus().value, '5');
  });

  it('writes only while holding the Lease, and a new holder writes only what differs', async () => {
    const book = stateBook();
    const lease = leadership(false);
    book.set(valid(9));
    await start(book, { leading: lease }).flush();
    assert.equal(double.calls.status, 0, 'no read, no write without the Lease');

    lease.set(true);
    await writer?.flush();
    assert.deepEqual(statusWrites(), [['PUT', 200]]);
    await writer?.close();

    // Another replica takes over: the object says what its state says, so it only reads.
    const successor = leadership(false);
    start(book, { leading: successor });
    successor.set(true);
    await writer?.flush();
    assert.deepEqual(statusWrites(), [['PUT', 200]]);
    assert.equal(await counted('unchanged'), 1);
  });

  it('keeps lastTransitionTime while Ready stays, moves it when Ready flips', async () => {
    const book = stateBook();
    book.set(valid(1));
    await start(book).flush();
    clock += 30_000;
    book.set(valid(2));
    await writer?.flush();
    const conditionOf = () => (storedStatus().conditions as { lastTransitionTime: string; status: string }[])[0];
    assert.equal(conditionOf()?.lastTransitionTime, '2026-12-07T08:00:00Z');

    clock += 30_000;
    book.set(
      valid(2, {
        reason: 'BackendError' as const,
        message: 'Prometheus answered 503',
        lastError: 'Prometheus answered 503',
      }),
    );
    await writer?.flush();

    assert.equal(conditionOf()?.status, 'False');
    assert.equal(conditionOf()?.lastTransitionTime, '2026-12-07T08:01:00Z');
    assert.equal(storedStatus().lastError, 'Prometheus answered 503');
  });

  it('an HPA that starts using the metric is a change', async () => {
    const book = stateBook();
    const hpas = hpaSource();
    book.set(valid(1));
    await start(book, { hpas }).flush();
    assert.deepEqual(storedStatus().hpas, []);
    clock += 30_000;

    hpas.add({
      namespace: 'team-a',
      name: 'workers',
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'workers' },
      metrics: [{ type: 'External', metric: { name: 'jobs' } }],
    });
    await writer?.flush();

    assert.deepEqual(storedStatus().hpas, ['workers']);
  });

  it('a definition deleted before its write is left alone', async () => {
    const book = stateBook();
    book.set(valid(1, { name: 'gone' }));

    await start(book).flush();

    assert.deepEqual(statusWrites(), []);
    assert.equal(await counted('gone'), 1);
  });
});
