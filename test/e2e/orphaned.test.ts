import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { MAIN_JS } from '../support/adapter-process.js';

/**
 * Whether `pid` still runs. A process that exited stays a zombie until its new parent (PID 1 or a
 * subreaper) reaps it, and signal 0 reaches a zombie: on a loaded machine the reaping can lag, so
 * the process state is read too.
 */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state follows the command name in parentheses, which may itself hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** How long the adapter may take to notice (it checks every second) and stop, on a loaded machine. */
const STOP_DEADLINE_MS = 60_000;

describe('started through a wrapper that dies (npx, npm start)', () => {
  it('stops when its parent is gone instead of running on under PID 1', async () => {
    // A shell that does not exec the adapter, as npm's `sh -c` under `npx`: SIGKILL it, as npm
    // exits on SIGTERM without passing the signal on. The shell prints the adapter's PID on a
    // line of its own; the adapter's JSON log lines come on the same pipe.
    const wrapper = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${MAIN_JS}" --secure-port=0 --shutdown-delay-seconds=0 & echo "pid $!"; wait`],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } },
    );
    const stderr: string[] = [];
    wrapper.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    const lines = createInterface({ input: wrapper.stdout });
    const logs: string[] = [];
    let pid = 0;
    let serving = false;
    const reading = (async () => {
      for await (const line of lines) {
        const announced = /^pid (\d+)$/.exec(line);
        if (announced) pid = Number(announced[1]);
        else logs.push(line);
        if (line.includes('"serving')) serving = true;
      }
    })();
    const startBy = Date.now() + 60_000;
    while (!(serving && pid > 0) && Date.now() < startBy && wrapper.exitCode === null)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(
      serving && pid > 0 && running(pid),
      `the adapter serves: ${logs.slice(-5).join('\n')} ${stderr.join('')}`,
    );
    wrapper.kill('SIGKILL');
    const deadline = Date.now() + STOP_DEADLINE_MS;
    while (running(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stillRunning = running(pid);
    if (stillRunning) process.kill(pid, 'SIGKILL');
    lines.close();
    await reading;
    assert.equal(
      stillRunning,
      false,
      `the adapter outlived its parent by ${STOP_DEADLINE_MS} ms; its last lines: ${logs.slice(-5).join('\n')} ${stderr.join('')}`,
    );
  });
});
