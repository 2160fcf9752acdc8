import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  CREDENTIAL_READERS,
  type CredentialReader,
  startCredentialReaders,
} from '../test/support/aws-credential-readers.js';
import type { CredentialsEndpointMode } from '../test/support/aws-credentials-endpoint.js';

/**
 * A misbehaving EKS Pod Identity endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI) under the three
 * readers that sign with the adapter's own identity (SQS, CloudWatch, SigV4 for AMP), measured
 * as issue 20 describes it: 300 concurrent reads while the endpoint hangs, drips or answers
 * 2,000 × 1 MiB, each with a 10 s request deadline (how many wait it out, how long they take,
 * peak RSS against idle), then 100 reads once the endpoint answers again without the stuck
 * connections being cut (how many succeed).
 *
 *   node --import tsx bench/aws-credential-endpoints.ts [--only=sqs:hang,sigv4:huge]
 *
 * Each scenario runs in a process of its own (the SDK reads the environment once per process;
 * RSS is per scenario). A scenario is stopped when its RSS passes 3 GiB.
 */

const REQUEST_DEADLINE_MS = 10_000;
const RSS_CAP = 3 * 1024 ** 3;
const MODES: readonly CredentialsEndpointMode[] = ['hang', 'drip', 'huge'];

interface Wave {
  ok: number;
  failed: number;
  /** Reads still unanswered when their 10 s deadline passed. */
  waitedOut: number;
  p50Ms: number;
  maxMs: number;
  firstError?: string;
}

interface ScenarioResult {
  scenario: string;
  idleRssMb: number;
  peakRssMb: number;
  endpointRequests: number;
  whileBad: Wave;
  afterRecovery: Wave;
  stoppedAtRssCap?: boolean;
}

async function wave(read: (signal: AbortSignal) => Promise<number | undefined>, count: number): Promise<Wave> {
  const outcomes = await Promise.all(
    Array.from({ length: count }, async () => {
      const started = performance.now();
      const signal = AbortSignal.timeout(REQUEST_DEADLINE_MS);
      let timer: NodeJS.Timeout | undefined;
      // The HTTP layer answers at the request deadline whether or not the provider returned.
      const deadline = new Promise<'waited out'>((resolve) => {
        timer = setTimeout(() => resolve('waited out'), REQUEST_DEADLINE_MS);
      });
      const result = await Promise.race([
        read(signal).then(
          (value) => ({ value }),
          (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
        ),
        deadline,
      ]);
      clearTimeout(timer);
      return { result, ms: performance.now() - started };
    }),
  );
  const times = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  const errors = outcomes.flatMap((o) => (typeof o.result === 'object' && 'error' in o.result ? [o.result.error] : []));
  return {
    ok: outcomes.filter((o) => typeof o.result === 'object' && 'value' in o.result && o.result.value !== undefined)
      .length,
    failed: errors.length,
    waitedOut: outcomes.filter((o) => o.result === 'waited out').length,
    p50Ms: Math.round(times[Math.floor(times.length / 2)] ?? 0),
    maxMs: Math.round(times.at(-1) ?? 0),
    ...(errors[0] ? { firstError: errors[0].slice(0, 300) } : {}),
  };
}

async function runScenario(reader: CredentialReader, mode: CredentialsEndpointMode): Promise<ScenarioResult> {
  const readers = await startCredentialReaders();
  global.gc?.();
  const idle = process.memoryUsage.rss();
  let peak = idle;
  let stopped = false;
  const sampler = setInterval(() => {
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    if (rss > RSS_CAP && !stopped) {
      stopped = true;
      process.stdout.write(
        `${JSON.stringify({ scenario: `${reader}:${mode}`, idleRssMb: mb(idle), peakRssMb: mb(peak), stoppedAtRssCap: true })}\n`,
      );
      process.exit(0);
    }
  }, 50);
  readers.endpoint.mode = mode;
  const whileBad = await wave((signal) => readers.read(reader, signal), 300);
  readers.endpoint.mode = 'ok';
  const afterRecovery = await wave((signal) => readers.read(reader, signal), 100);
  clearInterval(sampler);
  const result = {
    scenario: `${reader}:${mode}`,
    idleRssMb: mb(idle),
    peakRssMb: mb(peak),
    endpointRequests: readers.endpoint.requests,
    whileBad,
    afterRecovery,
  };
  await readers.close();
  return result;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 1024);
}

const { values } = parseArgs({ options: { one: { type: 'string' }, only: { type: 'string' } } });
if (values.one) {
  const [reader, mode] = values.one.split(':') as [CredentialReader, CredentialsEndpointMode];
  process.stdout.write(`${JSON.stringify(await runScenario(reader, mode))}\n`);
  process.exit(0);
}
const wanted = values.only?.split(',');
for (const reader of CREDENTIAL_READERS) {
  for (const mode of MODES) {
    const scenario = `${reader}:${mode}`;
    if (wanted && !wanted.includes(scenario)) continue;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), `--one=${scenario}`],
      { encoding: 'utf8', timeout: 120_000, maxBuffer: 1024 * 1024 },
    );
    const line = child.stdout.trim().split('\n').at(-1) ?? '';
    process.stdout.write(
      `${line || JSON.stringify({ scenario, failed: child.status, stderr: child.stderr.slice(-500) })}\n`,
    );
  }
}
