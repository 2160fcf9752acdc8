// @ts-check
// Node 20's way to run many test files in one process (scripts/test.sh), which Node 22 and later
// do with --experimental-test-isolation=none: run without --test, this script imports each file
// named on its command line in turn; node's test runner, loaded by the first, runs their tests one
// file after another when the last is loaded, with the reporter given by --test-reporter. Without
// --test, node applies no --test-timeout: scripts/test-reporter.mjs fails such a run when no test
// started or ended for TEST_RUN_STALL_MS (scripts/test-run.sh).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const file of process.argv.slice(2)) {
  await import(pathToFileURL(resolve(file)).href);
}
