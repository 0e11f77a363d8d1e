// Loader behaviour that the table-driven cases do not show: defaults, resolution to ids, the
// content hash, never throwing, and reload semantics.

#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <string>
#include <vector>

#include "config/load.h"
#include "config/password.h"

using namespace smppgw::config;
using namespace std::chrono_literals;

namespace {

const std::string kHash =
    "pbkdf2-sha256$1000$yH/jmKS0qXRqhLfeOS8b7Q$/OlH32Yu0aYg/bhJEqX5UCugbcLUT5AnT1+a/c7qXdE";

std::string minimal(const std::string& extra = "") {
  return R"({
    "listeners": [{"name": "main", "port": 2775}],
    "customers": [{"system_id": "alice", "password": ")" +
         kHash + R"("}],
    "upstreams": [{"name": "mc", "host": "127.0.0.1", "port": 2776, "system_id": "gw"}],
    "groups": [{"name": "g", "members": [{"upstream": "mc"}]}],
    "routes": [{"action": {"group": "g"}}])" +
         extra + "}";
}

}  // namespace

TEST_CASE("a minimal config loads with documented defaults") {
  auto r = loadConfigText(minimal(), "test");
  REQUIRE(r.ok());
  CHECK(r.errors.empty());
  CHECK(r.warnings.empty());
  const Config& c = *r.config;
  CHECK(c.origin == "test");
  CHECK(c.content_hash.size() == 64);
  REQUIRE(c.listeners.size() == 1);
  CHECK(c.listeners[0].address == "0.0.0.0");
  CHECK(c.listeners[0].max_connections == 1000);
  CHECK(c.listeners[0].all_customers);
  CHECK(c.listeners[0].admits(0));
  const Customer& a = c.customers[0];
  CHECK(a.bind_types == 0b111);
  CHECK(a.max_binds == 4);
  CHECK(a.window == 10);
  CHECK(a.message_id_format == MessageIdFormat::Hex);
  CHECK(a.message_id_length == 16);
  CHECK_FALSE(a.ack_mode.has_value());
  const Upstream& u = c.upstreams[0];
  CHECK(u.interface_version == 0x34);
  CHECK(u.bind_mode == BindMode::Transceiver);
  CHECK(u.enquire_link_interval == c.timers.enquire_link);
  CHECK(u.request_timeout == c.timers.response);
  CHECK(c.groups[0].strategy == GroupStrategy::Failover);
  CHECK(c.groups[0].members[0].upstream == 0);
  CHECK(c.groups[0].max_attempts == 1);
  // ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR: the carrier did not take the message.
  CHECK(c.groups[0].retry_statuses == std::vector<std::uint32_t>{0x58, 0x14, 0x08});
  CHECK(c.routes[0].name == "route-0");
  CHECK(c.routes[0].match.any_customer);
  CHECK(c.routes[0].action.kind == Action::Kind::Group);
  CHECK(c.routes[0].action.group == 0);
  CHECK(c.timers.enquire_link == 30s);
  CHECK(c.timers.inactivity == 300s);
  CHECK(c.limits.max_pdu_size == 70000);
  CHECK(c.routing.unroutable_status == 0x0B);
  CHECK(c.routing.ack_mode == AckMode::Transparent);
  CHECK(c.numbering.enabled);
  CHECK(c.numbering.international_prefixes == std::vector<std::string>{"00"});
  CHECK(c.store.type == StoreType::Memory);
  CHECK(c.metrics.port == 9775);
  CHECK(c.log.level == LogLevel::Info);
  CHECK(c.gateway.system_id == "smppgw");
  CHECK(c.findCustomer("alice") == 0u);
  CHECK_FALSE(c.findCustomer("bob").has_value());
  CHECK(c.findGroup("g") == 0u);
  CHECK(c.findUpstream("mc") == 0u);
  CHECK(c.findListener("main") == 0u);
}

TEST_CASE("references resolve to indices; tags expand to customers") {
  auto r = loadConfigText(R"({
    "listeners": [{"name": "pub", "port": 1, "customer_tags": ["ext"]},
                  {"name": "int", "port": 2, "customers": ["c"]}],
    "customers": [
      {"system_id": "a", "password": ")" +
                              kHash + R"(", "tags": ["ext"]},
      {"system_id": "b", "password": ")" +
                              kHash + R"(", "tags": ["ext", "vip"]},
      {"system_id": "c", "password": ")" +
                              kHash + R"(", "ack_mode": "transparent",
       "default_route": {"reject": 69}}],
    "upstreams": [{"name": "u1", "host": "h", "port": 1, "system_id": "x"},
                  {"name": "u2", "host": "h", "port": 2, "system_id": "x"}],
    "groups": [{"name": "g1", "strategy": "weighted",
                "members": [{"upstream": "u2", "weight": 3}, {"upstream": "u1"}]}],
    "routes": [{"name": "vip", "match": {"customer_tags": ["vip"], "customers": ["c"],
                "listeners": ["int", "pub"]}, "action": {"group": "g1"}},
               {"name": "rest", "match": {"destination_prefixes": ["+44"]},
                "action": {"group": "g1"}}],
    "mo_routes": [{"match": {"upstreams": ["u2"]}, "action": {"customer": "b"}}]
  })",
                          "refs");
  REQUIRE(r.ok());
  const Config& c = *r.config;
  CHECK(c.listeners[0].allowed_customer_ids == std::vector<CustomerId>{0, 1});
  CHECK(c.listeners[1].allowed_customer_ids == std::vector<CustomerId>{2});
  CHECK_FALSE(c.listeners[1].admits(0));
  CHECK(c.routes[0].match.customer_ids == std::vector<CustomerId>{1, 2});
  CHECK(c.routes[0].match.listener_ids == std::vector<ListenerId>{0, 1});
  CHECK(c.routes[1].match.destination_prefixes == std::vector<std::string>{"44"});
  CHECK(c.groups[0].members[0].upstream == 1);
  CHECK(c.groups[0].members[0].weight == 3);
  CHECK(c.mo_routes[0].name == "mo-route-0");
  CHECK(c.mo_routes[0].match.upstream_ids == std::vector<UpstreamId>{1});
  CHECK(c.mo_routes[0].customer == 1);
  REQUIRE(c.customers[2].default_route.has_value());
  CHECK(c.customers[2].default_route->kind == Action::Kind::Reject);
  CHECK(c.customers[2].default_route->status == 69);
  CHECK(c.customers[2].ack_mode == AckMode::Transparent);
}

TEST_CASE("content hash ignores formatting, comments and key order, not values") {
  auto a = loadConfigText(minimal(), "a");
  auto b = loadConfigText("// a comment\n" + minimal(R"(, "version": 1 /* c */)"), "b");
  auto c = loadConfigText(minimal(R"(, "timers": {"enquire_link": "31s"})"), "c");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  // "version": 1 is an explicit default, so it is a different document: hashes differ.
  CHECK(a.config->content_hash != b.config->content_hash);
  auto a2 = loadConfigText("/* header */\n" + minimal() + "\n// trailer\n", "a2");
  REQUIRE(a2.ok());
  CHECK(a.config->content_hash == a2.config->content_hash);
  CHECK(a.config->content_hash != c.config->content_hash);
  const std::string reordered = R"({"routes": [{"action": {"group": "g"}}],
    "groups": [{"members": [{"upstream": "mc"}], "name": "g"}],
    "upstreams": [{"system_id": "gw", "port": 2776, "host": "127.0.0.1", "name": "mc"}],
    "customers": [{"password": ")" +
                                kHash + R"(", "system_id": "alice"}],
    "listeners": [{"port": 2775, "name": "main"}]})";
  auto d = loadConfigText(reordered, "d");
  REQUIRE(d.ok());
  CHECK(d.config->content_hash == a.config->content_hash);
}

TEST_CASE("all errors are reported at once, not just the first") {
  auto r = loadConfigText(R"({
    "listeners": [{"name": "l", "port": 65536}],
    "customers": [{"system_id": "", "password": "x"}],
    "upstreams": [{"name": "u", "host": "h", "port": 70000, "system_id": "x", "window": 0}],
    "groups": [{"name": "g", "members": []}],
    "routes": [{"action": {"group": "nope"}}],
    "bogus": true
  })",
                          "many");
  CHECK_FALSE(r.ok());
  CHECK(r.config == nullptr);
  std::vector<std::string> lines;
  for (const auto& e : r.errors) {
    lines.push_back(toString(e));
  }
  const std::vector<std::string> expected = {
      "listeners[0].port: must be between 0 and 65535, got 65536",
      "customers[0].system_id: must be 1-15 printable characters (SMPP limit), got \"\"",
      "customers[0].password: plain-text password refused: store the output of `smppgw "
      "hash-password` (gateway.allow_plain_passwords permits plain text, for tests only)",
      "upstreams[0].port: must be between 1 and 65535, got 70000",
      "upstreams[0].window: must be between 1 and 1000, got 0",
      "groups[0].members: empty group: it can never deliver",
      "bogus: unknown key (known keys: auth, customers, gateway, groups, limits, listeners, log, "
      "metrics, mo_routes, numbering, routes, routing, store, timers, upstreams, version)",
      "routes[0].action.group: unknown group \"nope\" (known: g)",
  };
  CHECK(lines == expected);
}

TEST_CASE("loading never throws, whatever the input") {
  const char* inputs[] = {"",
                          "null",
                          "\"str\"",
                          "{\"listeners\": null}",
                          "{\"listeners\": [null, 1, \"x\", []]}",
                          "{\"customers\": {\"a\": 1}}",
                          "{\"routes\": [{\"match\": [], \"action\": []}]}",
                          "{\"numbering\": {\"countries\": []}}",
                          "{\"listeners\": [{\"port\": 1e400}]}",
                          "{\"listeners\": [{\"port\": -9223372036854775808}]}",
                          "\xff\xfe{}",
                          "{\"a\":"};
  for (const char* in : inputs) {
    CAPTURE(in);
    LoadResult r;
    CHECK_NOTHROW(r = loadConfigText(in, "fuzz"));
    CHECK_FALSE(r.ok());
    CHECK_FALSE(r.errors.empty());
  }
}

TEST_CASE("a missing file is an error, not an exception") {
  auto r = loadConfigFile("/nonexistent/smppgw.json");
  CHECK_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK(toString(r.errors[0]) == "cannot open \"/nonexistent/smppgw.json\"");
}

TEST_CASE("reload: a bad new file leaves the old config in force") {
  // The gateway's reload does exactly this: swap only when the new load is ok().
  std::shared_ptr<const Config> running = loadConfigText(minimal(), "v1").config;
  REQUIRE(running);
  const std::string oldHash = running->content_hash;
  auto next = loadConfigText(minimal(R"(, "routes": [{"action": {"group": "typo"}}])"), "v2");
  CHECK_FALSE(next.ok());
  if (next.ok()) {
    running = next.config;
  }
  CHECK(running->content_hash == oldHash);
  CHECK(running->origin == "v1");
  // Same content again: same hash, so the gateway can skip the swap.
  auto same = loadConfigText(minimal(), "v3");
  REQUIRE(same.ok());
  CHECK(same.config->content_hash == oldHash);
}

TEST_CASE("port 0 (any free port, for tests) is allowed and never conflicts") {
  auto r = loadConfigText(R"({
    "listeners": [{"name": "a", "port": 0}, {"name": "b", "port": 0}],
    "metrics": {"port": 0}})",
                          "p0");
  REQUIRE(r.ok());
  CHECK(r.config->listeners[0].port == 0);
  CHECK(r.config->listeners[1].port == 0);
  CHECK(r.config->metrics.port == 0);
}

TEST_CASE("durations accept units and integer milliseconds") {
  auto r = loadConfigText(minimal(R"(, "timers": {"session_init": 1500, "enquire_link": "2m",
      "inactivity": "1h", "response": "250ms", "unbind": "1s", "shutdown_grace": "0s"})"),
                          "d");
  REQUIRE(r.ok());
  CHECK(r.config->timers.session_init == 1500ms);
  CHECK(r.config->timers.enquire_link == 120s);
  CHECK(r.config->timers.inactivity == 3600s);
  CHECK(r.config->timers.response == 250ms);
  CHECK(r.config->timers.shutdown_grace == 0ms);
}

TEST_CASE("diagnostic formatting") {
  CHECK(toString(Diagnostic{"routes[3].action.group", "unknown group", false}) ==
        "routes[3].action.group: unknown group");
  CHECK(toString(Diagnostic{"", "invalid JSON", false}) == "invalid JSON");
  CHECK(toString(Diagnostic{"a.b", "", true}) == "a.b");
}
