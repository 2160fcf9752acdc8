/**
 * deploy/ as the cluster would receive it: every install (an overlay, or the base with
 * components) rendered by the real kubectl's kustomize, parsed into plain objects.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { findKubectl } from '../support/kubectl.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type Labels = Record<string, string>;
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels; annotations?: Labels };
  [field: string]: unknown;
}

/** One way to install the adapter: an overlay directory, or directories composed by a throwaway kustomization. */
export interface Install {
  name: string;
  resources: string[];
  components?: string[];
}

/**
 * Every install the project documents. Each overlay and component under deploy/ appears in at
 * least one (test/deploy/manifests.test.ts checks that), so none escapes validation.
 */
export const INSTALLS: readonly Install[] = [
  { name: 'base', resources: ['deploy/base'] },
  { name: 'overlays/cert-manager', resources: ['deploy/overlays/cert-manager'] },
  { name: 'overlays/eks', resources: ['deploy/overlays/eks'] },
  { name: 'overlays/eks-amp', resources: ['deploy/overlays/eks-amp'] },
  {
    name: 'overlays/eks + components/monitoring',
    resources: ['deploy/overlays/eks'],
    components: ['deploy/components/monitoring'],
  },
  {
    name: 'base + components/upstream-keda + components/upstream-prometheus-adapter',
    resources: ['deploy/base'],
    components: ['deploy/components/upstream-keda', 'deploy/components/upstream-prometheus-adapter'],
  },
  {
    name: 'base + components/resource-metrics',
    resources: ['deploy/base'],
    components: ['deploy/components/resource-metrics'],
  },
  {
    name: 'base + components/serving-cert-secret + components/monitoring',
    resources: ['deploy/base'],
    components: ['deploy/components/serving-cert-secret', 'deploy/components/monitoring'],
  },
];

export const kubectl = findKubectl();
export const needsKubectl = { skip: kubectl ? false : 'kubectl not found: deploy/ kustomize output is NOT checked' };

/** `kubectl kustomize` of an install, with a throwaway HOME (the kubectl dispatcher caches there). */
export function render(install: Install): KubeObject[] {
  assert.ok(kubectl, 'kubectl is needed to render deploy/');
  const scratch = mkdtempSync(join(tmpdir(), 'deploy-render-'));
  try {
    let dir = join(ROOT, install.resources[0] ?? '');
    if (install.components || install.resources.length > 1) {
      // kustomize refuses absolute paths, but follows relative ones out of its root.
      const rel = (path: string) => relative(scratch, join(ROOT, path));
      const kustomization = {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        resources: install.resources.map(rel),
        components: (install.components ?? []).map(rel),
      };
      writeFileSync(join(scratch, 'kustomization.yaml'), JSON.stringify(kustomization));
      dir = scratch;
    }
    const result = spawnSync(kubectl, ['kustomize', dir], {
      env: { ...process.env, HOME: scratch },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(
      result.status,
      0,
      `kubectl kustomize ${install.name} failed: ${result.stderr || result.error?.message}`,
    );
    return parseYamlStream(result.stdout, `kubectl kustomize ${install.name}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Renders every install once; empty when kubectl is missing (the tests then skip). */
export function renderAll(): Map<string, KubeObject[]> {
  return new Map(kubectl ? INSTALLS.map((install) => [install.name, render(install)]) : []);
}

export function parseYamlStream(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((doc) => {
    assert.deepEqual(doc.errors, [], `${source}: invalid YAML`);
    const value = doc.toJS() as KubeObject | null;
    return value ? [value] : [];
  });
}

/** Directories directly under deploy/<folder>/ (overlays, components). */
export function deployDirectories(folder: string): string[] {
  return readdirSync(join(ROOT, 'deploy', folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => `deploy/${folder}/${entry.name}`);
}

export function ofKind<T extends KubeObject>(objects: readonly KubeObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

export function theOne<T extends KubeObject>(objects: readonly KubeObject[], kind: string, name?: string): T {
  const found = ofKind<T>(objects, kind).filter((o) => name === undefined || o.metadata.name === name);
  assert.equal(found.length, 1, `expected exactly one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as T;
}

/** Whether a matchLabels selector selects objects carrying `labels`. */
export function selects(matchLabels: Labels | undefined, labels: Labels | undefined): boolean {
  const wanted = Object.entries(matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

/** A deep copy to break in a test without touching the shared rendering. */
export function copyOf<T>(value: T): T {
  return structuredClone(value);
}
