#pragma once
// Latency histogram, log-linear like HdrHistogram: values below 128 have a bucket each; above,
// every power of two is cut into 64 equal sub-buckets, so a bucket is at most 1/64 of its lower
// bound wide (reported values are bucket midpoints: error < 0.8 %). Recording is one index
// computation and an increment; the bucket array is allocated once.

#include <bit>
#include <cstdint>
#include <memory>

namespace smppgw::tools {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBits = 6;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // 64 sub-buckets
  static constexpr size_t kBuckets = 2 * kSub + (63 - kSubBits) * kSub;

  LatencyHistogram();
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  void record(uint64_t value) {
    ++counts_[index(value)];
    ++count_;
    sum_ += value;
    min_ = value < min_ ? value : min_;
    max_ = value > max_ ? value : max_;
  }
  void merge(const LatencyHistogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // Value at quantile q in [0, 1] (0 when empty); exact for values < 128.
  uint64_t quantile(double q) const;

  static size_t index(uint64_t v) {
    if (v < 2 * kSub) {
      return static_cast<size_t>(v);
    }
    const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(v));
    const unsigned shift = msb - kSubBits;
    return static_cast<size_t>(2 * kSub + (shift - 1) * kSub + ((v >> shift) - kSub));
  }
  // Lowest value and width of a bucket.
  static uint64_t bucketLow(size_t i);
  static uint64_t bucketWidth(size_t i);

 private:
  std::unique_ptr<uint64_t[]> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace smppgw::tools
