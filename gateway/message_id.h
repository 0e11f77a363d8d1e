#pragma once
// Gateway message ids: unique across restarts and across instances without coordination.
// 64 bits = 41 bits of milliseconds since 2020-01-01 (until 2089) | 8 bits instance id |
// 15 bits counter (32,768 ids per ms). The clock never goes backwards here: if the wall clock
// does, or the counter runs out within a millisecond, ids borrow from the next millisecond.

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/model.h"

namespace smppgw {

class IdMinter {
 public:
  static constexpr uint64_t kEpochMs = 1577836800000ull;  // 2020-01-01T00:00:00Z
  explicit IdMinter(uint32_t instance_id = 0) : instance_(instance_id & 0xFF) {}

  uint64_t next(uint64_t wall_ms) {
    uint64_t t = wall_ms > kEpochMs ? wall_ms - kEpochMs : 0;
    if (t > last_ms_) {
      last_ms_ = t;
      counter_ = 0;
    } else if (++counter_ > 0x7FFF) {
      ++last_ms_;
      counter_ = 0;
    }
    return (last_ms_ << 23) | (instance_ << 15) | counter_;
  }

  // The wall-clock time (ms since 1970) an id was minted at.
  static uint64_t mintedMs(uint64_t id) { return (id >> 23) + kEpochMs; }

  // Ids handed out before (the newest found in the durable store): new ones are above it, even if
  // the wall clock went back across the restart.
  void seed(uint64_t last_id) {
    const uint64_t t = last_id >> 23;
    if (t > last_ms_ || (t == last_ms_ && (last_id & 0x7FFF) > counter_)) {
      last_ms_ = t;
      counter_ = last_id & 0x7FFF;
    }
  }

 private:
  uint64_t instance_;
  uint64_t last_ms_ = 0;
  uint64_t counter_ = 0;
};

// Writes the id as the customer wants it (hex: lower-case, 16 digits; decimal: up to 20 digits),
// left-padded with zeros to `length` when that is longer. buf must hold 66 bytes. Returns the view.
std::string_view formatMessageId(uint64_t id, config::MessageIdFormat format, uint32_t length,
                                 char* buf);
// Parses an id the customer sends back (query_sm, cancel_sm...). Case-insensitive for hex.
std::optional<uint64_t> parseMessageId(std::string_view text, config::MessageIdFormat format);

}  // namespace smppgw
