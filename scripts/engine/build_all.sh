#!/usr/bin/env bash
# Every Go build the engine tier needs, in order: the local control plane, the Pulumi CLI, language host and
# providers, then KEDA. scripts/test.sh runs this in the background while the Python installs download.
# $1: file that receives the control plane's bin dir (build_cluster_tools.sh prints it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash scripts/engine/build_cluster_tools.sh >"$1"
bash scripts/engine/build_pulumi_tools.sh >/dev/null
bash scripts/engine/build_keda.sh >/dev/null  # KEDA for tests/engine/test_scale_from_zero.py
