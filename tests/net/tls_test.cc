// TLS under net::Connection: two Connections on one Loop over 127.0.0.1, certificates generated at
// run time (pki.h). Every wait is bounded (runUntil: 5 s of real time).
#include <doctest/doctest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "codec/bytes.h"
#include "net/connection.h"
#include "net/loop.h"
#include "net/tls.h"
#include "tests/net/loop_util.h"
#include "tests/support/pki.h"
#include "tests/support/process.h"

using namespace smppgw;
using net::TlsFailure;

namespace {

constexpr uint32_t kMaxPdu = 70000;

using nettest::runUntil;

// A PDU of `len` octets (enquire_link header, a patterned body): only framing matters here.
std::string makePdu(uint32_t len, uint32_t seq) {
  std::string p(len, '\0');
  auto put = [&](size_t at, uint32_t v) {
    p[at] = static_cast<char>(v >> 24);
    p[at + 1] = static_cast<char>(v >> 16);
    p[at + 2] = static_cast<char>(v >> 8);
    p[at + 3] = static_cast<char>(v);
  };
  put(0, len);
  put(4, 0x00000015);
  put(8, 0);
  put(12, seq);
  for (size_t i = 16; i < len; ++i) {
    p[i] = static_cast<char>((i * 7 + seq) & 0xff);
  }
  return p;
}

void queue(net::Connection& c, const std::string& pdu) {
  c.out().append(pdu.data(), pdu.size());
  c.send();
}

struct Handler : net::ConnectionHandler {
  std::vector<std::string> pdus;
  int secured = 0;
  int connected = 0;
  bool closed = false;
  bool framing = false;
  int status = 0;
  TlsFailure failure = TlsFailure::None;
  std::string detail;
  std::function<void(net::Connection&)> on_pdu;
  std::function<void(net::Connection&)> on_secured;

  void onPdu(net::Connection& c, codec::Bytes pdu) override {
    pdus.emplace_back(reinterpret_cast<const char*>(pdu.data()), pdu.size());
    if (on_pdu) {
      on_pdu(c);
    }
  }
  void onFramingError(net::Connection& c, const codec::DecodeError&) override {
    framing = true;
    closed = true;
    c.abort();
  }
  void onConnected(net::Connection&, int st) override {
    ++connected;
    if (st != 0) {
      closed = true;
      status = st;
    }
  }
  void onSecured(net::Connection& c) override {
    ++secured;
    if (on_secured) {
      on_secured(c);
    }
  }
  void onClosed(net::Connection& c, int st) override {
    closed = true;
    status = st;
    if (c.tls() != nullptr) {
      failure = c.tls()->failure();
      detail = c.tls()->failureDetail();
    }
  }
};

std::shared_ptr<net::TlsContext> makeCtx(const net::TlsOptions& o) {
  std::string err;
  auto ctx = net::TlsContext::create(o, err);
  INFO(err);
  REQUIRE(ctx != nullptr);
  return ctx;
}

net::TlsOptions serverOptions(const std::string& cert, const std::string& key) {
  net::TlsOptions o;
  o.role = net::TlsOptions::Role::Server;
  o.cert_file = cert;
  o.key_file = key;
  o.ca_file = nettest::pki().ca;
  return o;
}

net::TlsOptions clientOptions() {
  net::TlsOptions o;
  o.role = net::TlsOptions::Role::Client;
  o.ca_file = nettest::pki().ca;
  return o;
}

// A listener on 127.0.0.1:0 whose connections share one handler (TLS if ctx is set).
struct Server {
  Server(net::Loop& loop, std::shared_ptr<net::TlsContext> ctx)
      : ctx_(std::move(ctx)), listener_(loop, [this, &loop](uv_stream_t* s) {
          auto c = net::Connection::create(loop, &h, kMaxPdu);
          if (c->accept(s) != 0) {
            return;
          }
          if (ctx_ != nullptr) {
            REQUIRE(c->startTls(ctx_));
          }
          conns.push_back(std::move(c));
        }) {
    sockaddr_storage ss{};
    REQUIRE(net::parseAddress("127.0.0.1", 0, ss));
    REQUIRE(listener_.listen(reinterpret_cast<sockaddr*>(&ss)) == 0);
    port = listener_.port();
  }
  net::Connection& conn(size_t i = 0) { return *conns.at(i); }

  Handler h;
  std::vector<net::Connection::Ptr> conns;
  uint16_t port = 0;

 private:
  std::shared_ptr<net::TlsContext> ctx_;
  net::Listener listener_;
};

net::Connection::Ptr connectTo(net::Loop& loop, Handler& h, uint16_t port,
                               std::shared_ptr<net::TlsContext> ctx,
                               const std::string& name = "localhost") {
  auto c = net::Connection::create(loop, &h, kMaxPdu);
  if (ctx != nullptr) {
    REQUIRE(c->startTls(std::move(ctx), name));
  }
  sockaddr_storage ss{};
  REQUIRE(net::parseAddress("127.0.0.1", port, ss));
  REQUIRE(c->connect(reinterpret_cast<sockaddr*>(&ss)) == 0);
  return c;
}

struct Pair {
  net::Loop loop;
  std::unique_ptr<Server> server;
  Handler ch;
  net::Connection::Ptr client;
  ~Pair() {
    client.reset();
    server.reset();
    // Released TLS connections send close_notify before closing: let the loop finish that.
    for (int i = 0; i < 4; ++i) {
      uv_run(loop.raw(), UV_RUN_NOWAIT);
    }
  }
};

}  // namespace

TEST_CASE("TlsContext: load errors name the file and OpenSSL's reason") {
  const auto& p = nettest::pki();
  REQUIRE_MESSAGE(p.error.empty(), p.error);
  std::string err;
  auto o = serverOptions(p.dir + "/missing.pem", p.server_key);
  CHECK(net::TlsContext::create(o, err) == nullptr);
  CHECK(err.find("missing.pem") != std::string::npos);
  CHECK(err.find("No such file") != std::string::npos);
  o = serverOptions(p.server_cert, p.client_key);
  CHECK(net::TlsContext::create(o, err) == nullptr);
  CHECK(err.find("key_file") != std::string::npos);
  o = serverOptions(p.server_cert, p.server_cert);  // a certificate where the key should be
  CHECK(net::TlsContext::create(o, err) == nullptr);
  CHECK(err.find("key_file") != std::string::npos);
  o = serverOptions(p.server_cert, p.server_key);
  o.min_version = "1.1";
  CHECK(net::TlsContext::create(o, err) == nullptr);
  CHECK(err.find("min_version") != std::string::npos);
  o = serverOptions(p.server_cert, p.server_key);
  o.ciphers = "NO-SUCH-CIPHER";
  CHECK(net::TlsContext::create(o, err) == nullptr);
  CHECK(err.find("ciphers") != std::string::npos);
  o = serverOptions(p.server_cert, p.server_key);
  auto ctx = net::TlsContext::create(o, err);
  REQUIRE(ctx != nullptr);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  CHECK(ctx->certificateNotAfter() > now + 29 * 86400);
  CHECK(ctx->certificateNotAfter() < now + 31 * 86400);
}

TEST_CASE("TLS: PDUs both ways, up to 64 KB, split across records and reads") {
  Pair t;
  t.server = std::make_unique<Server>(
      t.loop, makeCtx(serverOptions(nettest::pki().server_cert, nettest::pki().server_key)));
  t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()));
  // Queued before the handshake: held, then sent once it is done.
  queue(*t.client, makePdu(16, 1));
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 1; }));
  CHECK(t.ch.connected == 1);
  CHECK(t.ch.secured == 1);
  CHECK(t.server->h.secured == 1);
  const net::TlsSession* tls = t.client->tls();
  REQUIRE(tls != nullptr);
  CHECK(tls->established());
  CHECK(tls->version() == "TLSv1.3");
  CHECK(!tls->cipher().empty());
  CHECK(tls->peerVerified());
  CHECK(tls->peerCommonName() == "localhost");
  CHECK(tls->peerNames() == std::vector<std::string>{"localhost"});
  CHECK(t.server->conn().tls()->peerCommonName().empty());  // no client certificate asked for

  const std::vector<uint32_t> sizes = {16, 17, 100, 4096, 16384, 16385, 40000, 65536, 20, 65536};
  std::vector<std::string> sent;
  for (uint32_t i = 0; i < sizes.size(); ++i) {
    sent.push_back(makePdu(sizes[i], 100 + i));
    queue(*t.client, sent.back());
    queue(t.server->conn(), sent.back());
  }
  REQUIRE(runUntil(t.loop, [&] {
    return t.server->h.pdus.size() == 1 + sizes.size() && t.ch.pdus.size() == sizes.size();
  }));
  for (size_t i = 0; i < sizes.size(); ++i) {
    CHECK(t.server->h.pdus[1 + i] == sent[i]);
    CHECK(t.ch.pdus[i] == sent[i]);
  }
  // A 64 KB PDU dribbled a few hundred octets per iteration still arrives whole.
  const std::string big = makePdu(65536, 7);
  for (size_t off = 0; off < big.size(); off += 700) {
    t.client->out().append(big.data() + off, std::min<size_t>(700, big.size() - off));
    t.client->send();
    uv_run(t.loop.raw(), UV_RUN_NOWAIT);
  }
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 2 + sizes.size(); }));
  CHECK(t.server->h.pdus.back() == big);
  CHECK(!t.server->h.closed);
  CHECK(!t.ch.closed);
}

TEST_CASE("TLS: 100 PDUs queued in one iteration leave in one SSL_write and one socket write") {
  Pair t;
  t.server = std::make_unique<Server>(
      t.loop, makeCtx(serverOptions(nettest::pki().server_cert, nettest::pki().server_key)));
  t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()));
  queue(*t.client, makePdu(16, 1));
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 1; }));
  // Let the server's session ticket arrive so nothing else is in flight.
  queue(t.server->conn(), makePdu(16, 2));
  REQUIRE(runUntil(t.loop, [&] { return t.ch.pdus.size() == 1; }));
  const uint64_t writes = t.client->stats().writes;
  const uint64_t loop_writes = t.loop.stats().writes;
  for (uint32_t i = 0; i < 100; ++i) {
    queue(*t.client, makePdu(200, 1000 + i));
  }
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 101; }));
  const uint64_t w = t.client->stats().writes - writes;
  INFO("client socket writes for 100 PDUs: " << w);
  CHECK(w >= 1);
  CHECK(w <= 2);
  CHECK(t.loop.stats().writes - loop_writes == w);  // and the server wrote nothing back
  CHECK(t.server->h.pdus[100] == makePdu(200, 1099));
}

TEST_CASE("TLS: mutual TLS accepted with a client certificate, refused without") {
  auto sopts = serverOptions(nettest::pki().server_cert, nettest::pki().server_key);
  sopts.require_client_cert = true;
  SUBCASE("with a certificate") {
    Pair t;
    t.server = std::make_unique<Server>(t.loop, makeCtx(sopts));
    auto copts = clientOptions();
    copts.cert_file = nettest::pki().client_cert;
    copts.key_file = nettest::pki().client_key;
    t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(copts));
    queue(*t.client, makePdu(32, 1));
    REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 1; }));
    const net::TlsSession* s = t.server->conn().tls();
    CHECK(s->peerVerified());
    CHECK(s->peerCommonName() == "customer-1");
    CHECK(s->peerNames() ==
          std::vector<std::string>{"customer-1.example", "ops@customer-1.example"});
  }
  SUBCASE("without a certificate") {
    Pair t;
    t.server = std::make_unique<Server>(t.loop, makeCtx(sopts));
    t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()));
    queue(*t.client, makePdu(32, 1));
    REQUIRE(runUntil(t.loop, [&] { return t.server->h.closed && t.ch.closed; }));
    CHECK(t.server->h.pdus.empty());
    CHECK(t.server->h.status == net::kStatusTlsHandshake);
    CHECK(std::string(net::toString(t.server->h.failure)) ==
          net::toString(TlsFailure::NoClientCertificate));
    INFO(t.ch.detail);
    CHECK(t.ch.status == net::kStatusTlsHandshake);
    CHECK(std::string(net::toString(t.ch.failure)) ==
          net::toString(TlsFailure::NoClientCertificate));
  }
}

TEST_CASE("TLS: handshake failures carry their reason and nothing hangs") {
  const auto& p = nettest::pki();
  struct Case {
    const char* name;
    std::string cert, key, server_name;
    TlsFailure client, server;
  };
  const std::vector<Case> cases = {
      {"wrong CA", p.foreign_cert, p.foreign_key, "localhost", TlsFailure::UnknownCa,
       TlsFailure::UnknownCa},
      {"expired", p.expired_cert, p.expired_key, "localhost", TlsFailure::Expired,
       TlsFailure::Expired},
      {"wrong host name", p.server_cert, p.server_key, "wrong.example",
       TlsFailure::HostnameMismatch, TlsFailure::BadCertificate},
      {"wrong IP address", p.server_cert, p.server_key, "127.0.0.2", TlsFailure::HostnameMismatch,
       TlsFailure::BadCertificate},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    Pair t;
    t.server = std::make_unique<Server>(t.loop, makeCtx(serverOptions(k.cert, k.key)));
    t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()), k.server_name);
    queue(*t.client, makePdu(32, 1));
    REQUIRE(runUntil(t.loop, [&] { return t.ch.closed && t.server->h.closed; }));
    INFO(t.ch.detail);
    CHECK(t.ch.status == net::kStatusTlsHandshake);
    CHECK(std::string(net::toString(t.ch.failure)) == net::toString(k.client));
    INFO(t.server->h.detail);
    CHECK(t.server->h.status == net::kStatusTlsHandshake);
    CHECK(std::string(net::toString(t.server->h.failure)) == net::toString(k.server));
    CHECK(t.ch.secured == 0);
    CHECK(t.server->h.pdus.empty());
  }
}

TEST_CASE("TLS: plaintext client on a TLS listener, TLS client on a plaintext server") {
  const auto& p = nettest::pki();
  SUBCASE("plaintext client to a TLS listener") {
    Pair t;
    t.server =
        std::make_unique<Server>(t.loop, makeCtx(serverOptions(p.server_cert, p.server_key)));
    t.client = connectTo(t.loop, t.ch, t.server->port, nullptr);
    queue(*t.client, makePdu(47, 1));  // a bind, say
    REQUIRE(runUntil(t.loop, [&] { return t.server->h.closed && t.ch.closed; }));
    CHECK(t.server->h.status == net::kStatusTlsHandshake);
    CHECK(std::string(net::toString(t.server->h.failure)) == net::toString(TlsFailure::Protocol));
    CHECK(t.server->h.pdus.empty());
  }
  SUBCASE("TLS client to a plaintext server") {
    Pair t;
    t.server = std::make_unique<Server>(t.loop, nullptr);
    t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()));
    REQUIRE(runUntil(t.loop, [&] { return t.server->h.closed && t.ch.closed; }));
    CHECK(t.server->h.framing);  // a ClientHello's first octets are no command_length
    CHECK(t.ch.status == net::kStatusTlsHandshake);
    CHECK(std::string(net::toString(t.ch.failure)) == net::toString(TlsFailure::Protocol));
  }
}

TEST_CASE("TLS: a handshake that never completes times out on the loop clock") {
  Pair t;
  t.loop.useManualClock(1'000'000);
  t.server = std::make_unique<Server>(
      t.loop, makeCtx(serverOptions(nettest::pki().server_cert, nettest::pki().server_key)));
  t.client = connectTo(t.loop, t.ch, t.server->port, nullptr);  // TCP only, says nothing
  REQUIRE(runUntil(t.loop, [&] { return t.server->conns.size() == 1 && t.ch.connected == 1; }));
  net::Connection& s = t.server->conn();
  CHECK(s.tls()->handshakeStartedMs() == 1'000'000);
  t.loop.advance(9'999);
  CHECK(!s.expireHandshake(10'000));
  CHECK(!t.server->h.closed);
  t.loop.advance(1);
  CHECK(s.expireHandshake(10'000));
  CHECK(t.server->h.closed);
  CHECK(t.server->h.status == net::kStatusTlsHandshake);
  CHECK(std::string(net::toString(t.server->h.failure)) == net::toString(TlsFailure::Timeout));
  CHECK(std::string(net::toString(t.server->h.failure)) == "timeout");
  CHECK(!s.expireHandshake(10'000));  // once
  REQUIRE(runUntil(t.loop, [&] { return t.ch.closed; }));
  CHECK(t.ch.status == UV_EOF);
}

TEST_CASE("TLS: a client resumes its session on reconnect") {
  Pair t;
  t.server = std::make_unique<Server>(
      t.loop, makeCtx(serverOptions(nettest::pki().server_cert, nettest::pki().server_key)));
  auto cctx = makeCtx(clientOptions());
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    Handler h;
    auto c = connectTo(t.loop, h, t.server->port, cctx);
    queue(*c, makePdu(16, 1));
    REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == size_t(round) + 1; }));
    queue(*t.server->conns.back(), makePdu(16, 2));  // the ticket travels before it
    REQUIRE(runUntil(t.loop, [&] { return h.pdus.size() == 1; }));
    CHECK(c->tls()->sessionReused() == (round > 0));
    CHECK(t.server->conns.back()->tls()->sessionReused() == (round > 0));
    c->closeAfterFlush();  // close_notify: the server sees an orderly end
    REQUIRE(runUntil(t.loop, [&] { return t.server->h.closed; }));
    CHECK(t.server->h.status == UV_EOF);
    t.server->h.closed = false;
  }
}

TEST_CASE("TLS: pauseReading holds decrypted PDUs until resumeReading") {
  Pair t;
  t.server = std::make_unique<Server>(
      t.loop, makeCtx(serverOptions(nettest::pki().server_cert, nettest::pki().server_key)));
  t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()));
  t.server->h.on_pdu = [](net::Connection& c) { c.pauseReading(); };
  for (uint32_t i = 0; i < 10; ++i) {
    queue(*t.client, makePdu(100, i));
  }
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 1; }));
  runUntil(
      t.loop, [] { return false; }, 0);  // one more pass: nothing else may arrive
  CHECK(t.server->h.pdus.size() == 1);
  t.server->h.on_pdu = nullptr;
  t.server->conn().resumeReading();
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 10; }));
  CHECK(t.server->h.pdus[9] == makePdu(100, 9));
}

TEST_CASE("TLS: the output limit counts ciphertext not yet written") {
  Pair t;
  t.server = std::make_unique<Server>(
      t.loop, makeCtx(serverOptions(nettest::pki().server_cert, nettest::pki().server_key)));
  t.client = connectTo(t.loop, t.ch, t.server->port, makeCtx(clientOptions()));
  queue(*t.client, makePdu(16, 1));
  REQUIRE(runUntil(t.loop, [&] { return t.server->h.pdus.size() == 1; }));
  t.client->pauseReading();  // the client stops reading: the server's output piles up
  net::Connection& s = t.server->conn();
  s.setOutputLimit(1 << 20);
  const std::string pdu = makePdu(65536, 3);
  bool full = false;
  for (int i = 0; i < 400 && !full; ++i) {
    for (int j = 0; j < 4; ++j) {
      queue(s, pdu);
    }
    runUntil(
        t.loop, [] { return false; }, 0);
    full = t.server->h.closed;
  }
  CHECK(full);
  CHECK(t.server->h.status == UV_ENOBUFS);
}

// A real `openssl s_client` process: handshake with a TLS Listener, and a PDU written to its stdin
// reaches the handler. Registered as its own CTest (net_tls_s_client, skipped without openssl).
TEST_CASE("TLS: openssl s_client talks to a TLS listener") {
  const std::string openssl = "/usr/bin/openssl";
  if (access(openssl.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "SKIP: %s not found\n", openssl.c_str());
    std::exit(77);
  }
  const auto& p = nettest::pki();
  Pair t;
  t.server = std::make_unique<Server>(t.loop, makeCtx(serverOptions(p.server_cert, p.server_key)));
  const std::string pdu_file = p.dir + "/pdu.bin";
  {
    const std::string pdu = makePdu(64, 42);
    FILE* f = std::fopen(pdu_file.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(pdu.data(), 1, pdu.size(), f);
    std::fclose(f);
  }
  testsupport::ChildProcess child;
  // exec: the PID we hold is openssl's own; -quiet keeps it running after stdin's end.
  const std::string cmd =
      "exec " + openssl + " s_client -connect 127.0.0.1:" + std::to_string(t.server->port) +
      " -CAfile " + p.ca + " -verify_return_error -verify_ip 127.0.0.1 -quiet -nocommands < " +
      pdu_file;
  std::string err;
  REQUIRE_MESSAGE(child.start("/bin/sh", {"-c", cmd}, &err), err);
  REQUIRE(runUntil(
      t.loop, [&] { return !t.server->h.pdus.empty() || t.server->h.closed; }, 10));
  INFO(child.err());
  CHECK(t.server->h.secured == 1);
  REQUIRE(t.server->h.pdus.size() == 1);
  CHECK(t.server->h.pdus[0] == makePdu(64, 42));
  // And back: the answer shows on its stdout.
  queue(t.server->conn(), "ECHO-FROM-SERVER");
  net::Timer wake(t.loop, [] {});  // the child's stdout file wakes no one: look every 10 ms
  wake.start(10, 10);
  runUntil(t.loop, [&] { return child.out().find("ECHO-FROM-SERVER") != std::string::npos; });
  CHECK(child.out().find("ECHO-FROM-SERVER") != std::string::npos);
  child.signal(SIGTERM);
  CHECK(child.wait(std::chrono::seconds(5)));
}
