#!/usr/bin/env bash
# promtool for the alert-rule tests (tests/test_alert_rules_promtool.py): `promtool check rules` and
# `promtool test rules`. Prints the binary's path on stdout. Idempotent: promtool on PATH or already extracted
# into the cache is reused. Otherwise Debian's `prometheus` package (pinned below) is downloaded with
# `apt-get download` (no root needed once the package lists exist) and only extracted into
# ~/.cache/llm-platform/promtool: no daemon, no system user, nothing installed system-wide.
set -euo pipefail
VERSION="2.42.0+ds-5+deb12u1"  # bookworm's prometheus; its promtool is a static Go binary (libc only)
CACHE="${LLM_PLATFORM_CACHE:-$HOME/.cache/llm-platform}"
DEST="$CACHE/promtool/$VERSION"
if command -v promtool >/dev/null 2>&1; then
  command -v promtool
  exit 0
fi
if [[ -x "$DEST/usr/bin/promtool" ]]; then
  echo "$DEST/usr/bin/promtool"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "install_promtool: apt-get is missing; install promtool (Prometheus 2.x)" >&2; exit 1; }
if ! apt-cache show "prometheus=$VERSION" >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || { echo "install_promtool: no apt lists for prometheus=$VERSION; run apt-get update" >&2; exit 1; }
  apt-get update -qq >&2
fi
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && apt-get download -qq "prometheus=$VERSION" >&2 2>/dev/null) \
  || { echo "install_promtool: apt-get download prometheus=$VERSION failed; bump VERSION to apt-cache policy prometheus" >&2; exit 1; }
mkdir -p "$TMP/x"
dpkg-deb -x "$TMP"/prometheus_*.deb "$TMP/x"
mkdir -p "$DEST/usr/bin"
install -m 0755 "$TMP/x/usr/bin/promtool" "$DEST/usr/bin/promtool.tmp"
mv "$DEST/usr/bin/promtool.tmp" "$DEST/usr/bin/promtool"  # atomic: a half-copied binary is never found
"$DEST/usr/bin/promtool" --version >&2
echo "$DEST/usr/bin/promtool"
