#!/usr/bin/env bash
# The whole suite, as README and CI run it: lint, type check, build (the end-to-end tests run
# dist/main.js as a real process), then every test file under test/ with node's test runner,
# then the suite without test/e2e/ on Node 22 and 24 (scripts/test-other-nodes.sh).
# --unit skips lint/typecheck/build and the other Nodes for a quick inner loop.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" != "--unit" ]]; then
  npx biome check .
  npx tsc --noEmit -p tsconfig.check.json
  npx tsc -p tsconfig.json
  bash scripts/ensure-test-tools.sh
fi

mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --test --test-concurrency=2 --test-timeout=120000 "${files[@]}"

if [[ "${1:-}" != "--unit" ]]; then
  bash scripts/test-other-nodes.sh
fi
