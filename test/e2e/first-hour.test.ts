import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SERVE_FLAG_OPTIONS } from '../../src/cli/flags.js';
import { flagsInUsage } from '../../src/cli/usage.js';
import { adapterRequest, eventually } from '../support/adapter-client.js';
import { MAIN_JS, startAdapter } from '../support/adapter-process.js';
import { startMisbehavingPrometheus } from '../support/misbehaving-prometheus.js';

/** What a new user meets in the first hour: help, version, a port in use, warnings, stopping npm start. */

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const cleanEnv = { ...process.env, KUBECONFIG: '', KUBERNETES_SERVICE_HOST: '' };

describe('--help and --version', () => {
  for (const flag of ['--help', '-h']) {
    it(`${flag} prints usage listing every flag, and exits 0`, async () => {
      const { stdout, stderr } = await run(process.execPath, [MAIN_JS, flag], { env: cleanEnv });
      assert.match(stdout, /^Usage: hpa-metrics-adapter \[flags\]/);
      assert.equal(stderr, '');
      for (const name of Object.keys(SERVE_FLAG_OPTIONS)) assert.ok(stdout.includes(`--${name}`), `--${name} listed`);
      assert.match(stdout, /--secure-port PORT\n\s+HTTPS port \(0 picks a free one\) \(default: 6443\)/);
    });
  }

  it('lists exactly the flags of the README`s flags table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('| flag | default | meaning |'), readme.indexOf('### The config file'));
    const inReadme = new Set(
      table
        .split('\n')
        .flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/--[a-z][a-z0-9-]*/g)].map((m) => m[0])),
    );
    const inUsage = flagsInUsage();
    inUsage.delete('--help');
    inUsage.delete('--version');
    assert.deepEqual([...inUsage].sort(), [...inReadme].sort());
  });

  it('--version prints the package version and exits 0', async () => {
    const { stdout } = await run(process.execPath, [MAIN_JS, '--version'], { env: cleanEnv });
    assert.equal(stdout, `hpa-metrics-adapter ${PACKAGE.version}\n`);
  });
});

describe('start-up problems said in one line', () => {
  it('a port in use is one JSON log line naming it and one readable line on stderr, no stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = await run(process.execPath, [MAIN_JS, `--secure-port=${port}`], { env: cleanEnv }).then(
        () => assert.fail('the adapter started on a port in use'),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      assert.equal(result.code, 1);
      // The same words, readable, on stderr for whoever runs it by hand (issue 20 item 5): one line, no stack trace.
      assert.equal(
        result.stderr,
        `hpa-metrics-adapter: cannot start: port 127.0.0.1:${port} is already in use (--secure-port / --metrics-port)\n`,
      );
      const fatal = result.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.level === 'fatal');
      assert.equal(fatal.length, 1);
      assert.equal(
        fatal[0]?.msg,
        `cannot start: port 127.0.0.1:${port} is already in use (--secure-port / --metrics-port)`,
      );
      assert.equal(fatal[0]?.err, undefined, 'no stack trace');
    } finally {
      taken.close();
    }
  });

  it('process warnings go through the JSON logger, not to stderr as text', async () => {
    // Emitted once the adapter serves (the test signals it), not after a fixed delay: on a busy
    // machine a timer could fire before the adapter has routed warnings, and Node would print it.
    const emit =
      "process.on('SIGUSR2',()=>process.emitWarning('support for this Node.js version ends soon','NodeDeprecationWarning'))";
    const adapter = await startAdapter({
      args: ['--secure-port=0'],
      env: { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(emit)}` },
    });
    try {
      adapter.child.kill('SIGUSR2');
      const logged = await eventually('the warning in the JSON log', async () =>
        adapter.logs.find((l) => l.warning === 'NodeDeprecationWarning'),
      );
      assert.equal(logged?.msg, 'support for this Node.js version ends soon');
      assert.equal(logged?.level, 'warn');
      assert.doesNotMatch(adapter.stderr.join(''), /NodeDeprecationWarning/);
    } finally {
      await adapter.stop();
    }
  });
});

describe('npm start', () => {
  it('stops the adapter when npm is sent SIGTERM (no shell left between npm and node)', {
    timeout: 240_000,
  }, async (t) => {
    // npm start rebuilds dist/: in a copy of the project, so the e2e files running beside this
    // one never load a dist/main.js that tsc is half-way through writing.
    const project = await mkdtemp(join(tmpdir(), 'npm-start-'));
    t.after(() => rm(project, { recursive: true, force: true }));
    for (const entry of ['package.json', 'tsconfig.json', 'src']) {
      await cp(join(ROOT, entry), join(project, entry), { recursive: true });
    }
    await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    const npm = spawn('npm', ['start', '--silent', '--', '--secure-port=0'], {
      cwd: project,
      env: cleanEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | string>((resolve) =>
      npm.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
    );
    const port = await new Promise<number>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error(`npm start did not serve: ${buffer}`)), 200_000);
      npm.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk;
        const match = /"port":(\d+)[^\n]*"msg":"serving/.exec(buffer);
        if (match) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      void exited.then((code) => reject(new Error(`npm start exited (${code}): ${buffer}`)));
    });
    npm.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
    t.diagnostic(`npm exited with ${code}`);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    assert.notEqual(code, 'still running', 'npm exits');
    assert.ok(refused, 'the adapter stopped serving');
  });
});

describe('standalone mode, said plainly', () => {
  it('answers a custom-metric selector request with a clear 400, logged at warn without a stack', async () => {
    const prometheus = await startMisbehavingPrometheus();
    const dir = await mkdtemp(join(tmpdir(), 'standalone-'));
    await writeFile(
      join(dir, 'config.yaml'),
      `prometheus:
  rules:
  - seriesQuery: '{__name__="queue_depth",namespace!=""}'
    resources: { overrides: { namespace: { resource: namespace } } }
    name: { as: ns_queue_depth }
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
`,
    );
    const adapter = await startAdapter({
      args: ['--secure-port=0', `--config=${join(dir, 'config.yaml')}`, `--prometheus-url=${prometheus.url}`],
    });
    try {
      const answer = await adapterRequest(
        adapter.port,
        '/apis/custom.metrics.k8s.io/v1beta1/namespaces/*/ns_queue_depth?labelSelector=team%3Da',
      );
      assert.equal(answer.status, 400, answer.text);
      assert.equal(answer.body.reason, 'BadRequest');
      assert.match(
        answer.body.message,
        /object listing unavailable \(standalone mode\): cannot resolve labelSelector "team=a"/,
      );
      // The log line may reach us through the pipe after the answer did.
      const logged = await eventually('the refusal in the log', async () =>
        adapter.logs.find((l) => String(l.msg).startsWith('object listing unavailable')),
      );
      assert.equal(logged?.level, 'warn');
      assert.equal(logged?.err, undefined, 'no stack trace');
      const warning = adapter.logs.find((l) => String(l.msg).startsWith('STANDALONE MODE'));
      assert.match(
        String(warning?.msg),
        /custom-metric labelSelector requests are answered only where the config lists the objects \(static metrics\): others are refused/,
      );
    } finally {
      await adapter.stop();
      await prometheus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says --standalone was given, not that $KUBECONFIG is unset, when it is set', async () => {
    const adapter = await startAdapter({
      args: ['--secure-port=0', '--standalone'],
      env: { KUBECONFIG: '/somewhere/config' },
    });
    try {
      const warning = adapter.logs.find((l) => String(l.msg).startsWith('STANDALONE MODE'));
      assert.match(String(warning?.msg), /^STANDALONE MODE: --standalone given;/);
    } finally {
      await adapter.stop();
    }
  });

  it('a $KUBECONFIG naming a missing file or an unreachable cluster fails in one line that mentions --standalone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubeconfig-'));
    const unreachable = join(dir, 'config');
    await writeFile(
      unreachable,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\n' +
        'users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    try {
      for (const kubeconfig of [join(dir, 'missing'), unreachable]) {
        const result = await run(process.execPath, [MAIN_JS, '--secure-port=0'], {
          env: { ...cleanEnv, KUBECONFIG: kubeconfig },
          timeout: 30_000,
        }).then(
          () => assert.fail('started without its cluster'),
          (error: { code: number; stdout: string }) => error,
        );
        const fatal = result.stdout
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>)
          .filter((entry) => entry.level === 'fatal');
        assert.equal(fatal.length, 1, result.stdout);
        assert.match(
          String(fatal[0]?.msg),
          new RegExp(`from \\$KUBECONFIG=${kubeconfig}; to run without a cluster, pass --standalone\\)$`),
        );
        assert.equal(fatal[0]?.err, undefined, 'no stack trace');
        assert.equal(result.code, 2);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
