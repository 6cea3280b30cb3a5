#!/usr/bin/env bash
# Install checkov (the manifest scanner tests/test_checkov.py runs) into its own venv: its
# dependency tree (boto3, networkx, bc-* parsers, ...) is large and must not touch the project venv.
#
#   bash .ci/install_checkov.sh            # install / verify (idempotent)
#   CHECKOV_REFREEZE=1 bash .ci/install_checkov.sh
#                                          # re-resolve and rewrite .ci/checkov-constraints.txt
#
# Env: CHECKOV_VENV (default .venv-checkov, relative to the repo root),
#      PYTHON (default python3.11, else python3).
# A clean install with the constraints takes about a minute here (pip, wheels only).
set -euo pipefail

CHECKOV_VERSION="3.3.30"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
VENV="${CHECKOV_VENV:-.venv-checkov}"
CONSTRAINTS="$REPO_ROOT/.ci/checkov-constraints.txt"


# shellcheck source=.ci/pinned_venv.sh
source .ci/pinned_venv.sh
pinned_venv_install checkov "$VENV" "$CONSTRAINTS" "${CHECKOV_REFREEZE:-0}" checkov "checkov==${CHECKOV_VERSION}"
[[ "$PINNED_VENV_FRESH" == "1" ]] || exit 0

# sanity: the pinned version answers, offline
got="$("$VENV/bin/checkov" --version 2>/dev/null | tail -n1)"
if [[ "$got" != "$CHECKOV_VERSION" ]]; then
  echo "install_checkov: checkov --version says '$got', expected $CHECKOV_VERSION" >&2
  exit 1
fi

pinned_venv_done
