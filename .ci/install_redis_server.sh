#!/usr/bin/env bash
# Debian's redis-server for the gateway rate-limit consumer tests (tests/consumers/test_gateway_limits.py).
# Idempotent; fails loudly when it cannot be installed (CI must not silently skip the shared-limit test).
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_redis_server: redis-server is missing and apt-get is not available; install Redis >= 7" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install_redis_server: need root or sudo for apt-get" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends redis-server
# Debian's package may start a system service on 6379; the tests run their own server on a free port.
command -v redis-server >/dev/null 2>&1 || { echo "install_redis_server: redis-server still missing" >&2; exit 1; }
