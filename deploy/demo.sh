#!/usr/bin/env bash
# The README's run command: builds smppgw and its tools, starts the bundled MC simulator on
# 127.0.0.1:2776 and the gateway on its built-in demo configuration (customers bind to
# 127.0.0.1:2775 as demo / demopass). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
./deploy/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMPPGW_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target smppgw smpp-mcsim smpp-bench

run_dir=$(mktemp -d)
"$build/tools/mcsim/smpp-mcsim" --listen 127.0.0.1:2776 --system-id smppgw --password mcsim \
  --receipt-delay-ms 200 --quiet --port-file "$run_dir/mcsim.port" &
mcsim=$!
gw=""
trap 'if [[ -n $gw ]]; then kill -TERM $gw 2>/dev/null; wait $gw 2>/dev/null; fi; kill -TERM $mcsim 2>/dev/null; wait $mcsim 2>/dev/null; rm -rf "$run_dir"' EXIT INT TERM
wait_for() {  # a file written by a child once it listens (bounded: 10 s)
  for _ in $(seq 1 100); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || { echo "demo: $3 exited" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $3 did not start" >&2
  exit 1
}
wait_for "$run_dir/mcsim.port" $mcsim smpp-mcsim
"$build/gateway/smppgw" run --port-file "$run_dir/smppgw.port" &
gw=$!
wait_for "$run_dir/smppgw.port" $gw smppgw

cat <<MSG

smppgw is running on 127.0.0.1:2775 (customer: demo / demopass), carrier: smpp-mcsim on :2776.
Send 1,000 messages and wait for their 1,000 receipts:

  $build/tools/bench/smpp-bench --connect 127.0.0.1:2775 --system-id demo --password demopass \\
      --count 1000 --receipts

Press Ctrl-C to stop.
MSG
wait $gw
