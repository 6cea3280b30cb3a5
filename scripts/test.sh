#!/usr/bin/env bash
# The test command: install everything the tests need (pinned), then run every tier,
# including the real consumers (LiteLLM proxy, llama-server). A missing consumer fails, not skips.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
T0=$SECONDS
step() { echo "test.sh: [$((SECONDS - T0))s] $*" >&2; }
CACHE="${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}"
mkdir -p "$CACHE/engine/logs"
# The Go builds (control plane, Pulumi CLI and providers, KEDA) are CPU-bound; the installs below mostly wait on
# downloads. So the builds run in the background from the start and are joined before the tests.
GO_LOG="$CACHE/engine/logs/go-builds.log"
# setsid: its own process group, so a failed install below also stops the builds (the EXIT trap).
setsid bash scripts/engine/build_all.sh "$CACHE/engine/.cluster-bin" >"$GO_LOG" 2>&1 &
GO_PID=$!
trap 'kill -- -"$GO_PID" 2>/dev/null || true' EXIT
step "Go builds started in the background (log: $GO_LOG)"
bash scripts/setup.sh requirements-dev.txt
# The consumers' pinned venvs live in the cache outside the clone, so the next run on this machine (a fresh clone
# in CI) finds them; each install script re-installs only when its pins change (a stamp of the constraints file).
export CONSUMERS_VENV="${CONSUMERS_VENV:-$CACHE/venvs/consumers}" LITELLM_VENV="${LITELLM_VENV:-$CACHE/venvs/litellm}"
export CHECKOV_VENV="${CHECKOV_VENV:-$CACHE/venvs/checkov}" VLLM_VENV="${VLLM_VENV:-$CACHE/venvs/vllm}"
export DOCS_VENV="${DOCS_VENV:-$CACHE/venvs/docs}"
export LLAMA_SERVER_BIN="$(bash .ci/install_llama_server.sh)"
bash .ci/install_litellm.sh >&2
bash .ci/install_checkov.sh >&2   # tests/test_checkov.py scans every rendered stack
bash .ci/install_mkdocs.sh >&2    # tests/test_docs_site.py (mkdocs build --strict), tests/test_stack_schema.py
bash .ci/install_redis_server.sh >&2   # the gateway's shared rate limits, across workers (tests/consumers)
bash .ci/fetch_crds.sh >&2       # CRDs (Go modules): CNPG, Barman Cloud plugin, GMP Rules, PrometheusRule
# promtool (Debian's prometheus package, extracted into the cache): tests/test_alert_rules_promtool.py
PROMTOOL="$(bash .ci/install_promtool.sh)"  # not `export X=$(...)`: that hides a failure
export PROMTOOL
bash .ci/install_vllm.sh >&2      # tests/consumers/test_vllm_parser.py: vLLM 0.11's own serve parser (~3 GB)
# busybox runs Tabby's key-substitution init script as its image does (tests/test_tabby_render.py)
if ! command -v busybox >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  (apt-get update -qq && apt-get install -y -qq busybox) >&2 || echo "warning: busybox not installed" >&2
fi
step "installs done; waiting for the Go builds"
# The local control plane (scripts/engine/build_cluster_tools.sh), the Pulumi CLI, language host and providers
# (build_pulumi_tools.sh) and KEDA (build_keda.sh), built once into the cache outside the clone and reused after
# (cold times: docs/verification/engine-tier.md). A failed build stops the run here, with its log.
if ! wait "$GO_PID"; then
  tail -n 60 "$GO_LOG" >&2
  echo "test.sh: a Go build failed (full log: $GO_LOG)" >&2
  exit 1
fi
LLM_PLATFORM_CLUSTER_BIN="$(cat "$CACHE/engine/.cluster-bin")"
export LLM_PLATFORM_CLUSTER_BIN
step "Go builds done"
export LLM_PLATFORM_REQUIRE_CONSUMERS=1
# Lint, format and types: any finding fails the run (pyproject.toml holds the rule set and the mypy scope).
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python render.py --stack-file Pulumi.dev.yaml --out build/dev
step "lint and types passed; running the tests"
# One process: the engine tier and the real-proxy tests time their waits for a machine they do not share (run side
# by side on 2 cores, namespace deletions and proxy bursts overran them).
.venv/bin/python -m pytest -q -rs --durations=30 "$@"
