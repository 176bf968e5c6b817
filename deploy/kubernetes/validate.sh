#!/usr/bin/env bash
# Renders the kustomize base and every overlay with `kubectl kustomize` and
# validates each object: Kubernetes kinds with kubernetes-validate --strict
# (PyPI), the Prometheus Operator kinds with the validators generated from
# its CRDs (npm's @kubernetes-models/prometheus-operator, validate-crds.mjs).
#
#   deploy/kubernetes/validate.sh [NODE_MODULES_DIR]
#
# NODE_MODULES_DIR holds @kubernetes-models/prometheus-operator and yaml
# (default: .test-tools/node/node_modules, where scripts/install-test-tools
# puts them). Needs kubectl, node and kubernetes-validate (on the PATH or in
# .test-tools/venv, where the same script puts it).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
tools="$(cd "$here/../.." && pwd)/.test-tools"
[ "$#" -le 1 ] || { echo "usage: $0 [NODE_MODULES_DIR]" >&2; exit 2; }
modules="${1:-$tools/node/node_modules}"
[ -d "$modules" ] || { echo "$0: no $modules; scripts/install-test-tools installs it" >&2; exit 1; }
PATH="$PATH:$tools/venv/bin"
for tool in kubectl node kubernetes-validate; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found; scripts/install-test-tools installs it" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for dir in "$here/base" "$here"/overlays/*/; do
  name="$(basename "$dir")"
  rendered="$work/$name.yaml"
  kubectl kustomize "$dir" >"$rendered"
  report="$(kubernetes-validate --strict "$rendered" 2>&1)" || {
    echo "$report" >&2
    echo "$name: kubernetes-validate failed" >&2
    exit 1
  }
  # Only the operator's kinds may lack a Kubernetes schema: validate-crds.mjs
  # checks those.
  if grep -v "Couldn't find schema for kind [A-Za-z]* with api version monitoring.coreos.com/" <<<"$report" | grep -E "ERROR|WARN"; then
    echo "$name: kubernetes-validate found problems" >&2
    exit 1
  fi
  node "$here/validate-crds.mjs" "$modules" "$rendered"
  echo "$name: $(grep -c "passed" <<<"$report") Kubernetes objects valid"
done
