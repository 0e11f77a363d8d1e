// Interoperability with another SMPP implementation (node-smpp, pinned in tests/interop) on both
// sides of the gateway, and a Wireshark check: every PDU of a test run decodes cleanly in
// tshark's SMPP dissector.

#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <string>

#include "codec/receipt.h"
#include "codec/status.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::ChildProcess;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::ReceivedPtr;
namespace codec = smppgw::codec;
namespace st = smppgw::codec::status;

namespace {

const std::string kInterop = SMPPGW_SOURCE_DIR "/tests/interop";

std::string nodeBinary() {
  for (const char* p : {"/usr/bin/node", "/usr/local/bin/node", "/usr/bin/nodejs"}) {
    if (::access(p, X_OK) == 0) {
      return p;
    }
  }
  return "node";
}

// node-smpp's MC on 127.0.0.1:0 that smppgw binds to as its carrier.
class NodeMc {
 public:
  NodeMc() : port_file_(smppgw::testsupport::tempPath("node-mc-port")) {
    std::string error;
    REQUIRE_MESSAGE(proc_.start(nodeBinary(),
                                {kInterop + "/node_mc.js", "--port-file", port_file_, "--system-id",
                                 "gw", "--password", "pw"},
                                &error),
                    error);
    auto p = proc_.waitForPortFile(port_file_, 20s);
    REQUIRE_MESSAGE(p.has_value(),
                    "node MC did not start (npm ci in tests/interop?): " << proc_.err());
    port_ = *p;
  }
  ~NodeMc() {
    proc_.stop(2s);
    ::unlink(port_file_.c_str());
  }
  uint16_t port() const { return port_; }
  json stop() {
    REQUIRE(proc_.signal(SIGTERM));
    REQUIRE(proc_.wait(10s));
    return json::parse(proc_.out(), nullptr, false);
  }

 private:
  ChildProcess proc_;
  std::string port_file_;
  uint16_t port_ = 0;
};

// node-smpp's client against the gateway; returns its JSON summary.
// With `ca`: over TLS (ssmpp://), verifying the gateway against that CA.
json runNodeEsme(uint16_t port, int count, bool long_messages = false, const std::string& ca = {}) {
  ChildProcess p;
  std::vector<std::string> args = {
      kInterop + "/node_esme.js",
      "--url",
      (ca.empty() ? "smpp://" : "ssmpp://") + std::string("127.0.0.1:") + std::to_string(port),
      "--system-id",
      "acme",
      "--password",
      "secret",
      "--count",
      std::to_string(count)};
  if (long_messages) {
    args.insert(args.end(), {"--long", "1"});
  }
  if (!ca.empty()) {
    args.insert(args.end(), {"--ca", ca});
  }
  std::string error;
  REQUIRE_MESSAGE(p.start(nodeBinary(), args, &error), error);
  REQUIRE_MESSAGE(p.wait(60s), "node ESME did not finish");
  json j = json::parse(p.out(), nullptr, false);
  INFO("node ESME stderr: " << p.err());
  REQUIRE_MESSAGE(!j.is_discarded(), "node ESME printed no summary: " << p.out());
  return j;
}

}  // namespace

TEST_CASE("node-smpp client -> smppgw -> smpp-mcsim: submits answered, receipts matched") {
  McsimProc mc({"--receipt-delay-ms", "20"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  json s = runNodeEsme(gw.port(), 25);
  CHECK(s["ok"] == true);
  CHECK(s["accepted"] == 25);
  CHECK(s["receipts_matched"] == 25);
  CHECK(s["receipts_unknown"] == 0);
}

TEST_CASE("node-smpp client over TLS (ssmpp://) -> smppgw TLS listener: receipts matched") {
  const auto& pki = smppgw::nettest::pki();
  REQUIRE_MESSAGE(pki.error.empty(), pki.error);
  McsimProc mc({"--receipt-delay-ms", "20"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["listeners"][0]["tls"] = {{"certificate", pki.server_cert}, {"private_key", pki.server_key}};
  GatewayProc gw(cfg);
  json s = runNodeEsme(gw.port(), 10, false, pki.ca);
  CHECK(s["ok"] == true);
  CHECK(s["accepted"] == 10);
  CHECK(s["receipts_matched"] == 10);
}

TEST_CASE("smppgw binds to a node-smpp MC: submits and its receipts come back rewritten") {
  NodeMc mc;
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"node", mc.port()}}));
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  ReceivedPtr b = c.bind(CommandId::bind_transceiver, "acme", "secret", 0x34, 5000);
  REQUIRE(b != nullptr);
  REQUIRE(b->status() == st::ESME_ROK);
  ReceivedPtr r = c.submit("447700900001", "447700900002", "via node MC", 1, 5000);
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == st::ESME_ROK);
  std::string gid(r->pdu.as<codec::MessageIdBody>().message_id);
  ReceivedPtr d = c.readUntil(CommandId::deliver_sm, 5000);
  REQUIRE(d != nullptr);
  CHECK(d->pdu.tlvs.text(codec::tag::receipted_message_id) == gid);
  codec::Receipt rc;
  REQUIRE(codec::parseReceipt(d->pdu.as<codec::SmBody>().short_message, rc));
  CHECK(rc.id == gid);
  REQUIRE(c.respond(*d));
  // The node MC gets our deliver_sm_resp only after the customer answered (it counts acks).
  c.close();
  REQUIRE(gw.stop() == 0);
  json s = mc.stop();
  CHECK(s["receipts_acked"].get<int>() >= 1);
  CHECK(s["binds"].get<int>() >= 1);
}

TEST_CASE("node-smpp on both sides of smppgw") {
  NodeMc mc;
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"node", mc.port()}}));
  json s = runNodeEsme(gw.port(), 20, /*long_messages=*/true);
  CHECK(s["ok"] == true);
  CHECK(s["accepted"] == 20);
  CHECK(s["receipts_matched"] == 20);
}

TEST_CASE("tshark: every PDU of a gateway run decodes cleanly in Wireshark's SMPP dissector") {
  if (::access("/usr/bin/tshark", X_OK) != 0) {
    FAIL("tshark is not installed (deploy/install-deps.sh --test installs it)");
  }
  McsimProc mc({"--receipt-delay-ms", "5", "--mo-rate", "20", "--mo-count", "10"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  const std::string pcap = smppgw::testsupport::tempPath("smppgw-capture") + ".pcapng";
  const std::string filter =
      "tcp port " + std::to_string(gw.port()) + " or tcp port " + std::to_string(mc.port());
  ChildProcess cap;
  REQUIRE(cap.start("/usr/bin/tshark", {"-i", "lo", "-f", filter, "-w", pcap, "-q"}));
  // tshark says "Capturing on ..." once the capture runs: wait for that line (bounded).
  bool capturing = false;
  for (int i = 0; i < 200 && !capturing && cap.running(); ++i) {
    capturing = cap.err().find("Capturing on") != std::string::npos;
    if (!capturing) {
      ::usleep(50 * 1000);  // polling a log line the child writes; bounded to 10 s
    }
  }
  REQUIRE_MESSAGE(capturing, "tshark did not start: " << cap.err());

  auto tshark = [&](std::vector<std::string> extra) {
    ChildProcess t;
    std::vector<std::string> args = {"-r", pcap,
                                     "-d", "tcp.port==" + std::to_string(gw.port()) + ",smpp",
                                     "-d", "tcp.port==" + std::to_string(mc.port()) + ",smpp"};
    args.insert(args.end(), extra.begin(), extra.end());
    REQUIRE(t.start("/usr/bin/tshark", args));
    REQUIRE(t.wait(60s));
    return t.out();
  };
  auto lines = [](const std::string& s) {
    return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
  };
  // "Capturing on" is printed before the filter is live and the file is flushed: prove it is
  // by sending probe PDUs (enquire_link, answered before any bind) until one is in the file.
  bool live = false;
  for (int i = 0; i < 40 && !live && cap.running(); ++i) {
    EsmeClient probe;
    REQUIRE(probe.connect("127.0.0.1", gw.port()));
    codec::Pdu el;
    el.command_id = CommandId::enquire_link;
    el.sequence_number = probe.nextSeq();
    REQUIRE(probe.send(el));
    REQUIRE(probe.read(5000) != nullptr);
    live = lines(tshark(
               {"-Y", "smpp.command_id == 0x00000015", "-T", "fields", "-e", "frame.number"})) > 0;
    if (!live) {
      ::usleep(250 * 1000);  // bounded (40 probes): dumpcap flushes its file periodically
    }
  }
  REQUIRE_MESSAGE(live, "no probe PDU reached the capture file: " << cap.err());

  auto run = smppgw::testsupport::runBench(
      gw.port(), {"--system-id", "acme", "--password", "secret", "--count", "300", "--mix",
                  "realistic", "--sessions", "2"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  // A v3.3 and a v5.0 customer too, for the version-specific encodings.
  for (uint8_t v : {uint8_t{0x33}, uint8_t{0x50}}) {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret", v, 5000)->status() == 0);
    REQUIRE(c.submit("4477001", "4477002", "version check", 1, 5000)->status() == 0);
    ReceivedPtr d = c.readUntil(CommandId::deliver_sm, 5000);
    REQUIRE(d != nullptr);
    c.respond(*d);
  }
  REQUIRE(gw.stop() == 0);
  REQUIRE(cap.signal(SIGINT));
  REQUIRE(cap.wait(20s));

  // One line per frame, the command ids of its PDUs comma-separated.
  const std::string pdus = tshark({"-Y", "smpp", "-T", "fields", "-e", "smpp.command_id"});
  const size_t pdu_count =
      lines(pdus) + static_cast<size_t>(std::count(pdus.begin(), pdus.end(), ','));
  CHECK_MESSAGE(
      pdu_count > 600,
      "tshark: " << cap.err());  // submits, responses, receipts and their responses, MO, both legs
  const std::string malformed =
      tshark({"-Y", "_ws.malformed", "-T", "fields", "-e", "frame.number"});
  CHECK_MESSAGE(lines(malformed) == 0, "malformed frames: " << malformed);
  const std::string warnings = tshark({"-Y", "smpp && _ws.expert.severity >= 6291456", "-T",
                                       "fields", "-e", "frame.number", "-e", "_ws.expert.message"});
  CHECK_MESSAGE(lines(warnings) == 0, "SMPP expert warnings: " << warnings);
  ::unlink(pcap.c_str());
}
