#!/usr/bin/env bash
# Scale from zero on the local control plane (issue 16):
#   bash scripts/e2e_scale.sh STACK_FILE --model NAME --load-seconds D [--hold S] [--rounds N] [--out DIR]
# (--rounds N: only N first requests from zero, their overhead; bench/scale_overhead.py)
# Builds (once, cached) the Pulumi tools, the control plane and KEDA's operator, installs the pinned LiteLLM proxy
# and redis-server, then runs e2e/scale.py and writes DIR/scale.json (default build/e2e/<stack>/scale.json).
# Non-zero exit when any check fails.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { echo "usage: bash scripts/e2e_scale.sh STACK_FILE --model NAME --load-seconds D [--hold S] [--rounds N] [--out DIR]" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
STACK_FILE=$1; shift
OUT="" MODEL="" LOAD=20 HOLD=0 ROUNDS=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --model) [[ $# -ge 2 ]] || usage; MODEL=$2; shift 2 ;;
    --load-seconds) [[ $# -ge 2 ]] || usage; LOAD=$2; shift 2 ;;
    --hold) [[ $# -ge 2 ]] || usage; HOLD=$2; shift 2 ;;
    --rounds) [[ $# -ge 2 ]] || usage; ROUNDS=$2; shift 2 ;;
    --out) [[ $# -ge 2 ]] || usage; OUT=$2; shift 2 ;;
    *) usage ;;
  esac
done
[[ -n "$MODEL" ]] || usage
[[ -f "$STACK_FILE" ]] || { echo "e2e_scale: stack file $STACK_FILE does not exist" >&2; exit 2; }
STACK_FILE="$(cd "$(dirname "$STACK_FILE")" && pwd)/$(basename "$STACK_FILE")"
name="$(basename "$STACK_FILE")"; name="${name#Pulumi.}"; name="${name%.yaml}"; name="${name%.yml}"
OUT="${OUT:-$REPO/build/e2e/$name}"
CACHE="${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}"
PULUMI_ENV="$(bash "$REPO/scripts/engine/build_pulumi_tools.sh")"
CLUSTER_BIN="${LLM_PLATFORM_CLUSTER_BIN:-$(bash "$REPO/scripts/engine/build_cluster_tools.sh")}"
KEDA_BIN="$(bash "$REPO/scripts/engine/build_keda.sh")"
export LITELLM_VENV="${LITELLM_VENV:-$CACHE/venvs/litellm}"
bash "$REPO/.ci/install_litellm.sh" >&2
bash "$REPO/.ci/install_redis_server.sh" >&2
export LLM_PLATFORM_CLUSTER_BIN="$CLUSTER_BIN" PATH="$CLUSTER_BIN:$PATH"
cd "$REPO"
exec "$REPO/.venv/bin/python" -m e2e.scale "$STACK_FILE" --model "$MODEL" --load-seconds "$LOAD" --hold "$HOLD" --rounds "$ROUNDS" \
  --out "$OUT" --pulumi-env "$PULUMI_ENV" --keda-bin "$KEDA_BIN" --litellm "$LITELLM_VENV/bin/litellm" \
  --cluster-dir "${LLM_E2E_SCALE_CLUSTER_DIR:-$CACHE/engine/scale-cluster}"
