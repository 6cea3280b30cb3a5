#!/usr/bin/env bash
# Install the LiteLLM proxy into its own venv (litellm's pins clash with
# pulumi's, so it never shares the project venv).
#
#   bash .ci/install_litellm.sh            # install / verify (idempotent)
#   LITELLM_REFREEZE=1 bash .ci/install_litellm.sh
#                                          # re-resolve the pins below and
#                                          # rewrite .ci/litellm-constraints.txt
#
# Env: LITELLM_VENV (default .venv-litellm, relative to the repo root),
#      PYTHON (default python3.11, else python3).
#
# Pins: litellm 1.102.4 is the newest release whose deps resolve from the
# package index reachable here (>=1.103 needs certifi>=2026.10.19). It is
# after the 1.82.7/1.82.8 and 1.107.0 supply-chain incidents and after the
# 1.84.2 host-header auth-bypass fix. prisma is pinned as asked (no engines
# are downloaded: virtual keys/DB are not used). prometheus_client is not in
# litellm[proxy] but `callbacks: ["prometheus"]` crashes the proxy at
# startup without it.
set -euo pipefail

LITELLM_VERSION="1.102.4"
PRISMA_VERSION="0.15.0"
PROMETHEUS_CLIENT_VERSION="0.26.0"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
VENV="${LITELLM_VENV:-.venv-litellm}"
CONSTRAINTS="$REPO_ROOT/.ci/litellm-constraints.txt"


REQS=(
  "litellm[proxy]==${LITELLM_VERSION}"
  "prisma==${PRISMA_VERSION}"
  "prometheus_client==${PROMETHEUS_CLIENT_VERSION}"
)

# shellcheck source=.ci/pinned_venv.sh
source .ci/pinned_venv.sh
pinned_venv_install litellm "$VENV" "$CONSTRAINTS" "${LITELLM_REFREEZE:-0}" litellm "${REQS[@]}"
[[ "$PINNED_VENV_FRESH" == "1" ]] || exit 0

# sanity: right version, importable, no known-malicious startup hook
LITELLM_LOCAL_MODEL_COST_MAP=True "$VENV/bin/python" - "$LITELLM_VERSION" <<'PY'
import sys
from importlib.metadata import version
want = sys.argv[1]
got = version("litellm")
if got != want:
    sys.exit(f"install_litellm: litellm {got} installed, expected {want}")
import prisma, prometheus_client  # noqa: F401
PY
if compgen -G "$VENV/lib/python*/site-packages/litellm_init.pth" >/dev/null; then
  echo "install_litellm: litellm_init.pth found (known supply-chain payload), refusing" >&2
  exit 1
fi
LITELLM_LOCAL_MODEL_COST_MAP=True "$VENV/bin/litellm" --help >/dev/null

pinned_venv_done
