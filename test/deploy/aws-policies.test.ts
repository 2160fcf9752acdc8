/**
 * The IAM documents in deploy/aws/ are what their README tells operators to apply: valid policy
 * JSON, granting exactly the calls the adapter makes, and the cross-account set-up consistent
 * (the trust policy names the adapter's role and the external id the example config sends, the
 * assume policy names the role the config assumes, and that config passes the adapter's schema).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { sqsBackendSchema } from '../../src/providers/sqs/config.js';

const DIR = join(import.meta.dirname, '../../deploy/aws');

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: Record<string, string | string[]>;
  Action: string | string[];
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface PolicyDocument {
  Version: string;
  Statement: Statement[];
}

const list = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const read = (name: string): PolicyDocument => JSON.parse(readFileSync(join(DIR, name), 'utf8')) as PolicyDocument;
const actions = (doc: PolicyDocument) => doc.Statement.flatMap((s) => list(s.Action));
const ROLE_ARN = /^arn:aws:iam::[0-9]{12}:role\/[\w+=,.@-]+$/;

describe('deploy/aws IAM documents', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

  it('every document is IAM policy JSON: version 2012-10-17, statements with effect and actions', () => {
    assert.ok(files.length >= 6, files.join(', '));
    for (const file of files) {
      const doc = read(file);
      assert.equal(doc.Version, '2012-10-17', file);
      assert.ok(Array.isArray(doc.Statement) && doc.Statement.length > 0, file);
      for (const statement of doc.Statement) {
        assert.ok(['Allow', 'Deny'].includes(statement.Effect), `${file}: Effect`);
        assert.ok(list(statement.Action).length > 0, `${file}: Action`);
        for (const action of list(statement.Action)) assert.match(action, /^[a-z0-9-]+:[A-Za-z*]+$/, file);
        const isTrust = file.includes('trust');
        assert.equal(statement.Principal !== undefined, isTrust, `${file}: only trust policies name a principal`);
        assert.equal(statement.Resource !== undefined, !isTrust, `${file}: permission policies name resources`);
      }
    }
  });

  it('the reader role in the other account grants the calls the adapter makes there, and nothing that writes', () => {
    const granted = actions(read('cross-account-reader-policy.json'));
    for (const call of ['sqs:GetQueueUrl', 'sqs:GetQueueAttributes', 'sqs:ListQueues', 'cloudwatch:GetMetricData']) {
      assert.ok(granted.includes(call), call);
    }
    assert.deepEqual(
      granted.filter((a) => !/:(Get|List)/.test(a)),
      [],
      'read-only',
    );
  });

  it('trust policy, assume policy and the README config agree on the role, the adapter and the external id', () => {
    const trust = read('cross-account-trust-policy.json').Statement[0];
    const assume = read('cross-account-assume-policy.json').Statement[0];
    assert.ok(trust && assume);
    assert.deepEqual(list(trust.Action), ['sts:AssumeRole']);
    assert.deepEqual(list(assume.Action), ['sts:AssumeRole']);
    const adapterRole = list(trust.Principal?.AWS)[0] ?? '';
    assert.match(adapterRole, ROLE_ARN);
    assert.match(adapterRole, /:role\/hpa-metrics-adapter$/, 'the role the IRSA / Pod Identity steps create');
    const externalId = trust.Condition?.StringEquals?.['sts:ExternalId'];
    assert.ok(typeof externalId === 'string' && externalId.length >= 2, 'the trust policy asks for an external id');

    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? '')
      .find((yaml) => yaml.includes('accounts:'));
    assert.ok(block, 'the README shows an accounts config');
    const config = sqsBackendSchema.parse((parse(block) as { sqs: unknown }).sqs);
    const entries = Object.entries(config.accounts ?? {});
    assert.equal(entries.length, 1);
    const [account, access] = entries[0] ?? [];
    assert.equal(access?.roleArn, list(assume.Resource)[0], 'the adapter may assume the role the config names');
    assert.equal(access?.externalId, externalId);
    assert.match(access?.roleArn ?? '', new RegExp(`^arn:aws:iam::${account}:role/`), 'the role lives in that account');
    assert.ok(
      list(read('cross-account-reader-policy.json').Statement[0]?.Resource).every((r) => r.includes(`:${account}:`)),
      "the reader policy covers that account's queues",
    );
  });

  it('the AMP policy grants the four query calls on the workspace the eks-amp overlay reads, and nothing that writes', () => {
    const policy = read('amp-query-policy.json');
    assert.deepEqual(actions(policy).sort(), [
      'aps:GetLabels',
      'aps:GetMetricMetadata',
      'aps:GetSeries',
      'aps:QueryMetrics',
    ]);
    const overlay = parse(readFileSync(join(DIR, '../overlays/eks-amp/config.yaml'), 'utf8')) as {
      prometheus: { url: string };
    };
    const [, region, workspace] =
      /^https:\/\/aps-workspaces\.([a-z0-9-]+)\.amazonaws\.com\/workspaces\/(ws-[0-9a-f-]+)$/.exec(
        overlay.prometheus.url,
      ) ?? [];
    assert.deepEqual(
      policy.Statement.flatMap((s) => list(s.Resource)),
      [`arn:aws:aps:${region}:111122223333:workspace/${workspace}`],
    );
  });
});
