// The PROXY protocol on a listener, end to end: a real HAProxy (send-proxy-v2 / send-proxy) in
// front of a real smppgw process whose customer may bind only from 127.0.0.2. HAProxy connects to
// smppgw from 127.0.0.1, so a bind from 127.0.0.2 succeeds only if smppgw takes the address the
// header carries; the same client from 127.0.0.3 is refused. A client that skips the proxy is
// closed unanswered at its first byte and counted; a PROXY header on a listener that does not
// expect one stays a malformed PDU (generic_nack).
//
// Exits 77 (CTest: skipped) without haproxy.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "codec/pdu.h"
#include "tests/support/esme_client.h"
#include "tests/support/haproxy.h"
#include "tests/support/peers.h"
#include "tests/support/pki.h"
#include "tests/support/prometheus.h"

using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::HaproxyOptions;
using smppgw::testsupport::HaproxyProcess;
using smppgw::testsupport::McsimProc;

namespace {

constexpr int kSkip = 77;
constexpr uint32_t kBindFail = 0x0000000D;  // ESME_RBINDFAIL

json proxyConfig(uint16_t mc_port) {
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc1", mc_port}});
  cfg["listeners"][0]["proxy_protocol"] = true;
  cfg["customers"][0]["source_networks"] = json::array({"127.0.0.2/32"});
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  return cfg;
}

// Binds acme through `port` from `local`; the bind_resp status, or -1 without one.
long long bindFrom(const std::string& local, uint16_t port) {
  EsmeClient c;
  c.setLocalAddress(local);
  if (!c.connect("127.0.0.1", port)) {
    return -1;
  }
  auto r = c.bind(CommandId::bind_transceiver, "acme", "secret");
  return r ? static_cast<long long>(r->status()) : -1;
}

double failures(GatewayProc& gw, const std::string& reason) {
  auto r = smppgw::test::httpGet("127.0.0.1", gw.metricsPort(), "/metrics");
  REQUIRE(r.status == 200);
  return smppgw::testsupport::metricSample(
      r.body, "smppgw_proxy_header_failures_total{listener=\"test\",reason=\"" + reason + "\"}");
}

void throughHaproxy(HaproxyOptions::Send send) {
  McsimProc mc;
  GatewayProc gw(proxyConfig(mc.port()));
  HaproxyProcess hp;
  HaproxyOptions o;
  o.send = send;
  o.server_port = gw.port();
  std::string err;
  REQUIRE_MESSAGE(hp.start(o, &err), err);

  CHECK(bindFrom("127.0.0.2", hp.port()) == 0);
  CHECK(gw.waitForLog("peer=127.0.0.2:"));
  CHECK(bindFrom("127.0.0.3", hp.port()) == kBindFail);
  CHECK(gw.waitForLog("peer=127.0.0.3:"));
  // Without the header's address both would be refused: 127.0.0.1 is not allowed.
  CHECK(failures(gw, "not_proxy") == -1);
}

}  // namespace

TEST_CASE("PROXY v2 (HAProxy send-proxy-v2): source_networks sees the client's address") {
  throughHaproxy(HaproxyOptions::Send::V2);
}

TEST_CASE("PROXY v1 (HAProxy send-proxy): source_networks sees the client's address") {
  throughHaproxy(HaproxyOptions::Send::V1);
}

TEST_CASE("PROXY v2 with CRC32C: source_networks sees the client's address") {
  throughHaproxy(HaproxyOptions::Send::V2Crc32c);
}

TEST_CASE("a client without the header on a proxy_protocol listener is closed and counted") {
  McsimProc mc;
  GatewayProc gw(proxyConfig(mc.port()));
  EsmeClient c;
  c.setLocalAddress("127.0.0.2");
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  smppgw::codec::Pdu bind;
  bind.command_id = CommandId::bind_transceiver;
  bind.sequence_number = c.nextSeq();
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(c.send(bind, 0x34));
  CHECK(c.waitClosed(2000));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  CHECK(c.read(100) == nullptr);  // nothing SMPP was answered
  CHECK(gw.waitForLog("event=proxy_header_failed"));
  CHECK(failures(gw, "not_proxy") == 1);
}

TEST_CASE("a PROXY header on a listener that does not expect one is a malformed PDU") {
  McsimProc mc;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc1", mc.port()}});
  GatewayProc gw(cfg);
  for (const std::string& header : {std::string("\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c", 16),
                                    std::string("PROXY TCP4 127.0.0.2 127.0.0.1 4000 2775\r\n")}) {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.sendRaw(header.data(), header.size()));
    auto r = c.read(2000);
    REQUIRE(r != nullptr);
    CHECK(r->id() == CommandId::generic_nack);
    CHECK(c.waitClosed(2000));
  }
}

TEST_CASE("HAProxy in front of a TLS listener: the header, then TLS, then the bind") {
  // HAProxy passes the TLS bytes through (mode tcp) after its PROXY v2 header; smppgw reads the
  // header, terminates TLS, and applies source_networks to the client's own address.
  const auto& p = smppgw::nettest::pki();
  REQUIRE_MESSAGE(p.error.empty(), p.error);
  McsimProc mc;
  json cfg = proxyConfig(mc.port());
  cfg["listeners"][0]["tls"] = {{"certificate", p.server_cert}, {"private_key", p.server_key}};
  GatewayProc gw(cfg);
  HaproxyProcess hp;
  HaproxyOptions o;
  o.send = HaproxyOptions::Send::V2;
  o.server_port = gw.port();
  std::string err;
  REQUIRE_MESSAGE(hp.start(o, &err), err);
  auto bindTls = [&](const std::string& local) -> long long {
    EsmeClient c;
    c.setLocalAddress(local);
    if (!c.connect("127.0.0.1", hp.port())) {
      return -1;
    }
    std::string error;
    if (!c.startTls(p.ca, "localhost", "", "", error)) {
      MESSAGE("TLS through HAProxy failed: " << error);
      return -2;
    }
    auto r = c.bind(CommandId::bind_transceiver, "acme", "secret");
    return r ? static_cast<long long>(r->status()) : -1;
  };
  CHECK(bindTls("127.0.0.2") == 0);
  CHECK(bindTls("127.0.0.3") == kBindFail);
  CHECK(failures(gw, "not_proxy") == -1);
}

TEST_CASE("HAProxy in front: max_connections_per_source counts each client, not HAProxy") {
  McsimProc mc;
  json cfg = proxyConfig(mc.port());
  cfg["limits"]["max_connections_per_source"] = 2;
  GatewayProc gw(cfg);
  HaproxyProcess hp;
  HaproxyOptions o;
  o.send = HaproxyOptions::Send::V2;
  o.server_port = gw.port();
  std::string err;
  REQUIRE_MESSAGE(hp.start(o, &err), err);
  // Two binds from 127.0.0.2 (its limit), then a third connection from it is closed; a client
  // from 127.0.0.4 still gets its answer (a refusal: only 127.0.0.2 may bind).
  EsmeClient a, b, c, d;
  for (EsmeClient* x : {&a, &b}) {
    x->setLocalAddress("127.0.0.2");
    REQUIRE(x->connect("127.0.0.1", hp.port()));
    auto r = x->bind(CommandId::bind_transceiver, "acme", "secret");
    REQUIRE(r);
    CHECK(r->status() == 0);
  }
  c.setLocalAddress("127.0.0.2");
  REQUIRE(c.connect("127.0.0.1", hp.port()));
  CHECK(c.bind(CommandId::bind_transceiver, "acme", "secret") == nullptr);
  CHECK(c.waitClosed(2000));
  d.setLocalAddress("127.0.0.4");
  REQUIRE(d.connect("127.0.0.1", hp.port()));
  auto r = d.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(r);
  CHECK(r->status() == kBindFail);
  auto m = smppgw::test::httpGet("127.0.0.1", gw.metricsPort(), "/metrics");
  CHECK(smppgw::testsupport::metricSample(
            m.body, "smppgw_connections_refused_total{listener=\"test\",reason=\"per_source\"}") ==
        1);
}

int main(int argc, char** argv) {
  if (smppgw::testsupport::haproxyPath().empty()) {
    std::fprintf(stderr, "haproxy is not installed (deploy/install-deps.sh --test): skipped\n");
    return kSkip;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
