#!/usr/bin/env bash
# Sets spec.caBundle of the adapter's three APIServices to the CA in a Secret, for installs
# without cert-manager's cainjector (deploy/components/serving-cert-secret). Run it after
# creating or renewing the serving certificate's Secret; docs/operating.md shows how to make one.
#
#   deploy/scripts/set-apiservice-ca-bundle.sh [--namespace NS] [--secret NAME] [--key KEY]
#
# The CA is read from the Secret's ca.crt (as cert-manager and `kubectl create secret generic
# --from-file=ca.crt=…` write it). Every APIService is patched with the same bundle and
# insecureSkipTLSVerify: false. kubectl's current context is used; KUBECTL overrides the binary.
set -euo pipefail

namespace=hpa-metrics-adapter
secret=hpa-metrics-adapter-serving-cert
key=ca.crt
apiservices=(v1beta1.custom.metrics.k8s.io v1beta2.custom.metrics.k8s.io v1beta1.external.metrics.k8s.io)
kubectl=${KUBECTL:-kubectl}

while [[ $# -gt 0 ]]; do
  case $1 in
    --namespace) namespace=$2; shift 2 ;;
    --secret) secret=$2; shift 2 ;;
    --key) key=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

# jsonpath needs the dot in the key escaped: {.data.ca\.crt}
bundle=$("$kubectl" get secret "$secret" --namespace "$namespace" -o "jsonpath={.data.${key//./\\.}}")
if [[ -z $bundle ]]; then
  echo "secret $namespace/$secret has no data key $key: nothing to trust" >&2
  exit 1
fi
if ! base64 --decode <<<"$bundle" | grep -q -- '-----BEGIN CERTIFICATE-----'; then
  echo "secret $namespace/$secret key $key is not a PEM certificate" >&2
  exit 1
fi

patch=$(printf '{"spec":{"caBundle":"%s","insecureSkipTLSVerify":false}}' "$bundle")
for apiservice in "${apiservices[@]}"; do
  "$kubectl" patch apiservice "$apiservice" --type=merge -p "$patch"
done
echo "caBundle set from $namespace/$secret ($key) on ${apiservices[*]}"
