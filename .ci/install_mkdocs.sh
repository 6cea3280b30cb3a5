#!/usr/bin/env bash
# Install the docs tools into their own venv: MkDocs + Material (tests/test_docs_site.py runs
# `mkdocs build --strict`) and check-jsonschema (tests/test_stack_schema.py checks every shipped stack file
# against schema/stack.schema.json as an editor would). Their trees (markdown, pymdown, requests, ruamel)
# stay out of the project venv.
#
#   bash .ci/install_mkdocs.sh            # install / verify (idempotent)
#   MKDOCS_REFREEZE=1 bash .ci/install_mkdocs.sh
#                                         # re-resolve and rewrite .ci/mkdocs-constraints.txt
#
# Env: DOCS_VENV (default .venv-docs, relative to the repo root; scripts/test.sh puts it in the cache),
#      PYTHON (default python3.11, else python3).
set -euo pipefail

MKDOCS_VERSION="1.6.1"
MATERIAL_VERSION="9.7.6"
CHECK_JSONSCHEMA_VERSION="0.37.4"

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
VENV="${DOCS_VENV:-.venv-docs}"
CONSTRAINTS="$REPO_ROOT/.ci/mkdocs-constraints.txt"

# shellcheck source=.ci/pinned_venv.sh
source .ci/pinned_venv.sh
pinned_venv_install mkdocs "$VENV" "$CONSTRAINTS" "${MKDOCS_REFREEZE:-0}" mkdocs \
  "mkdocs==${MKDOCS_VERSION}" "mkdocs-material==${MATERIAL_VERSION}" "check-jsonschema==${CHECK_JSONSCHEMA_VERSION}"
[[ "$PINNED_VENV_FRESH" == "1" ]] || exit 0

# sanity: the pinned versions answer, offline
got="$("$VENV/bin/mkdocs" --version)"
if [[ "$got" != *"version ${MKDOCS_VERSION} "* ]]; then
  echo "install_mkdocs: mkdocs --version says '$got', expected $MKDOCS_VERSION" >&2
  exit 1
fi
got="$("$VENV/bin/check-jsonschema" --version)"
if [[ "$got" != *"${CHECK_JSONSCHEMA_VERSION}"* ]]; then
  echo "install_mkdocs: check-jsonschema --version says '$got', expected $CHECK_JSONSCHEMA_VERSION" >&2
  exit 1
fi
"$VENV/bin/python" -c "import material, sys; sys.exit(material.__version__ != '${MATERIAL_VERSION}')" || {
  echo "install_mkdocs: mkdocs-material is not ${MATERIAL_VERSION}" >&2
  exit 1
}

pinned_venv_done
