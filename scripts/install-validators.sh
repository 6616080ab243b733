#!/usr/bin/env bash
# Installs the npm package that validates the Kubernetes package's PrometheusRule and ServiceMonitor objects
# (tests/kubernetes/package.json, pinned by its package-lock.json), when npm is there and it is missing or stale;
# says so when kubectl, which renders the package, is missing.
set -euo pipefail
if ! command -v kubectl >/dev/null 2>&1; then
  echo "kubectl is missing: the Kubernetes package tests will skip (CI fails them); install kubectl 1.27 or later (kustomize v5 built in)" >&2
fi
dir="$(dirname "$0")/../tests/kubernetes"
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing: the Kubernetes package tests will skip (CI fails them); install Node.js 20 or later" >&2
  exit 0
fi
stamp="$dir/node_modules/.package-lock.json"
[ -f "$stamp" ] && [ "$stamp" -nt "$dir/package-lock.json" ] && exit 0
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
