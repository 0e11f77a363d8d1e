// Work that cannot progress must not block the carrier bind for everyone else: receipts that no
// mapping can ever match (sent for messages accepted before a crash) are answered at once, so new
// traffic's receipts keep flowing through the same carrier window.

#include <doctest/doctest.h>

#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"
#include "tests/support/prometheus.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;

namespace {

void submitN(EsmeClient& c, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = c.submit("12345", "4477009" + std::to_string(10000 + i), "hello", 1);
    REQUIRE(r);
    REQUIRE(r->status() == 0);
  }
}

}  // namespace

TEST_CASE("orphan receipts after kill -9 and restart are answered at once; new receipts flow") {
  // Receipts 1.5 s after each response, a carrier window of 64 deliveries.
  McsimProc mc({"--receipt-delay-ms", "1500", "--window", "64"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  // The default request timeout: an orphan held that long would block the window for 30 s.
  cfg["upstreams"][0]["request_timeout"] = "30s";
  cfg["timers"]["response"] = "30s";
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};

  constexpr int kOrphans = 300;
  {
    auto first = std::make_unique<GatewayProc>(cfg);
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", first->port()));
    auto b = c.bind(CommandId::bind_transceiver, "acme", "secret");
    REQUIRE(b);
    REQUIRE(b->status() == 0);
    submitN(c, kOrphans);  // accepted by the carrier; their receipts are due in 1.5 s
    first->proc().signal(SIGKILL);
    REQUIRE(first->proc().wait(5s));
  }

  GatewayProc gw(cfg);  // a new process: no mappings for the 300 messages above
  const uint16_t mport = gw.metricsPort();
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  auto b = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(b);
  REQUIRE(b->status() == 0);
  constexpr int kNew = 300;
  submitN(c, kNew);
  const auto lastResponse = std::chrono::steady_clock::now();
  int receipts = 0;
  while (receipts < kNew && std::chrono::steady_clock::now() - lastResponse < 15s) {
    auto r = c.read(500);
    if (r && r->id() == CommandId::deliver_sm) {
      c.respond(*r);
      ++receipts;
    }
  }
  const auto took = std::chrono::steady_clock::now() - lastResponse;
  MESSAGE("new receipts: ", receipts, " of ", kNew, " in ",
          std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms");
  CHECK(receipts == kNew);
  // Within 5 s of the last response (their own delay is 1.5 s).
  CHECK(took < 5s);

  // Every orphan was answered to the carrier and counted.
  double unmatched = -1;
  for (int i = 0; i < 250; ++i) {
    auto body = smppgw::test::httpGet("127.0.0.1", mport, "/metrics").body;
    unmatched = smppgw::testsupport::metricSample(
        body, R"(smppgw_receipts_total{upstream="mc",result="unmatched"})");
    if (unmatched >= kOrphans) {
      break;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of the 100 ms publisher
  }
  CHECK(unmatched == kOrphans);
  // One rate-limited log line a second, not one per receipt.
  const std::string log = gw.proc().err();
  size_t lines = 0;
  for (size_t pos = log.find("event=receipts_unmatched"); pos != std::string::npos;
       pos = log.find("event=receipts_unmatched", pos + 1)) {
    ++lines;
  }
  CHECK(lines >= 1);
  CHECK(lines < 20);
  auto summary = mc.stop();
  CHECK(summary["receipts"]["sent"] == kOrphans + kNew);
}
