// The gateway torn down while work it queued on the thread pool is still pending: password
// checks (and reloads) must not call back into a destroyed Gateway. Meant to run under ASan,
// where a use after free fails the test; without ASan it still checks that teardown completes.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "config/load.h"
#include "config/password.h"
#include "gateway/gateway.h"
#include "metrics/registry.h"
#include "net/loop.h"
#include "routing/table.h"
#include "tests/support/esme_client.h"
#include "tests/support/process.h"

using namespace smppgw;

namespace {

std::string configWithHashedPassword() {
  // A cheap hash: the checks never run before the gateway is gone anyway (see the blockers).
  const std::string hash = config::hashPassword("right-password", config::kMinPasswordIterations);
  return R"({
    "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
    "customers": [{"system_id": "acme", "password": ")" +
         hash + R"(", "max_binds": 100}],
    "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 1, "system_id": "gw"}],
    "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
    "routes": [{"action": {"group": "g"}}],
    "metrics": {"enabled": false},
    "auth": {"check_concurrency": 64, "max_pending_checks_per_source": 100}
  })";
}

}  // namespace

TEST_CASE(
    "destroying the gateway with 50 password checks and a reload queued touches nothing freed") {
  auto loaded = config::loadConfigText(configWithHashedPassword(), "shutdown-test");
  REQUIRE_MESSAGE(loaded.ok(), (loaded.errors.empty() ? "" : config::toString(loaded.errors[0])));
  auto compiled = routing::RoutingTable::compile(loaded.config);
  REQUIRE(compiled.ok());
  const std::string reloadPath = testsupport::tempPath("shutdown-reload") + ".json";
  std::ofstream(reloadPath) << configWithHashedPassword();

  // Every thread of the pool is held by a blocker queued first, so the gateway's work stays
  // queued (not running) until the test lets go: "queued" is then a fact, not a race.
  const char* env = std::getenv("UV_THREADPOOL_SIZE");
  const int threads = env != nullptr ? std::max(1, std::atoi(env)) : 4;
  struct Blocker {
    uv_work_t req{};
    std::shared_future<void> go;
  };
  std::promise<void> release;
  const std::shared_future<void> go = release.get_future().share();
  std::vector<std::unique_ptr<Blocker>> blockers;  // outlives the loop: their callbacks run last
  std::vector<std::unique_ptr<testsupport::EsmeClient>> clients;
  {
    net::Loop loop;
    for (int i = 0; i < threads; ++i) {
      auto b = std::make_unique<Blocker>();
      b->go = go;
      b->req.data = b.get();
      REQUIRE(uv_queue_work(
                  loop.raw(), &b->req,
                  [](uv_work_t* r) { static_cast<Blocker*>(r->data)->go.wait(); },
                  [](uv_work_t*, int) {}) == 0);
      blockers.push_back(std::move(b));
    }
    // Lets the pool go before the loop's teardown waits for it, also when an assertion throws.
    struct Release {
      std::promise<void>& p;
      bool done = false;
      void operator()() {
        if (!done) {
          done = true;
          p.set_value();
        }
      }
      ~Release() { (*this)(); }
    } releaseGuard{release};
    metrics::Registry registry;
    auto gw = std::make_unique<Gateway>(loop, loaded.config, compiled.table, registry);
    REQUIRE(gw->start());
    const uint16_t port = gw->listenerPort(0);
    // The kernel completes the connects and buffers the binds before the loop runs.
    for (size_t i = 0; i < 50; ++i) {
      auto c = std::make_unique<testsupport::EsmeClient>();
      REQUIRE(c->connect("127.0.0.1", port));
      codec::Pdu bind(codec::CommandId::bind_transmitter, c->nextSeq());
      auto& b = bind.as<codec::BindBody>();
      b.system_id = "acme";
      const std::string password = "wrong" + std::to_string(i);  // never cached: a full check
      b.password = password;  // a view: `password` outlives the send below
      b.interface_version = 0x34;
      REQUIRE(c->send(bind));
      clients.push_back(std::move(c));
    }
    // The loop runs as in production until all 50 checks are queued; a 10 ms timer stops it
    // then, or after 20 s.
    struct Watch {
      Gateway* gw;
      std::chrono::steady_clock::time_point until;
    } watch{gw.get(), std::chrono::steady_clock::now() + std::chrono::seconds(20)};
    uv_timer_t wake;
    uv_timer_init(loop.raw(), &wake);
    wake.data = &watch;
    uv_timer_start(
        &wake,
        [](uv_timer_t* t) {
          auto* w = static_cast<Watch*>(t->data);
          if (w->gw->pendingWork() == 50 || std::chrono::steady_clock::now() > w->until) {
            uv_stop(t->loop);
          }
        },
        10, 10);
    loop.run();
    uv_timer_stop(&wake);
    uv_close(reinterpret_cast<uv_handle_t*>(&wake), nullptr);  // closed before the loop goes
    REQUIRE(gw->pendingWork() == 50);
    gw->requestReload(reloadPath);
    REQUIRE(gw->pendingWork() == 51);
    gw->abort();
    gw.reset();      // the Gateway goes first, its work still queued...
    releaseGuard();  // ...the pool runs again...
  }                  // ...and the loop's teardown runs every callback.
  // Reaching here without a sanitizer report is the assertion; no bind was answered.
  for (auto& c : clients) {
    auto r = c->read(0);
    CHECK((r == nullptr || r->id() != codec::CommandId::bind_transmitter_resp || r->status() != 0));
  }
  std::remove(reloadPath.c_str());
}
