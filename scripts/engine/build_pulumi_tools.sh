#!/usr/bin/env bash
# Builds (once) the Pulumi side of the engine tier from upstream source with the ordinary `go` client and
# writes $CACHE/pulumi.env (sourceable: PATH, PULUMI_HOME, no plugin downloads). Prints that file's path.
# Idempotent: each binary carries a stamp (sha256 of its source archive + the recipe below); a warm run
# builds nothing. Cache: ${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}/engine (outside the clone; Go's
# module and build caches stay at their defaults, also outside). Step logs and times: $CACHE/logs.
#
# What runs (see docs/verification/engine-tier.md, "Tools and versions"):
#  - Pulumi CLI: pkg/v3 v3.272.0 (the SDK pin) is not served by the Go module proxy; v3.274.1 is the nearest
#    served release, built through a wrapper go.mod.
#  - pulumi-language-python v3.259.0 and the providers at exactly the versions requirements.txt pins
#    (pulumi-kubernetes, pulumi-random): built from the released source archives in
#    ${LLM_PLATFORM_UPSTREAM:-<repo>/../shared/upstream} (README.md there says what each holds). The recipes
#    and the unserved modules they work around are in scripts/engine/pulumi_tools_lib.sh.
# A matching upstream binary wins: `pulumi` on PATH at an accepted version (with its language host), and
# providers of the SDKs' exact versions already in ~/.pulumi/plugins (a laptop, GitHub Actions).
set -euo pipefail
shopt -s inherit_errexit
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}/engine"
UPSTREAM="${LLM_PLATFORM_UPSTREAM:-$REPO/../shared/upstream}"
# shellcheck source=scripts/engine/pulumi_tools_lib.sh
source "$HERE/pulumi_tools_lib.sh"

PULUMI_BUILD_V=v3.274.1                    # what this script builds
PULUMI_V=$PULUMI_BUILD_V                   # what runs (an accepted pulumi on PATH wins)
PULUMI_ACCEPTED="v3.272.0 v3.274.1"        # the SDK pin, and the version built here
LANGHOST_V=3.259.0                         # the released language host kept in $UPSTREAM
K8S_SDK_V="$(sdk_pin pulumi-kubernetes)"
RANDOM_SDK_V="$(sdk_pin pulumi-random)"
# Version variables the builds set with -ldflags -X (and check_version reads back from the binaries).
LANGHOST_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
K8S_VAR=github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version
RANDOM_VAR=github.com/pulumi/pulumi-random/provider/v4/pkg/version.Version
# Nearest served stand-ins for modules the proxy refuses (recorded in docs/verification/engine-tier.md).
K8S_PULUMI_V=v3.243.0                      # provider 4.32.0's pkg/v3 + sdk/v3: from their own archive
K8S_FLUX_SSA_V=v0.72.0                     # for fluxcd/pkg/ssa v0.71.1-0.20260424094917-4f94dc680419
K8S_SCHEMA_FROM=v4.0.0-20260115033456-f47bc2d6f199   # served provider/v4 (4.25.0) whose schema.json is used
RANDOM_PULUMI_V=v3.252.0                   # pkg/v3 + sdk/v3, for pkg/v3 v3.253.0 (v3.260.0 breaks pulumi-java)
CLIPBOARD_REPLACE="github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
# Recipe versions: bump one to rebuild that component on every machine.
LANGHOST_RECIPE="langhost-1 pkg=$PULUMI_BUILD_V"
K8S_RECIPE="kubernetes-1 pkg=$K8S_PULUMI_V ssa=$K8S_FLUX_SSA_V schema=$K8S_SCHEMA_FROM"
RANDOM_RECIPE="random-1 pkg=$RANDOM_PULUMI_V stubs=$(find "$HERE/codegen_stubs" -type f -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-12)"

SECONDS=0
mkdir -p "$CACHE/src" "$CACHE/bin" "$CACHE/logs"
command -v go >/dev/null || die "the go command is not installed (Go 1.26 is needed to build the engine tools)"
LANGHOST_TGZ="$(archive "pulumi-language-python-v$LANGHOST_V.tar.gz")"
K8S_TGZ="$(archive "pulumi-kubernetes-v$K8S_SDK_V-provider.tar.gz")"
PULUMI_PKG_TGZ="$(archive "pulumi-pkg-sdk-$K8S_PULUMI_V.tar.gz")"
RANDOM_TGZ="$(archive "pulumi-random-v$RANDOM_SDK_V-provider.tar.gz")"

# --- Pulumi CLI + language host ------------------------------------------------------------------
PULUMI_BIN=""
if command -v pulumi >/dev/null && command -v pulumi-language-python >/dev/null; then
  have="$(pulumi version 2>/dev/null || true)"
  for v in $PULUMI_ACCEPTED; do
    if [[ "$have" == "$v" ]]; then PULUMI_BIN="$(dirname "$(command -v pulumi)")"; PULUMI_V=$v; fi
  done
  # An upstream release ships its language host at the CLI's own version.
  [[ -n "$PULUMI_BIN" ]] && LANGHOST_V="${PULUMI_V#v}" && log "using pulumi $have on PATH ($PULUMI_BIN)"
fi
PW="$CACHE/src/pulumi-$PULUMI_BUILD_V"
write_wrapper() {
  # pkg/v3's go.mod replaces sdk/v3 with ../sdk (local) and clipboard with a fork: a wrapper module
  # requires both at one release and copies the non-local replaces.
  mkdir -p "$PW"
  cat >"$PW/go.mod" <<EOF
module llm-platform.local/engine/pulumi

go 1.26.6

require (
	github.com/pulumi/pulumi/pkg/v3 $PULUMI_BUILD_V
	github.com/pulumi/pulumi/sdk/v3 $PULUMI_BUILD_V
)

replace $CLIPBOARD_REPLACE

replace golang.org/x/text => golang.org/x/text v0.41.0
EOF
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"\n' >"$PW/tools.go"
  run pulumi-tidy go -C "$PW" mod tidy
}
if [[ -z "$PULUMI_BIN" ]]; then
  # The CLI runs the language host found beside it: one directory per (CLI, language host) pair.
  PULUMI_BIN="$CACHE/bin/pulumi-$PULUMI_V-python-$LANGHOST_V"
  mkdir -p "$PULUMI_BIN"
  if [[ "$("$PULUMI_BIN/pulumi" version 2>/dev/null || true)" != "$PULUMI_V" ]]; then
    log "building pulumi $PULUMI_V (cold: several minutes; see docs/verification/engine-tier.md)"
    write_wrapper
    run pulumi-build go -C "$PW" build -ldflags "-s -w -X $LANGHOST_VAR=$PULUMI_V" \
      -o "$PULUMI_BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    [[ "$("$PULUMI_BIN/pulumi" version)" == "$PULUMI_V" ]] || die "built pulumi does not report $PULUMI_V"
  else
    log "reusing pulumi $PULUMI_V in $PULUMI_BIN"
  fi
  if fresh "$PULUMI_BIN/pulumi-language-python" "$LANGHOST_TGZ" "$LANGHOST_RECIPE" "$LANGHOST_VAR" "v$LANGHOST_V" &&
    [[ -x "$PULUMI_BIN/pulumi-language-python-exec" ]]; then
    log "reusing pulumi-language-python $LANGHOST_V"
  else
    log "building pulumi-language-python $LANGHOST_V from $(basename "$LANGHOST_TGZ") (cold: several minutes)"
    rm -f "$PULUMI_BIN/pulumi-language-python.stamp"
    build_langhost "$PULUMI_BIN"
    check_version "built pulumi-language-python" "$PULUMI_BIN/pulumi-language-python" "$LANGHOST_VAR" "v$LANGHOST_V"
    stamp "$PULUMI_BIN/pulumi-language-python" "$LANGHOST_TGZ" "$LANGHOST_RECIPE"
  fi
fi

# --- providers at the SDKs' exact versions ----------------------------------------------------------
K8S_BIN="$(provider kubernetes "$K8S_SDK_V" "$K8S_VAR" build_kubernetes "$K8S_TGZ" "$K8S_RECIPE")"
RANDOM_BIN="$(provider random "$RANDOM_SDK_V" "$RANDOM_VAR" build_random "$RANDOM_TGZ" "$RANDOM_RECIPE")"

# --- register the providers in a PULUMI_HOME of our own; nothing is downloaded at run time --------------
export PULUMI_HOME="$CACHE/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$PULUMI_HOME"
register kubernetes "$K8S_SDK_V" "$K8S_BIN"
register random "$RANDOM_SDK_V" "$RANDOM_BIN"

ENV="$CACHE/pulumi.env"
cat >"$ENV" <<EOF
# Written by scripts/engine/build_pulumi_tools.sh; source it before running pulumi for the engine tier.
export PATH="$PULUMI_BIN:\$PATH"
export PULUMI_HOME="$PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export LLM_ENGINE_PULUMI_VERSION="${PULUMI_V#v}"
export LLM_ENGINE_LANGHOST_VERSION="$LANGHOST_V"
export LLM_ENGINE_KUBERNETES_VERSION="$K8S_SDK_V"
export LLM_ENGINE_RANDOM_VERSION="$RANDOM_SDK_V"
EOF
log "ready in ${SECONDS}s: pulumi $PULUMI_V, pulumi-language-python $LANGHOST_V, kubernetes $K8S_SDK_V, random $RANDOM_SDK_V"
echo "$ENV"
