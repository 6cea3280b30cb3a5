#!/usr/bin/env bash
# The test command: install everything the tests need (pinned), then run every tier,
# including the real consumers (LiteLLM proxy, llama-server). A missing consumer fails, not skips.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh requirements-dev.txt
export LLAMA_SERVER_BIN="$(bash .ci/install_llama_server.sh)"
bash .ci/install_litellm.sh >&2
bash .ci/install_checkov.sh >&2   # tests/test_checkov.py scans every rendered stack
# busybox runs Tabby's key-substitution init script as its image does (tests/test_tabby_render.py)
if ! command -v busybox >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  (apt-get update -qq && apt-get install -y -qq busybox) >&2 || echo "warning: busybox not installed" >&2
fi
# Engine tier (tests/engine): the Pulumi CLI, language host and providers, built once with `go` into
# ~/.cache/llm-platform/engine (cold build: README "Real-engine tier"); a failed build stops the run here.
bash scripts/engine/build_pulumi_tools.sh >/dev/null
export LLM_PLATFORM_REQUIRE_CONSUMERS=1
.venv/bin/python render.py --stack-file Pulumi.dev.yaml --out build/dev
.venv/bin/python -m pytest -q -rs "$@"
