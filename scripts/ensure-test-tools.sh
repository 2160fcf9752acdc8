#!/usr/bin/env bash
# Installs the real components the integration tests use when they are missing and we may
# (root on a Debian machine). Tests that need a missing tool say so and fail, never pass silently.
set -euo pipefail

missing=()
command -v openssl >/dev/null || missing+=(openssl)
# The Debian package gives both prometheus and promtool (the Prometheus integration tests).
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)

if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "ensure-test-tools: missing ${missing[*]} and cannot install them (need root and apt-get)" >&2
  exit 0
fi
echo "ensure-test-tools: installing ${missing[*]} from Debian packages"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
