#!/usr/bin/env bash
# The README's run command: builds smppgw and its tools, starts the bundled MC simulator on
# 127.0.0.1:2776 and the gateway on its built-in demo configuration (customers bind to
# 127.0.0.1:2775 as demo / demopass). Ctrl-C stops both: the gateway drains (every request
# answered, customers and carrier unbound), then the simulator stops; the exit status is the
# gateway's (0 after a drain). A second Ctrl-C makes the gateway exit at once.
#   deploy/demo.sh [--no-build]    (--no-build: run what BUILD_DIR, default build/, already has)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
if [[ ${1:-} != --no-build ]]; then
  ./deploy/install-deps.sh
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMPPGW_BENCH=OFF >/dev/null
  cmake --build "$build" -j"$(nproc)" --target smppgw smpp-mcsim smpp-bench
fi

# The simulator and the gateway run in process groups of their own (setsid), so a Ctrl-C on the
# terminal reaches only this script, which forwards exactly one SIGTERM to the gateway. (Were they
# in the terminal's group, the gateway would get the terminal's SIGINT and then this script's
# signal: a second signal, which means "exit at once".) The simulator is stopped only after the
# gateway has drained, since the drain still talks to it.
run_dir=$(mktemp -d)
mcsim=""
gw=""
stopping=0
on_signal() {
  stopping=1
  if [[ -n $gw ]] && kill -0 "$gw" 2>/dev/null; then
    kill -TERM "$gw" || true  # a second Ctrl-C sends a second signal: the gateway exits at once
  else
    exit 130  # not started yet: nothing to drain (the EXIT trap stops the simulator)
  fi
}
cleanup() {
  if [[ -n $gw ]] && kill -0 "$gw" 2>/dev/null; then
    kill -TERM "$gw" 2>/dev/null
    wait "$gw" 2>/dev/null || true
  fi
  if [[ -n $mcsim ]]; then
    kill -TERM "$mcsim" 2>/dev/null || true
    wait "$mcsim" 2>/dev/null || true
  fi
  rm -rf "$run_dir"
}
trap on_signal INT TERM HUP
trap cleanup EXIT
wait_for() {  # a file written by a child once it listens (bounded: 10 s)
  for _ in $(seq 1 100); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || { echo "demo: $3 exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $3 did not start" >&2
  exit 1
}
setsid "$build/tools/mcsim/smpp-mcsim" --listen 127.0.0.1:2776 --system-id smppgw \
  --password mcsim --receipt-delay-ms 200 --quiet --port-file "$run_dir/mcsim.port" &
mcsim=$!
wait_for "$run_dir/mcsim.port" "$mcsim" smpp-mcsim
setsid "$build/gateway/smppgw" run --port-file "$run_dir/smppgw.port" &
gw=$!
wait_for "$run_dir/smppgw.port" "$gw" smppgw

cat <<MSG

smppgw is running on 127.0.0.1:2775 (customer: demo / demopass), carrier: smpp-mcsim on :2776.
Send 1,000 messages and wait for their 1,000 receipts:

  $build/tools/bench/smpp-bench --connect 127.0.0.1:2775 --system-id demo --password demopass \\
      --count 1000 --receipts

Press Ctrl-C to stop.
MSG
# `wait` returns early when a signal is trapped: wait again until the gateway itself has exited.
while :; do
  stopping=0
  status=0
  wait "$gw" || status=$?
  ((stopping)) || break
done
gw=""
echo "demo: smppgw exited with status $status" >&2
exit "$status"
