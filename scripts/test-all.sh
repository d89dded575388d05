#!/usr/bin/env bash
# The README's test command (`npm run test:all`), and what CI runs: install the real servers and
# tools the tests drive (HAProxy, nginx, wrk, Chromium, nghttp2, openssl) when they are missing, then the
# dependencies, the lint and every test. Needs Debian/Ubuntu with apt-get, as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in haproxy nginx-light wrk chromium nghttp2-client nghttp2-server openssl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "test-all: install ${need[*]} (apt-get, as root): the tests drive them as real servers" >&2; exit 1; }
    sudo=(sudo)
  fi
  echo "test-all: installing ${need[*]} (the tests drive them as real servers)" >&2
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

npm ci --no-audit --no-fund
npm run lint
npm test
