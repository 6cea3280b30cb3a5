#!/usr/bin/env bash
# The real engine on one stack file: bash scripts/e2e.sh STACK_FILE [--out DIR] [--from REF] [--keep] [--new-stack]
# Builds (once, cached) the Pulumi CLI, language host and providers and the local control plane, starts or reuses
# the control plane, runs on the stack's kubeconfig variant: [--from REF: up with the program at git ref REF],
# preview / up / preview --expect-no-changes / refresh --expect-no-changes / the `config set --path` flip and back /
# destroy --exclude-protected / reUp / reUpPreview, [--new-stack: a new stack over what the first kept, with and
# without the carried salt (e2e/new_stack.py)], then cleans up (--keep: leaves the stack and its namespaces),
# and writes DIR/e2e.json (default build/e2e/<stack>). Non-zero exit if any step or check failed.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { echo "usage: bash scripts/e2e.sh STACK_FILE [--out DIR] [--from REF] [--keep] [--new-stack]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
STACK_FILE=$1; shift
OUT=""
EXTRA=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    --from) [[ $# -ge 2 ]] || usage; EXTRA+=(--from "$2"); shift 2 ;;
    --keep) EXTRA+=(--keep); shift ;;
    --new-stack) EXTRA+=(--new-stack); shift ;;
    *) usage ;;
  esac
done
[[ -f "$STACK_FILE" ]] || { echo "e2e: stack file $STACK_FILE does not exist" >&2; exit 2; }
[[ "$STACK_FILE" == *.yaml || "$STACK_FILE" == *.yml ]] || {
  echo "e2e: $STACK_FILE is not a stack file: name it Pulumi.<stack>.yaml" >&2; exit 2; }
STACK_FILE="$(cd "$(dirname "$STACK_FILE")" && pwd)/$(basename "$STACK_FILE")"  # the driver runs in the repo
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
  --cluster-dir "$CLUSTER_DIR" --cluster-repo "$CLUSTER_REPO" "${EXTRA[@]}"
