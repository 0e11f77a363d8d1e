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

  explicit Harness(const std::string& timers) {
    loop.useManualClock(kStart);
    const std::string text = R"({
      "gateway": {"allow_plain_passwords": true},
      "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
      "customers": [{"system_id": "acme", "password": "secret"}],
      "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 1, "system_id": "gw",
                     "connect_timeout": "1s", "reconnect": {"initial": "10s", "max": "10s"}}],
      "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
      "routes": [{"action": {"group": "g"}}],
      "metrics": {"enabled": false},
      "timers": )" + timers + "}";
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
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  codec::Pdu bind(CommandId::bind_transceiver, c.nextSeq());
  auto& b = bind.as<codec::BindBody>();
  b.system_id = "acme";
  b.password = "secret";
  b.interface_version = 0x34;
  REQUIRE(c.send(bind));
  ReceivedPtr got;
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  REQUIRE(got->id() == CommandId::bind_transceiver_resp);
  REQUIRE(got->status() == 0);

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
  REQUIRE(c.connect("127.0.0.1", h.gw->listenerPort(0)));
  codec::Pdu bind(CommandId::bind_transmitter, c.nextSeq());
  auto& b = bind.as<codec::BindBody>();
  b.system_id = "acme";
  b.password = "secret";
  b.interface_version = 0x34;
  REQUIRE(c.send(bind));
  ReceivedPtr got;
  REQUIRE(h.runUntil([&] { return (got = c.read(0)) != nullptr; }));
  REQUIRE(got->status() == 0);
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
