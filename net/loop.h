#pragma once
// The event loop's owner. One Loop per thread; everything that touches a socket runs on it.
//
// Per iteration libuv runs: timers -> I/O callbacks (reads) -> check. Our check handle is where
// output is flushed: every PDU queued for a peer during the iteration leaves in one write
// (docs/architecture.md, "Rules that keep it fast"), and objects closed during the iteration are
// freed there, never while one of their callbacks is still on the stack.

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace smppgw::net {

class Connection;

// Loop-wide counters (syscalls per round trip = (reads + writes + iterations) / round trips).
struct LoopStats {
  uint64_t reads = 0;       // read callbacks with data (one read(2) each)
  uint64_t writes = 0;      // uv_try_write / uv_write calls (one write(2) each)
  uint64_t iterations = 0;  // loop wake-ups
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t busy_ns = 0;  // from the first read (or tick) of an iteration to its end
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* raw() { return &loop_; }
  // Milliseconds of the loop's clock (cached per iteration; no syscall). Every protocol timeout
  // reads it. Tests may replace it with a manual clock that moves only when told, so a 30 s
  // timeout is tested in microseconds (the libuv timers still fire on real time).
  uint64_t nowMs() const { return manual_ ? manual_ms_ : uv_now(&loop_); }
  void useManualClock(uint64_t start_ms) {
    manual_ = true;
    manual_ms_ = start_ms;
  }
  void advance(uint64_t ms) { manual_ms_ += ms; }
  // Monotonic nanoseconds (vDSO clock; for latency measurements).
  static uint64_t hrtimeNs() { return uv_hrtime(); }
  // hrtimeNs() as of the last read(2) or timer tick (refreshNs): one clock read per read, shared
  // by every PDU of that read (they arrived together; at window 100 that is dozens).
  uint64_t cachedNs() const { return read_ns_; }
  void refreshNs() {
    read_ns_ = uv_hrtime();
    if (work_start_ns_ == 0) {
      work_start_ns_ = read_ns_;  // a stretch of work starts here (see endOfWork)
    }
  }

  // Runs until stop() or until nothing is left to do.
  int run();
  void stop() { uv_stop(&loop_); }

  LoopStats& stats() { return stats_; }
  // Called with the busy time (ns) of each stretch of work: from the first read (or the tick) to
  // the end of its flush, closed before the loop sleeps (prepare) and after I/O (check). One clock
  // read per iteration (libuv's idle-time accounting was measured at +8 % CPU per round trip at
  // window 1: a mutex and 3 clock reads).
  void setIterationObserver(std::function<void(uint64_t)> fn) { on_iteration_ = std::move(fn); }

  // Shared read buffer for connections with no partial PDU buffered (one per loop).
  std::span<uint8_t> sharedReadBuffer() { return {read_buffer_.get(), kReadBufferSize}; }
  static constexpr size_t kReadBufferSize = 256 * 1024;

  // Called by Connection when it has output to flush at the end of this iteration.
  void scheduleFlush(Connection* c);
  // Work to run at the end of this iteration (after all reads), e.g. freeing closed objects.
  void defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

 private:
  static void onCheck(uv_check_t* h);
  static void onPrepare(uv_prepare_t* h);
  void endOfWork();  // flush, deferred frees, close the busy interval
  uint64_t read_ns_ = 0;
  uint64_t work_start_ns_ = 0;  // 0: no work yet in this iteration
  std::function<void(uint64_t)> on_iteration_;

  bool manual_ = false;
  uint64_t manual_ms_ = 0;
  uv_loop_t loop_;
  uv_check_t check_;
  uv_prepare_t prepare_;
  LoopStats stats_;
  std::unique_ptr<uint8_t[]> read_buffer_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> flushing_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;
};

// RAII for a uv_timer_t owned by an object that outlives the loop's use of it: the timer is
// closed in the destructor, and the loop is run by the owner until close callbacks finish.
class Timer {
 public:
  Timer(Loop& loop, std::function<void()> fn);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void start(uint64_t timeout_ms, uint64_t repeat_ms = 0);
  void stop();

 private:
  struct State {
    uv_timer_t handle;
    std::function<void()> fn;
  };
  std::unique_ptr<State> state_;
};

// RAII for a uv_async_t: another thread's wake-up (send() is the one call safe from any thread),
// run on the loop as `fn`. Unreferenced: it does not keep the loop alive by itself. The owner
// must stop every thread that may call send() before destroying it.
class Async {
 public:
  Async(Loop& loop, std::function<void()> fn);
  ~Async();
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;
  void send() { uv_async_send(&state_->handle); }

 private:
  struct State {
    uv_async_t handle;
    std::function<void()> fn;
  };
  std::unique_ptr<State> state_;
};

// RAII for signal watchers.
class Signal {
 public:
  Signal(Loop& loop, int signum, std::function<void(int)> fn);
  ~Signal();
  Signal(const Signal&) = delete;
  Signal& operator=(const Signal&) = delete;

 private:
  struct State {
    uv_signal_t handle;
    std::function<void(int)> fn;
  };
  std::unique_ptr<State> state_;
};

// Closes a handle whose memory is owned by a unique_ptr<State>; the memory is released in the
// close callback, as libuv requires.
template <class State, class Handle>
void closeAndRelease(std::unique_ptr<State> state, Handle* handle) {
  handle->data = state.release();
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { std::unique_ptr<State> owned(static_cast<State*>(h->data)); });
}

}  // namespace smppgw::net
