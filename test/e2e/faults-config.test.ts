import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adapterMetric, adapterRequest, eventually } from '../support/adapter-client.js';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { DEPLOYMENT_NODE_OPTIONS } from '../support/deployment-node-options.js';

/**
 * Someone ships a broken config (a bad ConfigMap edit, a truncated file): the adapter keeps
 * serving the config it has, and says so where on-call looks — its /metrics and its log —
 * until a good file arrives, which it then picks up without a restart.
 */

const configWith = (value: number) => `
static:
  external:
    - metric: queue-depth
      series:
        - { labels: { queue: jobs }, value: ${value} }
`;

const GARBAGE: { name: string; text: string | Buffer }[] = [
  { name: 'truncated YAML', text: configWith(43).slice(0, -12) },
  { name: 'random bytes', text: randomBytes(4096) },
  { name: 'valid YAML that is not a config', text: 'static:\n  external:\n    - metric: "Not a metric name!"\n' },
  { name: 'an empty file', text: '' },
  { name: 'only comments', text: '# emptied by a bad ConfigMap edit\n' },
  { name: 'no backend section', text: 'cache:\n  default: { ttl: 20s }\n' },
  { name: 'a valid 2.5 MB config', text: hugeConfig(2.5 * 1024 * 1024) },
  // Its shape is valid: the pattern is compiled (and refused) only when the new backend is built.
  {
    name: 'a rule whose pattern does not compile',
    text: `${configWith(45)}prometheus:\n  url: http://127.0.0.1:9\n  externalRules:\n  - seriesQuery: up\n    metricsQuery: sum(<<.Series>>)\n    name: { matches: '(' }\n`,
  },
];

/** A config the schema accepts, of `bytes` bytes: one static metric with very many series. */
function hugeConfig(bytes: number): string {
  const lines = [configWith(44).trimEnd()];
  let size = lines[0]?.length ?? 0;
  for (let i = 0; size < bytes; i++) {
    const line = `        - { labels: { queue: jobs-${i} }, value: ${i} }`;
    lines.push(line);
    size += line.length + 1;
  }
  return `${lines.join('\n')}\n`;
}

const QUEUE_DEPTH = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue-depth?labelSelector=queue%3Djobs';

let adapter: AdapterProcess;
let dir: string;
let configPath: string;

/** Replaces the file the way editors and ConfigMap volumes do: a new file renamed over the old one. */
async function replaceConfig(text: string | Buffer): Promise<void> {
  const next = join(dir, `.config-${Date.now()}.tmp`);
  await writeFile(next, text);
  await rename(next, configPath);
}

const reloads = async (outcome: 'success' | 'failure') =>
  (await adapterMetric(adapter.port, 'hpa_metrics_adapter_config_reloads_total', { outcome })) ?? 0;
const lastReloadSuccessful = () => adapterMetric(adapter.port, 'hpa_metrics_adapter_config_last_reload_successful');
const servedValue = async () => {
  const answer = await adapterRequest(adapter.port, QUEUE_DEPTH);
  assert.equal(answer.status, 200, answer.text);
  return answer.body.items[0].value as string;
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faults-config-'));
  configPath = join(dir, 'config.yaml');
  await writeFile(configPath, configWith(42));
  adapter = await startAdapter({
    args: ['--secure-port=0', `--config=${configPath}`],
    env: { NODE_OPTIONS: DEPLOYMENT_NODE_OPTIONS },
  });
});

after(async () => {
  await adapter?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('config file replaced by garbage', () => {
  it('keeps serving the running config and reports the failed reload, until a good file arrives', async (t) => {
    assert.equal(await servedValue(), '42');
    assert.equal(await lastReloadSuccessful(), 1);

    for (const garbage of GARBAGE) {
      const failuresBefore = await reloads('failure');
      await replaceConfig(garbage.text);
      await eventually(`a failed reload after ${garbage.name}`, async () =>
        (await reloads('failure')) > failuresBefore ? true : undefined,
      );
      assert.equal(await lastReloadSuccessful(), 0, `${garbage.name}: the gauge on-call alerts on`);
      assert.equal(await servedValue(), '42', `${garbage.name}: the old config keeps serving`);
      const discovery = await adapterRequest(adapter.port, '/apis/external.metrics.k8s.io/v1beta1');
      assert.deepEqual(
        discovery.body.resources.map((r: { name: string }) => r.name),
        ['queue-depth', 'discovery-placeholder'],
      );
    }
    const refused = adapter.logs.filter((l) => l.msg === 'config reload refused; the previous config keeps serving');
    assert.ok(refused.length >= GARBAGE.length, 'each refusal is logged');
    assert.ok(
      refused.every((l) => l.path === configPath && typeof l.err === 'string' && l.err.length > 0),
      JSON.stringify(refused),
    );

    for (const l of refused) t.diagnostic(`logged: ${String(l.err).slice(0, 160)}`);

    const failuresBefore = await reloads('failure');
    adapter.child.kill('SIGHUP');
    await eventually('SIGHUP reloads the garbage again, and refuses it', async () =>
      (await reloads('failure')) > failuresBefore ? true : undefined,
    );
    assert.equal(adapter.child.exitCode, null, 'the process is alive');
    assert.equal(await servedValue(), '42');

    await replaceConfig(configWith(43));
    await eventually('the good config serving', async () => ((await servedValue()) === '43' ? true : undefined));
    assert.equal(await lastReloadSuccessful(), 1);
  });
});
