import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rulesConfig, serversConfig } from '../test/support/large-configs.js';

/**
 * Issue 20 item 12: how long a config load holds the event loop (and /livez with it), at start
 * and on a reload, for a 0.98 MB file of prometheus-adapter rules and for 500 Prometheus servers
 * (one rule each). Their URLs refuse connections, so discovery fails at once and retries: the
 * cost measured is the adapter's own. This build's dist/ (`npx tsc -p tsconfig.json` first) and,
 * with --compare-build, another build's, each in a child process of its own, one after the other.
 * Per phase: the longest event-loop delay in the child, the CPU time of its longest block (what a
 * loaded machine's wait for a core leaves out), /livez latency p99 and max polled from here every
 * 20 ms, and the child's RSS at the phase's end; with a compared build, the ratios.
 *
 *   node --import tsx bench/config-load.ts [--compare-build=/path/to/dist/main.js] [--rounds=N]
 */

const { values } = parseArgs({ options: { 'compare-build': { type: 'string' }, rounds: { type: 'string' } } });
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = fileURLToPath(new URL('./support/config-load-child.ts', import.meta.url));
const rounds = Number(values.rounds ?? 1);
const POLL_MS = 20;

interface Phase {
  phase: string;
  from: number;
  to: number;
  ms: number;
  maxEventLoopDelayMs: number;
  maxLoopBlockCpuMs: number;
  rssMiB: number;
}

interface PhaseResult extends Omit<Phase, 'from' | 'to'> {
  livezPolls: number;
  livezP99Ms: number;
  livezMaxMs: number;
}

/** One build's load of one config: each phase with the /livez latencies of the polls sent during it. */
async function measure(dist: string, path: string): Promise<PhaseResult[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dist, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const agent = new Agent({ keepAlive: true });
  const polls: { sentAt: number; ms: number }[] = [];
  const phases: Phase[] = [];
  let poller: NodeJS.Timeout | undefined;
  const poll = (port: number) => {
    const sentAt = Date.now();
    const started = performance.now();
    get({ host: '127.0.0.1', port, path: '/livez', agent }, (response) => {
      response.resume();
      response.on('end', () => polls.push({ sentAt, ms: performance.now() - started }));
    }).on('error', () => undefined);
  };
  for await (const line of createInterface({ input: child.stdout })) {
    const message = JSON.parse(line) as { port?: number } & Partial<Phase>;
    if (message.port !== undefined) {
      const port = message.port;
      poller = setInterval(() => poll(port), POLL_MS);
    } else phases.push(message as Phase);
  }
  clearInterval(poller);
  agent.destroy();
  return phases.map(({ from, to, ...phase }) => {
    const latencies = polls
      .filter((p) => p.sentAt >= from && p.sentAt <= to)
      .map((p) => p.ms)
      .sort((a, b) => a - b);
    const at = (q: number) =>
      Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
    return { ...phase, livezPolls: latencies.length, livezP99Ms: at(0.99), livezMaxMs: at(1) };
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'bench-config-load-'));
const configs = {
  'rules 0.98 MB': rulesConfig(980_000),
  '500 servers': serversConfig(500),
};
const builds: Record<string, string> = { this: join(ROOT, 'dist') };
if (values['compare-build']) builds.compared = dirname(values['compare-build']);
const RATIO_FIELDS = ['maxEventLoopDelayMs', 'maxLoopBlockCpuMs', 'livezP99Ms', 'livezMaxMs', 'rssMiB'] as const;

try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, text] of Object.entries(configs)) {
      const path = join(scratch, 'config.yaml');
      writeFileSync(path, text);
      const results: Record<string, PhaseResult[]> = {};
      for (const [build, dist] of Object.entries(builds)) {
        results[build] = await measure(dist, path);
        for (const phase of results[build])
          console.log(JSON.stringify({ config: name, bytes: text.length, build, ...phase }));
      }
      if (!results.compared) continue;
      for (const [i, phase] of (results.this ?? []).entries()) {
        const compared = results.compared[i];
        if (!compared) continue;
        const ratios = Object.fromEntries(
          RATIO_FIELDS.map((field) => [field, Number((compared[field] / Math.max(1, phase[field])).toFixed(1))]),
        );
        console.log(JSON.stringify({ config: name, phase: phase.phase, comparedOverThis: ratios }));
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
