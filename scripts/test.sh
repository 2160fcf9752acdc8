#!/usr/bin/env bash
# The whole suite, as README and CI run it: lint, then the build (the end-to-end tests run
# dist/main.js as a real process) beside the type check, which also compiles src/ and test/ into
# .cache/js/ (scripts/build-tests.sh); then the tests with node's test runner: every file on
# Node 24, the Node the image runs, and the unit suite (everything outside test/e2e/) again on
# the Node on PATH (and on those of TEST_ALSO_NODES). The end-to-end files run compiled too, with the unit
# runs beside them at a lower CPU priority (below): the end-to-end files mostly wait, the unit runs
# mostly compute. The unit suite runs compiled: loading its files through tsx cost a third of a
# run's CPU time; many files share one process (below). The unit runs are CPU-bound on two cores,
# so the runs on different Nodes follow one another.
# The exact Node versions are npm packages (scripts/install-node.sh), installed while the build
# runs. One reporter on every Node (scripts/test-reporter.mjs), which prints a line per finished
# file and says what is running when nothing else was printed for 10 s; the output ends with every
# failure of every run again (scripts/test-recap.mjs), since CI shows only its tail.
# --unit: every file on the Node on PATH only, through tsx, without lint, type check and build,
# for a quick inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_NODE=24.21.0
# More exact Node versions for the unit suite, space-separated, e.g. TEST_ALSO_NODES=22.23.3 to
# check the LTS between this machine's 20 and the image's 24 (about 100 s and 190 CPU s more).
read -r -a also_nodes <<<"${TEST_ALSO_NODES:-}"

mapfile -t unit_files < <(find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
mapfile -t e2e_files < <(find test/e2e -name '*.test.ts' | sort)

logs=".cache/test-logs"
mkdir -p "$logs"
rm -f "$logs"/*.out "$logs"/*.failures "$logs"/*.status
# The AWS SDK warns on Node 20 that its releases after January 2027 need Node 22 (README, Node
# support): nine lines from each copy of its core module in each test process, about 40 copies per
# unit run on Node 20, which filled the tail of the output CI shows and hid the failures above it.
# The adapter logs it once as a JSON line; in the tests it is only noise.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

# name, label, node binary, node flags and files...: node's test runner with the project's
# reporter (scripts/test-run.sh), its output also in $logs/NAME.out, what failed in NAME.failures
# and its exit status in NAME.status for the recap at the end.
run_tests() { bash scripts/test-run.sh "$logs" "$@"; }

if [[ "${1:-}" == "--unit" ]]; then
  run_tests unit "" node --import tsx "${unit_files[@]}" "${e2e_files[@]}" || true
  exec node scripts/test-recap.mjs "$logs"
fi

# test/startup/lazy-imports.test.ts records what src/main.ts imports, run through tsx from the
# directory its own path names: from the compiled copy, tsx transformed the copied sources afresh,
# and at a load of 20 its four starts missed their 30 s. It runs from its source, beside the
# compiled files; they run as scripts/build-tests.sh compiles them.
tsx_unit_files=(test/startup/lazy-imports.test.ts)
# Where the compiled files share one process (Node 22 and later, below), some keep one each. Those
# with top-level hooks: in a shared process their before() ran for every file at once before any
# test, their beforeEach() before every test of every file, and their after() only at the end of
# the run, so their servers and backends stayed open beside all the other files; five set the AWS
# SDK's environment there (AWS_REGION, AWS_ROLE_ARN, ...), which failed the others' tests. And the
# two that measure their own event loop's turns, which other files' timers would lengthen.
mapfile -t own_process_unit_files < <(
  grep -l -E '^(before|after|beforeEach|afterEach)\(' "${unit_files[@]}"
  printf '%s\n' test/config/load-off-thread.test.ts test/startup/config-load-loop-turns.test.ts
)
compiled_unit_files=()
own_process_compiled_files=()
for file in "${unit_files[@]}"; do
  if [[ " ${tsx_unit_files[*]} " == *" $file "* ]]; then
    continue
  elif [[ " ${own_process_unit_files[*]} " == *" $file "* ]]; then
    own_process_compiled_files+=(".cache/js/${file%.ts}.js")
  else
    compiled_unit_files+=(".cache/js/${file%.ts}.js")
  fi
done

started=$SECONDS
# Downloads, not computation: they run while lint, type check and build do.
bash scripts/install-node.sh "$IMAGE_NODE" >"$logs/install-${IMAGE_NODE}.log" 2>&1 &
install_image=$!
install_also=()
for version in "${also_nodes[@]}"; do
  bash scripts/install-node.sh "$version" >"$logs/install-${version}.log" 2>&1 &
  install_also+=("$!")
done
echo "=== installing Node ${IMAGE_NODE} ${also_nodes[*]} beside the build, when .cache/ does not hold it yet"

step() { echo "=== $1 ($((SECONDS - started)) s in)"; }
step 'lint and format: biome check'
npx biome check .
# tsc uses one core: the type check and the build run side by side.
step 'type check and compiled tests (scripts/build-tests.sh) beside the build (tsc -p tsconfig.json)'
bash scripts/build-tests.sh &
typecheck=$!
npx tsc -p tsconfig.json
wait "$typecheck"
step 'test tools: scripts/ensure-test-tools.sh'
bash scripts/ensure-test-tools.sh

# pid, version: waits for the install, prints its log, and sets node_path to the binary.
wait_for_install() {
  local status=0
  wait "$1" || status=$?
  cat "$logs/install-$2.log"
  if [[ $status -ne 0 ]]; then
    echo "installing Node $2 failed (exit $status)" >&2
    exit 1
  fi
  node_path="$(tail -n 1 "$logs/install-$2.log")"
}
wait_for_install "$install_image" "$IMAGE_NODE"
image_node="$node_path"
also_binaries=()
for i in "${!also_nodes[@]}"; do
  wait_for_install "${install_also[$i]}" "${also_nodes[$i]}"
  also_binaries+=("$node_path")
done

# label|binary for the unit runs: the image's Node, the Node on PATH unless it is the same major,
# and those of TEST_ALSO_NODES.
runs=("node-${IMAGE_NODE%%.*}|${image_node}")
path_major="$(node -p 'process.versions.node.split(".")[0]')"
if [[ "$path_major" != "${IMAGE_NODE%%.*}" ]]; then
  runs+=("node-${path_major}|node")
fi
for i in "${!also_nodes[@]}"; do
  runs+=("node-${also_nodes[$i]%%.*}|${also_binaries[$i]}")
done

failed=0
# The unit runs start beside the end-to-end run, at a lower CPU priority (nice 10): the end-to-end
# run used 1.23 of the two cores on average (303 CPU s in 247 s on a quiet machine: its files wait
# on servers, kubectl and Prometheus), and the unit runs, CPU-bound, take what it leaves; whenever
# both want the CPU, the end-to-end run gets nine tenths of it (Linux weighs a nice-0 process 1024,
# a nice-10 one 110), so its drain and start-up timings see about the machine they see alone
# (beside a unit run at the same priority they failed). Not nice 19: its 15 left the unit runs
# nothing while an end-to-end test flooded the adapter. The unit runs follow one another.
(
  renice -n 10 -p "$BASHPID" >/dev/null
  unit_failed=0
  # Node 22 and later keep V8's compiled code of each module in NODE_COMPILE_CACHE (one directory
  # per Node version inside), so the ~140 processes of a unit run and the adapters and explain
  # commands they start compile the modules they share once: 16 unit files in one run took 15 %
  # fewer CPU seconds on Node 24 starting from an empty cache (10.8 against 12.6), 3 % on Node 22.
  # Node 20 ignores it. The end-to-end run does without: its memory bounds were measured without it.
  export NODE_COMPILE_CACHE="$PWD/.cache/compile-cache"
  # The compiled files run many to a process: on Node 22 and later in the test runner's own
  # (--experimental-test-isolation=none, which 24 also calls --test-isolation), on Node 20, which has
  # no such mode, imported one after another by scripts/test-in-one-process.mjs run without --test.
  # A process per file started Node, loaded its modules and compiled them again, 42 % of a unit run's
  # CPU time (80 files on Node 24: 136.9 CPU s each in its own process, 79.5 in one, every test
  # passing). One process loads all its files first and then runs them one after another, so they
  # are dealt to $unit_lanes such runs side by side; those that need a process of their own run two
  # at a time beside them, after the one through tsx. Four, not two, on two cores: in one process a
  # file's waits (servers, TTLs, deadlines) no longer overlap another's, and on a quiet machine the
  # Node 24 run took 187 s with two such runs, 146 s with four.
  unit_lanes=4
  for run in "${runs[@]}"; do
    label="${run%%|*}"
    binary="${run#*|}"
    shared=("${compiled_unit_files[@]}")
    own=("${own_process_compiled_files[@]}")
    also=""
    # test/deploy/ checks the manifests, the Dockerfile and the deploy scripts with kubectl and
    # bash, which no Node version changes: once, on the image's Node (58 of a Node run's 247 CPU
    # seconds counted a process per file, most of them kubectl's).
    if [[ "$label" != "node-${IMAGE_NODE%%.*}" ]]; then
      mapfile -t shared < <(printf '%s\n' "${shared[@]}" | grep -v '^\.cache/js/test/deploy/')
      mapfile -t own < <(printf '%s\n' "${own[@]}" | grep -v '^\.cache/js/test/deploy/')
      also=", test/deploy/ on Node ${IMAGE_NODE%%.*} only"
    fi
    step "the files outside test/e2e/ on Node $("$binary" --version) ($binary): $((${#shared[@]} + ${#own[@]})) compiled, ${#tsx_unit_files[@]} through tsx${also}"
    in_one_process=(--experimental-test-isolation=none)
    direct=0
    if [[ "$("$binary" -p 'process.versions.node.split(".")[0] >= 22')" != true ]]; then
      in_one_process=(scripts/test-in-one-process.mjs)
      direct=1
    fi
    {
      run_tests "unit-tsx-${label}" "unit, tsx, $label" "$binary" --import tsx "${tsx_unit_files[@]}" || status=1
      run_tests "unit-own-${label}" "unit, own process, $label" "$binary" --enable-source-maps \
        "${own[@]}" || status=1
      exit "${status:-0}"
    } >/dev/null &
    beside=("$!")
    for ((lane = 0; lane < unit_lanes; lane++)); do
      files=()
      for i in "${!shared[@]}"; do
        ((i % unit_lanes == lane)) && files+=("${shared[$i]}")
      done
      TEST_RUN_IN_ONE_PROCESS=$direct run_tests "unit-${label}-$((lane + 1))" "unit $((lane + 1))/$unit_lanes, $label" \
        "$binary" --enable-source-maps "${in_one_process[@]}" "${files[@]}" &
      beside+=("$!")
    done
    for pid in "${beside[@]}"; do wait "$pid" || unit_failed=1; done
    cat "$logs/unit-tsx-${label}.out" "$logs/unit-own-${label}.out"
  done
  exit "$unit_failed"
) &
unit_runs=$!
# Compiled as the unit files are (262 CPU s against 303 through tsx), but for the two that run
# `npm start` in the repository their own path names: in the compiled copy npm saw src/ newer than
# dist/ and rebuilt dist/ (linked there) under the other files' adapters.
tsx_e2e_files=(test/e2e/first-hour.test.ts test/e2e/npm-start.test.ts)
compiled_e2e_files=()
for file in "${e2e_files[@]}"; do
  [[ " ${tsx_e2e_files[*]} " == *" $file "* ]] || compiled_e2e_files+=(".cache/js/${file%.ts}.js")
done
step "the ${#e2e_files[@]} files of test/e2e/ on Node $("$image_node" --version), the image's Node, beside the unit runs: ${#compiled_e2e_files[@]} compiled, then ${#tsx_e2e_files[@]} through tsx"
run_tests e2e "e2e, node-${IMAGE_NODE%%.*}" "$image_node" --enable-source-maps "${compiled_e2e_files[@]}" || failed=1
run_tests e2e-tsx "e2e, tsx, node-${IMAGE_NODE%%.*}" "$image_node" --import tsx "${tsx_e2e_files[@]}" || failed=1
wait "$unit_runs" || failed=1
step "done"
# Last, what CI's tail shows: a line per run, every failure of every run again with its first
# lines, and the sum alone on the last line (scripts/test-recap.mjs).
node scripts/test-recap.mjs "$logs" || failed=1
if [[ $failed -ne 0 ]]; then exit 1; fi
