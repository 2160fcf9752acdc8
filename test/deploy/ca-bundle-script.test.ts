/**
 * deploy/scripts/set-apiservice-ca-bundle.sh, the caBundle alternative to cert-manager's
 * cainjector, run against a kubectl stand-in that records its calls and answers `get secret`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { APIService } from './kinds.js';
import { needsKubectl, ofKind, ROOT, renderAll } from './render.js';

const SCRIPT = join(ROOT, 'deploy/scripts/set-apiservice-ca-bundle.sh');
const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2E=\n-----END CERTIFICATE-----\n';

interface Run {
  status: number | null;
  stderr: string;
  calls: string[][];
}

describe('deploy/scripts/set-apiservice-ca-bundle.sh', () => {
  let scratch = '';
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'ca-bundle-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs the script with a fake kubectl whose `get secret` prints `secretData` (base64, as jsonpath does). */
  function run(secretData: string, args: string[] = []): Run {
    const log = join(scratch, 'calls.jsonl');
    writeFileSync(log, '');
    const fake = join(scratch, 'kubectl');
    writeFileSync(
      fake,
      [
        '#!/usr/bin/env bash',
        `node -e 'console.log(JSON.stringify(process.argv.slice(1)))' -- "$@" >> ${JSON.stringify(log)}`,
        `if [[ $1 == get ]]; then printf '%s' ${JSON.stringify(secretData)}; fi`,
      ].join('\n'),
    );
    chmodSync(fake, 0o755);
    const result = spawnSync('bash', [SCRIPT, ...args], { env: { ...process.env, KUBECTL: fake }, encoding: 'utf8' });
    const calls = readFileSync(log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string[]);
    return { status: result.status, stderr: result.stderr, calls };
  }

  it('patches each APIService the install creates with the CA and verification on', needsKubectl, () => {
    const bundle = Buffer.from(PEM).toString('base64');
    const { status, calls } = run(bundle);
    assert.equal(status, 0);
    assert.deepEqual(calls[0], [
      'get',
      'secret',
      'hpa-metrics-adapter-serving-cert',
      '--namespace',
      'hpa-metrics-adapter',
      '-o',
      'jsonpath={.data.ca\\.crt}',
    ]);
    const patched = calls.slice(1).map((call) => {
      assert.deepEqual(call.slice(0, 2), ['patch', 'apiservice']);
      assert.deepEqual(call.slice(3, 6), [
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { caBundle: bundle, insecureSkipTLSVerify: false } }),
      ]);
      return call[2];
    });
    const rendered = renderAll().get('base + components/serving-cert-secret + components/monitoring') ?? [];
    assert.deepEqual(
      patched.sort(),
      ofKind<APIService>(rendered, 'APIService')
        .map((a) => a.metadata.name)
        .sort(),
    );
  });

  it('reads another Secret and key when told', () => {
    const { status, calls } = run(Buffer.from(PEM).toString('base64'), [
      '--namespace',
      'ns',
      '--secret',
      's',
      '--key',
      'tls.crt',
    ]);
    assert.equal(status, 0);
    assert.deepEqual(calls[0], ['get', 'secret', 's', '--namespace', 'ns', '-o', 'jsonpath={.data.tls\\.crt}']);
  });

  it('patches nothing when the Secret has no CA', () => {
    const { status, stderr, calls } = run('');
    assert.equal(status, 1);
    assert.match(stderr, /has no data key ca\.crt/);
    assert.equal(calls.length, 1, 'only the get');
  });

  it('patches nothing when the key holds no PEM certificate', () => {
    const { status, stderr, calls } = run(Buffer.from('not a certificate').toString('base64'));
    assert.equal(status, 1);
    assert.match(stderr, /not a PEM certificate/);
    assert.equal(calls.length, 1, 'only the get');
  });
});
