// smpp-bench over TLS, as a real process, against a small TLS MC in this test: net::Listener +
// net::Connection + a server TlsContext answering bind, submit_sm, enquire_link and unbind on
// 127.0.0.1:0. Certificates are generated at run time (tests/support/pki.h). The MC's loop runs
// here until the bench process exits (SIGCHLD wakes it), bounded by a guard timer.

#include <doctest/doctest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/command.h"
#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/pdu.h"
#include "net/connection.h"
#include "net/loop.h"
#include "net/tls.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"
#include "tools/common/pdu_util.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::codec::CommandId;
namespace codec = smppgw::codec;
namespace net = smppgw::net;
namespace ts = smppgw::testsupport;

namespace {

const std::string kBench = SMPPGW_BINARY_DIR "/tools/bench/smpp-bench";

// Answers every request of its sessions at once; counts what it saw.
struct TlsMc : net::ConnectionHandler {
  TlsMc(net::Loop& l, bool require_client_cert)
      : loop(l), listener(l, [this](uv_stream_t* s) { accept(s); }) {
    net::TlsOptions o;
    o.role = net::TlsOptions::Role::Server;
    o.cert_file = smppgw::nettest::pki().server_cert;
    o.key_file = smppgw::nettest::pki().server_key;
    o.ca_file = smppgw::nettest::pki().ca;
    o.require_client_cert = require_client_cert;
    std::string err;
    ctx = net::TlsContext::create(o, err);
    INFO(err);
    REQUIRE(ctx != nullptr);
    sockaddr_storage ss{};
    REQUIRE(net::parseAddress("127.0.0.1", 0, ss));
    REQUIRE(listener.listen(reinterpret_cast<sockaddr*>(&ss)) == 0);
    port = listener.port();
  }

  void accept(uv_stream_t* s) {
    auto c = net::Connection::create(loop, this, codec::kDefaultMaxCommandLength);
    if (c->accept(s) != 0 || !c->startTls(ctx)) {
      return;
    }
    conns.push_back(std::move(c));
  }
  void onSecured(net::Connection& c) override {
    ++secured;
    if (c.tls()->peerVerified()) {
      peer_cn = c.tls()->peerCommonName();
    }
  }
  void onPdu(net::Connection& c, codec::Bytes pdu) override {
    if (c.tls() == nullptr || !c.tls()->established()) {
      ++plaintext;  // never: the framer only sees decrypted bytes
    }
    const codec::Header h = codec::readHeader(pdu.data());
    const uint32_t seq = h.sequence_number;
    switch (static_cast<CommandId>(h.command_id)) {
      case CommandId::bind_transceiver:
      case CommandId::bind_transmitter:
      case CommandId::bind_receiver: {
        ++binds;
        codec::Pdu r(codec::responseFor(static_cast<CommandId>(h.command_id)), seq);
        r.as<codec::BindRespBody>().system_id = "tlsmc";
        codec::encode(smppgw::tools::nonNullStrings(r), c.out());
        break;
      }
      case CommandId::submit_sm: {
        ++submits;
        codec::Pdu r(CommandId::submit_sm_resp, seq);
        id_text = std::to_string(submits);
        r.as<codec::MessageIdBody>().message_id = id_text;
        codec::encode(r, c.out());
        break;
      }
      case CommandId::enquire_link:
        codec::encodeHeaderOnly(c.out(), CommandId::enquire_link_resp, 0, seq);
        break;
      case CommandId::unbind:
        codec::encodeHeaderOnly(c.out(), CommandId::unbind_resp, 0, seq);
        break;
      default:
        break;
    }
    c.send();
  }
  void onFramingError(net::Connection& c, const codec::DecodeError&) override { c.abort(); }
  void onClosed(net::Connection&, int st) override {
    if (st == net::kStatusTlsHandshake) {
      ++failed_handshakes;
    }
  }

  net::Loop& loop;
  std::shared_ptr<net::TlsContext> ctx;
  net::Listener listener;
  std::vector<net::Connection::Ptr> conns;
  uint16_t port = 0;
  int secured = 0;
  int binds = 0;
  int plaintext = 0;
  int failed_handshakes = 0;
  uint64_t submits = 0;
  std::string id_text;
  std::string peer_cn;
};

struct Run {
  int exit_code = -1;
  json report;
  std::string err;
};

// Runs smpp-bench against the MC, serving it on this thread until the bench exits (30 s bound).
Run runBench(net::Loop& loop, TlsMc& mc, std::vector<std::string> args) {
  args.insert(args.begin(),
              {"--connect", "127.0.0.1:" + std::to_string(mc.port), "--json", "--quiet"});
  ts::ChildProcess b;
  bool expired = false;
  // SIGCHLD is watched before the child exists, so its exit cannot be missed.
  net::Signal chld(loop, SIGCHLD, [&](int) {
    if (!b.running()) {
      loop.stop();
    }
  });
  net::Timer guard(loop, [&] {
    expired = true;
    loop.stop();
  });
  guard.start(30000);
  std::string error;
  REQUIRE_MESSAGE(b.start(kBench, args, &error), error);
  while (b.running() && !expired) {
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  Run r;
  if (expired) {
    b.stop(1000ms);
    FAIL("smpp-bench did not finish in 30 s: " << b.err());
  }
  REQUIRE(b.wait(5s));
  r.exit_code = b.exitCode();
  r.err = b.err();
  const std::string out = b.out();
  const auto nl = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
  const std::string last = nl == std::string::npos ? out : out.substr(nl + 1);
  r.report = json::parse(last, nullptr, false);
  return r;
}

}  // namespace

TEST_CASE("smpp-bench --tls: binds after the handshake, every submit answered over TLS") {
  REQUIRE_MESSAGE(smppgw::nettest::pki().error.empty(), smppgw::nettest::pki().error);
  net::Loop loop;
  TlsMc mc(loop, false);
  Run r = runBench(loop, mc,
                   {"--tls", "--tls-ca", smppgw::nettest::pki().ca, "--count", "2000", "--sessions",
                    "2", "--window", "50"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  REQUIRE(r.report.is_object());
  CHECK(r.report["config"]["tls"] == true);
  CHECK(r.report["responses_ok"] == 2000);
  CHECK(r.report["tls"]["handshakes"] == 2);
  CHECK(r.report["tls"]["failed"] == 0);
  CHECK(r.report["tls"]["server_name"] == "127.0.0.1");
  CHECK(r.report["tls"]["version"].get<std::string>().rfind("TLSv1.", 0) == 0);
  CHECK(mc.secured == 2);
  CHECK(mc.binds == 2);
  CHECK(mc.submits == 2000);
  CHECK(mc.plaintext == 0);
  // Coalesced over TLS: a window of 50 refilled per response needs far fewer writes than PDUs.
  CHECK(r.report["loop"]["writes"].get<uint64_t>() < 2000);
}

TEST_CASE("smpp-bench --tls --one-pdu-per-write: one TLS record batch and one write per PDU") {
  REQUIRE_MESSAGE(smppgw::nettest::pki().error.empty(), smppgw::nettest::pki().error);
  net::Loop loop;
  TlsMc mc(loop, false);
  Run r = runBench(loop, mc,
                   {"--tls", "--tls-ca", smppgw::nettest::pki().ca, "--count", "300", "--window",
                    "10", "--one-pdu-per-write"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.report["responses_ok"] == 300);
  CHECK(r.report["loop"]["writes"].get<uint64_t>() >= 300);
  CHECK(mc.submits == 300);
}

TEST_CASE("smpp-bench --tls with a client certificate to an MC that requires one") {
  REQUIRE_MESSAGE(smppgw::nettest::pki().error.empty(), smppgw::nettest::pki().error);
  const auto& pki = smppgw::nettest::pki();
  net::Loop loop;
  TlsMc mc(loop, true);
  SUBCASE("with the certificate: bound, and the MC sees who it is") {
    Run r = runBench(loop, mc,
                     {"--tls", "--tls-ca", pki.ca, "--tls-cert", pki.client_cert, "--tls-key",
                      pki.client_key, "--tls-server-name", "localhost", "--count", "100"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.report["responses_ok"] == 100);
    CHECK(mc.peer_cn == "customer-1");
  }
  SUBCASE("without: the handshake fails, exit code 3") {
    Run r = runBench(loop, mc, {"--tls", "--tls-ca", pki.ca, "--count", "100"});
    CHECK(r.exit_code == 3);
    CHECK(r.report["tls"]["failed"] == 1);
    CHECK(r.report["binds"]["ok"] == 0);
    CHECK(mc.binds == 0);
  }
}

TEST_CASE("smpp-bench --tls: an untrusted or mismatching server certificate fails clearly") {
  REQUIRE_MESSAGE(smppgw::nettest::pki().error.empty(), smppgw::nettest::pki().error);
  const auto& pki = smppgw::nettest::pki();
  net::Loop loop;
  TlsMc mc(loop, false);
  // Not --quiet: the log line names the reason.
  std::vector<std::string> args{
      "--connect", "127.0.0.1:" + std::to_string(mc.port), "--json", "--tls", "--count", "10"};
  std::string reason;
  SUBCASE("a CA that did not issue it") {
    args.insert(args.end(), {"--tls-ca", pki.other_ca});
    reason = "unknown_ca";
  }
  SUBCASE("a name it does not carry") {
    args.insert(args.end(), {"--tls-ca", pki.ca, "--tls-server-name", "carrier.example"});
    reason = "hostname_mismatch";
  }
  ts::ChildProcess b;
  net::Signal chld(loop, SIGCHLD, [&](int) {
    if (!b.running()) {
      loop.stop();
    }
  });
  bool expired = false;
  net::Timer guard(loop, [&] {
    expired = true;
    loop.stop();
  });
  guard.start(30000);
  REQUIRE(b.start(kBench, args));
  while (b.running() && !expired) {
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  REQUIRE_FALSE(expired);
  REQUIRE(b.wait(5s));
  CHECK(b.exitCode() == 3);
  CHECK_MESSAGE(b.err().find("TLS handshake") != std::string::npos, b.err());
  CHECK_MESSAGE(b.err().find(reason) != std::string::npos, b.err());
  CHECK(mc.binds == 0);
}

TEST_CASE("smpp-bench TLS usage errors exit 2 with a clear message") {
  REQUIRE_MESSAGE(smppgw::nettest::pki().error.empty(), smppgw::nettest::pki().error);
  auto run = [](std::vector<std::string> args) {
    ts::ChildProcess b;
    REQUIRE(b.start(kBench, args));
    REQUIRE(b.wait(10s));
    return std::make_pair(b.exitCode(), b.err());
  };
  auto [rc1, err1] = run({"--connect", "127.0.0.1:1", "--tls-ca", "/x.pem"});
  CHECK(rc1 == 2);
  CHECK_MESSAGE(err1.find("need --tls") != std::string::npos, err1);
  auto [rc2, err2] = run({"--connect", "127.0.0.1:1", "--tls", "--tls-ca", "/nonexistent/ca.pem"});
  CHECK(rc2 == 2);
  CHECK_MESSAGE(err2.find("/nonexistent/ca.pem") != std::string::npos, err2);
  auto [rc3, err3] =
      run({"--connect", "127.0.0.1:1", "--tls", "--tls-cert", smppgw::nettest::pki().client_cert});
  CHECK(rc3 == 2);
  CHECK_MESSAGE(err3.find("--tls-key") != std::string::npos, err3);
}
