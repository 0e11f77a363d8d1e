// TLS on both sides of the gateway, with real processes and a PKI generated at run time
// (tests/support/pki.h): a customer over TLS through smppgw to smpp-mcsim over TLS, mutual TLS
// bound to customers by certificate name, carriers whose certificates must fail, plaintext and
// TLS peers on the wrong kind of port, and a real `openssl s_client`.

#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "codec/status.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tests/support/prometheus.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::ReceivedPtr;

namespace {

constexpr int kWaitMs = 3000;

const smppgw::nettest::Pki& pki() {
  const auto& p = smppgw::nettest::pki();
  REQUIRE_MESSAGE(p.error.empty(), p.error);
  return p;
}

std::vector<std::string> mcsimTls(const std::string& cert, const std::string& key) {
  return {"--tls-cert", cert, "--tls-key", key, "--receipt-delay-ms", "5"};
}

// The gateway with one TLS listener and metrics on; `upstreams` as baseGatewayConfig makes them.
json tlsGatewayConfig(const std::vector<std::pair<std::string, uint16_t>>& upstreams,
                      bool require_client_certificate) {
  const auto& p = pki();
  json c = smppgw::testsupport::baseGatewayConfig(upstreams);
  json tls = {{"certificate", p.server_cert}, {"private_key", p.server_key}};
  if (require_client_certificate) {
    tls["ca"] = p.ca;
    tls["require_client_certificate"] = true;
  }
  c["listeners"][0]["tls"] = tls;
  c["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  return c;
}

// Polls /metrics until `series` reaches `at_least` (the counters move on the loop; bounded).
double waitMetric(GatewayProc& gw, const std::string& series, double at_least) {
  double v = 0;
  for (int i = 0; i < 150; ++i) {
    auto r = smppgw::test::httpGet("127.0.0.1", gw.metricsPort(), "/metrics");
    v = smppgw::testsupport::metricSample(r.body, series);
    if (v >= at_least) {
      break;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of a scrape endpoint
  }
  return v;
}

bool tlsConnect(EsmeClient& c, uint16_t port, const std::string& cert = {},
                const std::string& key = {}) {
  REQUIRE(c.connect("127.0.0.1", port));
  std::string error;
  const bool ok = c.startTls(pki().ca, "localhost", cert, key, error);
  INFO(error);
  return ok;
}

}  // namespace

TEST_CASE("TLS: customer over TLS -> smppgw -> smpp-mcsim over TLS; submits and receipts") {
  const auto& p = pki();
  McsimProc mc(mcsimTls(p.server_cert, p.server_key));
  json cfg = tlsGatewayConfig({{"mc", mc.port()}}, false);
  cfg["upstreams"][0]["tls"] = {{"ca", p.ca}};  // server_name defaults to host: 127.0.0.1
  GatewayProc gw(cfg);

  EsmeClient c;
  REQUIRE(tlsConnect(c, gw.port()));
  ReceivedPtr b = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(b != nullptr);
  CHECK(b->status() == 0);
  for (int i = 0; i < 3; ++i) {
    ReceivedPtr r = c.submit("447700900001", "447700900999", "over tls", 1, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == 0);
  }
  for (int i = 0; i < 3; ++i) {
    ReceivedPtr dlr = c.readUntil(CommandId::deliver_sm, kWaitMs);
    REQUIRE(dlr != nullptr);
    c.respond(*dlr);
  }
  CHECK(waitMetric(gw,
                   R"(smppgw_tls_handshakes_total{side="listener",listener="test",result="ok"})",
                   1) >= 1);
  CHECK(waitMetric(gw, R"(smppgw_tls_handshakes_total{side="upstream",upstream="mc",result="ok"})",
                   1) >= 1);
  CHECK(waitMetric(
            gw,
            R"(smppgw_tls_certificate_expiry_timestamp_seconds{side="listener",listener="test"})",
            1) > 1.7e9);
  c.close();
  CHECK(gw.stop() == 0);
}

TEST_CASE("TLS: certificate_names binds a customer to its client certificate") {
  const auto& p = pki();
  McsimProc mc;
  json cfg = tlsGatewayConfig({{"mc", mc.port()}}, true);
  // The client certificate says CN=customer-1: acme is bound to it, other to another name.
  cfg["customers"][0]["certificate_names"] = {"customer-1"};
  cfg["customers"].push_back({{"system_id", "other"},
                              {"password", "secret"},
                              {"certificate_names", {"someone-else.example"}}});
  GatewayProc gw(cfg);

  SUBCASE("the right certificate binds") {
    EsmeClient c;
    REQUIRE(tlsConnect(c, gw.port(), p.client_cert, p.client_key));
    ReceivedPtr b = c.bind(CommandId::bind_transceiver, "acme", "secret");
    REQUIRE(b != nullptr);
    CHECK(b->status() == 0);
  }
  SUBCASE("a certificate for another name is refused") {
    EsmeClient c;
    REQUIRE(tlsConnect(c, gw.port(), p.client_cert, p.client_key));
    ReceivedPtr b = c.bind(CommandId::bind_transceiver, "other", "secret");
    REQUIRE(b != nullptr);
    CHECK(b->status() == smppgw::codec::status::ESME_RBINDFAIL);
    CHECK(waitMetric(gw, R"(smppgw_refusals_total{customer="other",reason="auth"})", 1) == 1);
    CHECK(gw.waitForLog("event=bind_refused_certificate"));
    CHECK(gw.proc().err().find("secret") == std::string::npos);
  }
  SUBCASE("no certificate is refused") {
    EsmeClient c;
    // TLS 1.3: the client finishes first and learns of the refusal when it reads.
    const bool up = tlsConnect(c, gw.port());
    if (up) {
      ReceivedPtr b = c.bind(CommandId::bind_transceiver, "acme", "secret");
      CHECK((b == nullptr || b->status() != 0));
    }
    CHECK(
        waitMetric(
            gw,
            R"(smppgw_tls_handshake_failures_total{side="listener",listener="test",reason="no_client_certificate"})",
            1) == 1);
  }
  CHECK(gw.stop() == 0);
}

TEST_CASE("TLS: carriers with a wrong CA, an expired certificate, a wrong name fail by reason") {
  const auto& p = pki();
  McsimProc good(mcsimTls(p.server_cert, p.server_key));
  McsimProc expired(mcsimTls(p.expired_cert, p.expired_key));
  json cfg = tlsGatewayConfig({{"wrongca", good.port()},
                               {"expired", expired.port()},
                               {"wrongname", good.port()},
                               {"noverify", expired.port()}},
                              false);
  cfg["upstreams"][0]["tls"] = {{"ca", p.other_ca}};
  cfg["upstreams"][1]["tls"] = {{"ca", p.ca}};
  cfg["upstreams"][2]["tls"] = {{"ca", p.ca}, {"server_name", "wrong.example"}};
  cfg["upstreams"][3]["tls"] = {{"verify_peer", false}};  // the explicit opt-out binds
  GatewayProc gw(cfg, false);
  const std::string f = R"(smppgw_tls_handshake_failures_total{side="upstream",upstream=")";
  CHECK(waitMetric(gw, f + R"(wrongca",reason="unknown_ca"})", 1) >= 1);
  CHECK(waitMetric(gw, f + R"(expired",reason="expired"})", 1) >= 1);
  CHECK(waitMetric(gw, f + R"(wrongname",reason="hostname_mismatch"})", 1) >= 1);
  CHECK(waitMetric(gw, R"(smppgw_upstream_binds{upstream="wrongca",state="bound"})", 0) == 0);
  CHECK(waitMetric(gw, R"(smppgw_upstream_binds{upstream="noverify",state="bound"})", 1) == 1);
  CHECK(waitMetric(gw, R"(smppgw_tls_verify_disabled{upstream="noverify"})", 1) == 1);
  CHECK(gw.waitForLog("event=tls_verify_disabled"));
  // A customer gets an answer, not a hang: only the unverified carrier is bound.
  EsmeClient c;
  REQUIRE(tlsConnect(c, gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret") != nullptr);
  ReceivedPtr r = c.submit("447700900001", "447700900999", "nowhere", 0, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == 0);
  c.close();
  CHECK(gw.stop() == 0);
}

TEST_CASE("TLS: plaintext to a TLS listener and TLS to a plaintext listener close cleanly") {
  McsimProc mc;
  GatewayProc gw(tlsGatewayConfig({{"mc", mc.port()}}, false));
  {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    CHECK(c.bind(CommandId::bind_transceiver, "acme", "secret", 0x34, kWaitMs) == nullptr);
    CHECK(c.waitClosed(kWaitMs));
  }
  CHECK(
      waitMetric(
          gw,
          R"(smppgw_tls_handshake_failures_total{side="listener",listener="test",reason="protocol"})",
          1) == 1);
  json plain = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  GatewayProc gw2(plain);
  {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw2.port()));
    std::string error;
    CHECK_FALSE(c.startTls(pki().ca, "localhost", "", "", error));
    CHECK(c.waitClosed(kWaitMs));
  }
  CHECK(gw2.waitForLog("event=bad_pdu"));
  CHECK(gw2.stop() == 0);
  CHECK(gw.stop() == 0);
}

TEST_CASE("TLS: openssl s_client completes a handshake with the gateway's listener") {
  const std::string openssl = "/usr/bin/openssl";
  if (access(openssl.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "SKIP: %s not found\n", openssl.c_str());
    std::exit(77);
  }
  McsimProc mc;
  GatewayProc gw(tlsGatewayConfig({{"mc", mc.port()}}, false));
  smppgw::testsupport::ChildProcess child;
  std::string err;
  REQUIRE_MESSAGE(
      child.start(openssl,
                  {"s_client", "-connect", "127.0.0.1:" + std::to_string(gw.port()), "-CAfile",
                   pki().ca, "-verify_return_error", "-verify_hostname", "localhost", "-brief"},
                  &err),
      err);
  // It exits when stdin (none) ends, after the handshake; the gateway sees a handshake done.
  CHECK(waitMetric(gw,
                   R"(smppgw_tls_handshakes_total{side="listener",listener="test",result="ok"})",
                   1) == 1);
  REQUIRE(child.wait(10s));
  INFO(child.err());
  CHECK(child.exitCode() == 0);
  CHECK(child.err().find("Verification: OK") != std::string::npos);
  CHECK(gw.stop() == 0);
}

TEST_CASE("TLS: a reload re-reads the certificates; one that does not load keeps the old") {
  namespace fs = std::filesystem;
  const auto& p = pki();
  const std::string dir = p.dir + "/reload";
  fs::create_directories(dir);
  const std::string cert = dir + "/gw.pem", key = dir + "/gw.key";
  auto put = [](const std::string& from, const std::string& to) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  };
  put(p.server_cert, cert);
  put(p.server_key, key);
  McsimProc mc;
  json cfg = tlsGatewayConfig({{"mc", mc.port()}}, false);
  cfg["listeners"][0]["tls"] = {{"certificate", cert}, {"private_key", key}};
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(tlsConnect(c, gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret") != nullptr);

  // A certificate that does not match the key: the whole reload is refused.
  put(p.foreign_cert, cert);
  REQUIRE(gw.proc().signal(SIGHUP));
  CHECK(gw.waitForLog("event=reload_failed"));
  CHECK(gw.proc().err().find("listeners[0].tls.private_key") != std::string::npos);
  CHECK(waitMetric(gw, R"(smppgw_config_reloads_total{result="failure"})", 1) == 1);
  {
    EsmeClient fresh;  // new connections still get the certificate in force
    CHECK(tlsConnect(fresh, gw.port()));
  }
  // A renewed pair behind the same paths (the file itself unchanged): new connections get it,
  // the open session keeps its own.
  put(p.expired_cert, cert);
  put(p.expired_key, key);
  REQUIRE(gw.proc().signal(SIGHUP));
  CHECK(gw.waitForLog("event=reload_unchanged"));
  {
    EsmeClient fresh;
    CHECK_FALSE(tlsConnect(fresh, gw.port()));  // the expired certificate is now in use
  }
  ReceivedPtr r = c.submit("447700900001", "447700900999", "still here", 0, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == 0);
  c.close();
  CHECK(gw.stop() == 0);
}
