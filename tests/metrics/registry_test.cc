// Registry: stable children, exposition format, info families, the memo, and a scrape running
// concurrently with the single writer (run under ASan/UBSan in CI and under TSan by hand:
// docs/metrics.md).
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "metrics/registry.h"
#include "tests/metrics/exposition.h"

namespace m = smppgw::metrics;
using smppgw::test::sampleValue;
using C = m::CounterFamily;
using G = m::GaugeFamily;
using H = m::HistogramFamily;

TEST_CASE("the same labels give the same child; references survive growth") {
  m::Registry reg;
  m::Counter& a = reg.counter(C::Refusals, {"acme", "rate"});
  m::Counter& b = reg.counter(C::Refusals, {"acme", "window"});
  CHECK(&a != &b);
  CHECK(&reg.counter(C::Refusals, {"acme", "rate"}) == &a);
  a.inc();
  for (int i = 0; i < 5000; ++i) {
    reg.counter(C::Refusals, {'c' + std::to_string(i), "rate"}).inc();
  }
  CHECK(&reg.counter(C::Refusals, {"acme", "rate"}) == &a);
  CHECK(a.value() == 1);
  CHECK(reg.childCount(m::FamilyId::Refusals) == 5002);
  // Label values are not split ambiguously: ("ab","c") and ("a","bc") differ.
  CHECK(&reg.counter(C::Refusals, {"ab", "c"}) != &reg.counter(C::Refusals, {"a", "bc"}));
}

TEST_CASE("every family is in the exposition, unlabelled ones at 0 from the start") {
  m::Registry reg;
  const std::string text = reg.serialize();
  for (const auto& def : m::kFamilies) {
    INFO(std::string(def.name));
    CHECK(text.find("# TYPE " + std::string(def.name) + " ") != std::string::npos);
    CHECK(text.find("# HELP " + std::string(def.name) + " ") != std::string::npos);
    if (def.labels.size == 0 && def.kind != m::Kind::Histogram) {
      CHECK(sampleValue(text, def.name) == 0.0);
    }
  }
  CHECK(text.find("# TYPE smppgw_pdus_received_total counter") != std::string::npos);
  CHECK(text.find("# TYPE smppgw_sessions gauge") != std::string::npos);
  CHECK(text.find("# TYPE smppgw_submit_latency_seconds histogram") != std::string::npos);
  CHECK(text.find("# TYPE smppgw_build_info gauge") != std::string::npos);
}

TEST_CASE(
    "counters and gauges serialize with their labels in declared order; empty values are left "
    "out") {
  m::Registry reg;
  reg.counter(C::PdusReceived, {"customer", "acme", "", "submit_sm"}).add(7);
  reg.counter(C::PdusReceived, {"upstream", "", "carrier-a", "deliver_sm"}).add(3);
  reg.gauge(G::Sessions, {"public", "acme", "bound", "transceiver"}).set(2);
  reg.gauge(G::QueueDepth, {"carrier-a"}).set(-1);
  reg.counter(C::LoopReads).add(11);
  const std::string t = reg.serialize();
  CHECK(sampleValue(
            t,
            R"(smppgw_pdus_received_total{side="customer",customer="acme",command="submit_sm"})") ==
        7.0);
  const char* up = R"(smppgw_pdus_received_total{side="upstream",upstream="carrier-a",)"
                   R"(command="deliver_sm"})";
  CHECK(sampleValue(t, up) == 3.0);
  const char* sessions = R"(smppgw_sessions{listener="public",customer="acme",state="bound",)"
                         R"(bind_type="transceiver"})";
  CHECK(sampleValue(t, sessions) == 2.0);
  CHECK(sampleValue(t, R"(smppgw_queue_depth{upstream="carrier-a"})") == -1.0);
  CHECK(sampleValue(t, "smppgw_loop_reads_total") == 11.0);
}

TEST_CASE("label values are escaped") {
  m::Registry reg;
  reg.counter(C::Refusals, {"we\"ird\\name", "auth"}).inc();
  const std::string t = reg.serialize();
  CHECK(sampleValue(t, R"(smppgw_refusals_total{customer="we\"ird\\name",reason="auth"})") == 1.0);
}

TEST_CASE("histograms serialize cumulative buckets, +Inf, count and sum") {
  m::Registry reg;
  m::Histogram& h = reg.histogram(H::UpstreamRoundTrip, {"carrier-a"});
  h.observe(0.0002);  // le=0.00025
  h.observe(0.003);   // le=0.005
  h.observe(0.003);
  h.observe(100);  // +Inf
  const std::string t = reg.serialize();
  const std::string p = "smppgw_upstream_round_trip_seconds";
  CHECK(sampleValue(t, p + R"(_bucket{upstream="carrier-a",le="0.0001"})") == 0.0);
  CHECK(sampleValue(t, p + R"(_bucket{upstream="carrier-a",le="0.00025"})") == 1.0);
  CHECK(sampleValue(t, p + R"(_bucket{upstream="carrier-a",le="0.0025"})") == 1.0);
  CHECK(sampleValue(t, p + R"(_bucket{upstream="carrier-a",le="0.005"})") == 3.0);
  CHECK(sampleValue(t, p + R"(_bucket{upstream="carrier-a",le="60"})") == 3.0);
  CHECK(sampleValue(t, p + R"(_bucket{upstream="carrier-a",le="+Inf"})") == 4.0);
  CHECK(sampleValue(t, p + R"(_count{upstream="carrier-a"})") == 4.0);
  CHECK(sampleValue(t, p + R"(_sum{upstream="carrier-a"})") == doctest::Approx(100.0062));
}

TEST_CASE("an info family holds one series; setInfo replaces it") {
  m::Registry reg;
  CHECK(reg.childCount(m::FamilyId::ConfigInfo) == 0);
  reg.setInfo(m::InfoFamily::BuildInfo, {"0.1.0"});
  reg.setInfo(m::InfoFamily::ConfigInfo, {"aaaa"});
  reg.setInfo(m::InfoFamily::ConfigInfo, {"bbbb"});
  const std::string t = reg.serialize();
  CHECK(sampleValue(t, R"(smppgw_build_info{version="0.1.0"})") == 1.0);
  CHECK(sampleValue(t, R"(smppgw_config_info{hash="bbbb"})") == 1.0);
  CHECK_FALSE(sampleValue(t, R"(smppgw_config_info{hash="aaaa"})"));
  CHECK(reg.childCount(m::FamilyId::ConfigInfo) == 1);
}

TEST_CASE("ChildMemo creates a child once per key") {
  m::Registry reg;
  m::ChildMemo<uint32_t> memo;
  int made = 0;
  auto make = [&](uint32_t status) -> m::Counter& {
    ++made;
    return reg.counter(C::Responses, {"upstream", "", "carrier-a", "submit_sm_resp",
                                      status == 0 ? "ESME_ROK" : "ESME_RTHROTTLED"});
  };
  memo.get(0, make).inc();
  memo.get(0x58, make).inc();
  memo.get(0, make).inc();
  CHECK(made == 2);
  CHECK(memo.size() == 2);
  CHECK(memo.get(0, make).value() == 2);
}

TEST_CASE("a scrape thread reads while the single writer writes and creates children") {
  m::Registry reg;
  m::Counter& c = reg.counter(C::PdusReceived, {"customer", "acme", "", "submit_sm"});
  m::Gauge& g = reg.gauge(G::Inflight, {"customer", "acme", ""});
  m::Histogram& h = reg.histogram(H::SubmitLatency, {"acme"});
  constexpr int kN = 200000;
  std::atomic<bool> done{false};
  std::atomic<int> scrapes{0};
  std::atomic<int> problems{0};  // checked on the test thread (doctest asserts throw)
  std::thread scraper([&] {
    double last = -1;
    while (!done.load(std::memory_order_acquire)) {
      const std::string t = reg.serialize();
      const auto v = sampleValue(
          t, R"(smppgw_pdus_received_total{side="customer",customer="acme",command="submit_sm"})");
      if (!v || *v < last) {  // missing, or a counter going backwards
        problems.fetch_add(1);
        break;
      }
      last = *v;
      scrapes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (int i = 0; i < kN; ++i) {
    c.inc();
    g.set(i % 10);
    h.observe(0.001 * (i % 50));
    if (i % 1000 == 0) {  // children appear while the scraper walks the deques
      reg.counter(C::Refusals, {'c' + std::to_string(i), "rate"}).inc();
      reg.histogram(H::QueueWait, {'u' + std::to_string(i)}).observe(0.5);
    }
  }
  // Let the scraper see the final state at least once.
  const int before = scrapes.load();
  while (scrapes.load() < before + 2 && problems.load() == 0) {
    std::this_thread::yield();
  }
  done.store(true, std::memory_order_release);
  scraper.join();
  CHECK(problems.load() == 0);
  const std::string t = reg.serialize();
  CHECK(sampleValue(
            t,
            R"(smppgw_pdus_received_total{side="customer",customer="acme",command="submit_sm"})") ==
        kN);
  CHECK(sampleValue(t, R"(smppgw_submit_latency_seconds_count{customer="acme"})") == kN);
  CHECK(reg.childCount(m::FamilyId::Refusals) == kN / 1000);
  CHECK(scrapes.load() >=
        2);  // what the wait above guarantees (more under a loaded machine is luck)
}
