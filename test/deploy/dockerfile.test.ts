/**
 * The image recipe (Dockerfile, .dockerignore), read as text: no container engine or registry
 * is reachable here, so the build itself is not run. What can be checked without one is: the
 * stages, the user, PID 1, the labels, the build context, and that the code the image runs
 * needs nothing but the production dependencies it ships.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readVersionInfo } from '../../src/version.js';
import { ROOT } from './render.js';

type Labels = Record<string, string>;

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions by stage: comments dropped, continuation lines joined. */
function parseDockerfile(text: string): Instruction[][] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') stages.push([]);
    const stage = stages.at(-1);
    if (stage) stage.push(instruction);
    else assert.match(instruction.keyword, /^ARG$/, `only ARG may precede the first FROM, found ${keyword}`);
  }
  return stages;
}

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  const runtime = stages.at(-1) ?? [];
  const build = stages.slice(0, -1).flat();
  const runtimeArgs = (keyword: string) => runtime.filter((i) => i.keyword === keyword).map((i) => i.args);

  it('is multi-stage on a Node.js LTS image (22 or 24)', () => {
    assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
    const stageNames = new Set<string>();
    for (const stage of stages) {
      const [image = '', , name] = (stage[0]?.args ?? '').replace(/--platform=\S+\s+/, '').split(/\s+/);
      if (!stageNames.has(image))
        assert.match(image, /^(docker\.io\/(library\/)?)?node:(22|24)([.-][\w.-]*)?(@sha256:[0-9a-f]{64})?$/);
      if (name) stageNames.add(name);
    }
  });

  it('builds with npm ci and npm run build, and ships production dependencies only', () => {
    const runs = build.filter((i) => i.keyword === 'RUN').map((i) => i.args);
    const ran = (command: RegExp) => runs.some((r) => command.test(r));
    assert.ok(ran(/\bnpm ci\b/), 'npm ci');
    assert.ok(ran(/\bnpm run build\b/), 'npm run build');
    assert.ok(ran(/\bnpm (prune|ci)\b[^&;]*--omit=dev/), 'dev dependencies dropped');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts?: Labels };
    assert.ok(pkg.scripts?.build, 'package.json defines the build script the image runs');
    const copies = runtimeArgs('COPY').join('\n');
    assert.match(copies, /--from=\S+\s+\S*package\.json\s/, 'package.json ships ("type": "module" for dist/*.js)');
    assert.match(copies, /--from=\S+\s+\S*\/dist\s/, 'dist/ ships');
    assert.match(copies, /--from=\S+\s+\S*\/node_modules\s/, 'node_modules ships');
  });

  it('runs as a numeric non-root user under tini, exec form, without HEALTHCHECK', () => {
    const user = runtimeArgs('USER').at(-1);
    assert.ok(user, 'the runtime stage sets USER');
    assert.match(user, /^\d+(:\d+)?$/, 'numeric, so Kubernetes can verify runAsNonRoot');
    assert.notEqual(user.split(':')[0], '0', 'not root');

    assert.ok(
      runtimeArgs('RUN').some((r) => /(apt-get install|apk add)\b.*\btini\b/.test(r)),
      'tini from OS packages',
    );
    const entrypointText = runtimeArgs('ENTRYPOINT').at(-1) ?? '';
    let entrypoint: string[] = [];
    assert.doesNotThrow(() => {
      entrypoint = JSON.parse(entrypointText) as string[];
    }, `exec-form ENTRYPOINT (a JSON array), got: ${entrypointText}`);
    assert.ok(Array.isArray(entrypoint), 'exec-form ENTRYPOINT (a JSON array)');
    assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node']);
    assert.match(entrypoint[3] ?? '', /(^|\/)dist\/main\.js$/);

    const all = stages.flat();
    assert.ok(!all.some((i) => i.keyword === 'HEALTHCHECK'), 'no HEALTHCHECK (Kubernetes probes instead)');
    const labels = runtimeArgs('LABEL').join(' ');
    for (const key of ['title', 'description', 'licenses', 'version', 'revision']) {
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`), `OCI label ${key}`);
    }
  });

  it('VERSION is a required build-arg, with no default, and is what /version reports', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    assert.doesNotMatch(text, /^ARG VERSION=/m, 'no silent default: an image built as 0.1.0 whatever it holds');
    const firstStage = stages[0] ?? [];
    assert.ok(
      firstStage.some((i) => i.keyword === 'ARG' && i.args === 'VERSION'),
      'the build stage declares VERSION',
    );
    const check = firstStage.find((i) => i.keyword === 'RUN' && i.args.includes('$VERSION'));
    assert.ok(check, 'the build stage checks VERSION before building');
    const run = (version: string) =>
      spawnSync('sh', ['-c', check.args], { env: { ...process.env, VERSION: version }, encoding: 'utf8' });
    const without = run('');
    assert.notEqual(without.status, 0, 'a build without --build-arg VERSION stops');
    assert.match(without.stderr, /--build-arg VERSION=/, 'and says how to give it');
    assert.equal(run('1.2.3').status, 0);
    assert.ok(runtimeArgs('ARG').includes('VERSION'), 'the runtime stage declares VERSION too');
    const env = [...text.matchAll(/^ENV (.*)$/gm)].map((m) => m[1]).join(' ');
    assert.match(env, /(^|\s)ADAPTER_VERSION=\$\{VERSION\}(\s|$)/, 'the build-arg reaches the process');
    assert.deepEqual(readVersionInfo({ ADAPTER_VERSION: '9.8.7', GIT_COMMIT: 'abc' }), {
      version: '9.8.7',
      gitCommit: 'abc',
    });
  });

  it('.dockerignore admits exactly the build inputs, nothing else', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(patterns[0], '*', 'an allow-list: everything is excluded first');
    const admitted = patterns
      .slice(1)
      .map((p) => {
        assert.match(p, /^!/, `after "*" only exceptions ("!path"), found ${p}`);
        return p
          .slice(1)
          .replace(/^\.?\//, '')
          .replace(/\/$/, '');
      })
      .sort();
    const inputs = build
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) =>
        i.args
          .split(/\s+/)
          .filter((a) => !a.startsWith('--'))
          .slice(0, -1),
      )
      .map((p) => p.replace(/^\.\//, '').replace(/\/$/, ''))
      .sort();
    assert.deepEqual(admitted, inputs, 'the context holds what the build stage COPYs');
  });

  it('the runtime stage drops npm: nothing installs packages in the running container', () => {
    const runs = runtimeArgs('RUN').join('\n');
    for (const path of ['/usr/local/lib/node_modules', '/usr/local/bin/npm', '/usr/local/bin/npx']) {
      assert.ok(runs.includes(path), `${path} is removed`);
    }
  });
});

/** Bare module specifiers of the value imports in a TypeScript file (type-only imports are erased). */
function runtimeImports(source: string): string[] {
  const specifiers: string[] = [];
  const pattern =
    /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\('([^']+)'\)/gm;
  for (const match of source.matchAll(pattern)) {
    const [, , typeOnly, clause = '', fromSpecifier, sideEffect, dynamic] = match;
    const specifier = fromSpecifier ?? sideEffect ?? dynamic ?? '';
    if (typeOnly) continue;
    const named = /^\{([^}]*)\}$/.exec(clause.trim());
    if (named?.[1]?.split(',').every((s) => s.trim() === '' || s.trim().startsWith('type '))) continue;
    specifiers.push(specifier);
  }
  return specifiers.filter((s) => !s.startsWith('.') && !s.startsWith('node:'));
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('what the image runs', () => {
  it('src/ imports only production dependencies (the image prunes devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Labels };
    const shipped = new Set([...Object.keys(pkg.dependencies ?? {}), ...builtinModules]);
    const missing = sourceFiles(join(ROOT, 'src')).flatMap((file) =>
      runtimeImports(readFileSync(file, 'utf8'))
        .map(packageOf)
        .filter((name) => !shipped.has(name))
        .map((name) => `${file.slice(ROOT.length + 1)} imports ${name}`),
    );
    assert.deepEqual(missing, [], 'move these packages to "dependencies", or the image fails at start');
  });

  it('finds value imports and skips type-only ones', () => {
    const source = [
      "import { z } from 'zod';",
      "import type { Registry } from 'prom-client';",
      "import { type Logger } from 'pino';",
      "import express, { type Express } from 'express';",
      "import { readFileSync } from 'node:fs';",
      "import { parseFlags } from './cli/flags.js';",
      "const sdk = await import('@aws-sdk/client-sqs');",
    ].join('\n');
    assert.deepEqual(runtimeImports(source).map(packageOf), ['zod', 'express', '@aws-sdk/client-sqs']);
  });
});
