import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

/**
 * moto (Python) as an independent AWS peer for the SQS and CloudWatch tests; see
 * shared/aws-wire.md for what it covers (no metric math). It cannot be installed from npm, so
 * where it is missing the tests skip and say so on stderr instead of passing quietly.
 */

export interface MotoServer {
  url: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;

let availability: { available: true } | { available: false; reason: string } | undefined;

export function motoAvailability(): { available: true } | { available: false; reason: string } {
  if (!availability) {
    const probe = spawnSync('python3', ['-c', 'import moto.server'], { encoding: 'utf8', timeout: 20_000 });
    availability =
      probe.status === 0
        ? { available: true }
        : {
            available: false,
            reason: (probe.error?.message ?? probe.stderr.trim().split('\n').at(-1)) || `exit ${probe.status}`,
          };
  }
  return availability;
}

/**
 * Marks the test skipped with the reason (and writes it to stderr) when moto is missing;
 * returns whether the test may go on.
 */
export function requireMoto(t: TestContext): boolean {
  const moto = motoAvailability();
  if (moto.available) return true;
  const message = `moto not installed: ${moto.reason} (python3 -m moto.server is needed for the AWS peer tests)`;
  process.stderr.write(`SKIPPED ${t.name}: ${message}\n`);
  t.skip(message);
  return false;
}

/** Starts `python3 -m moto.server` on a free loopback port and waits until it answers. */
export async function startMoto(): Promise<MotoServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited with ${child.exitCode} at start:\n${output}`);
    try {
      const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      if (response.ok) return { url, stop: () => stop(child, exited) };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop(child, exited);
  throw new Error(`moto did not answer on ${url} within ${STARTUP_TIMEOUT_MS} ms:\n${output}`);
}

async function stop(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
