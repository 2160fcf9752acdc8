import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * The NODE_OPTIONS the Deployment runs the adapter with (deploy/base/deployment.yaml), read from
 * the manifest so that a test of memory bounds starts the process with the V8 heap sizing a pod
 * really gets, and cannot drift from it.
 */
export const DEPLOYMENT_NODE_OPTIONS: string = readDeploymentNodeOptions();

function readDeploymentNodeOptions(): string {
  const manifest = fileURLToPath(new URL('../../deploy/base/deployment.yaml', import.meta.url));
  const deployment = parse(readFileSync(manifest, 'utf8')) as {
    spec: { template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } } };
  };
  const value = deployment.spec.template.spec.containers
    .flatMap((container) => container.env ?? [])
    .find((variable) => variable.name === 'NODE_OPTIONS')?.value;
  if (value === undefined) throw new Error(`${manifest} sets no NODE_OPTIONS`);
  return value;
}
