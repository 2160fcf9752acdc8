import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { routeProcessWarnings } from '../../src/observability/process-warnings.js';

const SDK_WARNING = `NodeVersionSupportWarning: The AWS SDK for JavaScript (v3)
versions published after the first week of January 2027
will require node >=22. You are running node v20.20.2.`;

describe('process warnings', () => {
  const listeners = process.listeners('warning');
  after(() => {
    process.removeAllListeners('warning');
    for (const listener of listeners) process.on('warning', listener);
  });

  it('says each warning once, on one line, however many copies of a module emit it', async () => {
    const said: { name: string; message: string }[] = [];
    routeProcessWarnings((warning) => said.push(warning));
    // Each copy of the SDK's core module keeps its own "already warned" flag.
    for (let copy = 0; copy < 3; copy++) process.emitWarning(SDK_WARNING);
    process.emitWarning('another warning');
    await new Promise((r) => setImmediate(r));
    // npm test runs many files in one process: another file's first MockTimers use may warn meanwhile.
    const ours = said.filter(({ message }) => /^(NodeVersionSupportWarning|another warning)/.test(message));
    assert.deepEqual(ours, [
      {
        name: 'Warning',
        message:
          'NodeVersionSupportWarning: The AWS SDK for JavaScript (v3) versions published after the first week of January 2027 will require node >=22. You are running node v20.20.2.',
      },
      { name: 'Warning', message: 'another warning' },
    ]);
  });
});
