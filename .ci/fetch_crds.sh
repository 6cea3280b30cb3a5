#!/usr/bin/env bash
# Fetch the CRDs tests/test_crd_schema.py and tests/test_alert_objects.py check against: the CloudNativePG,
# Barman Cloud plugin, GKE Managed Prometheus (prometheus-engine, ~440 MB) and prometheus-operator Go modules
# (pinned versions, h1 sums verified by the Go toolchain) into the default module cache.
# Idempotent: a cached module is not downloaded again. Installs Debian's golang-go when `go` is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v go >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    (apt-get update -qq && apt-get install -y -qq golang-go) >&2
  else
    echo "fetch_crds: go not found; install Go (apt-get install golang-go)" >&2
    exit 1
  fi
fi
# The module list lives in the test, so the test and this script never disagree.
for mod in $(.venv/bin/python -c 'import tests.crd_modules as m; print(" ".join(m.MODULES))'); do
  go mod download -json "$mod" >/dev/null
done
