import { parseArgs } from 'node:util';
import { startAdapter } from '../test/support/adapter-process.js';
import { connectionSlotFlood, successRate } from '../test/support/connection-flood.js';
import { DEPLOYMENT_NODE_OPTIONS } from '../test/support/deployment-node-options.js';

/**
 * The connection-slot lockout (issue 20 item 8), measured on built adapters, one after the
 * other in one run: 1,000 silent TCP connections reopened as the server closes them, while
 * /livez and a metric are polled over new connections every 200 ms with the probe's 3 s timeout.
 *
 *   node --import tsx bench/connection-flood.ts [--seconds=20] [--build=OTHER/dist/main.js ...]
 *
 * Each --build is measured as well as this tree's dist/main.js (build it first: npx tsc).
 */
const { values } = parseArgs({
  options: { seconds: { type: 'string' }, build: { type: 'string', multiple: true } },
});
const durationMs = Number(values.seconds ?? 20) * 1000;
const METRIC = '/apis/external.metrics.k8s.io/v1beta1/namespaces/default/demo-queue-depth';

const builds: (string | undefined)[] = [...(values.build ?? []), undefined];
for (const mainJs of builds) {
  const adapter = await startAdapter({
    args: ['--secure-port=0'],
    env: { NODE_OPTIONS: DEPLOYMENT_NODE_OPTIONS },
    ...(mainJs ? { mainJs } : {}),
  });
  try {
    const result = await connectionSlotFlood({
      port: adapter.port,
      sockets: 1000,
      durationMs,
      polls: ['/livez', METRIC],
      pollEveryMs: 200,
      pollTimeoutMs: 3000,
    });
    const rows = Object.entries(result.polls).map(
      ([path, count]) =>
        `  ${path.padEnd(75)} ${count.ok} ok / ${count.failed} failed (${successRate(count).toFixed(1)} %), longest failure run ${count.longestFailureRun}, answer p50 ${quantile(count.answerMs, 0.5)} ms, max ${quantile(count.answerMs, 1)} ms`,
    );
    process.stdout.write(
      `${mainJs ?? 'this tree (dist/main.js)'}: ${result.opened} silent connections in ${durationMs / 1000} s (${result.opensPerSecond}/s)\n${rows.join('\n')}\n`,
    );
  } finally {
    await adapter.stop();
  }
}

function quantile(sorted: readonly number[], q: number): string {
  const value = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return value === undefined ? '-' : value.toFixed(0);
}
