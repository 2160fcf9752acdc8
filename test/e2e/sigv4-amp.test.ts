import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { adapterRequest } from '../support/adapter-client.js';
import { type AdapterOnPrometheus, startAdapterOnPrometheus } from '../support/adapter-on-prometheus.js';
import { type AdapterProcess, startAdapter } from '../support/adapter-process.js';
import { gauge, type PrometheusServer, startPrometheus } from '../support/prometheus-server.js';
import { type SigV4Verifier, startSigV4Verifier } from '../support/sigv4-verifier.js';

/**
 * An EKS adapter reading Amazon Managed Service for Prometheus, without a signing proxy: the
 * built adapter process signs its calls to an AMP stand-in (test/support/sigv4-verifier.ts) that
 * checks every signature and passes the good calls to a real Prometheus. The credentials come
 * through the SDK's default chain from a shared credentials file, as a profile, IRSA's web
 * identity or Pod Identity would give them; none are in the process environment.
 */

const CREDENTIALS = {
  accessKeyId: 'AKIAI44QH8DHBEXAMPLE',
  secretAccessKey: 'je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY',
  sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE/token==',
};
const REGION = 'eu-west-1';

const config = (region: string) => `
prometheus:
  auth:
    sigv4: { region: ${region} }
  externalRules:
  - seriesQuery: '{__name__="amp_queue_depth",queue!=""}'
    name: {as: queue_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`;

const queueDepth = (selector: string) =>
  `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth?labelSelector=${encodeURIComponent(selector)}`;

let prometheus: PrometheusServer;
let verifier: SigV4Verifier;
let dir: string;
let env: Record<string, string | undefined>;
const adapters: AdapterOnPrometheus[] = [];
const processes: AdapterProcess[] = [];

async function adapterSigningFor(region: string): Promise<AdapterOnPrometheus> {
  const served = await startAdapterOnPrometheus({
    config: config(region),
    prometheusUrl: verifier.url,
    args: ['--metrics-max-age=1h'],
    env,
  });
  adapters.push(served);
  return served;
}

before(async () => {
  const now = Math.floor(Date.now() / 1000);
  const range = { end: now + 900, seconds: 2700 };
  prometheus = await startPrometheus({
    series: [
      gauge('amp_queue_depth', { namespace: 'default', queue: 'jobs' }, 42, range),
      gauge('amp_queue_depth', { namespace: 'default', queue: 'mail' }, 8, range),
    ],
  });
  verifier = await startSigV4Verifier({ upstream: prometheus.url, region: REGION, ...CREDENTIALS });
  dir = await mkdtemp(join(tmpdir(), 'sigv4-amp-'));
  const credentialsFile = join(dir, 'credentials');
  await writeFile(
    credentialsFile,
    `[amp-reader]\naws_access_key_id = ${CREDENTIALS.accessKeyId}\naws_secret_access_key = ${CREDENTIALS.secretAccessKey}\naws_session_token = ${CREDENTIALS.sessionToken}\n`,
  );
  env = {
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_REGION: undefined,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_PROFILE: 'amp-reader',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
});

after(async () => {
  for (const served of adapters) await served.close();
  for (const adapter of processes) await adapter.stop();
  await verifier?.close();
  await prometheus?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the adapter reading Amazon Managed Service for Prometheus with SigV4', () => {
  it('discovers and answers external metrics through the signature check, by GET and by the automatic POST', async () => {
    const { adapter } = await adapterSigningFor(REGION);
    const discovery = verifier.requests.filter((r) => r.path.endsWith('/api/v1/series'));
    assert.ok(discovery.length > 0, 'series discovery went through the verifier');
    assert.deepEqual(
      discovery.map((r) => r.verdict),
      discovery.map(() => 'ok'),
    );

    const one = await adapterRequest(adapter.port, queueDepth('queue=jobs'));
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(
      one.body.items.map((item: { value: string }) => item.value),
      ['42'],
    );

    // Long enough names to make the query string pass 4 KiB, within the selector's 4096 characters
    // and 100 values: the client sends a form POST.
    const others = Array.from({ length: 94 }, (_, i) => `absent-queue-${String(i).padStart(3, '0')}`.padEnd(42, '-x'));
    const many = await adapterRequest(adapter.port, queueDepth(`queue in (mail,${others.join(',')})`));
    assert.equal(many.status, 200, many.text);
    assert.deepEqual(
      many.body.items.map((item: { value: string }) => item.value),
      ['8'],
    );

    const queries = verifier.requests.filter((r) => r.path.endsWith('/api/v1/query'));
    assert.deepEqual(
      queries.map((r) => [r.method, r.verdict]),
      [
        ['GET', 'ok'],
        ['POST', 'ok'],
      ],
    );
    for (const query of queries) assert.ok(query.signedHeaders.includes('x-amz-security-token'));
  });

  it('signing for the wrong region: discovery fails naming the signature check, metric reads are 503 Statuses naming it', async () => {
    const wrongRegion = await adapterSigningFor('us-east-1');
    const { adapter } = wrongRegion;
    const failed = adapter.logs.find((entry) => entry.msg === 'series discovery failed');
    assert.match(String(failed?.err), /Credential should be scoped to a valid region/, JSON.stringify(adapter.logs));
    assert.match(String(failed?.err), /check SigV4 \(region us-east-1, service aps\)/);
    // Its metrics were never discovered: a read is a 503 with AMP's words, not a 404 sending the user to the rules.
    const undiscovered = await adapterRequest(adapter.port, queueDepth('queue=jobs'));
    assert.equal(undiscovered.status, 503, undiscovered.text);
    assert.match(
      undiscovered.body.message,
      /discovery has never succeeded for prometheus server "default" \(http:.*\): .*HTTP 403.*Credential should be scoped to a valid region/,
    );

    // An adapter that discovered its metrics, then signs for a region its workspace is not in.
    const { adapter: discovered } = await adapterSigningFor(REGION);
    verifier.expectRegion('eu-central-1');
    try {
      const answer = await adapterRequest(discovered.port, queueDepth('queue=mail'));
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.body.kind, 'Status');
      assert.equal(answer.body.reason, 'ServiceUnavailable');
      assert.match(answer.body.message, /HTTP 403/);
      assert.match(answer.body.message, /Credential should be scoped to a valid region/);
      assert.match(answer.body.message, new RegExp(`check SigV4 \\(region ${REGION}, service aps\\)`));
    } finally {
      verifier.expectRegion(REGION);
      // Its discovery retries every 5 s; stopped here, none of its refused calls reach the next test's verifier.
      await wrongRegion.close();
    }
  });

  it('prometheus.servers: the AMP server signs, the in-cluster one does not, each rule answered from its own', async () => {
    verifier.requests.length = 0;
    const configPath = join(dir, 'servers.yaml');
    await writeFile(
      configPath,
      `
prometheus:
  servers:
    - name: in-cluster
      url: ${prometheus.url}
    - name: amp
      url: ${verifier.url}
      auth: { sigv4: { region: ${REGION} } }
  externalRules:
  - seriesQuery: '{__name__="amp_queue_depth",queue="jobs"}'
    name: {as: local_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
  - seriesQuery: '{__name__="amp_queue_depth",queue="mail"}'
    server: amp
    name: {as: amp_depth}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`,
    );
    const adapter = await startAdapter({
      args: ['--secure-port=0', `--config=${configPath}`, '--metrics-max-age=1h'],
      env,
    });
    processes.push(adapter);
    const value = async (metric: string, queue: string) => {
      const answer = await adapterRequest(
        adapter.port,
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/default/${metric}?labelSelector=queue%3D${queue}`,
      );
      assert.equal(answer.status, 200, answer.text);
      return answer.body.items.map((item: { value: string }) => item.value);
    };
    assert.deepEqual(await value('local_depth', 'jobs'), ['42']);
    assert.deepEqual(await value('amp_depth', 'mail'), ['8']);
    assert.deepEqual(
      verifier.requests.map((r) => [r.path.replace(/.*\/api\/v1\//, ''), r.verdict]),
      [
        ['series', 'ok'],
        ['query', 'ok'],
      ],
      'only the amp server went through the verifier, signed',
    );
  });
});
