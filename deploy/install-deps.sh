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
  librocksdb-dev
  openssl ca-certificates)
# prometheus: the real server the metrics tests scrape with, and promtool for the alert rules. Its
# package would start a system-wide service; the tests start their own, so it is installed with
# services held back (policy-rc.d, below). haproxy: the real PROXY protocol sender the net tests
# connect through; likewise a service on install, likewise held back (the tests run their own).
test_pkgs=(clang libclang-rt-14-dev python3 valgrind prometheus tshark haproxy)

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
  # tshark: no setuid dumpcap (tests run it as root on loopback only); asked before install.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
  if [[ " ${missing[*]} " == *" prometheus "* || " ${missing[*]} " == *" haproxy "* ]]; then
    # A policy-rc.d that exits 101 tells invoke-rc.d / deb-systemd-invoke not to start services
    # during this install. Any policy-rc.d already present is put back afterwards, even on failure.
    policy=/usr/sbin/policy-rc.d
    saved=""
    if [[ -e $policy ]]; then
      saved=$($SUDO mktemp /usr/sbin/policy-rc.d.smppgw.XXXXXX)
      $SUDO cp -p "$policy" "$saved"
    fi
    restore_policy() {
      if [[ -n $saved ]]; then
        $SUDO mv -f "$saved" "$policy"
      else
        $SUDO rm -f "$policy"
      fi
    }
    trap restore_policy EXIT
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    restore_policy
    trap - EXIT
  else
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  echo "install-deps: all packages present"
fi

# Third-party SMPP peers for the interoperability tests (node-smpp, pinned by the lock file).
if ((want_test)); then
  interop="$(cd "$(dirname "$0")/.." && pwd)/tests/interop"
  if [[ ! -d $interop/node_modules/smpp ]] || [[ $interop/package-lock.json -nt $interop/node_modules/.package-lock.json ]]; then
    echo "install-deps: npm ci in tests/interop"
    (cd "$interop" && npm ci --no-audit --no-fund --silent)
  fi
fi
