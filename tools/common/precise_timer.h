#pragma once
// A one-shot timer with nanosecond resolution on the loop (timerfd polled by libuv). libuv's own
// timers have millisecond resolution, too coarse to pace an open-loop load generator whose
// requests are tens of microseconds apart. One timerfd_settime per arm and one read per expiry;
// callers coalesce, so this is per batch, never per PDU.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>

#include "net/loop.h"

namespace smppgw::tools {

class PreciseTimer {
 public:
  PreciseTimer(net::Loop& loop, std::function<void()> fn);
  ~PreciseTimer();
  PreciseTimer(const PreciseTimer&) = delete;
  PreciseTimer& operator=(const PreciseTimer&) = delete;

  bool ok() const { return state_ != nullptr && state_->fd >= 0; }
  // Fires once at the absolute time `deadline_ns` of uv_hrtime()'s clock (CLOCK_MONOTONIC).
  // Re-arming for the deadline already armed costs nothing.
  void armAt(uint64_t deadline_ns);
  // Arms for `deadline_ns` unless already armed for that time or earlier (firing early is
  // harmless to callers that re-check what is due): no syscall in the common case.
  void armNoLaterThan(uint64_t deadline_ns) {
    if (armed_at_ == 0 || deadline_ns < armed_at_) {
      armAt(deadline_ns);
    }
  }
  void disarm();
  bool armed() const { return armed_at_ != 0; }

 private:
  struct State {
    uv_poll_t handle;
    int fd = -1;
    std::function<void()> fn;
    PreciseTimer* owner = nullptr;
    ~State();
  };
  static void onReadable(uv_poll_t* h, int status, int events);

  std::unique_ptr<State> state_;
  uint64_t armed_at_ = 0;
};

}  // namespace smppgw::tools
