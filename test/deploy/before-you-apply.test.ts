/**
 * deploy/README.md's "Before you apply" as a user runs it: its commands, with a user's own image,
 * version and IAM role, in a copy of the repository, with nothing but kubectl on PATH; then what
 * kubectl's kustomize renders from the user's overlay. Also what makes those edits necessary and
 * visible: no install names a published image, the example values say they are examples, no
 * instruction needs a kustomize binary, and the release workflow builds the tag's version.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { ADAPTER, adapterContainer, adapterDeployment, shippedConfigText } from './kinds.js';
import { INSTALLS, kubectl, needsKubectl, parseYamlStream, ROOT, render, theOne } from './render.js';

const README = readFileSync(join(ROOT, 'deploy', 'README.md'), 'utf8');

/** The shell block after `<!-- before-you-apply: NAME -->` in deploy/README.md. */
function block(name: string): string {
  const found = new RegExp(`<!-- before-you-apply: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(README);
  assert.ok(found?.[1], `deploy/README.md has the "${name}" block`);
  return found[1];
}

/** The block with the user's values for its variables, each of which it must set. */
function withValues(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [name, value] of Object.entries(values)) {
    const line = new RegExp(`^${name}=.*$`, 'm');
    assert.match(out, line, `the block sets ${name}`);
    out = out.replace(line, `${name}=${value}`);
  }
  return out;
}

const USER = {
  IMAGE: '444455556666.dkr.ecr.ap-south-1.amazonaws.com/team/metrics-adapter',
  VERSION: '3.2.1',
  ROLE_ARN: 'arn:aws:iam::444455556666:role/team-metrics-adapter',
};

const OVERLAYS = ['base', 'overlays/cert-manager', 'overlays/eks', 'overlays/eks-amp'];

/** The user's way to credentials on EKS: IRSA (their role's ARN) or Pod Identity (no annotation). */
type Credentials = 'irsa' | 'pod identity';
type Case = [overlay: string, credentials?: Credentials];
const CASES = OVERLAYS.flatMap((overlay): Case[] =>
  overlay.startsWith('overlays/eks')
    ? [
        [overlay, 'irsa'],
        [overlay, 'pod identity'],
      ]
    : [[overlay]],
);

describe('Before you apply (deploy/README.md), run as written', needsKubectl, () => {
  for (const [overlay, credentials] of CASES) {
    const role = credentials === 'irsa' ? ', role' : credentials ? ' and no IRSA annotation (Pod Identity)' : '';
    it(`${overlay}: the commands give an overlay of the user's that renders their image${role} and config`, () => {
      const repo = mkdtempSync(join(tmpdir(), 'before-you-apply-'));
      try {
        cpSync(join(ROOT, 'deploy'), join(repo, 'deploy'), { recursive: true });
        // kubectl and the shell's own tools only: no kustomize binary.
        const bin = join(repo, 'bin');
        mkdirSync(bin);
        symlinkSync(kubectl ?? '', join(bin, 'kubectl'));
        const script = [
          withValues(block('all overlays'), { OVERLAY: overlay, IMAGE: USER.IMAGE, VERSION: USER.VERSION }),
          credentials === 'irsa' ? withValues(block('eks overlays'), { ROLE_ARN: USER.ROLE_ARN }) : '',
          credentials === 'pod identity' ? block('eks pod identity') : '',
        ].join('\n');
        const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: repo };
        const ran = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: repo, env, encoding: 'utf8' });
        assert.equal(ran.status, 0, `the commands failed: ${ran.stderr}`);
        // The user's edit of their copy of the config.
        appendFileSync(join(repo, 'my-adapter', 'config.yaml'), '# edited by the user\n');
        const rendered = spawnSync('kubectl', ['kustomize', 'my-adapter'], { cwd: repo, env, encoding: 'utf8' });
        assert.equal(rendered.status, 0, `kubectl kustomize my-adapter: ${rendered.stderr}`);
        const objects = parseYamlStream(rendered.stdout, 'my-adapter');
        assert.equal(adapterContainer(adapterDeployment(objects)).image, `${USER.IMAGE}:${USER.VERSION}`);
        assert.match(
          shippedConfigText(objects),
          /# edited by the user\n$/,
          "the user's config file is the one shipped",
        );
        if (credentials) {
          const annotations = theOne(objects, 'ServiceAccount', ADAPTER).metadata.annotations ?? {};
          if (credentials === 'irsa') assert.equal(annotations['eks.amazonaws.com/role-arn'], USER.ROLE_ARN);
          else
            assert.deepEqual(
              Object.keys(annotations).filter((key) => key.startsWith('eks.amazonaws.com/')),
              [],
            );
        }
        assert.equal(
          render({ name: overlay, resources: [`deploy/${overlay}`] }).length,
          objects.length,
          "the user's overlay adds no object and loses none",
        );
      } finally {
        rmSync(repo, { recursive: true, force: true });
      }
    });
  }
});

describe('what the user must set is visible', () => {
  it(
    'no install renders an image tag that was never published: the image is the bare name the user replaces',
    needsKubectl,
    () => {
      for (const install of INSTALLS) {
        assert.equal(adapterContainer(adapterDeployment(render(install))).image, ADAPTER, install.name);
      }
    },
  );

  it('every shipped config marks its example values with "# example"', () => {
    const configs = [
      'deploy/base/config.yaml',
      'deploy/overlays/eks/config.yaml',
      'deploy/overlays/eks-amp/config.yaml',
    ];
    const site = /^\s*(- )?(url|region|allowQueues|queueName|namespaces|metric|seriesQuery):/;
    for (const path of configs) {
      const lines = readFileSync(join(ROOT, path), 'utf8').split('\n');
      assert.match(lines[0] ?? '', /example/i, `${path} says at its top that it is an example`);
      for (const line of lines.filter((l) => site.test(l))) {
        assert.match(line, /# example/, `${path}: ${line.trim()}`);
      }
    }
  });

  it('no instruction or comment needs a kustomize binary (`kustomize edit`)', () => {
    const files = ['README.md', 'Dockerfile', ...filesUnder('docs'), ...filesUnder('deploy')];
    for (const file of files) {
      assert.doesNotMatch(readFileSync(join(ROOT, file), 'utf8'), /kustomize edit/, file);
    }
  });
});

describe('the release workflow (.github/workflows/release.yml)', () => {
  interface Step {
    id?: string;
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
  }
  const workflow = parse(readFileSync(join(ROOT, '.github', 'workflows', 'release.yml'), 'utf8')) as {
    on: { push: { tags: string[] } };
    jobs: Record<string, { steps: Step[] }>;
  };
  const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
  const versionStep = steps.find((s) => s.id === 'version');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

  const runVersionStep = (tag: string) => {
    const scratch = mkdtempSync(join(tmpdir(), 'release-'));
    try {
      const output = join(scratch, 'output');
      appendFileSync(output, '');
      const ran = spawnSync('bash', ['-e', '-c', versionStep?.run ?? 'exit 1'], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          GITHUB_REF_NAME: tag,
          GITHUB_REPOSITORY: 'Owner/HPA-Adapter',
          GITHUB_OUTPUT: output,
        },
        encoding: 'utf8',
      });
      return { status: ran.status, stdout: ran.stdout, output: readFileSync(output, 'utf8') };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  };

  it('runs on a version tag and takes the version from it, refusing a tag package.json does not say', () => {
    assert.deepEqual(workflow.on.push.tags, ['v*']);
    const ok = runVersionStep(`v${pkg.version}`);
    assert.equal(ok.status, 0);
    assert.match(ok.output, new RegExp(`^version=${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(ok.output, /^image=ghcr\.io\/owner\/hpa-adapter$/m, 'a registry name is lower case');
    const wrong = runVersionStep('v99.0.0');
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stdout, /package\.json/);
  });

  it('builds and pushes the image with that version as its tag and its VERSION build-arg', () => {
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    assert.ok(build?.with, 'a docker/build-push-action step');
    assert.equal(build.with.push, true);
    assert.match(String(build.with.tags), /:\$\{\{ steps\.version\.outputs\.version \}\}$/);
    assert.match(String(build.with['build-args']), /^VERSION=\$\{\{ steps\.version\.outputs\.version \}\}$/m);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .map((path) => join(dir, path))
    .filter((path) => statSync(join(ROOT, path)).isFile())
    .map((path) => relative('.', path));
}
