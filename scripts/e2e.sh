#!/usr/bin/env bash
# The real engine on one stack file: bash scripts/e2e.sh STACK_FILE [--out DIR]
# Builds (once, cached) the Pulumi CLI + providers and the local control plane, starts or reuses the control
# plane, runs preview / up / preview --expect-no-changes / scaleToZero flip / destroy on the stack's
# kubeconfig variant, and writes DIR/e2e.json (default build/e2e/<stack>). Non-zero exit if any step failed.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { echo "usage: bash scripts/e2e.sh STACK_FILE [--out DIR]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
STACK_FILE=$1; shift
OUT=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ -f "$STACK_FILE" ]] || { echo "e2e: stack file $STACK_FILE does not exist" >&2; exit 2; }
name="$(basename "$STACK_FILE")"; name="${name#Pulumi.}"; name="${name%.yaml}"; name="${name%.yml}"
OUT="${OUT:-$REPO/build/e2e/$name}"
# The control plane comes from this checkout, or LLM_E2E_CLUSTER_REPO (a checkout with e2e/cluster.py).
CLUSTER_REPO="${LLM_E2E_CLUSTER_REPO:-$REPO}"
CLUSTER_DIR="${LLM_E2E_CLUSTER_DIR:-${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}/engine/cluster}"

PULUMI_ENV="$(bash "$REPO/scripts/engine/build_pulumi_tools.sh")"
CLUSTER_BIN="${LLM_PLATFORM_CLUSTER_BIN:-$(bash "$CLUSTER_REPO/scripts/engine/build_cluster_tools.sh")}"
export LLM_PLATFORM_CLUSTER_BIN="$CLUSTER_BIN" PATH="$CLUSTER_BIN:$PATH"
PY="$REPO/.venv/bin/python"
cd "$REPO"
exec "$PY" -m e2e.driver "$STACK_FILE" --out "$OUT" --pulumi-env "$PULUMI_ENV" \
  --cluster-dir "$CLUSTER_DIR" --cluster-repo "$CLUSTER_REPO"
