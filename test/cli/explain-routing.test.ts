import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_CREDENTIALS } from '../support/aws-backend-context.js';
import { SqsDouble } from '../support/aws-sqs-double.js';
import { type CertDir, createCertDir, issueServingCert } from '../support/certs.js';
import { explain } from '../support/explain.js';
import { type KedaLikeServer, startKedaLikeServer } from '../support/keda-like-server.js';

/**
 * `explain METRIC` follows the routing of a request, for every backend: it asks the router and
 * the upstream table serving builds from the config, so what it says is where a request goes.
 */

const BASE_CONFIG = fileURLToPath(new URL('../../deploy/base/config.yaml', import.meta.url));

describe('explain without --config: the built-in default config serving uses', () => {
  it('lists the static metrics', async () => {
    const { code, text } = await explain();
    assert.equal(code, 0, text);
    assert.match(text, /static backend: external metrics \(1\): demo-queue-depth/);
    assert.match(text, /static backend: custom metrics \(1\): pods\/demo_requests_per_second/);
  });

  it('explains a static external metric with the value a request gets', async () => {
    const { code, text } = await explain('demo-queue-depth', '--metric-selector', 'queue=jobs');
    assert.equal(code, 0, text);
    assert.match(text, /external metric demo-queue-depth: answered by our static backend/);
    assert.match(text, /value: 42 labels \{"queue":"jobs"\}/);
    assert.doesNotMatch(text, /value: 7/);
  });
});

describe('explain --config deploy/base/config.yaml (static metrics only)', () => {
  it('explains a static custom metric, taking the resource it is announced for', async () => {
    const { code, text } = await explain('--config', BASE_CONFIG, 'http_requests_per_second');
    assert.equal(code, 0, text);
    assert.match(text, /custom metric http_requests_per_second for pods: answered by our static backend/);
    assert.match(text, /value: default\/web-1 10/);
    assert.match(text, /value: default\/web-2 2\.5/);
  });

  it('runs without a METRIC', async () => {
    const { code, text } = await explain('--config', BASE_CONFIG);
    assert.equal(code, 0, text);
    assert.doesNotMatch(text, /no Prometheus is configured/);
  });

  it('says what a request for an unknown name gets, and exits 1', async () => {
    const { code, text } = await explain('--config', BASE_CONFIG, '--external', 'nobody');
    assert.equal(code, 1, text);
    assert.match(text, /a request gets 404 NotFound: external metric "nobody" is not served by any configured backend/);
  });
});

describe('explain with upstreams beside our backends', () => {
  let certs: CertDir;
  let keda: KedaLikeServer;
  let sqs: SqsDouble;
  let configPath: string;
  const saved = { ...process.env };

  before(async () => {
    certs = await createCertDir('explain-routing-');
    const ca = await certs.createCa('ca');
    keda = await startKedaLikeServer(await issueServingCert(ca), ['t']);
    // The upstream announces a name we serve (static), one SQS serves, and one of its own.
    keda.announced.push('demo-queue-depth', 'jobs-backlog', 'keda-only');
    sqs = await SqsDouble.start();
    sqs.setQueue('jobs', { visible: 5 });
    const token = await certs.writeText('token', 't');
    configPath = join(certs.dir, 'config.yaml');
    await writeFile(
      configPath,
      `static:
  external:
    - metric: demo-queue-depth
      series: [{ labels: { queue: jobs }, value: 42 }]
sqs:
  region: us-east-1
  endpoint: ${sqs.url}
  allowQueues: [jobs]
  metrics:
    - { name: jobs-backlog, queueNames: [jobs], include: [visible] }
upstreams:
  - name: keda
    url: ${keda.url}
    groupVersions: [external.metrics.k8s.io/v1beta1]
    caFile: ${ca.certPath}
    tokenFile: ${token}
`,
    );
    process.env.AWS_ACCESS_KEY_ID = TEST_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = TEST_CREDENTIALS.secretAccessKey;
  });

  after(async () => {
    process.env = saved;
    await keda.close();
    await sqs.close();
    await certs.cleanup();
  });

  it('a static metric the upstream announces too: ours answers it, never "forwarded", exit 0', async () => {
    const { code, text } = await explain('--config', configPath, '--external', 'demo-queue-depth');
    assert.equal(code, 0, text);
    assert.doesNotMatch(text, /forwarded to/);
    assert.doesNotMatch(text, /no upstream takes it/);
    assert.match(text, /external\.metrics\.k8s\.io\/v1beta1: not forwarded/);
    assert.match(text, /external metric demo-queue-depth: answered by our static backend/);
    assert.match(text, /value: 42/);
  });

  it('an SQS metric the upstream announces too: the SQS backend answers, with its AWS request', async () => {
    const { code, text } = await explain('--config', configPath, '--external', 'jobs-backlog');
    assert.equal(code, 0, text);
    assert.doesNotMatch(text, /forwarded to/);
    assert.match(text, /external metric jobs-backlog: answered by our sqs backend/);
    assert.match(
      text,
      /cache: ttl 20s, .*a value up to 2m0s past its ttl is answered while it reloads \(staleWhileRevalidate: at most 2m20s old/,
      'how fresh its answers are, the bound while the backend is busy included',
    );
    assert.match(text, /request: GetQueueAttributes/);
    assert.match(text, /value: 5 /);
  });

  it('a name only the upstream serves is forwarded', async () => {
    const { code, text } = await explain('--config', configPath, '--external', 'keda-only');
    assert.equal(code, 0, text);
    assert.match(text, /forwarded to "keda", which announces it in its discovery/);
  });
});

describe('explain while a Prometheus server was never discovered', () => {
  it('says the 503 a request gets, naming the server and its error, and exits 3', async () => {
    const certs = await createCertDir('explain-undiscovered-');
    try {
      const configPath = join(certs.dir, 'config.yaml');
      await writeFile(
        configPath,
        `prometheus:
  url: http://127.0.0.1:1
  externalRules:
  - seriesQuery: '{__name__="jobs_waiting",queue!=""}'
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)
`,
      );
      const { code, text } = await explain('--config', configPath, '--external', 'jobs_waiting');
      assert.equal(code, 3, text);
      assert.match(
        text,
        /a request gets 503 ServiceUnavailable: external metric "jobs_waiting" is unknown while discovery has never succeeded for prometheus server "default" \(http:\/\/127\.0\.0\.1:1\/?\): .*ECONNREFUSED/,
      );
    } finally {
      await certs.cleanup();
    }
  });
});
