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
  // A carrier's contracted rate: a tenth of a second of burst, so no one-second window ever
  // sees much more than the rate (a full second of burst would double the first second).
  void configureCarrier(uint32_t rate_per_second) {
    configure(rate_per_second, std::max<uint32_t>(1, rate_per_second / 10));
  }

  // Takes one token if there is one at now_ms.
  bool tryTake(uint64_t now_ms) { return tryTakeMilli(now_ms, 1000); }
  // Takes `milli` thousandths of a token (a message part under rate_limit.count "messages",
  // several tokens for a long message_payload under "segments"). More than the bucket can ever
  // hold costs a full bucket, so a large message is slow, not impossible.
  bool tryTakeMilli(uint64_t now_ms, uint64_t milli) {
    if (rate_ == 0) {
      return true;
    }
    refill(now_ms);
    milli = std::min<uint64_t>(milli, static_cast<uint64_t>(burst_) * 1000);
    if (tokens_milli_ >= milli) {
      tokens_milli_ -= milli;
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
  // Nothing taken that the refill has not given back: it may be forgotten.
  bool full(uint64_t now_ms) {
    refill(now_ms);
    return tokens_milli_ >= static_cast<uint64_t>(burst_) * 1000;
  }
  uint64_t tokensMilli(uint64_t now_ms) {
    refill(now_ms);
    return tokens_milli_;
  }
  // Milliseconds until `milli` thousandths of a token are there (0: now).
  uint64_t msUntilMilli(uint64_t now_ms, uint64_t milli) {
    if (rate_ == 0) {
      return 0;
    }
    refill(now_ms);
    milli = std::min<uint64_t>(milli, static_cast<uint64_t>(burst_) * 1000);
    return tokens_milli_ >= milli ? 0 : (milli - tokens_milli_ + rate_ - 1) / rate_;
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
