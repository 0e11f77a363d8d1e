#pragma once
// Shared routing test fixture: a small but complete config exercising every match dimension.

#include <doctest/doctest.h>

#include <string>

#include "config/load.h"
#include "routing/table.h"

namespace smppgw::routing::test {

inline std::shared_ptr<const config::Config> loadOrFail(const std::string& json) {
  auto r = config::loadConfigText(json, "fixture");
  for (const auto& e : r.errors) {
    FAIL_CHECK(config::toString(e));
  }
  REQUIRE(r.ok());
  return r.config;
}

inline const char* kFixture = R"({
  "gateway": {"allow_plain_passwords": true},
  "listeners": [{"name": "pub", "port": 2775}, {"name": "int", "port": 2776}],
  "customers": [
    {"system_id": "alice", "password": "x", "country": "44"},
    {"system_id": "bob", "password": "x", "tags": ["retail"]},
    {"system_id": "carol", "password": "x", "tags": ["retail", "vip"]},
    {"system_id": "dave", "password": "x"},
    {"system_id": "eve", "password": "x", "default_route": {"reject": "ESME_RSUBMITFAIL"}},
    {"system_id": "fred", "password": "x", "country": "1", "default_route": {"group": "bulk"}}
  ],
  "upstreams": [
    {"name": "u1", "host": "h1", "port": 1, "system_id": "s"},
    {"name": "u2", "host": "h2", "port": 1, "system_id": "s"},
    {"name": "u3", "host": "h3", "port": 1, "system_id": "s"}
  ],
  "groups": [
    {"name": "uk", "strategy": "failover", "members": [{"upstream": "u1", "priority": 1},
                                                        {"upstream": "u2", "priority": 2}]},
    {"name": "world", "strategy": "weighted", "members": [{"upstream": "u1", "weight": 3},
                                                          {"upstream": "u2", "weight": 1}]},
    {"name": "bulk", "strategy": "round_robin", "members": [{"upstream": "u3"}]}
  ],
  "numbering": {"default_country": "44", "countries": {"44": {"national_prefix": "0"},
                                                       "1": {"national_prefix": "1"}}},
  "routes": [
    {"name": "firewall-sender", "match": {"source_regex": "^SPAM"},
     "action": {"reject": "ESME_RINVSRCADR"}},
    {"name": "premium-block", "match": {"destination_prefixes": ["449"]},
     "action": {"reject": "ESME_RINVDSTADR"}},
    {"name": "vip-uk", "match": {"customer_tags": ["vip"], "destination_prefixes": ["44"]},
     "action": {"group": "uk"}},
    {"name": "int-only", "match": {"listeners": ["int"], "destination_prefixes": ["33"]},
     "action": {"group": "bulk"}},
    {"name": "flash", "match": {"data_coding": ["0xF0"]}, "action": {"group": "bulk"}},
    {"name": "udh-bob", "match": {"customers": ["bob"], "esm_class": {"mask": 64, "value": 64}},
     "action": {"group": "bulk"}},
    {"name": "uk-mobile", "match": {"destination_prefixes": ["447"]}, "action": {"group": "uk"}},
    {"name": "cmt-na", "match": {"service_types": ["CMT"], "destination_prefixes": ["1"]},
     "action": {"group": "world"}},
    {"name": "alice-src", "match": {"customers": ["alice"], "source_prefixes": ["4479"]},
     "action": {"group": "bulk"}},
    {"name": "retail-rest", "match": {"customer_tags": ["retail"]}, "action": {"group": "world"}}
  ],
  "mo_routes": [
    {"name": "shortcode", "match": {"upstreams": ["u1"], "destinations": ["12345"]},
     "action": {"customer": "alice"}},
    {"name": "long-numbers", "match": {"destination_prefixes": ["44770"]},
     "action": {"customer": "bob"}},
    {"name": "us-senders", "match": {"source_prefixes": ["1"]},
     "action": {"reject": "ESME_RX_P_APPN"}},
    {"name": "rest", "action": {"customer": "carol"}}
  ]
})";

// The fixture with store_and_forward on customer "dave" and route "vip-uk": the loader refuses
// that value in this version (no durable store), but the table's ack-mode precedence is part of
// its contract, so it is set on a copy of the loaded config.
inline std::shared_ptr<const config::Config> loadFixture() {
  auto loaded = loadOrFail(kFixture);
  auto c = std::make_shared<config::Config>(*loaded);
  c->customers[*c->findCustomer("dave")].ack_mode = config::AckMode::StoreAndForward;
  for (auto& r : c->routes) {
    if (r.name == "vip-uk") {
      r.ack_mode = config::AckMode::StoreAndForward;
    }
  }
  return c;
}

}  // namespace smppgw::routing::test
