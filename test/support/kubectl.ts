import { execFile } from 'node:child_process';
import { existsSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The real kubectl. The google-cloud-cli dispatcher on these machines first calls GET /version
 * on the server to pick a client version, so the versioned binary beside it is called directly.
 */
export function findKubectl(): string | undefined {
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'kubectl'))
    .find((p) => existsSync(p));
  if (!onPath) return undefined;
  const real = realpathSync(onPath);
  for (const version of ['1.32', '1.33', '1.31']) {
    const versioned = join(dirname(real), `kubectl.${version}`);
    if (existsSync(versioned)) return versioned;
  }
  try {
    return readlinkSync(onPath) ? real : onPath;
  } catch {
    return onPath;
  }
}

/** The versioned kubectl binaries beside the dispatcher, of those asked for, e.g. `['1.32', '1.27']`. */
export function findKubectlVersions(versions: readonly string[]): { version: string; binary: string }[] {
  const onPath = (process.env.PATH ?? '')
    .split(':')
    .map((dir) => join(dir, 'kubectl'))
    .find((p) => existsSync(p));
  if (!onPath) return [];
  const dir = dirname(realpathSync(onPath));
  return versions
    .map((version) => ({ version, binary: join(dir, `kubectl.${version}`) }))
    .filter(({ binary }) => existsSync(binary));
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * kubectl with HOME in a new directory (its discovery and HTTP caches go there), removed when it
 * exits: a suite run made about 80 such directories and left them all in /tmp.
 */
export async function runKubectl(binary: string, kubeconfig: string, args: string[]): Promise<KubectlResult> {
  const home = await mkdtemp(join(tmpdir(), 'kubectl-home-'));
  try {
    return await new Promise((resolve) => {
      execFile(
        binary,
        ['--kubeconfig', kubeconfig, ...args],
        { env: { PATH: process.env.PATH ?? '', HOME: home }, timeout: 30_000 },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** A kubeconfig for a user of the adapter: its server URL, the CA that signed its cert, and a token. */
export async function writeUserKubeconfig(
  server: string,
  caPath: string,
  token: string,
): Promise<{ path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'user-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  await writeFile(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: adapter\n  cluster:\n    server: ${server}\n    certificate-authority: ${caPath}`,
      'users:',
      `- name: user\n  user:\n    token: ${token}`,
      'contexts:',
      '- name: adapter\n  context:\n    cluster: adapter\n    user: user',
      'current-context: adapter',
      '',
    ].join('\n'),
  );
  return { path, dir };
}
