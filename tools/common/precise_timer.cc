#include "tools/common/precise_timer.h"

#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>

namespace smppgw::tools {

PreciseTimer::State::~State() {
  if (fd >= 0) {
    ::close(fd);
  }
}

PreciseTimer::PreciseTimer(net::Loop& loop, std::function<void()> fn)
    : state_(std::make_unique<State>()) {
  state_->fn = std::move(fn);
  state_->owner = this;
  // The default 50 us timer slack would delay every expiry by up to that much: as large as the
  // round trips being measured. 1 us for this (loop) thread.
  ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  state_->fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (state_->fd < 0) {
    std::perror("timerfd_create");
    return;
  }
  uv_poll_init(loop.raw(), &state_->handle, state_->fd);
  state_->handle.data = state_.get();
  uv_poll_start(&state_->handle, UV_READABLE, &PreciseTimer::onReadable);
  // An idle timer must not keep the loop alive.
  uv_unref(reinterpret_cast<uv_handle_t*>(&state_->handle));
}

PreciseTimer::~PreciseTimer() {
  if (state_->fd < 0) {
    return;  // the handle was never initialised; the State frees itself
  }
  state_->owner = nullptr;
  uv_poll_t* h = &state_->handle;
  uv_poll_stop(h);
  net::closeAndRelease(std::move(state_), h);
}

void PreciseTimer::armAt(uint64_t deadline_ns) {
  if (!ok() || deadline_ns == armed_at_) {
    return;
  }
  deadline_ns = deadline_ns == 0 ? 1 : deadline_ns;
  itimerspec its{};
  its.it_value.tv_sec = static_cast<time_t>(deadline_ns / 1000000000ull);
  its.it_value.tv_nsec = static_cast<long>(deadline_ns % 1000000000ull);
  ::timerfd_settime(state_->fd, TFD_TIMER_ABSTIME, &its, nullptr);
  armed_at_ = deadline_ns;
}

void PreciseTimer::disarm() {
  if (!ok() || armed_at_ == 0) {
    return;
  }
  itimerspec its{};
  ::timerfd_settime(state_->fd, TFD_TIMER_ABSTIME, &its, nullptr);
  armed_at_ = 0;
}

void PreciseTimer::onReadable(uv_poll_t* h, int status, int) {
  auto* s = static_cast<State*>(h->data);
  uint64_t expirations = 0;
  // Clears the readiness; EAGAIN means a disarm raced the expiry: nothing to do.
  if (::read(s->fd, &expirations, sizeof expirations) != sizeof expirations || status < 0) {
    return;
  }
  if (s->owner != nullptr) {
    s->owner->armed_at_ = 0;
    s->fn();
  }
}

}  // namespace smppgw::tools
