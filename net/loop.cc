#include "net/loop.h"

#include <cstdio>
#include <cstdlib>

#include "net/connection.h"

namespace smppgw::net {

Loop::Loop() : read_buffer_(std::make_unique_for_overwrite<uint8_t[]>(kReadBufferSize)) {
  if (int rc = uv_loop_init(&loop_); rc != 0) {
    std::fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(rc));
    std::abort();
  }
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, &Loop::onCheck);
  uv_prepare_init(&loop_, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, &Loop::onPrepare);
  // Neither handle may keep the loop alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
}

Loop::~Loop() {
  uv_check_stop(&check_);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
  uv_prepare_stop(&prepare_);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
  // Close every handle and run until nothing is left: close callbacks, and the completions of
  // thread-pool work still queued or running (cancelled or finished; their callbacks free them).
  auto closeAll = [this] {
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) {
          if (!uv_is_closing(h)) {
            uv_close(h, nullptr);
          }
        },
        nullptr);
  };
  closeAll();
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (int i = 0; i < 100 && uv_loop_close(&loop_) == UV_EBUSY; ++i) {
    closeAll();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
}

int Loop::run() {
  return uv_run(&loop_, UV_RUN_DEFAULT);
}

void Loop::scheduleFlush(Connection* c) {
  dirty_.push_back(c);
}

void Loop::onCheck(uv_check_t* h) {
  auto* l = static_cast<Loop*>(h->data);
  ++l->stats_.iterations;
  l->endOfWork();
}

// Timers run before the poll: what a timer callback wrote (queued requests drained on the tick,
// enquire_links) goes out here instead of waiting for the poll to return, and the tick's busy
// interval is closed before the loop sleeps.
void Loop::onPrepare(uv_prepare_t* h) {
  static_cast<Loop*>(h->data)->endOfWork();
}

void Loop::endOfWork() {
  // Flushing may queue more output (a write error closes a connection, whose owner may answer
  // another peer), so drain until stable.
  for (int guard = 0; guard < 16 && (!dirty_.empty() || !deferred_.empty()); ++guard) {
    flushing_.swap(dirty_);
    for (Connection* c : flushing_) {
      c->flushScheduled();
    }
    flushing_.clear();
    running_.swap(deferred_);
    for (auto& fn : running_) {
      fn();
    }
    running_.clear();
  }
  if (work_start_ns_ != 0) {
    const uint64_t busy = uv_hrtime() - work_start_ns_;
    work_start_ns_ = 0;
    stats_.busy_ns += busy;
    if (on_iteration_) {
      on_iteration_(busy);
    }
  }
}

Timer::Timer(Loop& loop, std::function<void()> fn) : state_(std::make_unique<State>()) {
  uv_timer_init(loop.raw(), &state_->handle);
  state_->fn = std::move(fn);
  state_->handle.data = state_.get();
}

Timer::~Timer() {
  uv_timer_t* h = &state_->handle;
  uv_timer_stop(h);
  closeAndRelease(std::move(state_), h);
}

void Timer::start(uint64_t timeout_ms, uint64_t repeat_ms) {
  uv_timer_start(
      &state_->handle, [](uv_timer_t* t) { static_cast<State*>(t->data)->fn(); }, timeout_ms,
      repeat_ms);
}

void Timer::stop() {
  uv_timer_stop(&state_->handle);
}

Async::Async(Loop& loop, std::function<void()> fn) : state_(std::make_unique<State>()) {
  uv_async_init(loop.raw(), &state_->handle,
                [](uv_async_t* a) { static_cast<State*>(a->data)->fn(); });
  state_->fn = std::move(fn);
  state_->handle.data = state_.get();
  uv_unref(reinterpret_cast<uv_handle_t*>(&state_->handle));
}

Async::~Async() {
  uv_async_t* h = &state_->handle;
  closeAndRelease(std::move(state_), h);
}

Signal::Signal(Loop& loop, int signum, std::function<void(int)> fn)
    : state_(std::make_unique<State>()) {
  uv_signal_init(loop.raw(), &state_->handle);
  state_->fn = std::move(fn);
  state_->handle.data = state_.get();
  uv_signal_start(
      &state_->handle, [](uv_signal_t* s, int sig) { static_cast<State*>(s->data)->fn(sig); },
      signum);
  uv_unref(reinterpret_cast<uv_handle_t*>(&state_->handle));
}

Signal::~Signal() {
  uv_signal_t* h = &state_->handle;
  uv_signal_stop(h);
  closeAndRelease(std::move(state_), h);
}

}  // namespace smppgw::net
