#include "tools/common/histogram.h"

#include <cmath>
#include <cstring>

namespace smppgw::tools {

LatencyHistogram::LatencyHistogram() : counts_(std::make_unique<uint64_t[]>(kBuckets)) {}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  if (other.count_ != 0) {
    min_ = other.min_ < min_ ? other.min_ : min_;
    max_ = other.max_ > max_ ? other.max_ : max_;
  }
}

void LatencyHistogram::reset() {
  std::memset(counts_.get(), 0, kBuckets * sizeof(uint64_t));
  count_ = sum_ = max_ = 0;
  min_ = UINT64_MAX;
}

uint64_t LatencyHistogram::bucketLow(size_t i) {
  if (i < 2 * kSub) {
    return i;
  }
  const size_t rel = i - 2 * kSub;
  const unsigned shift = static_cast<unsigned>(rel / kSub) + 1;
  return (kSub + rel % kSub) << shift;
}

uint64_t LatencyHistogram::bucketWidth(size_t i) {
  if (i < 2 * kSub) {
    return 1;
  }
  return uint64_t{1} << (static_cast<unsigned>((i - 2 * kSub) / kSub) + 1);
}

uint64_t LatencyHistogram::quantile(double q) const {
  if (count_ == 0) {
    return 0;
  }
  q = q < 0 ? 0 : (q > 1 ? 1 : q);
  // Rank of the sample (1-based) whose value is reported.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = rank == 0 ? 1 : rank;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t w = bucketWidth(i);
      uint64_t v = bucketLow(i) + w / 2;
      v = v > max_ ? max_ : v;
      return v < min_ ? min_ : v;
    }
  }
  return max_;
}

}  // namespace smppgw::tools
