#!/usr/bin/env bash
# Builds (once) the Pulumi side of the engine tier with the ordinary `go` client and writes
# $CACHE/pulumi.env (sourceable: PATH, PULUMI_HOME, no plugin downloads). Prints that file's path.
# Idempotent: a cached binary that reports the right version is reused; nothing is built twice.
# Cache: ${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}/engine (outside the clone; Go's own module and
# build caches stay at their defaults, also outside). Generated wrapper go.mod files live there too.
#
# What the Go module proxy serves decides the versions (see docs/verification/engine-tier.md):
#  - Pulumi CLI: pkg/v3 v3.272.0 (the SDK pin) is not served; v3.274.1 is the nearest served release.
#  - pulumi-language-python's module is not served at any version: scripts/engine/langhost is a minimal
#    host that runs the SDK's own pulumi-language-python-exec (served in sdk/v3) under the project venv.
#  - pulumi-kubernetes provider: only commit f47bc2d6 (4.25.0-alpha.1768448096) is served; no 4.34.x.
#  - pulumi-random provider: not served at any version: scripts/engine/random is a stand-in plugin.
# A matching upstream binary wins: `pulumi` on PATH at an accepted version (with its language host), and
# providers of the SDK's exact version already in ~/.pulumi/plugins (a laptop, GitHub Actions).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}/engine"
PULUMI_BUILD_V=v3.274.1                    # what this script builds
PULUMI_V=$PULUMI_BUILD_V                   # what runs (an accepted pulumi on PATH wins)
PULUMI_ACCEPTED="v3.272.0 v3.274.1"        # the SDK pin, and the version built here
K8S_PSEUDO=v4.0.0-20260115033456-f47bc2d6f199
K8S_V=4.25.0-alpha.1768448096              # that commit's published pre-release (PyPI 4.25.0a1768448096)
K8S_SDK_V=4.34.2                           # requirements.txt pulumi-kubernetes
RANDOM_SDK_V=4.21.4                        # requirements.txt pulumi-random
RANDOM_V="${RANDOM_SDK_V}+standin"   # semver build metadata: the SDK's version, marked as not upstream
CLIPBOARD_REPLACE="github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e"
SECONDS=0
mkdir -p "$CACHE/src" "$CACHE/bin" "$CACHE/logs"
log() { echo "build_pulumi_tools: $*" >&2; }
die() { echo "build_pulumi_tools: FAILED: $*" >&2; exit 1; }
command -v go >/dev/null || die "the go command is not installed (Go 1.26 is needed to build the engine tools)"

# run LOGNAME CMD...: a step's output goes to a log; on failure its tail is shown and the script stops.
run() {
  local name=$1; shift
  if ! "$@" >"$CACHE/logs/$name.log" 2>&1; then
    tail -n 40 "$CACHE/logs/$name.log" >&2
    die "$name (full log: $CACHE/logs/$name.log)"
  fi
}

# --- Pulumi CLI + language host ------------------------------------------------------------------
PULUMI_BIN=""
if command -v pulumi >/dev/null && command -v pulumi-language-python >/dev/null; then
  have="$(pulumi version 2>/dev/null || true)"
  for v in $PULUMI_ACCEPTED; do
    if [[ "$have" == "$v" ]]; then PULUMI_BIN="$(dirname "$(command -v pulumi)")"; PULUMI_V=$v; fi
  done
  [[ -n "$PULUMI_BIN" ]] && log "using pulumi $have on PATH ($PULUMI_BIN)"
fi
# stamp_ok BIN SOURCE: BIN was built from exactly this SOURCE (its sha256 is stamped next to it).
stamp_ok() { [[ -x "$1" && -f "$1.src" && "$(cat "$1.src")" == "$(sha256sum "$2" | cut -d' ' -f1)" ]]; }
stamp() { sha256sum "$2" | cut -d' ' -f1 >"$1.src"; }
PW="$CACHE/src/pulumi-$PULUMI_BUILD_V"
write_wrapper() {
  # pkg/v3's go.mod replaces sdk/v3 with ../sdk (local) and clipboard with a fork: a wrapper module
  # requires both at one release and copies the non-local replaces.
  mkdir -p "$PW/langhost" "$PW/random"
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
  cp "$HERE/langhost/main.go" "$PW/langhost/main.go"
  cp "$HERE/random/main.go" "$PW/random/main.go"
  run pulumi-tidy bash -c "cd '$PW' && go mod tidy"
}
LDV="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_V"
if [[ -z "$PULUMI_BIN" ]]; then
  PULUMI_BIN="$CACHE/bin/pulumi-$PULUMI_V"
  mkdir -p "$PULUMI_BIN"
  if [[ "$("$PULUMI_BIN/pulumi" version 2>/dev/null || true)" != "$PULUMI_V" ]]; then
    log "building pulumi $PULUMI_V (cold: see docs/verification/engine-tier.md for the time)"
    write_wrapper
    run pulumi-build bash -c "cd '$PW' && go build -trimpath -ldflags '-s -w $LDV' -o '$PULUMI_BIN/pulumi' github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
    [[ "$("$PULUMI_BIN/pulumi" version)" == "$PULUMI_V" ]] || die "built pulumi does not report $PULUMI_V"
  else
    log "reusing pulumi $PULUMI_V in $PULUMI_BIN"
  fi
  if ! stamp_ok "$PULUMI_BIN/pulumi-language-python" "$HERE/langhost/main.go"; then
    log "building the Python language host (scripts/engine/langhost)"
    write_wrapper
    run langhost-build bash -c "cd '$PW' && go build -trimpath -ldflags '-s -w $LDV' -o '$PULUMI_BIN/pulumi-language-python' ./langhost"
    sdkdir="$(cd "$PW" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
    install -m 0755 "$sdkdir/python/cmd/pulumi-language-python-exec" "$PULUMI_BIN/pulumi-language-python-exec"
    stamp "$PULUMI_BIN/pulumi-language-python" "$HERE/langhost/main.go"
  fi
fi

# --- pulumi-resource-kubernetes ------------------------------------------------------------------
PROVIDERS="$CACHE/providers"          # goes on PATH only for providers whose version differs from the SDK's
mkdir -p "$PROVIDERS"
rm -f "$PROVIDERS"/pulumi-resource-*
K8S_BIN=""
if [[ -x "$HOME/.pulumi/plugins/resource-kubernetes-v$K8S_SDK_V/pulumi-resource-kubernetes" ]]; then
  K8S_BIN="$HOME/.pulumi/plugins/resource-kubernetes-v$K8S_SDK_V/pulumi-resource-kubernetes"; K8S_V=$K8S_SDK_V
  log "using the upstream kubernetes provider $K8S_V from ~/.pulumi/plugins"
else
  K8S_BIN="$CACHE/bin/kubernetes-$K8S_V/pulumi-resource-kubernetes"
  KW="$CACHE/src/kubernetes-$K8S_V"
  if [[ ! -x "$K8S_BIN" || ! -f "$K8S_BIN.version" || "$(cat "$K8S_BIN.version")" != "$K8S_V" ]]; then
    log "building pulumi-resource-kubernetes $K8S_V (commit of $K8S_PSEUDO)"
    mkdir -p "$KW/cmd" "$(dirname "$K8S_BIN")"
    # provider/go.mod replaces sdk/v4 with ../sdk (local): the wrapper requires the published sdk/v4 instead.
    cat >"$KW/go.mod" <<EOF
module llm-platform.local/engine/kubernetes

go 1.24.7

require (
	github.com/pulumi/pulumi-kubernetes/provider/v4 $K8S_PSEUDO
	github.com/pulumi/pulumi-kubernetes/sdk/v4 v4.24.0
)

replace $CLIPBOARD_REPLACE
EOF
    run kubernetes-download bash -c "cd '$KW' && go mod download github.com/pulumi/pulumi-kubernetes/provider/v4"
    moddir="$(cd "$KW" && GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
    # main.go embeds schema-embed.json, which `go generate` makes from the committed schema.json.
    rm -rf "$KW/cmd/pulumi-resource-kubernetes"
    cp -r "$moddir/cmd/pulumi-resource-kubernetes" "$KW/cmd/"
    chmod -R u+w "$KW/cmd"
    [[ -f "$KW/go.sum" ]] || { cp "$moddir/go.sum" "$KW/go.sum"; chmod u+w "$KW/go.sum"; }
    run kubernetes-tidy bash -c "cd '$KW' && go mod tidy"
    run kubernetes-generate bash -c "cd '$KW/cmd/pulumi-resource-kubernetes' && VERSION=$K8S_V go run generate.go"
    run kubernetes-build bash -c "cd '$KW' && go build -trimpath -ldflags '-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$K8S_V' -o '$K8S_BIN' ./cmd/pulumi-resource-kubernetes"
    echo "$K8S_V" >"$K8S_BIN.version"
  else
    log "reusing pulumi-resource-kubernetes $K8S_V"
  fi
  ln -sf "$K8S_BIN" "$PROVIDERS/pulumi-resource-kubernetes"
fi

# --- pulumi-resource-random ------------------------------------------------------------------------
if [[ -x "$HOME/.pulumi/plugins/resource-random-v$RANDOM_SDK_V/pulumi-resource-random" ]]; then
  RANDOM_BIN="$HOME/.pulumi/plugins/resource-random-v$RANDOM_SDK_V/pulumi-resource-random"; RANDOM_V=$RANDOM_SDK_V
  log "using the upstream random provider $RANDOM_V from ~/.pulumi/plugins"
else
  RANDOM_BIN="$CACHE/bin/random-$RANDOM_V/pulumi-resource-random"
  if ! stamp_ok "$RANDOM_BIN" "$HERE/random/main.go"; then
    log "building the random stand-in (scripts/engine/random)"
    mkdir -p "$(dirname "$RANDOM_BIN")"
    [[ -f "$PW/go.mod" ]] || write_wrapper
    cp "$HERE/random/main.go" "$PW/random/main.go"
    run random-build bash -c "cd '$PW' && go mod tidy && go build -trimpath -ldflags '-s -w -X main.Version=$RANDOM_V' -o '$RANDOM_BIN' ./random"
    stamp "$RANDOM_BIN" "$HERE/random/main.go"
  fi
  ln -sf "$RANDOM_BIN" "$PROVIDERS/pulumi-resource-random"
fi

# --- register the plugins in a PULUMI_HOME of our own; nothing is downloaded at run time ----------------
export PULUMI_HOME="$CACHE/pulumi-home" PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
mkdir -p "$PULUMI_HOME"
P="$PULUMI_BIN/pulumi"
if ! "$P" plugin ls --json 2>/dev/null | grep -q "\"version\": \"$K8S_V\""; then
  run plugin-kubernetes "$P" plugin install resource kubernetes "$K8S_V" --file "$K8S_BIN"
fi
if ! "$P" plugin ls --json 2>/dev/null | grep -q "\"version\": \"$RANDOM_V\""; then
  run plugin-random "$P" plugin install resource random "$RANDOM_V" --file "$RANDOM_BIN"
fi

ENV="$CACHE/pulumi.env"
cat >"$ENV" <<EOF
# Written by scripts/engine/build_pulumi_tools.sh; source it before running pulumi for the engine tier.
export PATH="$PULUMI_BIN:$PROVIDERS:\$PATH"
export PULUMI_HOME="$PULUMI_HOME"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export LLM_ENGINE_PULUMI_VERSION="${PULUMI_V#v}"
export LLM_ENGINE_KUBERNETES_VERSION="$K8S_V"
export LLM_ENGINE_RANDOM_VERSION="$RANDOM_V"
EOF
log "ready in ${SECONDS}s: pulumi $PULUMI_V, kubernetes $K8S_V, random $RANDOM_V"
echo "$ENV"
