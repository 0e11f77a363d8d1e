// Table-driven MT and MO routing: matching on every dimension, first-match-wins order,
// customer default routes, unroutable messages, ack mode resolution.

#include <doctest/doctest.h>

#include "string_view_maker.h"

#include "fixture.h"

using namespace smppgw;
using namespace smppgw::routing;

namespace {

struct MtCase {
  const char* what;
  const char* customer;  // nullptr = unknown customer id
  const char* listener;  // nullptr = not given
  const char* from;
  std::uint8_t fromTon;
  const char* to;
  std::uint8_t toTon;
  const char* service;
  std::uint8_t dc;
  std::uint8_t esm;
  // expected
  Via via;
  const char* rule;   // rule name, or "default_route" / "unroutable"
  const char* group;  // nullptr = reject
  std::uint32_t status;
  config::AckMode ack;
  const char* normalisedTo;
};

constexpr auto T = config::AckMode::Transparent;
constexpr auto S = config::AckMode::StoreAndForward;

const MtCase kMtCases[] = {
    {"national number normalised, uk-mobile", "alice", "pub", "ACME", 5, "07700900123", 0, "", 0, 0,
     Via::Rule, "uk-mobile", "uk", 0, T, "447700900123"},
    {"+ and premium prefix blocked", "alice", "pub", "ACME", 5, "+449012345", 0, "", 0, 0,
     Via::Rule, "premium-block", nullptr, 0x0B, T, "449012345"},
    {"00 international prefix stripped", "bob", "pub", "X", 5, "00449012345", 0, "", 0, 0,
     Via::Rule, "premium-block", nullptr, 0x0B, T, "449012345"},
    {"firewall: sender regex wins over everything after it", "alice", "pub", "SPAMCO", 5,
     "447700900123", 1, "", 0, 0, Via::Rule, "firewall-sender", nullptr, 0x0A, T, "447700900123"},
    {"regex is anchored by ^ only", "alice", "pub", "NOSPAM", 5, "447700900123", 1, "", 0, 0,
     Via::Rule, "uk-mobile", "uk", 0, T, "447700900123"},
    {"tag route before generic, route ack_mode wins", "carol", "pub", "X", 5, "447700900123", 1, "",
     0, 0, Via::Rule, "vip-uk", "uk", 0, S, "447700900123"},
    {"listener condition: int", "alice", "int", "X", 5, "33612345678", 1, "", 0, 0, Via::Rule,
     "int-only", "bulk", 0, T, "33612345678"},
    {"listener condition: pub does not match", "alice", "pub", "X", 5, "33612345678", 1, "", 0, 0,
     Via::Unroutable, "unroutable", nullptr, 0x0B, T, "33612345678"},
    {"listener not given does not match listener rules", "alice", nullptr, "X", 5, "33612345678", 1,
     "", 0, 0, Via::Unroutable, "unroutable", nullptr, 0x0B, T, "33612345678"},
    {"data_coding match", "alice", "pub", "X", 5, "33612345678", 1, "", 0xF0, 0, Via::Rule, "flash",
     "bulk", 0, T, "33612345678"},
    {"data_coding before destination rule", "alice", "pub", "X", 5, "447700900123", 1, "", 0xF0, 0,
     Via::Rule, "flash", "bulk", 0, T, "447700900123"},
    {"esm_class UDHI bit for bob", "bob", "pub", "X", 5, "447700900123", 1, "", 0, 0x43, Via::Rule,
     "udh-bob", "bulk", 0, T, "447700900123"},
    {"esm_class without UDHI", "bob", "pub", "X", 5, "447700900123", 1, "", 0, 0x03, Via::Rule,
     "uk-mobile", "uk", 0, T, "447700900123"},
    {"esm_class rule is bob's only", "alice", "pub", "X", 5, "447700900123", 1, "", 0, 0x40,
     Via::Rule, "uk-mobile", "uk", 0, T, "447700900123"},
    {"service_type match", "alice", "pub", "X", 5, "12125551234", 1, "CMT", 0, 0, Via::Rule,
     "cmt-na", "world", 0, T, "12125551234"},
    {"service_type mismatch", "alice", "pub", "X", 5, "12125551234", 1, "WAP", 0, 0,
     Via::Unroutable, "unroutable", nullptr, 0x0B, T, "12125551234"},
    {"source prefix on normalised source", "alice", "pub", "07912345678", 0, "4930123", 1, "", 0, 0,
     Via::Rule, "alice-src", "bulk", 0, T, "4930123"},
    {"source prefix mismatch", "alice", "pub", "07812345678", 0, "4930123", 1, "", 0, 0,
     Via::Unroutable, "unroutable", nullptr, 0x0B, T, "4930123"},
    {"tag catch-all", "bob", "pub", "X", 5, "4930123", 1, "", 0, 0, Via::Rule, "retail-rest",
     "world", 0, T, "4930123"},
    {"customer ack_mode when the route has none", "dave", "pub", "X", 5, "447700900123", 1, "", 0,
     0, Via::Rule, "uk-mobile", "uk", 0, S, "447700900123"},
    {"unroutable keeps customer ack_mode", "dave", "pub", "X", 5, "4930123", 1, "", 0, 0,
     Via::Unroutable, "unroutable", nullptr, 0x0B, S, "4930123"},
    {"customer default_route reject", "eve", "pub", "X", 5, "4930123", 1, "", 0, 0,
     Via::CustomerDefault, "default_route", nullptr, 0x45, T, "4930123"},
    {"customer default_route group", "fred", "pub", "X", 5, "4930123", 1, "", 0, 0,
     Via::CustomerDefault, "default_route", "bulk", 0, T, "4930123"},
    {"customer country: national number in country 1", "fred", "pub", "X", 5, "12125551234", 2,
     "CMT", 0, 0, Via::Rule, "cmt-na", "world", 0, T, "12125551234"},
    {"TON 2 national without trunk prefix", "alice", "pub", "X", 5, "7700900123", 2, "", 0, 0,
     Via::Rule, "uk-mobile", "uk", 0, T, "447700900123"},
    {"alphanumeric destination untouched", "alice", "pub", "X", 5, "ABC", 5, "", 0, 0,
     Via::Unroutable, "unroutable", nullptr, 0x0B, T, "ABC"},
    {"unknown customer uses global rules only", nullptr, "pub", "X", 5, "447700900123", 1, "", 0, 0,
     Via::Rule, "uk-mobile", "uk", 0, T, "447700900123"},
    {"unknown customer, nothing global matches", nullptr, "pub", "X", 5, "4930123", 1, "", 0, 0,
     Via::Unroutable, "unroutable", nullptr, 0x0B, T, "4930123"},
    {"empty destination", "bob", "pub", "X", 5, "", 0, "", 0, 0, Via::Rule, "retail-rest", "world",
     0, T, ""},
};

}  // namespace

TEST_CASE("MT routing: table of cases") {
  auto cfg = test::loadFixture();
  auto compiled = RoutingTable::compile(cfg);
  REQUIRE(compiled.ok());
  const RoutingTable& t = *compiled.table;
  for (const auto& c : kMtCases) {
    CAPTURE(c.what);
    MtKey k;
    k.customer = c.customer ? *cfg->findCustomer(c.customer) : config::kNoId;
    k.listener = c.listener ? *cfg->findListener(c.listener) : config::kNoId;
    k.source_addr = c.from;
    k.source_ton = c.fromTon;
    k.destination_addr = c.to;
    k.destination_ton = c.toTon;
    k.service_type = c.service;
    k.data_coding = c.dc;
    k.esm_class = c.esm;
    MtDecision d = t.route(k);
    CHECK(d.via == c.via);
    CHECK(d.rule_name == std::string_view(c.rule));
    if (c.group != nullptr) {
      CHECK(d.routed());
      REQUIRE(d.group < cfg->groups.size());
      CHECK(cfg->groups[d.group].name == c.group);
    } else {
      CHECK_FALSE(d.routed());
      CHECK(d.status == c.status);
    }
    CHECK(d.ack_mode == c.ack);
    CHECK(d.destination.view() == std::string_view(c.normalisedTo));
    if (d.via == Via::Rule) {
      CHECK(cfg->routes[d.rule].name == c.rule);
    } else {
      CHECK(d.rule == kNoRule);
    }
    // The linear explanation agrees, and says why each earlier rule failed.
    MtExplanation ex = t.explain(k);
    CHECK(ex.decision.rule == d.rule);
    CHECK(ex.decision.via == d.via);
    for (const auto& v : ex.rules) {
      CHECK(v.matched == (v.rule == d.rule));
      CHECK(v.matched == v.reason.empty());
    }
  }
}

TEST_CASE("explain gives the first failing condition per rule") {
  auto cfg = test::loadFixture();
  auto t = RoutingTable::compile(cfg).table;
  MtKey k;
  k.customer = 0;
  k.listener = 0;
  k.source_addr = "ACME";
  k.source_ton = 5;
  k.destination_addr = "33612345678";
  auto ex = t->explain(k);
  REQUIRE(ex.rules.size() == cfg->routes.size());
  CHECK(ex.rules[0].reason == "source \"ACME\" does not match /^SPAM/");
  CHECK(ex.rules[1].reason == "destination \"33612345678\" has none of the prefixes [449]");
  CHECK(ex.rules[2].reason ==
        "customer alice is not in customers [] and has none of the tags [vip]");
  CHECK(ex.rules[3].reason == "listener pub is not in [int]");
  CHECK(ex.rules[4].reason == "data_coding 0 is not listed");
  CHECK(ex.rules[7].reason == "destination \"33612345678\" has none of the prefixes [1]");
  CHECK(ex.rules[8].reason == "source \"ACME\" has none of the prefixes [4479]");
}

TEST_CASE("MO routing: exact short codes, prefixes, upstream and source conditions") {
  auto cfg = test::loadFixture();
  auto t = RoutingTable::compile(cfg).table;
  struct MoCase {
    const char* what;
    const char* upstream;
    const char* from;
    const char* to;
    const char* rule;
    const char* customer;  // nullptr = rejected
    std::uint32_t status;
  };
  const MoCase cases[] = {
      {"exact short code from u1", "u1", "447700900001", "12345", "shortcode", "alice", 0},
      {"short code from u2: upstream condition fails", "u2", "447700900001", "12345", "rest",
       "carol", 0},
      {"longer than the exact code", "u1", "447700900001", "123456", "rest", "carol", 0},
      {"shorter than the exact code", "u1", "447700900001", "1234", "rest", "carol", 0},
      {"long number prefix", "u2", "447700900001", "447700111222", "long-numbers", "bob", 0},
      {"national form normalised", "u2", "447700900001", "07700111222", "long-numbers", "bob", 0},
      {"US senders rejected", "u3", "+12125551234", "5555", "us-senders", nullptr, 0x65},
      {"catch-all", "u3", "447700900001", "5555", "rest", "carol", 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    MoKey k;
    k.upstream = *cfg->findUpstream(c.upstream);
    k.source_addr = c.from;
    k.destination_addr = c.to;
    auto d = t->routeMo(k);
    CHECK(d.via == Via::Rule);
    CHECK(d.rule_name == std::string_view(c.rule));
    if (c.customer) {
      REQUIRE(d.routed());
      CHECK(cfg->customers[d.customer].system_id == c.customer);
    } else {
      CHECK_FALSE(d.routed());
      CHECK(d.status == c.status);
    }
  }
}

TEST_CASE("MO unroutable uses routing.mo_unroutable_status") {
  auto cfg = test::loadOrFail(R"({
    "listeners": [{"name": "l", "port": 1}],
    "gateway": {"allow_plain_passwords": true},
    "customers": [{"system_id": "a", "password": "x"}],
    "routing": {"mo_unroutable_status": "ESME_RX_P_APPN"},
    "mo_routes": [{"match": {"destinations": ["100"]}, "action": {"customer": "a"}}]})");
  auto t = RoutingTable::compile(cfg).table;
  MoKey k;
  k.upstream = 0;
  k.destination_addr = "101";
  auto d = t->routeMo(k);
  CHECK(d.via == Via::Unroutable);
  CHECK_FALSE(d.routed());
  CHECK(d.status == 0x65);
  k.destination_addr = "100";
  CHECK(t->routeMo(k).routed());
}

TEST_CASE("first match wins even when a later rule has a longer prefix") {
  auto cfg = test::loadOrFail(R"({
    "listeners": [{"name": "l", "port": 1}],
    "gateway": {"allow_plain_passwords": true},
    "customers": [{"system_id": "a", "password": "x"}],
    "upstreams": [{"name": "u", "host": "h", "port": 1, "system_id": "s"}],
    "groups": [{"name": "g1", "members": [{"upstream": "u"}]},
               {"name": "g2", "members": [{"upstream": "u"}]}],
    "routes": [{"name": "short", "match": {"destination_prefixes": ["44"], "data_coding": [8]},
                "action": {"group": "g1"}},
               {"name": "long", "match": {"destination_prefixes": ["4477"]},
                "action": {"group": "g2"}},
               {"name": "short-again", "match": {"destination_prefixes": ["44"]},
                "action": {"group": "g1"}}]})");
  auto t = RoutingTable::compile(cfg).table;
  MtKey k;
  k.customer = 0;
  k.destination_addr = "447712345";
  k.data_coding = 8;
  CHECK(t->route(k).rule_name == "short");
  k.data_coding = 0;
  CHECK(t->route(k).rule_name == "long");
  k.destination_addr = "441234";
  CHECK(t->route(k).rule_name == "short-again");
}

TEST_CASE("shadowed routes: the config refuses them, and they never match in the table") {
  const std::string base = R"({
    "listeners": [{"name": "l", "port": 1}],
    "gateway": {"allow_plain_passwords": true},
    "customers": [{"system_id": "a", "password": "x"}, {"system_id": "b", "password": "x"}],
    "upstreams": [{"name": "u", "host": "h", "port": 1, "system_id": "s"}],
    "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
    "routes": [{"name": "uk", "match": {"destination_prefixes": ["44"]}, "action": {"group": "g"}},
               {"name": "uk-a", "match": {"customers": ["a"], "destination_prefixes": ["447"]},
                "action": {"reject": 8}}]})";
  auto r = config::loadConfigText(base, "shadow");
  REQUIRE(r.errors.size() == 1);
  CHECK(config::toString(r.errors[0]) ==
        "routes[1]: never matches: every message it could match is taken first by routes[0] "
        "(\"uk\"), which has a different action");
  // Compile the same routes programmatically (bypassing validation): the dead rule never wins.
  config::Config c;
  c.customers.resize(2);
  c.groups.resize(1);
  c.routes.resize(2);
  c.routes[0].name = "uk";
  c.routes[0].match.destination_prefixes = {"44"};
  c.routes[0].action.kind = config::Action::Kind::Group;
  c.routes[0].action.group = 0;
  c.routes[1].name = "uk-a";
  c.routes[1].match.any_customer = false;
  c.routes[1].match.customer_ids = {0};
  c.routes[1].match.destination_prefixes = {"447"};
  c.routes[1].action.status = 8;
  auto t = RoutingTable::compile(c).table;
  REQUIRE(t);
  MtKey k;
  k.customer = 0;
  k.destination_addr = "447700900123";
  CHECK(t->route(k).rule_name == "uk");
}

TEST_CASE("compile reports dangling ids in hand-built configs") {
  config::Config c;
  c.routes.resize(1);
  c.routes[0].action.kind = config::Action::Kind::Group;
  c.routes[0].action.group = 3;
  auto r = RoutingTable::compile(c);
  CHECK_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK(config::toString(r.errors[0]) == "routes[0].action.group: group id out of range");
  CHECK_FALSE(RoutingTable::compile(std::shared_ptr<const config::Config>()).ok());
}

TEST_CASE("the table keeps its config alive after the caller drops it") {
  std::shared_ptr<const RoutingTable> t;
  {
    auto cfg = test::loadFixture();
    t = RoutingTable::compile(cfg).table;
  }
  MtKey k;
  k.customer = 0;
  k.destination_addr = "447700900123";
  k.destination_ton = 1;
  auto d = t->route(k);
  CHECK(d.rule_name == "uk-mobile");
  CHECK(t->config().routes[d.rule].name == "uk-mobile");
}
