// The PROXY header under net::Connection (expectProxyHeader): two Connections on one Loop over
// 127.0.0.1; the server's peer becomes the header's source, PDUs in the same read follow, bad and
// late headers close with kStatusProxyHeader. Every wait is bounded (runUntil: 5 s of real time).
#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <vector>

#include "codec/bytes.h"
#include "net/connection.h"
#include "net/loop.h"
#include "net/proxy_protocol.h"
#include "tests/net/loop_util.h"

using namespace smppgw;
using net::ProxyFailure;

namespace {

constexpr uint32_t kMaxPdu = 70000;

using nettest::runUntil;

const std::string kEnquireLink("\x00\x00\x00\x10\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x07",
                               16);

struct Handler : net::ConnectionHandler {
  std::vector<std::string> pdus;
  std::vector<std::string> events;  // "header <peer>", "pdu", in order
  bool closed = false;
  int status = 0;
  ProxyFailure failure = ProxyFailure::None;

  void onPdu(net::Connection&, codec::Bytes pdu) override {
    pdus.emplace_back(reinterpret_cast<const char*>(pdu.data()), pdu.size());
    events.emplace_back("pdu");
  }
  void onFramingError(net::Connection& c, const codec::DecodeError&) override {
    events.emplace_back("framing");
    c.abort();
  }
  void onProxyHeader(net::Connection& c) override { events.push_back("header " + c.peerAddress()); }
  void onClosed(net::Connection& c, int st) override {
    closed = true;
    status = st;
    failure = c.proxyFailure();
  }
};

struct Rig {
  net::Loop loop;
  Handler sh;  // the server side
  Handler ch;
  std::vector<net::Connection::Ptr> conns;
  net::Connection::Ptr client;
  net::Listener listener{loop, [this](uv_stream_t* s) {
                           auto c = net::Connection::create(loop, &sh, kMaxPdu);
                           if (c->accept(s) == 0) {
                             c->expectProxyHeader();
                             conns.push_back(std::move(c));
                           }
                         }};

  explicit Rig(bool manual_clock = false) {
    if (manual_clock) {
      loop.useManualClock(1000);
    }
    sockaddr_storage ss{};
    REQUIRE(net::parseAddress("127.0.0.1", 0, ss));
    REQUIRE(listener.listen(reinterpret_cast<sockaddr*>(&ss)) == 0);
    client = net::Connection::create(loop, &ch, kMaxPdu);
    REQUIRE(net::parseAddress("127.0.0.1", listener.port(), ss));
    REQUIRE(client->connect(reinterpret_cast<sockaddr*>(&ss)) == 0);
    REQUIRE(runUntil(loop, [&] { return !conns.empty(); }));
  }
  void write(const std::string& bytes) {
    client->out().append(bytes.data(), bytes.size());
    client->send();
  }
  net::Connection& server() { return *conns.at(0); }
};

}  // namespace

TEST_CASE("PROXY v1 header then PDUs in one write: the peer is the header's source") {
  Rig r;
  const std::string proxy = r.server().peerAddress();
  r.write("PROXY TCP4 192.0.2.7 127.0.0.1 40001 2775\r\n" + kEnquireLink + kEnquireLink);
  REQUIRE(runUntil(r.loop, [&] { return r.sh.pdus.size() == 2; }));
  CHECK(r.sh.events == std::vector<std::string>{"header 192.0.2.7:40001", "pdu", "pdu"});
  CHECK(r.sh.pdus[0] == kEnquireLink);
  CHECK(r.server().peerAddress() == "192.0.2.7:40001");
  CHECK(r.server().proxyAddress() == proxy);
  const auto& sa = reinterpret_cast<const sockaddr_in&>(r.server().peerSockaddr());
  CHECK(sa.sin_family == AF_INET);
  CHECK(ntohs(sa.sin_port) == 40001);
}

TEST_CASE("PROXY v2 header split across reads; LOCAL keeps the socket's peer") {
  SUBCASE("PROXY over TCP6") {
    Rig r;
    std::string h("\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24", 16);
    std::string src(16, '\0');
    src[0] = '\x20';
    src[1] = '\x01';
    src[2] = '\x0d';
    src[3] = '\xb8';
    src[15] = 5;
    std::string dst(16, '\0');
    dst[15] = 1;
    const std::string block = src + dst + std::string("\x9c\x40\x0a\xd7", 4);
    r.write(h.substr(0, 7));
    REQUIRE(runUntil(r.loop, [&] { return r.server().stats().bytes_in == 7; }));
    CHECK(r.sh.events.empty());
    r.write(h.substr(7) + block + kEnquireLink);
    REQUIRE(runUntil(r.loop, [&] { return r.sh.pdus.size() == 1; }));
    CHECK(r.sh.events == std::vector<std::string>{"header [2001:db8::5]:40000", "pdu"});
  }
  SUBCASE("LOCAL") {
    Rig r;
    const std::string proxy = r.server().peerAddress();
    r.write(std::string("\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16) + kEnquireLink);
    REQUIRE(runUntil(r.loop, [&] { return r.sh.pdus.size() == 1; }));
    CHECK(r.sh.events == std::vector<std::string>{"header " + proxy, "pdu"});
  }
}

TEST_CASE("no header, a bad header, a close mid-header: closed with kStatusProxyHeader") {
  SUBCASE("SMPP straight away") {
    Rig r;
    r.write(kEnquireLink);
    REQUIRE(runUntil(r.loop, [&] { return r.sh.closed; }));
    CHECK(r.sh.status == net::kStatusProxyHeader);
    CHECK(r.sh.failure == ProxyFailure::NotProxy);
    CHECK(r.sh.events.empty());
    REQUIRE(runUntil(r.loop, [&] { return r.ch.closed; }));  // and nothing was answered
    CHECK(r.ch.pdus.empty());
  }
  SUBCASE("a bad port") {
    Rig r;
    r.write("PROXY TCP4 192.0.2.7 127.0.0.1 040001 2775\r\n");
    REQUIRE(runUntil(r.loop, [&] { return r.sh.closed; }));
    CHECK(r.sh.status == net::kStatusProxyHeader);
    CHECK(r.sh.failure == ProxyFailure::Invalid);
  }
  SUBCASE("closed mid-header") {
    Rig r;
    r.write("PROXY TCP4 ");
    REQUIRE(runUntil(r.loop, [&] { return r.server().stats().bytes_in > 0; }));
    r.client.reset();
    REQUIRE(runUntil(r.loop, [&] { return r.sh.closed; }));
    CHECK(r.sh.status == net::kStatusProxyHeader);
    CHECK(r.sh.failure == ProxyFailure::Closed);
  }
  SUBCASE("closed before any byte: an ordinary close") {
    Rig r;
    r.client.reset();
    REQUIRE(runUntil(r.loop, [&] { return r.sh.closed; }));
    CHECK(r.sh.status == UV_EOF);
    CHECK(r.sh.failure == ProxyFailure::None);
  }
}

TEST_CASE("a header that never completes times out on the loop clock") {
  Rig r(true);
  r.write("PROXY TCP4 192.0.2.7");
  REQUIRE(runUntil(r.loop, [&] { return r.server().stats().bytes_in > 0; }));
  CHECK_FALSE(r.server().expireProxyHeader(500));
  r.loop.advance(499);
  CHECK_FALSE(r.server().expireProxyHeader(500));
  r.loop.advance(1);
  CHECK(r.server().expireProxyHeader(500));
  CHECK(r.sh.closed);
  CHECK(r.sh.status == net::kStatusProxyHeader);
  CHECK(r.sh.failure == ProxyFailure::Timeout);
  CHECK(std::string(r.server().proxyFailureDetail()).find("time") != std::string::npos);
}
