import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { MAIN_JS } from '../support/adapter-process.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('started through a wrapper that dies (npx, npm start)', () => {
  it('stops when its parent is gone instead of running on under PID 1', async () => {
    // A shell that does not exec the adapter, as npm's `sh -c` under `npx`: SIGKILL it, as npm
    // exits on SIGTERM without passing the signal on.
    const wrapper = spawn(
      'sh',
      ['-c', `"${process.execPath}" "${MAIN_JS}" --secure-port=0 --shutdown-delay-seconds=0 & echo $!; wait`],
      { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, KUBECONFIG: '' } },
    );
    const lines = createInterface({ input: wrapper.stdout });
    let pid = 0;
    for await (const line of lines) {
      if (pid === 0) pid = Number(line);
      else if (line.includes('"serving')) break;
    }
    assert.ok(pid > 0 && alive(pid));
    wrapper.kill('SIGKILL');
    const deadline = Date.now() + 30_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const stillAlive = alive(pid);
    if (stillAlive) process.kill(pid, 'SIGKILL');
    assert.equal(stillAlive, false, 'the adapter outlived its parent');
  });
});
