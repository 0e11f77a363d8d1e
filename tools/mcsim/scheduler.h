#pragma once
// The scheduler: delayed responses (--latency) and receipts (--receipt-delay) at nanosecond
// deadlines. Jobs live in a slab reused without allocation, ordered by a binary min-heap of
// deadlines, and are served by one precise timer re-armed per 100 µs slice.

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "tools/common/precise_timer.h"
#include "tools/mcsim/delivery.h"

namespace smppgw::mcsim {

struct Job {
  enum class Kind : uint8_t { Response, Receipt };
  Kind kind = Kind::Response;
  bool has_id = false;
  bool receipt_before = false;  // Response: write `delivery` first (receipt-before-response)
  uint32_t session_index = 0;
  uint64_t session_serial = 0;
  uint32_t response_id = 0;
  uint32_t seq = 0;
  uint32_t status = 0;
  uint64_t msg_id = 0;
  Account* account = nullptr;
  Delivery delivery;
};

class Scheduler {
 public:
  // `run` is called for each job once it is due.
  Scheduler(net::Loop& loop, std::function<void(Job&)> run);

  void schedule(uint64_t due_ns, Job&& job);
  // Stops the timer for good (shutdown): jobs still waiting never run.
  void disarm() { timer_.disarm(); }

 private:
  void runDue();
  void arm();

  std::function<void(Job&)> run_;
  std::vector<Job> jobs_;
  std::vector<uint32_t> free_jobs_;
  std::vector<std::pair<uint64_t, uint32_t>> heap_;  // (due_ns, job index), min-heap
  tools::PreciseTimer timer_;
};

}  // namespace smppgw::mcsim
