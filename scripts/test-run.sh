#!/usr/bin/env bash
# One run of node's test runner as npm test runs it (scripts/test.sh), with the project's reporter:
# its output on stdout and in DIR/NAME.out, each failure the reporter sees in DIR/NAME.failures,
# and the runner's exit status in DIR/NAME.status, which scripts/test-recap.mjs reads at the end
# (a runner that crashed or was killed never printed its closing lines: only its status says so).
# usage: test-run.sh DIR NAME LABEL NODE [node flags and test files...]
# LABEL starts each line of the run's output (empty: none). With TEST_RUN_IN_ONE_PROCESS=1 node runs
# without --test, the files given after scripts/test-in-one-process.mjs in its own process (Node 20).
set -uo pipefail

dir="$1" name="$2" label="$3" node="$4"
shift 4
reporter="$(cd "$(dirname "$0")" && pwd)/test-reporter.mjs"
rm -f "$dir/$name.out" "$dir/$name.failures" "$dir/$name.status"
# --enable-source-maps: for files compiled by tsc or run through tsx, node would otherwise place
# each test at a line of the JavaScript (ha-rolling-restart.test.ts:1), not of the test's source.
runner=(--test)
if [[ "${TEST_RUN_IN_ONE_PROCESS:-}" == 1 ]]; then
  runner=()
  # Without --test node applies no --test-timeout: the reporter ends a run where no test started
  # or ended for this long, above the longest timeout a unit test gives itself (600 s).
  export TEST_RUN_STALL_MS="${TEST_RUN_STALL_MS:-900000}"
fi
# Not for the runs the tests start themselves (test/scripts/test-recap.test.ts).
unset TEST_RUN_IN_ONE_PROCESS
TEST_RUN_LABEL="$label" TEST_FAILURES_FILE="$dir/$name.failures" \
  "$node" --enable-source-maps "${runner[@]}" --test-concurrency=2 --test-timeout=120000 --test-reporter="$reporter" "$@" 2>&1 |
  tee "$dir/$name.out"
status=${PIPESTATUS[0]}
echo "$status" >"$dir/$name.status"
exit "$status"
