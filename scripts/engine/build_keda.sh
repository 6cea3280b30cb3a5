#!/usr/bin/env bash
# Builds KEDA's operator (issue 16: scale from zero) from its Go module into the engine cache outside the clone,
# and copies the module's CRDs beside it. The operator alone scales 0 <-> 1 (activation); the metrics adapter
# (1 <-> N through an HPA) is not needed by the scale-from-zero scenario and is not built.
# Idempotent: a keda-operator of the pinned version in the cache (or on PATH) is reused. Prints the bin dir.
set -euo pipefail

KEDA_VERSION=v2.21.0  # github.com/kedacore/keda/v2; the chart pinned in models/images.py has the same appVersion

CACHE="${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}/engine"
BIN="$CACHE/bin"
LOGS="$CACHE/logs"
CRDS="$CACHE/keda-crds-$KEDA_VERSION"
mkdir -p "$BIN" "$LOGS"
export GOFLAGS="${GOFLAGS:--mod=mod} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { echo "build_keda: $*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
command -v go >/dev/null || die "go is not on PATH (Go >= 1.26 is needed to build KEDA $KEDA_VERSION)"

stamp_ok() { [[ -x "$BIN/keda-operator" && -f "$BIN/.keda-operator.version" && "$(cat "$BIN/.keda-operator.version")" == "$KEDA_VERSION" && -s "$CRDS/keda.sh_scaledobjects.yaml" ]]; }
if [[ ${1:-} == --check ]]; then
  stamp_ok || { log "keda-operator $KEDA_VERSION not built"; exit 3; }
  echo "$BIN"
  exit 0
fi
stamp_ok && { echo "$BIN"; exit 0; }

start=$SECONDS
src=$(go mod download -json "github.com/kedacore/keda/v2@$KEDA_VERSION" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("Dir") or sys.exit(d.get("Error")))') ||
  die "cannot download github.com/kedacore/keda/v2@$KEDA_VERSION"
mkdir -p "$CRDS"
cp "$src"/config/crd/bases/*.yaml "$CRDS/"
found=$(type -P keda-operator || true)
if [[ -n "$found" && "$found" != "$BIN/keda-operator" ]] && "$found" --version 2>&1 | grep -qF "${KEDA_VERSION#v}"; then
  ln -sf "$found" "$BIN/keda-operator"
  log "keda-operator $KEDA_VERSION: using $found"
else
  log "building keda-operator $KEDA_VERSION (cold: about 15 minutes on 2 cores)"
  work="$CACHE/src/keda-$KEDA_VERSION"
  if [[ ! -f "$work/go.mod" ]]; then
    rm -rf "$work" && mkdir -p "$(dirname "$work")"
    cp -r "$src" "$work" && chmod -R u+w "$work"
  fi
  (cd "$work" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v}" \
    -o "$BIN/keda-operator" ./cmd/operator) >"$LOGS/keda.log" 2>&1 || {
    tail -40 "$LOGS/keda.log" >&2
    die "keda-operator build (log: $LOGS/keda.log)"
  }
fi
echo "$KEDA_VERSION" >"$BIN/.keda-operator.version"
printf 'keda-operator\t%s\t%s\t\n' "$KEDA_VERSION" $((SECONDS - start)) >>"$CACHE/build-times.tsv"
log "keda-operator $KEDA_VERSION ready in $((SECONDS - start))s"
echo "$BIN"
