#include "tools/mcsim/scheduler.h"

#include <algorithm>

#include "net/loop.h"

namespace smppgw::mcsim {

Scheduler::Scheduler(net::Loop& loop, std::function<void(Job&)> run)
    : run_(std::move(run)), timer_(loop, [this] { runDue(); }) {
  jobs_.reserve(1024);
  heap_.reserve(1024);
}

void Scheduler::schedule(uint64_t due_ns, Job&& job) {
  uint32_t idx = 0;
  if (!free_jobs_.empty()) {
    idx = free_jobs_.back();
    free_jobs_.pop_back();
    jobs_[idx] = std::move(job);
  } else {
    idx = static_cast<uint32_t>(jobs_.size());
    jobs_.push_back(std::move(job));
  }
  heap_.emplace_back(due_ns, idx);
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
  arm();
}

void Scheduler::arm() {
  if (heap_.empty()) {
    timer_.disarm();
    return;
  }
  // Deadlines rounded up to 100 µs: one timer re-arm serves every job due in that slice.
  constexpr uint64_t kSlice = 100000;
  timer_.armNoLaterThan((heap_.front().first + kSlice - 1) / kSlice * kSlice);
}

void Scheduler::runDue() {
  const uint64_t now = net::Loop::hrtimeNs();
  while (!heap_.empty() && heap_.front().first <= now + 50000) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    const uint32_t idx = heap_.back().second;
    heap_.pop_back();
    Job job = jobs_[idx];
    free_jobs_.push_back(idx);
    run_(job);
  }
  arm();
}

}  // namespace smppgw::mcsim
