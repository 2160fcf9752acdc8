import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsCredentialSources } from '../../../src/providers/aws/credential-sources.js';
import { createPrometheusClient, type PrometheusClient } from '../../../src/providers/prometheus/client.js';
import { sigV4Signer } from '../../../src/providers/prometheus/sigv4.js';
import { CredentialsEndpoint } from '../../support/aws-credentials-endpoint.js';
import { StsDouble } from '../../support/aws-sts-double.js';
import { gauge, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';
import { type SigV4Verifier, startSigV4Verifier } from '../../support/sigv4-verifier.js';

/**
 * The signer's credentials from EKS Pod Identity, through the SDK's default chain unchanged: the
 * agent's endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, here on loopback as the SDK allows) hands
 * out short-lived credentials, each a new key the AMP stand-in accepts. This process has no other
 * credentials: no key variables, no shared files, no instance metadata.
 */
const POD_IDENTITY_TOKEN = 'eks-pod-identity-token-example';

for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_ROLE_ARN'])
  delete process.env[name];
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const now = Math.floor(Date.now() / 1000);
let prometheus: PrometheusServer;
let verifier: SigV4Verifier;
let agent: CredentialsEndpoint;
let dir: string;
let sts: StsDouble;
let issued: CredentialsEndpoint['issued'];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sigv4-pod-identity-'));
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'no-credentials');
  process.env.AWS_CONFIG_FILE = join(dir, 'no-config');
  const tokenFile = join(dir, 'eks-pod-identity-token');
  await writeFile(tokenFile, POD_IDENTITY_TOKEN);
  process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE = tokenFile;

  prometheus = await startPrometheus({
    series: [gauge('amp_queue_depth', { queue: 'jobs' }, 3, { end: now + 900, seconds: 2700 })],
  });
  verifier = await startSigV4Verifier({ upstream: prometheus.url, region: 'eu-west-1' });
  agent = await CredentialsEndpoint.start();
  agent.onIssue = (credentials) => verifier.accept(credentials);
  issued = agent.issued;
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = agent.url;
  sts = await StsDouble.start();
  process.env.AWS_ENDPOINT_URL_STS = sts.url;
});

after(async () => {
  await agent?.close();
  await sts?.close();
  await verifier?.close();
  await prometheus?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A client with credential sources of its own: the process's would keep one test's credentials for the next. */
function client(roleArn?: string): PrometheusClient {
  return createPrometheusClient({
    url: verifier.url,
    timeoutMs: 5000,
    signer: sigV4Signer(
      { region: 'eu-west-1', service: 'aps', ...(roleArn ? { roleArn } : {}) },
      new AwsCredentialSources(),
    ),
  });
}

async function queryValue(prometheusClient: PrometheusClient): Promise<number | undefined> {
  const result = await prometheusClient.query('sum(amp_queue_depth)', new Date(now * 1000));
  return result.samples[0]?.value;
}

describe('SigV4 with EKS Pod Identity credentials from the default chain', () => {
  it('signs with the agent credentials, fetched once with the pod token and kept while they are fresh', async () => {
    issued.length = 0;
    verifier.requests.length = 0;
    agent.lifetimeMs = 3_600_000;
    const signed = client();
    try {
      assert.equal(await queryValue(signed), 3);
      assert.equal(await queryValue(signed), 3);
    } finally {
      signed.close();
    }
    assert.deepEqual(issued, [{ accessKeyId: 'ASIAPODIDENTITY1', authorization: POD_IDENTITY_TOKEN }]);
    assert.deepEqual(
      verifier.requests.map((r) => [r.accessKeyId, r.verdict]),
      [
        ['ASIAPODIDENTITY1', 'ok'],
        ['ASIAPODIDENTITY1', 'ok'],
      ],
    );
  });

  it('renews credentials before they expire: ones with four minutes left are replaced, no call fails', async () => {
    issued.length = 0;
    verifier.requests.length = 0;
    agent.lifetimeMs = 4 * 60_000;
    const signed = client();
    try {
      assert.equal(await queryValue(signed), 3);
      agent.lifetimeMs = 3_600_000;
      assert.equal(await queryValue(signed), 3);
      // The chain renews in the background while the current credentials still sign.
      for (let i = 0; i < 50 && issued.length < 2; i++) await sleep(10);
      assert.equal(await queryValue(signed), 3);
    } finally {
      signed.close();
    }
    assert.equal(issued.length, 2, JSON.stringify(issued));
    const keys = verifier.requests.map((r) => r.accessKeyId);
    assert.equal(keys.at(-1), issued[1]?.accessKeyId, `the last call is signed with the renewed key: ${keys}`);
    assert.ok(verifier.requests.every((r) => r.verdict === 'ok'));
  });
});

describe('SigV4 with an assumed role (a workspace in another account)', () => {
  const ROLE = 'arn:aws:iam::444455556666:role/amp-query';

  it("signs with the role's credentials, assumed once with the chain's and kept while fresh", async () => {
    issued.length = 0;
    verifier.requests.length = 0;
    agent.lifetimeMs = 3_600_000;
    for (let n = 1; n <= 3; n++)
      verifier.accept({ accessKeyId: `ASIATEST${n}`, secretAccessKey: 'secret', sessionToken: `token-ASIATEST${n}` });
    const signed = client(ROLE);
    try {
      assert.equal(await queryValue(signed), 3);
      assert.equal(await queryValue(signed), 3);
    } finally {
      signed.close();
    }
    assert.deepEqual(
      sts.calls.map((c) => [c.roleArn, c.sessionName]),
      [[ROLE, 'hpa-metrics-adapter']],
    );
    assert.equal(issued.length, 1, 'AssumeRole was signed with the Pod Identity credentials');
    assert.deepEqual(
      verifier.requests.map((r) => [r.accessKeyId, r.verdict]),
      [
        ['ASIATEST1', 'ok'],
        ['ASIATEST1', 'ok'],
      ],
    );
  });

  it("a role STS refuses is a 503 naming the role and STS's words", async () => {
    sts.deny = 'User is not authorized to perform: sts:AssumeRole';
    const signed = client('arn:aws:iam::444455556666:role/other');
    try {
      await assert.rejects(queryValue(signed), (error: Error & { code?: number }) => {
        assert.equal(error.code, 503);
        assert.match(error.message, /role arn:aws:iam::444455556666:role\/other\) could not sign it/);
        assert.match(error.message, /not authorized to perform: sts:AssumeRole/);
        return true;
      });
    } finally {
      sts.deny = undefined;
      signed.close();
    }
  });
});
