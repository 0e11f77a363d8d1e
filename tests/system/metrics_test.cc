// The gateway's metrics as an operator sees them: /metrics agrees with the traffic a test sent,
// /healthz and /readyz follow the carrier's state, and a real Prometheus server scraping the
// gateway during traffic ends up with the same counts.

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "codec/status.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"
#include "tests/support/prometheus.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;

namespace {

uint16_t metricsPort(GatewayProc& gw) {
  return gw.metricsPort();
}

double sample(const std::string& body, const std::string& series) {
  return smppgw::testsupport::metricSample(body, series);
}

json withMetrics(json cfg) {
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  return cfg;
}

}  // namespace

TEST_CASE("/metrics counts what was sent; /healthz and /readyz follow the carrier") {
  auto mc = std::make_unique<McsimProc>(std::vector<std::string>{"--receipt-delay-ms", "5"});
  GatewayProc gw(withMetrics(smppgw::testsupport::baseGatewayConfig({{"mc", mc->port()}})));
  const uint16_t mport = metricsPort(gw);
  auto run = smppgw::testsupport::runBench(
      gw.port(), {"--system-id", "acme", "--password", "secret", "--count", "500", "--receipts"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);

  // Counters are published on the gateway's 100 ms tick: wait for them to settle (bounded).
  std::string body;
  for (int i = 0; i < 100; ++i) {
    auto r = smppgw::test::httpGet("127.0.0.1", mport, "/metrics");
    REQUIRE(r.status == 200);
    body = r.body;
    // Counters move on the data path; gauges and the loop's own counters on the tick.
    if (sample(body, R"(smppgw_deliveries_total{customer="acme",result="acked"})") >= 500 &&
        sample(body, R"(smppgw_upstream_binds{upstream="mc",state="bound"})") == 1 &&
        sample(body, "smppgw_loop_reads_total") > 0) {
      break;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of a periodic publisher
  }
  CHECK(sample(
            body,
            R"(smppgw_pdus_received_total{side="customer",customer="acme",command="submit_sm"})") ==
        500);
  CHECK(
      sample(
          body,
          R"(smppgw_responses_total{side="customer",customer="acme",command="submit_sm_resp",status="ESME_ROK"})") ==
      500);
  CHECK(sample(body,
               R"(smppgw_pdus_sent_total{side="upstream",upstream="mc",command="submit_sm"})") ==
        500);
  CHECK(sample(body, R"(smppgw_receipts_total{upstream="mc",customer="acme",result="matched"})") ==
        500);
  CHECK(sample(body, R"(smppgw_deliveries_total{customer="acme",result="acked"})") == 500);
  CHECK(sample(body, R"(smppgw_submit_latency_seconds_count{customer="acme"})") == 500);
  CHECK(sample(body, R"(smppgw_upstream_binds{upstream="mc",state="bound"})") == 1);
  CHECK(sample(body, "smppgw_loop_reads_total") > 0);
  // The loop's busy time: positive, and less than the time it has run (a few seconds here).
  CHECK(sample(body, "smppgw_loop_iteration_seconds_count") > 0);
  CHECK(sample(body, "smppgw_loop_iteration_seconds_sum") > 0);
  CHECK(sample(body, "smppgw_loop_iteration_seconds_sum") < 60);
  CHECK(body.find("smppgw_build_info{version=") != std::string::npos);
  for (const char* name : {"acme"}) {
    CHECK(body.find(std::string("customer=\"") + name + "\"") != std::string::npos);
  }

  CHECK(smppgw::test::httpGet("127.0.0.1", mport, "/healthz").status == 200);
  CHECK(smppgw::test::httpGet("127.0.0.1", mport, "/readyz").status == 200);  // set on the tick
  // The only carrier goes away: the group has no bound member, so not ready (still healthy).
  mc.reset();
  int ready = 0;
  for (int i = 0; i < 100; ++i) {
    ready = smppgw::test::httpGet("127.0.0.1", mport, "/readyz").status;
    if (ready == 503) {
      break;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll: the gateway re-evaluates every 100 ms
  }
  CHECK(ready == 503);
  CHECK(smppgw::test::httpGet("127.0.0.1", mport, "/healthz").status == 200);
}

TEST_CASE("a real Prometheus scrapes smppgw during traffic and agrees with what was sent") {
  McsimProc mc({"--receipt-delay-ms", "5"});
  GatewayProc gw(withMetrics(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}})));
  const uint16_t mport = metricsPort(gw);
  std::string error;
  auto prom = smppgw::test::PrometheusServer::start(
      {.targets = {"127.0.0.1:" + std::to_string(mport)}}, error);
  REQUIRE_MESSAGE(prom != nullptr, error);
  auto run = smppgw::testsupport::runBench(
      gw.port(), {"--system-id", "acme", "--password", "secret", "--count", "3000", "--receipts",
                  "--sessions", "2"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  auto submits = prom->waitFor(
      R"(sum(smppgw_pdus_received_total{side="customer",customer="acme",command="submit_sm"}))",
      [](double v) { return v >= 3000; }, 30s);
  CHECK(submits == 3000);
  auto ok = prom->waitFor(
      R"(sum(smppgw_responses_total{side="customer",command="submit_sm_resp",status="ESME_ROK"}))",
      [](double v) { return v >= 3000; }, 30s);
  CHECK(ok == 3000);
  auto receipts = prom->waitFor(R"(sum(smppgw_receipts_total{result="matched"}))",
                                [](double v) { return v >= 3000; }, 30s);
  CHECK(receipts == 3000);
  CHECK(prom->query("up") == 1);
}
