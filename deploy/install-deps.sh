#!/usr/bin/env bash
# Installs every Debian package smppgw needs to build, run and test. Idempotent: packages already
# present are left alone. Used by the README's two commands, by .ci/run and by the Dockerfile.
#   deploy/install-deps.sh           build + run dependencies
#   deploy/install-deps.sh --test    also the test peers (tshark, prometheus, npm smpp, clang tools)
set -euo pipefail

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

build_pkgs=(build-essential cmake ninja-build pkg-config
  libuv1-dev nlohmann-json3-dev prometheus-cpp-dev libssl-dev doctest-dev libbenchmark-dev
  openssl ca-certificates)
test_pkgs=(clang libclang-rt-14-dev python3 valgrind)

pkgs=("${build_pkgs[@]}")
((want_test)) && pkgs+=("${test_pkgs[@]}")

# Node.js: some images ship it (with npm bundled) outside Debian's packaging; only install Debian's
# when there is no npm at all, since Debian's npm conflicts with a bundled one.
if ((want_test)) && ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi
