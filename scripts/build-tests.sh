#!/usr/bin/env bash
# Compiles src/ and test/ into .cache/js/ for the unit suite, so that its ~120 test processes per
# Node load JavaScript instead of each running TypeScript through tsx's loader, which cost about
# 0.7 CPU seconds per process, a third of a unit run. The tree beside the output is a copy of the
# repository as the tests see it: src/, test/ and bench/ copied (the .js land beside the .ts, so
# a test that reads or spawns a .ts file finds it where its own path says), the other top-level
# entries linked. It is the type check too: tsconfig.test.json covers what tsconfig.check.json does.
set -euo pipefail
cd "$(dirname "$0")/.."

out=.cache/js
rm -rf "$out"
mkdir -p "$out"
cp -r src test bench "$out/"
for entry in * .[!.]*; do
  case "$entry" in
    src | test | bench | dist | node_modules | .git | .cache) ;;
    *) ln -s "../../$entry" "$out/$entry" ;;
  esac
done
# The build writes dist/ beside this script, so in a fresh clone it may not exist yet: link it anyway.
ln -s ../../dist "$out/dist"
npx tsc -p tsconfig.test.json
