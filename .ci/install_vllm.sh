#!/usr/bin/env bash
# Install vLLM 0.11.0 (the version every stack's image runs) into its own venv, for the consumer tier that
# parses each rendered vLLM argument list with vLLM's own `serve` parser (tests/consumers/test_vllm_parser.py).
#
#   bash .ci/install_vllm.sh                   # install / verify (idempotent)
#   VLLM_REFREEZE=1 bash .ci/install_vllm.sh   # re-resolve and rewrite .ci/vllm-constraints.txt
#
# Env: VLLM_VENV (default .venv-vllm), PYTHON (default python3.11, else python3).
#
# Only the parser and its registries run here, never a model: vllm is installed --no-deps (its torch==2.8.0,
# torchaudio, torchvision, xformers and ray pins are the GPU runtime) on PyPI's torch 2.13.0 (the only torch
# wheel PyPI serves for Linux is the CUDA build; its nvidia-* libraries are needed just to import it, about
# 3 GB in all). The rest of vLLM's Requires-Dist is pinned as of its release in .ci/vllm-requirements.txt.
set -euo pipefail

VLLM_VERSION="0.11.0"
TORCH_VERSION="2.13.0"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
VENV="${VLLM_VENV:-.venv-vllm}"
CONSTRAINTS="$REPO_ROOT/.ci/vllm-constraints.txt"

mapfile -t REQS < <(grep -v -E '^\s*(#|$)' .ci/vllm-requirements.txt)
REQS=("torch==${TORCH_VERSION}" "${REQS[@]}")
PINNED_NODEPS=("vllm==${VLLM_VERSION}")

# shellcheck source=.ci/pinned_venv.sh
source .ci/pinned_venv.sh
pinned_venv_install vllm "$VENV" "$CONSTRAINTS" "${VLLM_REFREEZE:-0}" vllm "${REQS[@]}"
[[ "$PINNED_VENV_FRESH" == "1" ]] || exit 0

# sanity: the right vLLM, and its serve parser builds on this GPU-less machine
"$VENV/bin/python" tests/consumers/vllm_parser_probe.py --version-check "$VLLM_VERSION"

pinned_venv_done
