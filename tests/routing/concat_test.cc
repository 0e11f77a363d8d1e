#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <vector>

#include "routing/concat.h"

using namespace smppgw;
using namespace smppgw::routing;
using namespace std::chrono_literals;

TEST_CASE("UDH concatenation IE parsing") {
  struct Case {
    std::vector<std::uint8_t> bytes;
    bool ok;
    std::uint16_t ref;
    std::uint8_t total;
    std::uint8_t part;
  };
  const Case cases[] = {
      {{0x05, 0x00, 0x03, 0x2A, 0x03, 0x01, 'h', 'i'}, true, 0x2A, 3, 1},
      {{0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x02, 'x'}, true, 0x1234, 2, 2},
      // A port IE first, then the concatenation IE.
      {{0x0B, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x07, 0x02, 0x01}, true, 7, 2, 1},
      {{0x05, 0x00, 0x03, 0x2A, 0x03, 0x04}, false, 0, 0, 0},  // part > total
      {{0x05, 0x00, 0x03, 0x2A, 0x00, 0x00}, false, 0, 0, 0},  // total 0
      {{0x05, 0x00, 0x03, 0x2A}, false, 0, 0, 0},              // truncated
      {{0x03, 0x00, 0x05, 0x2A}, false, 0, 0, 0},              // IE runs past the UDH
      {{0x04, 0x0A, 0x02, 0x00, 0x00}, false, 0, 0, 0},        // no concatenation IE
      {{0x00}, false, 0, 0, 0},
      {{}, false, 0, 0, 0},
  };
  for (const auto& c : cases) {
    auto info = parseConcatUdh(c.bytes);
    CHECK(info.has_value() == c.ok);
    if (info && c.ok) {
      CHECK(info->reference == c.ref);
      CHECK(info->total == c.total);
      CHECK(info->part == c.part);
    }
  }
}

TEST_CASE("all parts of one message stick to the member chosen for the first") {
  ConcatStickiness sticky(100, 60s);
  ConcatStickiness::TimePoint t0{};
  const auto key = ConcatKey::make(1, "447700900123", 42, 3);
  CHECK_FALSE(sticky.find(key, 2, t0).has_value());  // part 2 arrives first: no decision yet
  sticky.remember(key, 2, 7, t0);
  CHECK(sticky.find(key, 1, t0 + 1s) == 7u);
  CHECK(sticky.size() == 1);
  CHECK(sticky.find(key, 3, t0 + 2s) == 7u);
  CHECK(sticky.size() == 0);  // every part seen: forgotten at once
  // Other customer, destination or reference: independent decisions.
  sticky.remember(ConcatKey::make(1, "447700900123", 43, 3), 1, 1, t0);
  sticky.remember(ConcatKey::make(2, "447700900123", 42, 3), 1, 2, t0);
  sticky.remember(ConcatKey::make(1, "447700900124", 42, 3), 1, 3, t0);
  CHECK(sticky.find(ConcatKey::make(1, "447700900123", 43, 3), 2, t0) == 1u);
  CHECK(sticky.find(ConcatKey::make(2, "447700900123", 42, 3), 2, t0) == 2u);
  CHECK(sticky.find(ConcatKey::make(1, "447700900124", 42, 3), 2, t0) == 3u);
}

TEST_CASE("entries expire after the TTL (time is passed in)") {
  ConcatStickiness sticky(100, 10s);
  ConcatStickiness::TimePoint t0{};
  const auto key = ConcatKey::make(0, "33612345678", 9, 2);
  sticky.remember(key, 1, 4, t0);
  CHECK(sticky.find(ConcatKey::make(0, "33612345678", 9, 3), 2, t0).has_value() == false);
  sticky.expire(t0 + 9s);
  CHECK(sticky.size() == 1);
  sticky.expire(t0 + 10s);
  CHECK(sticky.size() == 0);
  CHECK_FALSE(sticky.find(key, 2, t0 + 11s).has_value());
  // A re-pick (remember again) refreshes the TTL.
  sticky.remember(key, 1, 4, t0);
  sticky.remember(key, 1, 5, t0 + 8s);
  CHECK(sticky.find(key, 1, t0 + 15s) == 5u);
}

TEST_CASE("bounded: the oldest entry is evicted when full") {
  ConcatStickiness sticky(3, 60s);
  ConcatStickiness::TimePoint t0{};
  for (std::uint16_t ref = 0; ref < 5; ++ref) {
    sticky.remember(ConcatKey::make(0, "1", ref, 2), 1, ref, t0 + std::chrono::seconds(ref));
  }
  CHECK(sticky.size() == 3);
  CHECK_FALSE(sticky.find(ConcatKey::make(0, "1", 0, 2), 2, t0 + 5s).has_value());
  CHECK_FALSE(sticky.find(ConcatKey::make(0, "1", 1, 2), 2, t0 + 5s).has_value());
  CHECK(sticky.find(ConcatKey::make(0, "1", 4, 2), 2, t0 + 5s) == 4u);
  // Heavy churn of completed messages keeps memory bounded.
  for (int i = 0; i < 20000; ++i) {
    const auto k = ConcatKey::make(1, "2", static_cast<std::uint16_t>(i), 1);
    sticky.remember(k, 1, 1, t0 + 6s);
  }
  CHECK(sticky.size() <= 3);
}
