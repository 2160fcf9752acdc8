import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// Loading the AWS SDK or @kubernetes/client-node costs a process startup time, memory, and CPU on
// every request, even if it never calls them: a process must import them only when it uses them.

const ROOT = new URL('../../', import.meta.url);
const MAIN_TS = fileURLToPath(new URL('src/main.ts', ROOT));
const RECORDER = new URL('test/support/import-recorder.ts', ROOT).href;
const NODE_MODULES = '/node_modules/';
const HEAVY_PACKAGES = ['@aws-sdk/', '@smithy/', '@kubernetes/client-node/'].map((name) => `${NODE_MODULES}${name}`);

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazy-imports-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/**
 * How long a start may take. About 2 s on a quiet machine; at a load of 20 the four at once took
 * over 30 s, and npm test's unit runs, at nice 10 beside the end-to-end run, past 90 s.
 */
const START_BUDGET_MS = 300_000;

interface Run {
  /** `module <- importer` for every import into a heavy package from outside the heavy packages. */
  heavyImports: string[];
  logs: { msg: string; backends?: string[] }[];
}

/**
 * Runs src/main.ts (through tsx, no cluster in its environment) until it logs that it is serving,
 * or exits; every module it resolved on the way is recorded by test/support/import-recorder.ts.
 */
async function runMain(name: string, args: string[]): Promise<Run> {
  const record = join(dir, `${name}.imports`);
  await writeFile(record, '');
  const register = `import { register } from 'node:module'; register(${JSON.stringify(RECORDER)}, { data: ${JSON.stringify(record)} });`;
  const { KUBECONFIG: _kubeconfig, KUBERNETES_SERVICE_HOST: _inCluster, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', `data:text/javascript,${encodeURIComponent(register)}`, MAIN_TS, ...args],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const logs: Run['logs'] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const entry = JSON.parse(line) as Run['logs'][number];
    logs.push(entry);
    if (entry.msg.startsWith('serving')) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${name}: neither served nor exited within ${START_BUDGET_MS / 1000} s: ${JSON.stringify(logs)} ${stderr}`,
        ),
      );
    }, START_BUDGET_MS);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const heavyImports = (await readFile(record, 'utf8'))
    .split('\n')
    .map((line) => line.split('\t') as [string, string])
    .filter(([url, importer]) => isHeavy(url) && !isHeavy(importer))
    .map(([url, importer]) => `${shortName(url)} <- ${shortName(importer)}`);
  return { heavyImports, logs };
}

const isHeavy = (url: string) => HEAVY_PACKAGES.some((name) => url.includes(name));

/** A package's module from its name on, or one of ours from the repository root. */
function shortName(url: string): string {
  const packaged = url.lastIndexOf(NODE_MODULES);
  if (packaged !== -1) return url.slice(packaged + NODE_MODULES.length);
  return url.startsWith(ROOT.href) ? url.slice(ROOT.href.length) : url;
}

/** The heavy packages a run imported, by name, sorted. */
function packagesOf(run: Run): string[] {
  const names = run.heavyImports.map((line) => line.match(/^(@[^/]+\/[^/]+)\//)?.[1] ?? line);
  return [...new Set(names)].sort();
}

describe('heavy packages are imported only when used', { concurrency: true }, () => {
  test('serving standalone over the static and Prometheus backends imports neither the AWS SDK nor the Kubernetes client', {
    timeout: START_BUDGET_MS + 10_000,
  }, async () => {
    const run = await runMain('standalone', ['--secure-port=0', '--prometheus-url=http://127.0.0.1:1']);
    assert.ok(run.logs.some((l) => l.msg.startsWith('STANDALONE MODE')));
    assert.deepEqual(run.logs.find((l) => l.msg.startsWith('serving'))?.backends, ['static', 'prometheus']);
    assert.deepEqual(run.heavyImports, []);
  });

  test('sqs and cloudwatch sections import the AWS SDK, and still not the Kubernetes client', {
    timeout: START_BUDGET_MS + 10_000,
  }, async () => {
    const config = join(dir, 'aws.yaml');
    await writeFile(config, 'sqs:\n  region: us-east-1\ncloudwatch:\n  region: us-east-1\n');
    const run = await runMain('aws', ['--secure-port=0', `--config=${config}`]);
    assert.deepEqual(run.logs.find((l) => l.msg.startsWith('serving'))?.backends, ['sqs', 'cloudwatch']);
    assert.deepEqual(packagesOf(run), [
      '@aws-sdk/client-cloudwatch',
      '@aws-sdk/client-sqs',
      // The bounded credential fetches (src/providers/aws/credential-endpoints.ts) build @smithy/core requests.
      '@smithy/core',
      '@smithy/node-http-handler',
      '@smithy/util-retry',
    ]);
  });

  test('a Prometheus server with auth.sigv4 imports the signer and the bounded credential chain, and nothing else heavy', {
    timeout: START_BUDGET_MS + 10_000,
  }, async () => {
    const config = join(dir, 'sigv4.yaml');
    await writeFile(
      config,
      'prometheus:\n  url: http://127.0.0.1:1/workspaces/ws-1\n  auth: { sigv4: { region: us-east-1 } }\n  externalRules:\n  - { seriesQuery: up, metricsQuery: up }\n',
    );
    const run = await runMain('sigv4', ['--secure-port=0', `--config=${config}`]);
    assert.deepEqual(run.logs.find((l) => l.msg.startsWith('serving'))?.backends, ['prometheus']);
    // The credential chain fetches through the SDK's HTTP handler, bounded (src/providers/aws/http-handler.ts).
    assert.deepEqual(packagesOf(run), [
      '@aws-sdk/credential-providers',
      '@smithy/core',
      '@smithy/node-http-handler',
      '@smithy/signature-v4',
    ]);
    assert.ok(
      run.heavyImports.every((line) => /<- src\/providers\/(prometheus\/sigv4|aws\/[a-z-]+)\.ts$/.test(line)),
      run.heavyImports.join('\n'),
    );
  });

  test('a --kubeconfig imports the Kubernetes client, and its load error is reported as before', {
    timeout: START_BUDGET_MS + 10_000,
  }, async () => {
    const missing = join(dir, 'missing-kubeconfig');
    const run = await runMain('kubeconfig', ['--secure-port=0', `--kubeconfig=${missing}`]);
    assert.match(
      run.logs.at(-1)?.msg ?? '',
      new RegExp(`^cannot start: --kubeconfig ${missing}: cannot load kubeconfig`),
    );
    assert.deepEqual(packagesOf(run), ['@kubernetes/client-node']);
  });
});
