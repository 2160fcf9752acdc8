import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Sha256 } from '@smithy/core/checksum';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsCredentialSources } from '../../../src/providers/aws/credential-sources.js';
import { createPrometheusClient, type PrometheusClient } from '../../../src/providers/prometheus/client.js';
import { prometheusSectionSchema } from '../../../src/providers/prometheus/config.js';
import { resolvePrometheusSettings } from '../../../src/providers/prometheus/settings.js';
import { resolveSigV4, sigV4Signer } from '../../../src/providers/prometheus/sigv4.js';
import { ConfigError } from '../../../src/schema/errors.js';
import { rejection } from '../../support/failures.js';
import { gauge, type PrometheusServer, startPrometheus } from '../../support/prometheus-server.js';
import { type SigV4Verifier, startSigV4Verifier } from '../../support/sigv4-verifier.js';

/**
 * SigV4 signing against an AMP stand-in (test/support/sigv4-verifier.ts) in front of a real
 * Prometheus. The client signs with the SDK's default credential chain, which finds the fake
 * credentials in this process's environment, as it would find IRSA's or Pod Identity's.
 */
const CREDENTIALS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  sessionToken: 'FwoGZXIvYXdzEXAMPLE//session+token=',
};
process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
process.env.AWS_SESSION_TOKEN = CREDENTIALS.sessionToken;

const now = Math.floor(Date.now() / 1000);
const RANGE = { end: now + 900, seconds: 2700 };
/** A matcher with spaces, quotes, `+`, `|`, `!`, `*`, parentheses: every character whose encoding differs. */
const AWKWARD_QUERY = `sum(amp_queue_depth{queue=~"jobs|mail", note!="a+b (c)*!'x y'"}) or vector(0) * 1`;

let prometheus: PrometheusServer;
let verifier: SigV4Verifier;

before(async () => {
  prometheus = await startPrometheus({
    series: [
      gauge('amp_queue_depth', { queue: 'jobs', note: 'plain' }, 7, RANGE),
      gauge('amp_queue_depth', { queue: 'mail', note: 'plain' }, 5, RANGE),
    ],
  });
  verifier = await startSigV4Verifier({ upstream: prometheus.url, region: 'eu-west-1', ...CREDENTIALS });
});
after(async () => {
  await verifier?.close();
  await prometheus?.stop();
});
beforeEach(() => {
  verifier.requests.length = 0;
});

function signedClient(settings: { region: string; service?: string }, options: { verb?: 'GET' | 'POST' } = {}) {
  return createPrometheusClient({
    url: verifier.url,
    timeoutMs: 5000,
    signer: sigV4Signer({ service: 'aps', ...settings }),
    ...options,
  });
}

async function using<T>(client: PrometheusClient, work: (client: PrometheusClient) => Promise<T>): Promise<T> {
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

describe('SigV4 signing of Prometheus calls (AMP)', () => {
  it('signs a GET query with the default chain credentials, and the verifier passes it on to Prometheus', async () => {
    const result = await using(signedClient({ region: 'eu-west-1' }), (client) =>
      client.query('sum(amp_queue_depth)', new Date(now * 1000)),
    );
    assert.deepEqual(
      result.samples.map((s) => s.value),
      [12],
    );
    const [seen] = verifier.requests;
    assert.equal(seen?.verdict, 'ok', seen?.message);
    assert.equal(seen?.method, 'GET');
    assert.match(seen?.path ?? '', /^\/workspaces\/ws-[0-9a-f-]+\/api\/v1\/query$/);
    for (const header of ['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'])
      assert.ok(seen?.signedHeaders.includes(header), `${header} among ${seen?.signedHeaders}`);
  });

  it('signs the query string exactly as sent: awkward characters are percent-encoded, never +', async () => {
    const result = await using(signedClient({ region: 'eu-west-1' }), (client) =>
      client.query(AWKWARD_QUERY, new Date(now * 1000)),
    );
    assert.equal(result.samples.length, 1);
    const [seen] = verifier.requests;
    assert.equal(seen?.verdict, 'ok', seen?.message);
    assert.ok(!seen?.rawQuery.includes('+'), seen?.rawQuery);
    assert.match(seen?.rawQuery ?? '', /%20.*%2B.*%28.*%2A.*%21.*%27/);
  });

  it('signs /api/v1/series', async () => {
    const series = await using(signedClient({ region: 'eu-west-1' }), (client) =>
      client.series('{__name__="amp_queue_depth"}', new Date((now - 600) * 1000), new Date(now * 1000)),
    );
    assert.deepEqual(series.map((s) => s.queue).sort(), ['jobs', 'mail']);
    assert.equal(verifier.requests[0]?.verdict, 'ok', verifier.requests[0]?.message);
    assert.match(verifier.requests[0]?.path ?? '', /\/api\/v1\/series$/);
  });

  it('signs the form POST of verb POST, its body hash included', async () => {
    const result = await using(signedClient({ region: 'eu-west-1' }, { verb: 'POST' }), (client) =>
      client.query(AWKWARD_QUERY, new Date(now * 1000)),
    );
    assert.equal(result.samples.length, 1);
    const [seen] = verifier.requests;
    assert.equal(seen?.verdict, 'ok', seen?.message);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.rawQuery, '');
    assert.match(seen?.body ?? '', /^query=sum%28amp_queue_depth/);
    assert.ok(seen?.signedHeaders.includes('content-type'));
  });

  it('signs the automatic POST of a long query', async () => {
    const queues = Array.from({ length: 400 }, (_, i) => `queue-${i}`).join('|');
    const result = await using(signedClient({ region: 'eu-west-1' }), (client) =>
      client.query(`sum(amp_queue_depth{queue=~"jobs|${queues}"})`, new Date(now * 1000)),
    );
    assert.deepEqual(
      result.samples.map((s) => s.value),
      [7],
    );
    assert.equal(verifier.requests[0]?.method, 'POST');
    assert.equal(verifier.requests[0]?.verdict, 'ok', verifier.requests[0]?.message);
  });

  for (const [what, settings, refusal] of [
    ['region', { region: 'us-east-1' }, /Credential should be scoped to a valid region/],
    [
      'service',
      { region: 'eu-west-1', service: 'execute-api' },
      /Credential should be scoped to correct service: 'aps'/,
    ],
  ] as const) {
    it(`a wrong ${what} is a 503 naming the signature failure and the signing settings`, async () => {
      const error = await using(signedClient(settings), (client) => rejection(client.query('up', new Date())));
      assert.equal(error.code, 503);
      assert.match(error.message, refusal);
      assert.match(error.message, /HTTP 403/);
      assert.match(
        error.message,
        new RegExp(
          `check SigV4 \\(region ${settings.region}, service ${'service' in settings ? settings.service : 'aps'}\\)`,
        ),
      );
      assert.equal(verifier.requests[0]?.verdict, 'InvalidSignatureException');
    });
  }

  it('a credential failure is a 503 naming the cause, and nothing is sent', async () => {
    const failing = createPrometheusClient({
      url: verifier.url,
      timeoutMs: 5000,
      signer: sigV4Signer(
        { region: 'eu-west-1', service: 'aps' },
        new AwsCredentialSources({
          own: async () => {
            throw new Error('Could not load credentials from any providers');
          },
        }),
      ),
    });
    const error = await using(failing, (client) => rejection(client.query('up', new Date())));
    assert.equal(error.code, 503);
    assert.match(
      error.message,
      /SigV4 \(region eu-west-1, service aps\) could not sign it, getting AWS credentials failed \(Could not load credentials from any providers\)/,
    );
    assert.equal(verifier.requests.length, 0);
  });

  it('a credential provider that hangs is given up at the call deadline', async () => {
    const hanging = createPrometheusClient({
      url: verifier.url,
      timeoutMs: 200,
      signer: sigV4Signer(
        { region: 'eu-west-1', service: 'aps' },
        new AwsCredentialSources({ own: () => new Promise(() => {}) }),
      ),
    });
    const error = await using(hanging, (client) => rejection(client.query('up', new Date())));
    assert.equal(error.code, 503);
    assert.match(error.message, /SigV4 .* signing was cancelled/);
  });
});

/** Raw requests, signed by the test itself, prove the verifier refuses what AMP refuses. */
describe('the SigV4 verifier refuses what AMP refuses', () => {
  async function send(
    tamper: {
      body?: string;
      region?: string;
      service?: string;
      signingDate?: Date;
      unsigned?: boolean;
      secret?: string;
    } = {},
  ): Promise<{ status: number; body: string }> {
    const url = new URL(`${verifier.url}/api/v1/query`);
    const body = 'query=sum(amp_queue_depth)';
    const signer = new SignatureV4({
      credentials: { ...CREDENTIALS, secretAccessKey: tamper.secret ?? CREDENTIALS.secretAccessKey },
      region: tamper.region ?? 'eu-west-1',
      service: tamper.service ?? 'aps',
      sha256: Sha256,
    });
    const request = {
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    };
    const headers = tamper.unsigned
      ? request.headers
      : (await signer.sign(request, tamper.signingDate ? { signingDate: tamper.signingDate } : {})).headers;
    return new Promise((resolve, reject) => {
      http
        .request(url, { method: 'POST', headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        })
        .on('error', reject)
        .end(tamper.body ?? body);
    });
  }

  it('passes a correctly signed request', async () => {
    const answer = await send();
    assert.equal(answer.status, 200, answer.body);
    assert.match(answer.body, /"status":"success"/);
  });

  for (const [what, tamper, message] of [
    ['an unsigned request', { unsigned: true }, /Missing Authentication Token/],
    [
      'a body changed after signing',
      { body: 'query=sum(amp_queue_depth)*2' },
      /x-amz-content-sha256' header does not match/,
    ],
    ['a wrong region', { region: 'us-west-2' }, /scoped to a valid region/],
    ['a wrong service', { service: 'es' }, /scoped to correct service/],
    ['a signature ten minutes old', { signingDate: new Date(Date.now() - 10 * 60_000) }, /Signature expired/],
    ['a wrong secret key', { secret: 'not-the-secret' }, /signature we calculated does not match/],
  ] as const) {
    it(`refuses ${what} with 403 and AMP's error body`, async () => {
      const answer = await send(tamper);
      assert.equal(answer.status, 403);
      assert.match((JSON.parse(answer.body) as { message: string }).message, message);
    });
  }

  it('refuses a query string sent with + for a space, which signs another query than the one sent', async () => {
    const url = new URL(`${verifier.url}/api/v1/query`);
    const signer = new SignatureV4({ credentials: CREDENTIALS, region: 'eu-west-1', service: 'aps', sha256: Sha256 });
    const signed = await signer.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: { query: 'sum (amp_queue_depth)' },
      headers: { host: url.host },
    });
    url.search = new URLSearchParams({ query: 'sum (amp_queue_depth)' }).toString();
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(url, { headers: signed.headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    assert.equal(status, 403);
  });
});

describe('prometheus auth.sigv4 config', () => {
  const AMP_URL = 'https://aps-workspaces.ap-southeast-2.amazonaws.com/workspaces/ws-1234';

  it('takes the region from the field, else from an AMP workspace URL, else from AWS_REGION', () => {
    const env = { AWS_REGION: 'us-west-2' };
    const parsed = (sigv4: object) => prometheusSectionSchema.parse({ url: AMP_URL, auth: { sigv4 } }).auth;
    const auth = parsed({});
    assert.deepEqual(auth, { sigv4: { service: 'aps' } });
    assert.ok(auth);
    assert.deepEqual(resolveSigV4(auth, AMP_URL, 'prometheus', env), { region: 'ap-southeast-2', service: 'aps' });
    assert.deepEqual(resolveSigV4(auth, 'http://127.0.0.1:1/ws', 'prometheus', env), {
      region: 'us-west-2',
      service: 'aps',
    });
    const explicit = parsed({ region: 'eu-central-1', service: 'aps' });
    assert.ok(explicit);
    assert.equal(resolveSigV4(explicit, AMP_URL, 'prometheus', env).region, 'eu-central-1');
    assert.throws(
      () => resolveSigV4(auth, 'http://127.0.0.1:1/ws', 'prometheus.servers[1]', {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        /^field prometheus\.servers\[1\]\.auth\.sigv4\.region: no region/.test(error.message),
    );
  });

  it('refuses an unknown key, a region that is no region and a signed server that also sends a token', () => {
    assert.throws(() => prometheusSectionSchema.parse({ url: AMP_URL, auth: { sigv4: { regoin: 'x' } } }));
    assert.throws(() => prometheusSectionSchema.parse({ url: AMP_URL, auth: { sigv4: { region: 'Mars' } } }));
    assert.throws(() => prometheusSectionSchema.parse({ url: AMP_URL, auth: { basic: {} } }));
    assert.throws(
      () => prometheusSectionSchema.parse({ url: AMP_URL, auth: { sigv4: { roleArn: 'amp-query' } } }),
      /must be an IAM role ARN/,
    );
    const section = prometheusSectionSchema.parse({ url: AMP_URL, tokenFile: '/t', auth: { sigv4: {} } });
    assert.throws(
      () => resolvePrometheusSettings(section, {}),
      /field prometheus\.auth: a request is signed or carries a bearer token/,
    );
  });

  it('gives each of prometheus.servers its own signer, and only the servers that ask for one', () => {
    const section = prometheusSectionSchema.parse({
      servers: [
        { name: 'amp', url: AMP_URL, auth: { sigv4: {} } },
        { name: 'local', url: 'http://127.0.0.1:9090' },
      ],
    });
    const settings = resolvePrometheusSettings(section, {});
    assert.equal(settings?.servers[0]?.client.signer?.description, 'SigV4 (region ap-southeast-2, service aps)');
    assert.equal(settings?.servers[1]?.client.signer, undefined);
    assert.throws(
      () =>
        prometheusSectionSchema.parse({ url: AMP_URL, auth: { sigv4: {} }, servers: [{ name: 'a', url: AMP_URL }] }),
      /give either servers or the single-server url, auth/,
    );
  });
});
