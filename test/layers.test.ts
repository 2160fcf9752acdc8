import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layers of src/, lowest first: a module may import only from a lower layer (or its own
 * folder). See docs/architecture.md.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['lib'],
  ['api', 'version.ts'],
  ['concurrency', 'io', 'observability', 'schema'],
  ['kube', 'cache'],
  ['providers', 'upstreams', 'hpa'],
  ['definitions', 'resource-metrics'],
  ['config', 'refresh'],
  ['server'],
  ['startup'],
  ['cli'],
  ['main.ts'],
];

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** The unit a path under src/ belongs to: a file named in LAYERS, else its top folder. */
function unitOf(path: string): string {
  const named = LAYERS.flat().find((unit) => unit.endsWith('.ts') && unit === path);
  return named ?? path.split('/')[0] ?? path;
}

function rankOf(unit: string): number {
  const rank = LAYERS.findIndex((layer) => layer.includes(unit));
  if (rank === -1) throw new Error(`src/${unit} is in no layer: add it to LAYERS in test/layers.test.ts`);
  return rank;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Every relative import (static, type-only or dynamic) of a file, as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'(\.[^']+)'/g)].map((match) =>
    relative(SRC, normalize(join(dirname(file), match[1] ?? ''))).replace(/\.js$/, '.ts'),
  );
}

/** Every package import (static, type-only or dynamic) of a file: `express`, `node:http` … */
function packagesOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import\()\s*'([^.'][^']*)'/g)].map((match) => match[1] ?? '');
}

/** Imports that run from a lower layer up, as "from → to". */
function upwardImports(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const from = relative(SRC, file);
    const fromUnit = unitOf(from);
    for (const to of importsOf(file)) {
      const toUnit = unitOf(to);
      if (toUnit !== fromUnit && rankOf(toUnit) >= rankOf(fromUnit)) found.push(`${from} → ${to}`);
    }
  }
  return found;
}

/** Pairs of files that import each other, as "a ↔ b": a type shared by both belongs in a file below them. */
function twoFileCircles(files: readonly string[]): string[] {
  const importsByFile = new Map(files.map((file) => [relative(SRC, file), new Set(importsOf(file))]));
  const found: string[] = [];
  for (const [from, targets] of importsByFile) {
    for (const to of targets) {
      if (from < to && importsByFile.get(to)?.has(from)) found.push(`${from} ↔ ${to}`);
    }
  }
  return found;
}

/** Imports by files under `from` of modules under `to`, except `allowed`, as "from → to". */
function importsBetween(from: string, to: string, allowed: readonly string[] = []): string[] {
  return sourceFiles(join(SRC, from)).flatMap((file) =>
    importsOf(file)
      .filter((target) => target.startsWith(`${to}/`) && !allowed.includes(target))
      .map((target) => `${relative(SRC, file)} → ${target}`),
  );
}

/** Files outside `folders` that import one of `packages`, as "file → package". */
function packageUsersOutside(folders: readonly string[], packages: readonly string[]): string[] {
  return sourceFiles(SRC).flatMap((file) => {
    const path = relative(SRC, file);
    if (folders.some((folder) => path.startsWith(`${folder}/`))) return [];
    return packagesOf(file)
      .filter((name) => packages.includes(name))
      .map((name) => `${path} → ${name}`);
  });
}

describe('layering of src/', () => {
  it('has no import that runs from a lower layer up, or sideways between layers', () => {
    assert.deepEqual(upwardImports(sourceFiles(SRC)), []);
  });

  it('has no two files that import each other', () => {
    assert.deepEqual(twoFileCircles(sourceFiles(SRC)), []);
  });

  it('the HTTP layer knows no backend: of providers/ and resource-metrics/ it sees only the interface, of upstreams/ only forwarding', () => {
    assert.deepEqual(importsBetween('server', 'providers', ['providers/provider.ts']), []);
    assert.deepEqual(importsBetween('server', 'upstreams', ['upstreams/forwarding.ts']), []);
    assert.deepEqual(importsBetween('server', 'resource-metrics', ['resource-metrics/provider.ts']), []);
    assert.deepEqual(importsBetween('server/auth', 'providers'), []);
  });

  it('only the HTTP layer imports express, and the cache imports no HTTP at all', () => {
    assert.deepEqual(packageUsersOutside(['server'], ['express']), []);
    const http = ['express', 'node:http', 'node:https', 'http', 'https', 'node:http2'];
    assert.deepEqual(
      sourceFiles(join(SRC, 'cache')).flatMap((file) => packagesOf(file).filter((name) => http.includes(name))),
      [],
    );
  });

  it('the checks see what they check: a backend, express and node:http are imported where expected', () => {
    assert.ok(importsBetween('startup', 'providers').length > 0, 'startup builds the backends');
    assert.ok(packagesOf(join(SRC, 'server', 'app.ts')).includes('express'));
    assert.ok(packagesOf(join(SRC, 'upstreams', 'client.ts')).includes('node:https'));
  });
});
