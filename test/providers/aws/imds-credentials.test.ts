import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AwsCredentialSources } from '../../../src/providers/aws/credential-sources.js';

/**
 * The EC2 instance metadata service (IMDSv2) as the default chain's last source, fetched with the
 * same bounds as the container endpoint: a fetch that hangs fails at its deadline naming the
 * service, and the next one starts afresh.
 */

const DEADLINE_MS = 1000;

describe('EC2 instance metadata (IMDSv2) as the last source of the default chain', () => {
  let imds: http.Server;
  let hangCredentials = false;
  const seen: { method: string | undefined; url: string | undefined; token: string | undefined }[] = [];
  before(async () => {
    imds = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, token: req.headers['x-aws-ec2-metadata-token'] as string });
      if (req.method === 'PUT' && req.url === '/latest/api/token') return void res.end('imds-token');
      if (req.headers['x-aws-ec2-metadata-token'] !== 'imds-token') return void res.writeHead(401).end();
      if (req.url === '/latest/meta-data/iam/security-credentials/') return void res.end('node-role\n');
      if (req.url === '/latest/meta-data/iam/security-credentials/node-role') {
        if (hangCredentials) return;
        return void res.end(
          JSON.stringify({
            Code: 'Success',
            AccessKeyId: 'ASIAIMDS1',
            SecretAccessKey: 'imds-secret',
            Token: 'imds-session',
            Expiration: new Date(Date.now() + 3_600_000).toISOString(),
          }),
        );
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve));
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_PROFILE',
      'AWS_ROLE_ARN',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
      'AWS_EC2_METADATA_DISABLED',
    ])
      delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    process.env.AWS_EC2_METADATA_SERVICE_ENDPOINT = `http://127.0.0.1:${(imds.address() as AddressInfo).port}`;
  });
  after(() => {
    imds.closeAllConnections();
    imds.close();
  });

  test('credentials come with the session token; a hanging answer fails at the deadline naming the service', async () => {
    hangCredentials = true;
    const sources = new AwsCredentialSources({ limits: { timeoutMs: DEADLINE_MS } });
    await assert.rejects(sources.own()(), (error: Error) => {
      assert.equal(error.name, 'CredentialFetchError');
      assert.match(error.message, /the EC2 instance metadata service http:\/\/127\.0\.0\.1:\d+ failed: no answer/);
      return true;
    });
    hangCredentials = false;
    const credentials = await sources.own()();
    assert.equal(credentials.accessKeyId, 'ASIAIMDS1');
    assert.equal(credentials.sessionToken, 'imds-session');
    assert.ok(seen.filter((r) => r.method === 'GET').every((r) => r.token === 'imds-token'));
  });
});
