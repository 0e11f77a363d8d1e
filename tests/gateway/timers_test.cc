// Protocol timeouts on a manual clock: the gateway runs in this process on one loop, customers
// connect over real loopback sockets, and time moves only when the test says so. A 10 s
// session_init or a 30 s enquire_link timeout is checked in milliseconds, on both sides of its
// edge.

#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/load.h"
#include "gateway/gateway.h"
#include "metrics/registry.h"
#include "net/loop.h"
#include "routing/table.h"
#include "tests/support/esme_client.h"
#include "tests/support/pki.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace smppgw;
using codec::CommandId;
using testsupport::EsmeClient;
using testsupport::ReceivedPtr;

namespace {

constexpr uint64_t kStart = 1'000'000;  // manual clock start (ms)

// One gateway on a manual clock; the carrier is unreachable (these timeouts are the customer's).
struct Harness {
  net::Loop loop;
  metrics::Registry registry;
  std::unique_ptr<Gateway> gw;

  // A whole configuration, for tests that need more than the one carrier below.
  struct Text {
    std::string json;
  };
  explicit Harness(const Text& text) { init(text.json); }
  // mc_port: where the carrier listens (1: nowhere); extra: more top-level keys (",\"k\": v").
  explicit Harness(const std::string& timers, uint16_t mc_port = 1, const std::string& extra = "") {
    const std::string text = R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": )" +
                             std::to_string(mc_port) + R"(,
                     "system_id": "gw", "request_timeout": "30s",
                     "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false},
      "timers": )" + timers + extra +
                             "}";
    init(text);
  }
  void init(const std::string& text) {
    loop.useManualClock(kStart);
    auto loaded = config::loadConfigText(text, "timers-test");
    REQUIRE_MESSAGE(loaded.ok(), (loaded.errors.empty() ? "" : config::toString(loaded.errors[0])));
    auto compiled = routing::RoutingTable::compile(loaded.config);
    REQUIRE(compiled.ok());
    gw = std::make_unique<Gateway>(loop, loaded.config, compiled.table, registry);
    REQUIRE(gw->start());
  }
  ~Harness() {
    gw->abort();
    gw.reset();
  }

  // Runs the loop until `done` holds (checked every millisecond of real time) or 5 s have
  // passed; returns whether it held.
  bool runUntil(const std::function<bool()>& done) {
    struct Watch {
      const std::function<bool()>* done;
      std::chrono::steady_clock::time_point until;
      bool held = false;
    } w{&done, std::chrono::steady_clock::now() + std::chrono::seconds(5)};
    uv_timer_t t;
    uv_timer_init(loop.raw(), &t);
    t.data = &w;
    uv_timer_start(
        &t,
        [](uv_timer_t* h) {
          auto* x = static_cast<Watch*>(h->data);
          x->held = (*x->done)();
          if (x->held || std::chrono::steady_clock::now() > x->until) {
            uv_stop(h->loop);
          }
        },
        0, 1);
    loop.run();
    uv_timer_stop(&t);
    uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
    uv_run(loop.raw(), UV_RUN_NOWAIT);  // runs the close callback (the gateway's handles stay)
    return w.held;
  }

  // One loop iteration without waiting: what is readable is read, what is queued is written.
  void iterate() { uv_run(loop.raw(), UV_RUN_NOWAIT); }

  // Advances the manual clock and runs the gateway's periodic checks at the new time.
  void advance(uint64_t ms) {
    loop.advance(ms);
    gw->runTick();
  }
};

// Customer "acme" bound to the harness's gateway with `bind` (its bind_*_resp checked).
void bindCustomer(Harness& h, EsmeClient& c, CommandId bind = CommandId::bind_transceiver) {
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  codec::Pdu p(bind, c.nextSeq());
  auto& b = p.as<codec::BindBody>();
  b.system_id = "acme";
  b.password = "secret";
  b.interface_version = 0x34;
  REQUIRE(c.send(p));
  ReceivedPtr got;
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  REQUIRE(got->id() == codec::responseFor(bind));
  REQUIRE(got->status() == 0);
}

// acme (window 10) with this rate_limit object, the scripted carrier at mc_port.
Harness::Text withRateLimit(uint16_t mc_port, const std::string& rate_limit) {
  return {R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
      "customers": [{"system_id": "acme", "password": "secret", "window": 10,
                     "rate_limit": )" +
          rate_limit + R"(}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": )" +
          std::to_string(mc_port) + R"(,
                     "system_id": "gw", "request_timeout": "30s",
                     "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false},
      "timers": {"inactivity": "1h", "enquire_link": "1h"}})"};
}

}  // namespace

TEST_CASE("session_init: a connection without a bind is closed at 10 s, not before") {
  Harness h(R"({"session_init": "10s"})");
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  REQUIRE(h.runUntil([&] { return h.gw->openSessions() == 1; }));

  h.advance(9'999);
  CHECK(h.gw->openSessions() == 1);
  h.advance(1);
  CHECK(h.runUntil([&] { return h.gw->openSessions() == 0; }));
  CHECK(c.waitClosed(1000));
}

TEST_CASE(
    "enquire_link: sent after 30 s of silence; unanswered for timers.response, the session "
    "closes") {
  Harness h(R"({"enquire_link": "30s", "response": "5s", "inactivity": "1h"})");
  EsmeClient c;
  bindCustomer(h, c);
  ReceivedPtr got;

  // Silence just short of enquire_link: nothing is sent (what the gateway writes is in the
  // socket when the iteration ends, so read(0) sees it without waiting).
  h.advance(29'999);
  h.iterate();
  CHECK(c.read(0) == nullptr);
  h.advance(1);
  h.iterate();
  got = c.read(0);
  REQUIRE(got != nullptr);
  CHECK(got->id() == CommandId::enquire_link);

  // Unanswered: the session stays for timers.response, then closes.
  h.advance(4'999);
  h.iterate();
  CHECK(h.gw->openSessions() == 1);
  h.advance(1);
  CHECK(h.runUntil([&] { return h.gw->openSessions() == 0; }));
  CHECK(c.waitClosed(1000));
}

TEST_CASE("inactivity: a bound session with no traffic but keepalives is unbound at 5 m") {
  Harness h(R"({"enquire_link": "1m", "inactivity": "5m", "response": "5s"})");
  EsmeClient c;
  bindCustomer(h, c, CommandId::bind_transmitter);
  ReceivedPtr got;
  // Four minutes of keepalives answered at once: enquire_link does not count as activity.
  for (int minute = 1; minute <= 4; ++minute) {
    h.advance(60'000);
    h.iterate();
    got = c.read(0);
    REQUIRE(got != nullptr);
    REQUIRE(got->id() == CommandId::enquire_link);
    REQUIRE(c.respond(*got));
    REQUIRE(h.runUntil([&] { return true; }));  // the answer is read
  }
  h.advance(59'999);
  h.iterate();
  got = c.read(0);
  CHECK((got == nullptr || got->id() != CommandId::unbind));
  h.advance(1);
  h.iterate();
  got = c.readUntil(CommandId::unbind, 0);
  REQUIRE(got != nullptr);
  CHECK(got->id() == CommandId::unbind);
}

namespace {

// A carrier played by the test: a listening socket on port 0; the gateway's bind is accepted
// and answered from the test thread while the loop runs.
struct ScriptedMc {
  int listen_fd = -1;
  uint16_t port = 0;
  EsmeClient peer;  // the accepted connection, read and written like a client

  ScriptedMc() {
    listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd, 4) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~ScriptedMc() { ::close(listen_fd); }

  // Accepts the gateway's connection and answers its bind (`up`: the upstream it belongs to).
  void acceptBind(Harness& h, UpstreamRt up = UpstreamRt(0)) {
    int fd = -1;
    REQUIRE(h.runUntil([&] { return (fd = ::accept(listen_fd, nullptr, nullptr)) >= 0; }));
    peer.adopt(fd);
    ReceivedPtr bind;
    REQUIRE(h.runUntil([&] { return (bind = peer.read(0)) != nullptr; }));
    REQUIRE(bind->id() == CommandId::bind_transceiver);
    codec::Pdu resp(CommandId::bind_transceiver_resp, bind->pdu.sequence_number);
    resp.as<codec::BindRespBody>().system_id = "mc";
    REQUIRE(peer.send(resp));
    REQUIRE(h.runUntil(
        [&] { return h.gw->upstream(up) != nullptr && h.gw->upstream(up)->available(); }));
  }
};

void submit(EsmeClient& c, uint8_t registered_delivery = 0) {
  codec::Pdu p(CommandId::submit_sm, c.nextSeq());
  auto& b = p.as<codec::SmBody>();
  b.source_addr = "12345";
  b.destination_addr = "447700900123";
  b.registered_delivery = registered_delivery;
  static const std::string text = "hello";
  b.short_message = codec::asBytes(text);
  REQUIRE(c.send(p));
}

}  // namespace

TEST_CASE(
    "upstream request_timeout: a submit the carrier never answers fails at 30 s, not before") {
  ScriptedMc mc;
  Harness h(R"({"inactivity": "1h", "enquire_link": "1h"})", mc.port);
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  submit(c);
  ReceivedPtr fwd;
  REQUIRE(h.runUntil([&] { return (fwd = mc.peer.read(0)) != nullptr; }));
  REQUIRE(fwd->id() == CommandId::submit_sm);

  h.advance(29'999);
  h.iterate();
  CHECK(c.read(0) == nullptr);
  h.advance(1);
  h.iterate();
  ReceivedPtr resp = c.read(0);
  REQUIRE(resp != nullptr);
  CHECK(resp->id() == CommandId::submit_sm_resp);
  CHECK(resp->status() == codec::status::ESME_RSYSERR);  // outcome unknown
  // A carrier that stops answering is pushback too: the bind's effective window halves.
  h.advance(100);  // gauges are published on the tick
  CHECK(h.registry.serialize().find("smppgw_upstream_effective_window{upstream=\"u\"} 5") !=
        std::string::npos);
}

TEST_CASE(
    "a receipt held for a request in flight is answered unmatched when that request's deadline "
    "passes") {
  ScriptedMc mc;
  Harness h(R"({"inactivity": "1h", "enquire_link": "1h"})", mc.port);
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  submit(c, 1);
  ReceivedPtr fwd;
  REQUIRE(h.runUntil([&] { return (fwd = mc.peer.read(0)) != nullptr; }));
  // A receipt for a carrier id no mapping has, while the submit is in flight: it could be that
  // submit's (receipts overtake responses), so it is held, unanswered.
  codec::Pdu r(CommandId::deliver_sm, 77);
  auto& d = r.as<codec::SmBody>();
  d.esm_class = 0x04;
  d.source_addr = "447700900123";
  d.destination_addr = "12345";
  static const std::string text =
      "id:FFEE sub:001 dlvrd:001 submit date:2612051200 done date:2612051201 stat:DELIVRD err:000 "
      "text:";
  d.short_message = codec::asBytes(text);
  REQUIRE(mc.peer.send(r));
  REQUIRE(h.runUntil([&] { return h.gw->upstream(smppgw::UpstreamRt(0))->outstanding() == 1; }));
  h.iterate();  // the receipt is read
  h.iterate();
  CHECK(mc.peer.read(0) == nullptr);  // held: not answered

  // The submit's deadline (request_timeout 30 s) plus a second of grace.
  h.advance(30'999);
  h.iterate();
  // The submit itself timed out at 30 s (answered ESME_RSYSERR); with nothing in flight any more
  // the held receipt can match nothing and is answered at once.
  ReceivedPtr ans = mc.peer.readUntil(CommandId::deliver_sm_resp, 0);
  REQUIRE(ans != nullptr);
  CHECK(ans->pdu.sequence_number == 77);
  CHECK(ans->status() == 0);  // routing.receipt_unmatched_status: ESME_ROK
  ReceivedPtr resp = c.read(0);
  REQUIRE(resp != nullptr);
  CHECK(resp->status() == codec::status::ESME_RSYSERR);
}

TEST_CASE(
    "delivery_response: an unanswered deliver_sm goes back to the carrier at 5 s; the silent "
    "receiver gets no more until it sends a PDU") {
  ScriptedMc mc;
  Harness h(R"({"inactivity": "1h", "enquire_link": "1h", "delivery_response": "5s"})", mc.port,
            R"(, "mo_routes": [{"name": "all", "action": {"customer": "acme"}}])");
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  static const std::string text = "STOP";
  auto mo = [&](uint32_t seq) {
    codec::Pdu p(CommandId::deliver_sm, seq);
    auto& d = p.as<codec::SmBody>();
    d.source_addr = "447700900123";
    d.destination_addr = "12345";
    d.short_message = codec::asBytes(text);
    REQUIRE(mc.peer.send(p));
  };
  mo(5);
  ReceivedPtr got;
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  REQUIRE(got->id() == CommandId::deliver_sm);  // read, never answered

  h.advance(4'999);
  h.iterate();
  CHECK(mc.peer.read(0) == nullptr);
  h.advance(1);
  h.iterate();
  ReceivedPtr ans = mc.peer.read(0);
  REQUIRE(ans != nullptr);
  CHECK(ans->id() == CommandId::deliver_sm_resp);
  CHECK(ans->pdu.sequence_number == 5);
  CHECK(ans->status() == codec::status::ESME_RX_T_APPN);

  // Nothing read from the customer for 5 s: not reading. The next MO is answered at once.
  mo(6);
  REQUIRE(h.runUntil([&] { return (ans = mc.peer.read(0)) != nullptr; }));
  CHECK(ans->pdu.sequence_number == 6);
  CHECK(ans->status() == codec::status::ESME_RX_T_APPN);
  CHECK(c.read(0) == nullptr);

  // Any PDU from it shows it reads again: the next MO is delivered.
  codec::Pdu el(CommandId::enquire_link, c.nextSeq());
  REQUIRE(c.send(el));
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  REQUIRE(got->id() == CommandId::enquire_link_resp);
  mo(7);
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  CHECK(got->id() == CommandId::deliver_sm);
  REQUIRE(c.respond(*got));
  REQUIRE(h.runUntil([&] { return (ans = mc.peer.read(0)) != nullptr; }));
  CHECK(ans->pdu.sequence_number == 7);
  CHECK(ans->status() == 0);
}

TEST_CASE(
    "mo_routes naming an upstream still match after a reload removed another upstream (its "
    "runtime id and config index then differ)") {
  ScriptedMc mc;
  auto config = [&](bool with_gone) {
    return std::string(R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [)") +
           (with_gone ? R"({"name": "gone", "host": "127.0.0.1", "port": 1, "system_id": "gw",
                          "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}},)"
                      : "") +
           R"({"name": "u", "host": "127.0.0.1", "port": )" + std::to_string(mc.port) +
           R"(, "system_id": "gw", "connect_timeout": "1s",
                      "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "mo_routes": [{"match": {"upstreams": ["u"]}, "action": {"customer": "acme"}}],
      "metrics": {"enabled": false},
      "timers": {"inactivity": "1h", "enquire_link": "1h"}})";
  };
  Harness h(Harness::Text{config(true)});
  mc.acceptBind(h, UpstreamRt(1));  // "u" is the second upstream: runtime id 1, config index 1
  EsmeClient c;
  bindCustomer(h, c);

  auto loaded = config::loadConfigText(config(false), "timers-test");
  REQUIRE(loaded.ok());
  auto compiled = routing::RoutingTable::compile(loaded.config);
  REQUIRE(compiled.ok());
  REQUIRE(h.gw->applyReload(loaded.config, compiled.table));  // "u": runtime id 1, config index 0

  codec::Pdu p(CommandId::deliver_sm, 9);
  auto& d = p.as<codec::SmBody>();
  d.source_addr = "447700900123";
  d.destination_addr = "12345";
  static const std::string text = "STOP";
  d.short_message = codec::asBytes(text);
  REQUIRE(mc.peer.send(p));
  ReceivedPtr got;
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  CHECK(got->id() == CommandId::deliver_sm);
  REQUIRE(c.respond(*got));
  ReceivedPtr ans;
  REQUIRE(h.runUntil([&] { return (ans = mc.peer.read(0)) != nullptr; }));
  CHECK(ans->id() == CommandId::deliver_sm_resp);
  CHECK(ans->pdu.sequence_number == 9);
  CHECK(ans->status() == 0);
}

TEST_CASE(
    "upstream keepalive: enquire_link after enquire_link_interval of silence; unanswered for "
    "request_timeout the bind is dropped, and the next bind attempt comes reconnect.initial "
    "later") {
  ScriptedMc mc;
  Harness h(Harness::Text{R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": )" +
                          std::to_string(mc.port) + R"(, "system_id": "gw",
                     "enquire_link_interval": "60s", "request_timeout": "30s",
                     "connect_timeout": "5s",
                     "reconnect": {"initial": "10s", "max": "10s", "jitter": 0}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false}})"});
  mc.acceptBind(h);
  Upstream* up = h.gw->upstream(UpstreamRt(0));

  h.advance(59'999);
  h.iterate();
  CHECK(mc.peer.read(0) == nullptr);
  h.advance(1);
  ReceivedPtr el;
  REQUIRE(h.runUntil([&] { return (el = mc.peer.read(0)) != nullptr; }));
  CHECK(el->id() == CommandId::enquire_link);

  // Not answered: the bind holds until request_timeout, then goes.
  h.advance(29'999);
  h.iterate();
  CHECK(up->available());
  h.advance(1);
  CHECK_FALSE(up->available());
  CHECK(h.runUntil([&] { return mc.peer.waitClosed(0); }));

  // The next attempt: reconnect.initial (10 s, no jitter) after the loss, not before.
  int fd = -1;
  h.advance(9'999);
  h.iterate();
  CHECK((fd = ::accept(mc.listen_fd, nullptr, nullptr)) < 0);
  h.advance(1);
  CHECK(h.runUntil([&] { return (fd = ::accept(mc.listen_fd, nullptr, nullptr)) >= 0; }));
  if (fd >= 0) {
    ::close(fd);
  }
}

TEST_CASE("proxy_protocol: a PROXY header not complete within session_init is counted timeout") {
  Harness h(Harness::Text{R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "pp", "address": "127.0.0.1", "port": 0, "proxy_protocol": true}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 1, "system_id": "gw",
                     "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false},
      "timers": {"session_init": "10s"}})"});
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  const std::string partial = "PROXY TCP4 192.0.2.7 ";
  REQUIRE(c.sendRaw(partial.data(), partial.size()));
  REQUIRE(h.runUntil([&] { return h.gw->openSessions() == 1; }));
  h.iterate();
  h.advance(9'999);
  h.iterate();
  CHECK(h.gw->openSessions() == 1);
  h.advance(1);
  CHECK(h.runUntil([&] { return h.gw->openSessions() == 0; }));
  CHECK(c.waitClosed(1000));
  CHECK(c.read(0) == nullptr);  // closed unanswered
  CHECK(h.registry.serialize().find(
            "smppgw_proxy_header_failures_total{listener=\"pp\",reason=\"timeout\"} 1") !=
        std::string::npos);
}

// A TLS listener: a client that connects and never says hello is dropped once
// timers.tls_handshake has passed on the loop's clock, and counted with reason="timeout".
TEST_CASE("TLS listener: a handshake not done within timers.tls_handshake fails (timeout)") {
  const auto& p = nettest::pki();
  REQUIRE_MESSAGE(p.error.empty(), p.error);
  Harness h(Harness::Text{R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0,
                     "tls": {"certificate": ")" +
                          p.server_cert + R"(", "private_key": ")" + p.server_key + R"("}}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 1, "system_id": "gw",
                     "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false},
      "timers": {"tls_handshake": "2s", "session_init": "30s"}})"});
  auto& accepted = h.registry.counter(metrics::CounterFamily::Connections, {"l", "accepted"});
  auto& timeouts = h.registry.counter(metrics::CounterFamily::TlsHandshakeFailures,
                                      {"listener", "l", "", "timeout"});
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  REQUIRE(h.runUntil([&] { return accepted.value() == 1; }));
  h.advance(1999);
  h.iterate();
  CHECK_FALSE(c.waitClosed(20));
  CHECK(timeouts.value() == 0);
  h.advance(2);
  REQUIRE(h.runUntil([&] { return timeouts.value() == 1; }));
  h.iterate();
  CHECK(c.waitClosed(1000));
}

TEST_CASE("auth: failed binds answered after failure_delay; an address blocked for auth.block") {
  Harness h("{}", 1,
            R"(, "auth": {"max_failures": 2, "failure_window": "1m", "block": "5m",
                          "failure_delay": "1s", "max_attempts_per_connection": 5})");
  auto sendBind = [](EsmeClient& c, const char* password) {
    codec::Pdu p(CommandId::bind_transmitter, c.nextSeq());
    auto& b = p.as<codec::BindBody>();
    b.system_id = "acme";
    b.password = password;
    b.interface_version = 0x34;
    REQUIRE(c.send(p));
  };
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  for (int failure = 1; failure <= 2; ++failure) {
    sendBind(c, "wrong");
    // The check ran (off the loop) and failed; its answer waits failure_delay on the manual clock.
    const std::string refused =
        "smppgw_refusals_total{customer=\"acme\",reason=\"auth\"} " + std::to_string(failure);
    REQUIRE(h.runUntil([&] { return h.registry.serialize().find(refused) != std::string::npos; }));
    h.iterate();
    CHECK(c.read(0) == nullptr);
    h.advance(999);
    h.iterate();
    CHECK(c.read(0) == nullptr);
    h.advance(1);
    ReceivedPtr r;
    REQUIRE(h.runUntil([&] { return (r = c.read(0)) != nullptr; }));
    CHECK(r->status() == codec::status::ESME_RINVPASWD);
  }
  // The second failure blocked the address (at the second check, 1 s ago): new connections
  // are closed at once, even with the right password, until 5 min after it.
  const std::string series = "smppgw_connections_refused_total{listener=\"l\",reason=\"blocked\"}";
  {
    EsmeClient blocked;
    REQUIRE(blocked.connect("127.0.0.1", h.gw->listenerPort(0)));
    CHECK(h.runUntil([&] { return blocked.waitClosed(0); }));
  }
  h.advance(300'000 - 1'000 - 1);
  {
    EsmeClient blocked;
    REQUIRE(blocked.connect("127.0.0.1", h.gw->listenerPort(0)));
    CHECK(h.runUntil([&] { return blocked.waitClosed(0); }));
  }
  CHECK(h.registry.serialize().find(series + " 2") != std::string::npos);
  h.advance(1);
  EsmeClient again;
  REQUIRE(again.connect("127.0.0.1", h.gw->listenerPort(0)));
  sendBind(again, "secret");
  ReceivedPtr r;
  REQUIRE(h.runUntil([&] { return (r = again.read(0)) != nullptr; }));
  CHECK(r->status() == codec::status::ESME_ROK);
  CHECK(h.registry.serialize().find("smppgw_auth_blocks_total 1") != std::string::npos);
}

TEST_CASE("proxy_protocol: max_connections_per_source counts the header's source, not the proxy") {
  Harness h(Harness::Text{R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "pp", "address": "127.0.0.1", "port": 0, "proxy_protocol": true}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 1, "system_id": "gw",
                     "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false},
      "limits": {"max_connections_per_source": 2}})"});
  // Three connections through the same proxy (127.0.0.1) for two customers' addresses.
  auto viaProxy = [&](EsmeClient& c, const std::string& source) {
    REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
    const std::string header = "PROXY TCP4 " + source + " 192.0.2.1 40000 2775\r\n";
    REQUIRE(c.sendRaw(header.data(), header.size()));
  };
  EsmeClient a1, a2, a3, b1;
  viaProxy(a1, "192.0.2.7");
  viaProxy(a2, "192.0.2.7");
  viaProxy(b1, "192.0.2.8");
  REQUIRE(h.runUntil([&] { return h.gw->openSessions() == 3; }));
  viaProxy(a3, "192.0.2.7");  // the third from 192.0.2.7: over the limit of 2
  CHECK(h.runUntil([&] { return a3.waitClosed(0); }));
  CHECK(h.registry.serialize().find(
            "smppgw_connections_refused_total{listener=\"pp\",reason=\"per_source\"} 1") !=
        std::string::npos);
  CHECK(h.gw->openSessions() == 3);
  // One of 192.0.2.7's goes: the address may connect again.
  a1.close();
  REQUIRE(h.runUntil([&] { return h.gw->openSessions() == 2; }));
  EsmeClient a4;
  viaProxy(a4, "192.0.2.7");
  REQUIRE(h.runUntil([&] { return h.gw->openSessions() == 3; }));
  h.iterate();
  CHECK_FALSE(a4.waitClosed(0));
}

TEST_CASE("throttle_pause: ESME_RTHROTTLED pauses the bind 200 ms, then 400 ms; a success resets") {
  ScriptedMc mc;
  Harness h(R"({"inactivity": "1h", "enquire_link": "1h"})", mc.port);
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  // The carrier's answer to the next forwarded submit; the customer gets it (max_attempts 1).
  auto forwardAndAnswer = [&](uint32_t status) {
    ReceivedPtr fwd;
    REQUIRE(h.runUntil([&] { return (fwd = mc.peer.read(0)) != nullptr; }));
    REQUIRE(fwd->id() == CommandId::submit_sm);
    REQUIRE(mc.peer.respond(*fwd, status));
    ReceivedPtr resp;
    REQUIRE(h.runUntil([&] { return (resp = c.read(0)) != nullptr; }));
    CHECK(resp->status() == status);
  };
  // A submit while the bind is paused waits `pause` ms (on the manual clock), not one less.
  auto waitsFor = [&](uint64_t pause) {
    submit(c);
    h.iterate();
    h.iterate();
    CHECK(mc.peer.read(0) == nullptr);
    h.advance(pause - 1);
    h.iterate();
    CHECK(mc.peer.read(0) == nullptr);
    h.advance(1);  // the tick at the end of the pause drains the upstream's queue
  };
  submit(c);
  forwardAndAnswer(codec::status::ESME_RTHROTTLED);
  waitsFor(200);
  forwardAndAnswer(codec::status::ESME_RTHROTTLED);  // throttled again: twice as long
  waitsFor(400);
  forwardAndAnswer(codec::status::ESME_ROK);  // a success: no pause, the next one starts over
  submit(c);
  forwardAndAnswer(codec::status::ESME_RTHROTTLED);
  waitsFor(200);
  forwardAndAnswer(codec::status::ESME_ROK);
  CHECK(h.registry.serialize().find("smppgw_upstream_throttle_pauses_total{upstream=\"u\"} 3") !=
        std::string::npos);
}

TEST_CASE("ESME_RMSGQFUL halves the bind's effective window; successes grow it back by one") {
  ScriptedMc mc;
  Harness h(R"({"inactivity": "1h", "enquire_link": "1h"})", mc.port);  // window 10
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  auto window = [&] {
    h.advance(100);  // the gauges are published on the tick
    const std::string text = h.registry.serialize();
    const std::string key = "smppgw_upstream_effective_window{upstream=\"u\"} ";
    const size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + key.size()));
  };
  CHECK(window() == 10);
  submit(c);
  ReceivedPtr fwd;
  REQUIRE(h.runUntil([&] { return (fwd = mc.peer.read(0)) != nullptr; }));
  REQUIRE(mc.peer.respond(*fwd, codec::status::ESME_RMSGQFUL));
  REQUIRE(h.runUntil([&] { return c.read(0) != nullptr; }));
  CHECK(window() == 5);
  // With 5 outstanding, a sixth submit waits for an answer.
  std::vector<ReceivedPtr> sent;
  for (int i = 0; i < 6; ++i) {
    submit(c);
  }
  REQUIRE(h.runUntil([&] {
    while (ReceivedPtr r = mc.peer.read(0)) {
      sent.push_back(std::move(r));
    }
    return sent.size() == 5;
  }));
  h.iterate();
  CHECK(mc.peer.read(0) == nullptr);
  // Five successes (a window's worth): the window grows to 6 and the sixth goes out.
  for (auto& r : sent) {
    REQUIRE(mc.peer.respond(*r, codec::status::ESME_ROK));
  }
  ReceivedPtr sixth;
  REQUIRE(h.runUntil([&] { return (sixth = mc.peer.read(0)) != nullptr; }));
  REQUIRE(mc.peer.respond(*sixth, codec::status::ESME_ROK));
  CHECK(window() == 6);
}

TEST_CASE("a v5.0 carrier's congestion_state from 90 halves the window, once per window") {
  ScriptedMc mc;
  Harness h(R"({"inactivity": "1h", "enquire_link": "1h"})", mc.port);  // window 10
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  auto window = [&] {
    h.advance(100);
    const std::string text = h.registry.serialize();
    const std::string key = "smppgw_upstream_effective_window{upstream=\"u\"} ";
    const size_t at = text.find(key);
    return at == std::string::npos ? -1 : std::stoi(text.substr(at + key.size()));
  };
  // Sends n submits, answers each with ESME_ROK and congestion_state `cs`.
  auto round = [&](int n, uint8_t cs) {
    for (int i = 0; i < n; ++i) {
      submit(c);
    }
    std::vector<ReceivedPtr> got;
    REQUIRE(h.runUntil([&] {
      while (ReceivedPtr r = mc.peer.read(0)) {
        got.push_back(std::move(r));
      }
      return got.size() == static_cast<size_t>(n);
    }));
    for (auto& r : got) {
      codec::Pdu resp(CommandId::submit_sm_resp, r->pdu.sequence_number);
      resp.as<codec::MessageIdBody>().message_id = "1";
      resp.tlvs.addU8(codec::tag::congestion_state, cs);
      REQUIRE(mc.peer.send(resp, 0x50));
    }
    int answered = 0;
    REQUIRE(h.runUntil([&] {
      while (c.read(0) != nullptr) {
        ++answered;
      }
      return answered == n;
    }));
  };
  CHECK(window() == 10);
  round(1, 95);
  CHECK(window() == 5);  // nearing congestion: halved
  round(4, 95);
  CHECK(window() == 5);  // not again within a window of answers
  round(1, 95);
  CHECK(window() == 2);
  round(2, 85);  // the optimum band: held
  CHECK(window() == 2);
  round(2, 10);  // low load: grows by one per window of successes
  CHECK(window() == 3);
}

TEST_CASE("rate_limit.max_wait: over the rate a request waits for its token, in order") {
  ScriptedMc mc;
  Harness h(withRateLimit(mc.port, R"({"per_second": 10, "burst": 1, "max_wait": "250ms"})"));
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  // Five at once at 10/s with a burst of one: the first goes, the next two wait 100 and 200 ms
  // for their tokens, the last two would wait 300 and 400 ms (over 250): refused at once.
  for (int i = 0; i < 5; ++i) {
    submit(c);
  }
  std::vector<ReceivedPtr> refused;
  ReceivedPtr first;
  REQUIRE(h.runUntil([&] {
    while (ReceivedPtr r = c.read(0)) {
      refused.push_back(std::move(r));
    }
    if (first == nullptr) {
      first = mc.peer.read(0);
    }
    return refused.size() == 2 && first != nullptr;
  }));
  for (auto& r : refused) {
    CHECK(r->status() == codec::status::ESME_RTHROTTLED);
    CHECK(r->seq() >= 5);  // the last two (sequence numbers 5 and 6: the bind took 1)
  }
  h.iterate();
  CHECK(mc.peer.read(0) == nullptr);  // the second waits for its token
  h.advance(99);
  h.iterate();
  CHECK(mc.peer.read(0) == nullptr);
  h.advance(1);
  ReceivedPtr second;
  REQUIRE(h.runUntil([&] { return (second = mc.peer.read(0)) != nullptr; }));
  h.advance(100);
  ReceivedPtr third;
  REQUIRE(h.runUntil([&] { return (third = mc.peer.read(0)) != nullptr; }));
  // The carrier answers all three: the customer gets three acceptances, in order.
  for (ReceivedPtr* f : {&first, &second, &third}) {
    REQUIRE(mc.peer.respond(**f, 0));
  }
  std::vector<uint32_t> seqs;
  REQUIRE(h.runUntil([&] {
    while (ReceivedPtr r = c.read(0)) {
      CHECK(r->status() == 0);
      seqs.push_back(r->seq());
    }
    return seqs.size() == 3;
  }));
  CHECK(seqs == std::vector<uint32_t>{2, 3, 4});
}

TEST_CASE("rate_limit.per_sender: each source_addr has its own limit inside the customer's") {
  ScriptedMc mc;
  Harness h(withRateLimit(mc.port, R"({"per_second": 100, "per_sender": 2})"));
  mc.acceptBind(h);
  EsmeClient c;
  bindCustomer(h, c);
  auto from = [&](const char* sender) {
    codec::Pdu p(CommandId::submit_sm, c.nextSeq());
    auto& b = p.as<codec::SmBody>();
    b.source_addr = sender;
    b.destination_addr = "447700900123";
    static const std::string text = "hi";
    b.short_message = codec::asBytes(text);
    REQUIRE(c.send(p));
    return p.sequence_number;
  };
  // Sender 111 sends three at once (its burst is two), 222 one.
  from("111");
  from("111");
  const uint32_t third = from("111");
  from("222");
  ReceivedPtr refused;
  REQUIRE(h.runUntil([&] { return (refused = c.read(0)) != nullptr; }));
  CHECK(refused->seq() == third);
  CHECK(refused->status() == codec::status::ESME_RTHROTTLED);
  int forwarded = 0;
  REQUIRE(h.runUntil([&] {
    while (mc.peer.read(0) != nullptr) {
      ++forwarded;
    }
    return forwarded == 3;
  }));
  // Half a second later 111 has a token again.
  h.advance(500);
  from("111");
  REQUIRE(h.runUntil([&] { return mc.peer.read(0) != nullptr; }));
}
