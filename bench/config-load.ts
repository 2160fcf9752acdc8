import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rulesConfig, serversConfig } from '../test/support/large-configs.js';

/**
 * Issue 20 item 12: how long a config load holds the event loop (and /livez with it), at start
 * and on a reload, for a 0.98 MB file of prometheus-adapter rules and for 500 Prometheus servers
 * (one rule each). Their URLs refuse connections, so discovery fails at once and retries: the
 * cost measured is the adapter's own. This build's dist/ (`npx tsc -p tsconfig.json` first) and,
 * with --compare-build, another build's, each in a child process of its own, one after the other.
 *
 *   node --import tsx bench/config-load.ts [--compare-build=/path/to/dist/main.js] [--rounds=N]
 */

const { values } = parseArgs({ options: { 'compare-build': { type: 'string' }, rounds: { type: 'string' } } });
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = fileURLToPath(new URL('./support/config-load-child.ts', import.meta.url));
const rounds = Number(values.rounds ?? 1);

const scratch = mkdtempSync(join(tmpdir(), 'bench-config-load-'));
const configs = {
  'rules 0.98 MB': rulesConfig(980_000),
  '500 servers': serversConfig(500),
};
const builds: Record<string, string> = { this: join(ROOT, 'dist') };
if (values['compare-build']) builds.compared = dirname(values['compare-build']);

try {
  for (let round = 0; round < rounds; round++) {
    for (const [name, text] of Object.entries(configs)) {
      const path = join(scratch, 'config.yaml');
      writeFileSync(path, text);
      for (const [build, dist] of Object.entries(builds)) {
        const out = execFileSync(process.execPath, ['--import', 'tsx', CHILD, dist, path], {
          encoding: 'utf8',
          maxBuffer: 1024 * 1024,
        });
        console.log(JSON.stringify({ config: name, bytes: text.length, build, ...JSON.parse(out) }));
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
