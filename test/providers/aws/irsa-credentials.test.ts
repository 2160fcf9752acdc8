import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AwsCredentialSources } from '../../../src/providers/aws/credential-sources.js';
import { StsDouble } from '../../support/aws-sts-double.js';

/**
 * IRSA through the default chain: STS AssumeRoleWithWebIdentity with the projected token, as the
 * EKS webhook sets it up (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE), sent through the bounded
 * handler: an STS that hangs fails the fetch at its deadline naming IRSA, and the next fetch
 * succeeds although the hanging exchange was never answered.
 */

const ROLE = 'arn:aws:iam::111122223333:role/hpa-metrics-adapter';
let sts: StsDouble;
let dir: string;

before(async () => {
  sts = await StsDouble.start();
  dir = await mkdtemp(join(tmpdir(), 'irsa-'));
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, 'projected-service-account-token');
  for (const name of [
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_PROFILE',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  ])
    delete process.env[name];
  Object.assign(process.env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
    AWS_CONFIG_FILE: join(dir, 'no-config'),
    AWS_REGION: 'us-east-1',
    AWS_ROLE_ARN: ROLE,
    AWS_WEB_IDENTITY_TOKEN_FILE: tokenFile,
    AWS_ENDPOINT_URL_STS: sts.url,
  });
});
after(async () => {
  await sts.close();
  await rm(dir, { recursive: true, force: true });
});

test('a hanging AssumeRoleWithWebIdentity fails at the fetch deadline naming IRSA; the next fetch gets the role', async () => {
  const sources = new AwsCredentialSources({ limits: { timeoutMs: 1000 } });
  sts.hang = true;
  await assert.rejects(sources.own()(), (error: Error) => {
    assert.equal(error.name, 'CredentialFetchError');
    assert.match(error.message, /AssumeRoleWithWebIdentity.*IRSA\).* failed: /);
    return true;
  });
  sts.hang = false;
  const credentials = await sources.own()();
  // The timed-out fetch's request may reach STS late (module loading counts against the deadline).
  assert.equal(credentials.accessKeyId, sts.calls.at(-1)?.accessKeyId);
  assert.ok(sts.calls.length >= 1);
  for (const call of sts.calls)
    assert.deepEqual([call.roleArn, call.webIdentityToken], [ROLE, 'projected-service-account-token']);
});
