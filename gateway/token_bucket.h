#pragma once
// Token bucket with the time passed in (no clock reads inside: deterministic in tests, and the
// loop's cached clock costs nothing). rate 0 means unlimited.

#include <algorithm>
#include <cstdint>

namespace smppgw {

class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(uint32_t rate_per_second, uint32_t burst) { configure(rate_per_second, burst); }

  void configure(uint32_t rate_per_second, uint32_t burst) {
    rate_ = rate_per_second;
    burst_ = std::max<uint32_t>(burst != 0 ? burst : rate_per_second, 1);
    tokens_milli_ = static_cast<uint64_t>(burst_) * 1000;
  }
  bool unlimited() const { return rate_ == 0; }

  // Takes one token if there is one at now_ms.
  bool tryTake(uint64_t now_ms) {
    if (rate_ == 0) {
      return true;
    }
    refill(now_ms);
    if (tokens_milli_ >= 1000) {
      tokens_milli_ -= 1000;
      return true;
    }
    return false;
  }
  bool available(uint64_t now_ms) {
    if (rate_ == 0) {
      return true;
    }
    refill(now_ms);
    return tokens_milli_ >= 1000;
  }
  // Milliseconds until the next token (0 if one is there).
  uint64_t msUntilToken(uint64_t now_ms) {
    if (rate_ == 0) {
      return 0;
    }
    refill(now_ms);
    if (tokens_milli_ >= 1000) {
      return 0;
    }
    uint64_t missing = 1000 - tokens_milli_;
    return (missing + rate_ - 1) / rate_;
  }

 private:
  void refill(uint64_t now_ms) {
    if (now_ms > last_ms_) {
      // rate tokens per 1000 ms = rate milli-tokens per ms.
      tokens_milli_ = std::min<uint64_t>(tokens_milli_ + (now_ms - last_ms_) * rate_,
                                         static_cast<uint64_t>(burst_) * 1000);
      last_ms_ = now_ms;
    }
  }

  uint32_t rate_ = 0;
  uint32_t burst_ = 1;
  uint64_t tokens_milli_ = 1000;
  uint64_t last_ms_ = 0;
};

}  // namespace smppgw
