#pragma once
// Shared by the net/ tests: run a loop until something holds, bounded in real time.

#include <functional>

#include "net/loop.h"

namespace smppgw::nettest {

// Runs the loop until `done` holds or `seconds` of real time have passed; returns whether it held.
inline bool runUntil(net::Loop& loop, const std::function<bool()>& done, int seconds = 5) {
  bool expired = false;
  net::Timer guard(loop, [&] { expired = true; });
  guard.start(static_cast<uint64_t>(seconds) * 1000);
  while (!done() && !expired) {
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  return done();
}

}  // namespace smppgw::nettest
