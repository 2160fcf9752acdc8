import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layers of src/, lowest first: a module may import only from a lower layer (or its own
 * folder). A few files sit apart from their folder: the errors and field helpers every config
 * section uses, and createBackends, which composes the whole config. See docs/architecture.md.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['lib'],
  ['api', 'version.ts', 'config/errors.ts', 'config/fields.ts'],
  ['concurrency', 'io', 'observability'],
  ['kube', 'cache'],
  ['providers', 'upstreams'],
  ['config'],
  ['providers/backends.ts', 'server'],
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

describe('layering of src/', () => {
  it('has no import that runs from a lower layer up, or sideways between layers', () => {
    assert.deepEqual(upwardImports(sourceFiles(SRC)), []);
  });
});
