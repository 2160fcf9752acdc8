import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEPLOYMENT_NODE_OPTIONS } from '../../test/support/deployment-node-options.js';

/** The Node an adapter in a bench runs on, and the NODE_OPTIONS it gets. */
export interface AdapterRuntime {
  node: string;
  /** Unset: the bench's own environment's. */
  nodeOptions?: string;
  /** For the report: `node-24.21.0 with the Deployment's NODE_OPTIONS`. */
  label: string;
}

export type AdapterRuntimeName = 'image' | 'bench';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

/**
 * `image`: the Node the container image runs (the exact version `npm test` runs the end-to-end
 * files on, installed into .cache/ as it installs it) with the Deployment's NODE_OPTIONS, as a pod
 * runs the adapter. On 2026-12-08 at (b)'s 10,000 HPAs the adapter used 0.42–0.50 ms of CPU per
 * poll there against 0.71–0.75 on this machine's Node 20, and a quarter of the young-generation GC time.
 * `bench`: the Node running the bench, with V8's default heap sizing.
 */
export function adapterRuntime(name: AdapterRuntimeName): AdapterRuntime {
  if (name === 'bench') return { node: process.execPath, label: `node-${process.versions.node}` };
  const version = imageNodeVersion();
  process.stderr.write(`bench: the adapter runs on the image's Node ${version} (scripts/install-node.sh)\n`);
  const output = execFileSync('bash', ['scripts/install-node.sh', version], {
    cwd: REPOSITORY,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const node = output.trim().split('\n').at(-1) ?? '';
  return {
    node: resolve(REPOSITORY, node),
    nodeOptions: DEPLOYMENT_NODE_OPTIONS,
    label: `node-${version} with the Deployment's NODE_OPTIONS (${DEPLOYMENT_NODE_OPTIONS})`,
  };
}

/** IMAGE_NODE of scripts/test.sh: one place says which Node the image runs. */
function imageNodeVersion(): string {
  const script = readFileSync(new URL('../../scripts/test.sh', import.meta.url), 'utf8');
  const version = /^IMAGE_NODE=(\d+\.\d+\.\d+)$/m.exec(script)?.[1];
  if (!version) throw new Error('scripts/test.sh sets no IMAGE_NODE=<major.minor.patch>');
  return version;
}

/** The environment of an adapter process on `runtime` (none: the bench's own): the bench's, at log level info. */
export function adapterEnv(runtime: AdapterRuntime | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env, LOG_LEVEL: 'info' };
  return runtime?.nodeOptions === undefined ? env : { ...env, NODE_OPTIONS: runtime.nodeOptions };
}
