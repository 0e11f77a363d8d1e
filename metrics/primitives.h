#pragma once
// The three metric primitives the data path touches: Counter, Gauge, Histogram.
//
// SINGLE-WRITER RULE. Each child (one label combination) is written by ONE thread only: the
// gateway's event loop. Other threads (the exposer's scrape thread) only read. That is why an
// increment is a relaxed load followed by a relaxed store instead of fetch_add: with one writer
// nothing can be lost between the two, and the plain `mov` pair avoids the lock-prefixed RMW
// (tens of cycles, a full barrier) on every PDU. A second writer thread would lose increments:
// give it its own child instead (a separate label value or family).
//
// Costs on the data path: no syscall, no lock, no allocation, no clock read (callers pass the
// duration they already measured with the loop's clock). docs/metrics.md has the numbers.
//
// Readers see each value atomically (no torn reads) but not a consistent cut across values: a
// scrape may see a histogram bucket incremented before its sum. Prometheus tolerates that.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace smppgw::metrics {

// Largest number of finite bucket bounds a histogram family may declare (families.h checks).
inline constexpr size_t kMaxBuckets = 20;

// Monotonic count. Written by one thread (see the single-writer rule above).
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void inc() noexcept { add(1); }
  void add(uint64_t n) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down (sessions, queue depth, window use, timestamps). One writer.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void set(int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  int64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Distribution over fixed bucket bounds (given by the family, ascending, at most kMaxBuckets;
// the +Inf bucket is implicit). One writer. Prometheus `le` semantics: an observation v is
// counted in the first bucket whose bound is >= v. The count is the sum of the buckets, so a
// scrape never sees a count that disagrees with its buckets.
class Histogram {
 public:
  // `bounds` must outlive the histogram (families.h keeps them in static storage).
  explicit Histogram(std::span<const double> bounds) noexcept
      : bounds_(bounds.data()), size_(static_cast<uint32_t>(bounds.size())) {}
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double v) noexcept {
    if (v != v) {
      return;  // NaN would poison the sum for the life of the process
    }
    // Linear search with an early exit: <= 20 compares. Measured against a branch-free count
    // of all bounds: equal when values jump between buckets at random (mispredictions), twice as
    // fast when they cluster, as latencies do.
    uint32_t i = 0;
    while (i < size_ && v > bounds_[i]) {
      ++i;
    }
    hot_.counts[i].store(hot_.counts[i].load(std::memory_order_relaxed) + 1,
                         std::memory_order_relaxed);
    hot_.sum.store(hot_.sum.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
  }
  // Durations from the loop's nanosecond clock (uv_hrtime) without a division.
  void observeNs(uint64_t ns) noexcept { observe(static_cast<double>(ns) * 1e-9); }

  std::span<const double> bounds() const noexcept { return {bounds_, size_}; }

  struct Snapshot {
    std::array<uint64_t, kMaxBuckets + 1> counts{};  // per bucket, not cumulative; [size] = +Inf
    uint64_t count = 0;
    double sum = 0;
  };
  // Called by the scrape thread.
  Snapshot snapshot() const noexcept {
    Snapshot s;
    for (uint32_t i = 0; i <= size_; ++i) {
      s.counts[i] = hot_.counts[i].load(std::memory_order_relaxed);
      s.count += s.counts[i];
    }
    s.sum = hot_.sum.load(std::memory_order_relaxed);
    return s;
  }

 private:
  const double* bounds_;
  uint32_t size_;
  // Everything observe() writes, starting on a cache line of its own: the sum and the first
  // seven buckets (where nearly all observations land) share one line.
  struct alignas(64) Hot {
    std::atomic<double> sum{0};
    std::array<std::atomic<uint64_t>, kMaxBuckets + 1> counts{};
  } hot_;
};

static_assert(std::atomic<uint64_t>::is_always_lock_free);
static_assert(std::atomic<int64_t>::is_always_lock_free);
static_assert(std::atomic<double>::is_always_lock_free);

}  // namespace smppgw::metrics
