// Counter, Gauge, Histogram: values and Prometheus `le` bucket semantics.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>

#include "metrics/primitives.h"

namespace m = smppgw::metrics;

TEST_CASE("counter counts") {
  m::Counter c;
  CHECK(c.value() == 0);
  c.inc();
  c.inc();
  c.add(40);
  CHECK(c.value() == 42);
  c.add(0);
  CHECK(c.value() == 42);
}

TEST_CASE("gauge goes up and down, below zero too") {
  m::Gauge g;
  g.set(10);
  g.inc();
  g.dec();
  g.dec();
  CHECK(g.value() == 9);
  g.add(-20);
  CHECK(g.value() == -11);
  g.set(1'700'000'000);
  CHECK(g.value() == 1'700'000'000);
}

TEST_CASE("histogram puts each observation in the first bucket whose bound is >= it") {
  static constexpr std::array<double, 3> kBounds = {0.001, 0.01, 0.1};
  m::Histogram h(kBounds);
  h.observe(0.0);     // bucket 0
  h.observe(0.001);   // exactly on a bound: that bucket (le = less or equal)
  h.observe(0.0011);  // bucket 1
  h.observe(0.1);     // bucket 2
  h.observe(5.0);     // +Inf
  h.observe(std::numeric_limits<double>::infinity());  // +Inf
  const auto s = h.snapshot();
  CHECK(s.counts[0] == 2);
  CHECK(s.counts[1] == 1);
  CHECK(s.counts[2] == 1);
  CHECK(s.counts[3] == 2);
  CHECK(s.count == 6);
  CHECK(h.bounds().size() == 3);
}

TEST_CASE("histogram sum, nanoseconds, and NaN is ignored") {
  static constexpr std::array<double, 2> kBounds = {0.5, 1};
  m::Histogram h(kBounds);
  h.observe(0.25);
  h.observeNs(750'000'000);  // 0.75 s
  h.observe(std::nan(""));
  const auto s = h.snapshot();
  CHECK(s.count == 2);
  CHECK(s.sum == doctest::Approx(1.0));
  CHECK(s.counts[0] == 1);
  CHECK(s.counts[1] == 1);
  CHECK(s.counts[2] == 0);
}

TEST_CASE("histogram hot data starts on its own cache line") {
  CHECK(alignof(m::Histogram) == 64);
  CHECK(sizeof(m::Counter) == 8);
  CHECK(sizeof(m::Gauge) == 8);
}
