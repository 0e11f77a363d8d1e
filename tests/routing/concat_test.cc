#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <vector>

#include "routing/concat.h"

using namespace smppgw;
using namespace smppgw::routing;
using namespace std::chrono_literals;

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
