// Configuration keys as an operator meets them on a running gateway: refused keys stop
// check-config and run with their path, the shipped production example starts, and the keys that
// act (receipt policy, gateway.name, the per-group queue limit, log/metrics/concat on reload) do
// what docs/configuration.md says.

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
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
using smppgw::codec::CommandId;
using smppgw::testsupport::ChildProcess;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;

namespace {

std::string writeTemp(const std::string& stem, const std::string& text) {
  std::string path = smppgw::testsupport::tempPath(stem) + ".json";
  std::ofstream(path) << text;
  return path;
}

// Runs `smppgw ARGS...` to completion (bounded) and returns the process.
std::unique_ptr<ChildProcess> runSmppgw(const std::vector<std::string>& args) {
  auto p = std::make_unique<ChildProcess>();
  std::string error;
  REQUIRE_MESSAGE(p->start(smppgw::testsupport::binaryPath("gateway/smppgw"), args, &error), error);
  REQUIRE(p->wait(20s));
  return p;
}

uint16_t metricsPort(GatewayProc& gw) {
  return gw.metricsPort();
}

double sample(const std::string& body, const std::string& series) {
  return smppgw::testsupport::metricSample(body, series);
}

// Polls /metrics (published on the gateway's 100 ms tick) until `series` reaches `value`.
double waitForSample(uint16_t mport, const std::string& series, double value) {
  double v = -1;
  for (int i = 0; i < 250; ++i) {
    auto r = smppgw::test::httpGet("127.0.0.1", mport, "/metrics");
    v = sample(r.body, series);
    if (v >= value) {
      return v;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of a periodic publisher
  }
  return v;
}

// An MC that binds whoever connects and then never answers anything: requests sent to it stay
// in flight, so what waits in the gateway's queues can be counted.
class SilentMc {
 public:
  SilentMc() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~SilentMc() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void serve() {
    EsmeClient peer;  // the accepted connection, read with the test client's framing
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (!stop_ && std::chrono::steady_clock::now() < until) {
      if (!peer.connected()) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) == 1) {
          peer.adopt(::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
        }
        continue;
      }
      auto pdu = peer.read(50);
      if (!pdu) {
        if (peer.peerClosed()) {
          peer.close();
        }
        continue;
      }
      if (pdu->id() == CommandId::bind_transceiver || pdu->id() == CommandId::bind_transmitter) {
        smppgw::codec::Pdu resp(smppgw::codec::responseFor(pdu->id()), pdu->seq());
        resp.as<smppgw::codec::BindRespBody>().system_id = "silent";
        peer.send(resp, 0x34);
      } else if (pdu->id() == CommandId::submit_sm) {
        ++requests_;  // never answered
      } else if (pdu->id() == CommandId::enquire_link) {
        peer.respond(*pdu);
      }
    }
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a TLS file that does not load is refused by check-config and run, with its path") {
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", 2776}});
  cfg["upstreams"][0]["tls"] = {{"ca", "/nonexistent/carrier-ca.pem"}};
  const std::string path = writeTemp("tls-upstream", cfg.dump(2));
  const std::string expected = "upstreams[0].tls.ca: ca_file /nonexistent/carrier-ca.pem";

  auto check = runSmppgw({"check-config", path});
  CHECK(check->exitCode() == 1);
  CHECK_MESSAGE(check->out().find(expected) != std::string::npos, check->out());

  // `run` refuses before it opens a socket: the password never leaves unprotected.
  auto run = runSmppgw({"run", "-c", path});
  CHECK(run->exitCode() == 1);
  CHECK_MESSAGE(run->err().find("upstreams[0].tls.ca") != std::string::npos, run->err());
  CHECK(run->err().find("upstream_bound") == std::string::npos);
}

TEST_CASE("the shipped production example starts (its addresses moved to loopback)") {
  std::ifstream in(std::string(SMPPGW_SOURCE_DIR) + "/deploy/examples/production.json");
  json cfg = json::parse(in, nullptr, true, /*ignore_comments=*/true);
  auto check = runSmppgw(
      {"check-config", std::string(SMPPGW_SOURCE_DIR) + "/deploy/examples/production.json"});
  CHECK_MESSAGE(check->exitCode() == 0, check->out() << check->err());
  // Only what a test may not do here changes: ports, addresses, carrier hosts.
  for (auto& l : cfg["listeners"]) {
    l["address"] = "127.0.0.1";
    l["port"] = 0;
  }
  McsimProc mc;
  for (auto& u : cfg["upstreams"]) {
    u["host"] = "127.0.0.1";
    u["port"] = mc.port();
  }
  cfg["metrics"]["address"] = "127.0.0.1";
  cfg["metrics"]["port"] = 0;
  cfg["log"]["format"] = "text";  // the fixture reads logfmt lines
  const std::string store = writeTemp("production-store", "") + ".d";
  cfg["store"]["path"] = store;  // not /var/lib/smppgw
  GatewayProc gw(cfg);           // returns once every carrier bind is up
  CHECK(gw.port() != 0);
  CHECK(gw.stop() == 0);
  std::filesystem::remove_all(store);
}

TEST_CASE("customers[].receipts: always asks the carrier and forwards only what was asked") {
  McsimProc mc({"--receipt-delay-ms", "1"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["customers"] =
      json::array({{{"system_id", "always"}, {"password", "secret"}, {"receipts", "always"}},
                   {{"system_id", "never"}, {"password", "secret"}, {"receipts", "never"}},
                   {{"system_id", "asked"}, {"password", "secret"}}});
  cfg["mo_routes"] = json::array();
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  const uint16_t mport = metricsPort(gw);

  auto submitAll = [&](EsmeClient& c, int n, uint8_t rd) {
    for (int i = 0; i < n; ++i) {
      auto r = c.submit("4470000000" + std::to_string(i % 10), "447700900123", "hi", rd);
      REQUIRE(r);
      REQUIRE(r->status() == 0);
    }
  };
  EsmeClient always, never, asked;
  for (auto [client, id] : {std::pair{&always, "always"}, {&never, "never"}, {&asked, "asked"}}) {
    REQUIRE(client->connect("127.0.0.1", gw.port()));
    auto b = client->bind(CommandId::bind_transceiver, id, "secret");
    REQUIRE(b);
    REQUIRE(b->status() == 0);
  }
  submitAll(always, 5, 0);  // not asked: the carrier is asked anyway, the customer gets none
  submitAll(always, 5, 1);  // asked: forwarded
  submitAll(never, 5, 1);   // asked, but the policy clears it: the carrier sends none
  submitAll(asked, 5, 1);   // the default: passed through

  // The carrier sent 15 receipts (10 for "always", 0 for "never", 5 for "asked"); 5 of
  // "always"'s were swallowed and answered to the carrier.
  CHECK(waitForSample(
            mport, R"(smppgw_receipts_total{upstream="mc",customer="always",result="suppressed"})",
            5) == 5);
  CHECK(waitForSample(mport,
                      R"(smppgw_receipts_total{upstream="mc",customer="always",result="matched"})",
                      5) == 5);
  CHECK(waitForSample(mport,
                      R"(smppgw_receipts_total{upstream="mc",customer="asked",result="matched"})",
                      5) == 5);
  int got_always = 0, got_asked = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = always.readUntil(CommandId::deliver_sm, 5000);
    REQUIRE(r);
    always.respond(*r);
    ++got_always;
    auto a = asked.readUntil(CommandId::deliver_sm, 5000);
    REQUIRE(a);
    asked.respond(*a);
    ++got_asked;
  }
  // Nothing more is on its way: the carrier's own count says what it sent.
  auto summary = mc.stop();
  CHECK(summary["receipts"]["sent"] == 15);
  CHECK(always.read(200) == nullptr);
  CHECK(never.read(200) == nullptr);
  CHECK(got_always == 5);
  CHECK(got_asked == 5);
}

TEST_CASE("gateway.name is in every log line and in smppgw_instance_info; a reload renames") {
  McsimProc mc;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["gateway"]["name"] = "gw-east-1";
  cfg["gateway"]["instance_id"] = 7;
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  const uint16_t mport = metricsPort(gw);
  CHECK(gw.waitForLog("event=started"));
  std::string log = gw.proc().err();
  size_t lines = 0;
  size_t named = 0;
  for (size_t pos = 0; pos < log.size();) {
    size_t end = log.find('\n', pos);
    std::string line = log.substr(pos, end - pos);
    if (line.rfind("ts=", 0) == 0) {
      ++lines;
      named += line.find(" gateway=gw-east-1") != std::string::npos;
    }
    pos = end == std::string::npos ? log.size() : end + 1;
  }
  CHECK(lines > 2);
  CHECK(named == lines);
  auto body = smppgw::test::httpGet("127.0.0.1", mport, "/metrics").body;
  CHECK(sample(body, R"(smppgw_instance_info{name="gw-east-1",instance_id="7"})") == 1);

  cfg["gateway"]["name"] = "gw-east-2";
  std::ofstream(gw.configPath()) << cfg.dump(2);
  gw.proc().signal(SIGHUP);
  REQUIRE(gw.waitForLog("event=reload_ok"));
  CHECK(gw.waitForLog("gateway=gw-east-2"));
  CHECK(waitForSample(mport, R"(smppgw_instance_info{name="gw-east-2",instance_id="7"})", 1) == 1);
}

TEST_CASE(
    "reload: log.* and routing.concat_* apply live; metrics.* and listeners are named and "
    "refused") {
  McsimProc mc;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(gw.waitForLog("event=connection_accepted", 1, 300ms) == false);  // debug: not logged

  cfg["log"] = {{"level", "debug"}};
  cfg["routing"] = {{"concat_ttl", "1m"}, {"concat_max_entries", 10}};
  std::ofstream(gw.configPath()) << cfg.dump(2);
  gw.proc().signal(SIGHUP);
  REQUIRE(gw.waitForLog("event=reload_ok"));
  EsmeClient d;
  REQUIRE(d.connect("127.0.0.1", gw.port()));
  CHECK(gw.waitForLog("event=connection_accepted"));  // debug lines now

  json changed = cfg;
  changed["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  changed["listeners"][0]["port"] = 1;
  std::ofstream(gw.configPath()) << changed.dump(2);
  gw.proc().signal(SIGHUP);
  REQUIRE(gw.waitForLog("event=reload_refused"));
  const std::string log = gw.proc().err();
  CHECK(log.find("listeners[0].port") != std::string::npos);
  CHECK(log.find("metrics.enabled") != std::string::npos);
  // The running configuration stayed: the listener still answers binds.
  auto b = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(b);
  CHECK(b->status() == 0);
}

TEST_CASE("limits.max_queue_per_group bounds each group over all its members") {
  SilentMc a, b, x;
  json cfg =
      smppgw::testsupport::baseGatewayConfig({{"a", a.port()}, {"b", b.port()}, {"x", x.port()}});
  for (auto& u : cfg["upstreams"]) {
    u["window"] = 1;
    u["request_timeout"] = "10s";
  }
  cfg["groups"] =
      json::array({{{"name", "ab"},
                    {"strategy", "round_robin"},
                    {"members", json::array({{{"upstream", "a"}}, {{"upstream", "b"}}})}},
                   {{"name", "xx"}, {"members", json::array({{{"upstream", "x"}}})}}});
  cfg["routes"] = json::array({{{"name", "one"},
                                {"match", {{"destination_prefixes", {"1"}}}},
                                {"action", {{"group", "ab"}}}},
                               {{"name", "two"},
                                {"match", {{"destination_prefixes", {"2"}}}},
                                {"action", {{"group", "xx"}}}}});
  cfg["limits"] = {{"max_queue_per_group", 3}};
  cfg["timers"]["response"] = "10s";
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  auto bound = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(bound);
  REQUIRE(bound->status() == 0);

  auto sendSubmits = [&](int n, const std::string& to) {
    for (int i = 0; i < n; ++i) {
      smppgw::codec::Pdu p(CommandId::submit_sm, c.nextSeq());
      auto& s = p.as<smppgw::codec::SmBody>();
      s.source_addr = "12345";
      s.destination_addr = to;
      s.dest_addr_ton = 1;
      s.dest_addr_npi = 1;
      s.short_message = smppgw::codec::asBytes(std::string_view("queued"));
      REQUIRE(c.send(p));
    }
  };
  // Requests are handled in order: once the enquire_link is answered, every submit before it
  // has been admitted or refused.
  auto refusedSoFar = [&] {
    smppgw::codec::Pdu el(CommandId::enquire_link, c.nextSeq());
    REQUIRE(c.send(el));
    int refused = 0;
    for (int i = 0; i < 100; ++i) {
      auto r = c.read(5000);
      REQUIRE(r);
      if (r->id() == CommandId::enquire_link_resp) {
        return refused;
      }
      if (r->id() == CommandId::submit_sm_resp) {
        CHECK(r->status() == smppgw::codec::status::ESME_RMSGQFUL);
        ++refused;
      }
    }
    FAIL("no enquire_link_resp");
    return refused;
  };
  // Group "ab": one in flight on each member (window 1), three waiting for the group, the
  // other five refused at once (per upstream, six would have waited).
  sendSubmits(10, "15550000001");
  CHECK(refusedSoFar() == 5);
  // Group "xx" has its own queue: one in flight, two waiting, none refused.
  sendSubmits(3, "25550000001");
  CHECK(refusedSoFar() == 0);
  CHECK(a.requests() + b.requests() == 2);
}

TEST_CASE("a store directory the gateway cannot use: run refuses to start, saying why") {
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", 2776}});
  const std::string file = writeTemp("not-a-directory", "x");
  cfg["store"] = {{"type", "embedded"}, {"path", file + "/store"}};
  const std::string path = writeTemp("store-unusable", cfg.dump(2));
  auto run = runSmppgw({"run", "-c", path});
  CHECK(run->exitCode() == 1);
  CHECK_MESSAGE(run->err().find("store_failed") != std::string::npos, run->err());
  CHECK(run->err().find("listening") == std::string::npos);
}
