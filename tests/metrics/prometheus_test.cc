// A real Prometheus server (Debian's `prometheus`) scrapes an Exposer and sees what was counted.
// This proves the harness in tests/support/prometheus.h, which the gateway's integration tests
// reuse against the real gateway.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "metrics/exposer.h"
#include "metrics/registry.h"
#include "tests/support/prometheus.h"

namespace m = smppgw::metrics;
using smppgw::test::PrometheusServer;
using namespace std::chrono_literals;

TEST_CASE("Prometheus scrapes the exposer and sees the counters move") {
  m::Registry reg;
  reg.setInfo(m::InfoFamily::BuildInfo, {"9.9.9-test"});
  m::Counter& submits =
      reg.counter(m::CounterFamily::PdusReceived, {"customer", "acme", "", "submit_sm"});
  m::Histogram& rtt = reg.histogram(m::HistogramFamily::UpstreamRoundTrip, {"carrier-a"});
  submits.add(42);
  for (int i = 0; i < 100; ++i) {
    rtt.observe(i < 99 ? 0.004 : 2.0);  // p99 boundary: 99 fast, 1 slow
  }

  std::string error;
  auto ex = m::Exposer::start(reg, {.address = "127.0.0.1", .port = 0}, error);
  REQUIRE_MESSAGE(ex != nullptr, error);
  ex->setReady();

  auto prom =
      PrometheusServer::start({.targets = {"127.0.0.1:" + std::to_string(ex->port())}}, error);
  REQUIRE_MESSAGE(prom != nullptr, error);
  INFO("prometheus log:\n" << prom->log());
  CHECK(prom->port() != 0);
  CHECK(prom->pid() > 0);

  const auto up = prom->waitFor(R"(up{job="smppgw"})", [](double v) { return v == 1; }, 60s);
  REQUIRE(up == 1.0);

  const std::string q =
      R"(smppgw_pdus_received_total{side="customer",customer="acme",command="submit_sm"})";
  CHECK(prom->waitFor(
            q, [](double v) { return v == 42; }, 30s) == 42.0);
  submits.add(58);
  CHECK(prom->waitFor(
            q, [](double v) { return v == 100; }, 30s) == 100.0);

  CHECK(prom->waitFor(R"(smppgw_build_info{version="9.9.9-test"})", [](double v) { return v == 1; },
                      30s) == 1.0);
  // Histogram buckets are usable by histogram_quantile: p50 within the 2.5-5 ms bucket.
  const auto p50 = prom->waitFor(
      "histogram_quantile(0.5, sum by (le) "
      R"((smppgw_upstream_round_trip_seconds_bucket{upstream="carrier-a"})))",
      [](double v) { return v > 0; }, 30s);
  REQUIRE(p50.has_value());
  CHECK(*p50 > 0.0025);
  CHECK(*p50 <= 0.005);
  // Families without children are still known to Prometheus via the exposition's metadata, but
  // have no samples; unlabelled ones are exported at 0.
  CHECK(prom->waitFor(
            "smppgw_loop_iterations_total", [](double v) { return v == 0; }, 30s) == 0.0);

  std::string qerr;
  CHECK_FALSE(prom->query("smppgw_no_such_metric", &qerr));
  CHECK(qerr.find("empty result") != std::string::npos);

  prom->stop();
  CHECK(prom->pid() < 0);
}
