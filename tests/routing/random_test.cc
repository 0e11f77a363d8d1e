// The compiled table against a naive linear matcher written from the documented semantics:
// 100,000 random messages over a random 400-rule table, seeded and deterministic.

#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <algorithm>
#include <map>
#include <random>

#include "config/regex.h"
#include "routing/table.h"

using namespace smppgw;
using namespace smppgw::routing;

namespace {

struct Rng {
  std::mt19937_64 engine;
  explicit Rng(std::uint64_t seed) : engine(seed) {}
  std::uint64_t below(std::uint64_t n) { return engine() % n; }
  bool chance(int percent) { return below(100) < static_cast<std::uint64_t>(percent); }
  std::string digits(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      s += static_cast<char>('0' + below(10));
    }
    return s;
  }
};

const std::vector<std::string> kServiceTypes = {"", "CMT", "WAP", "USSD"};
const std::vector<std::uint8_t> kDataCodings = {0, 3, 8, 0xF0, 0xF5};
const std::vector<std::string> kRegexes = {"^A", "9$", "^[0-9]+$", "BANK"};
const std::vector<std::string> kAlphaSenders = {"ACME", "ABANK", "Shop", "A1", "BANKUK"};

config::Config randomConfig(Rng& rng) {
  config::Config c;
  c.numbering.default_country = "44";
  c.numbering.countries = {{"44", "0"}, {"1", "1"}, {"33", "0"}};
  c.listeners.resize(3);
  for (int i = 0; i < 12; ++i) {
    config::Customer cu;
    cu.system_id = "c" + std::to_string(i);
    cu.tags = {i % 3 == 0 ? "t0" : (i % 3 == 1 ? "t1" : "t2")};
    cu.country_code = i % 4 == 0 ? "33" : "";
    if (i % 5 == 0) {
      config::Action a;
      a.kind = config::Action::Kind::Group;
      a.group = 1;
      cu.default_route = a;
    }
    c.customers.push_back(cu);
  }
  c.groups.resize(4);
  for (int r = 0; r < 400; ++r) {
    config::Route rt;
    rt.name = "r" + std::to_string(r);
    auto& m = rt.match;
    if (rng.chance(40)) {
      m.any_customer = false;
      const auto n = 1 + rng.below(3);
      for (std::uint64_t k = 0; k < n; ++k) {
        m.customer_ids.push_back(static_cast<config::CustomerId>(rng.below(12)));
      }
      std::sort(m.customer_ids.begin(), m.customer_ids.end());
      m.customer_ids.erase(std::unique(m.customer_ids.begin(), m.customer_ids.end()),
                           m.customer_ids.end());
    }
    if (rng.chance(10)) {
      m.listener_ids = {static_cast<config::ListenerId>(rng.below(3))};
    }
    if (rng.chance(97)) {
      const auto n = 1 + rng.below(4);
      for (std::uint64_t k = 0; k < n; ++k) {
        // Short prefixes under a few country codes, so rules overlap a lot.
        static const char* cc[] = {"44", "447", "33", "1", "49", "4477"};
        m.destination_prefixes.push_back(cc[rng.below(6)] + rng.digits(rng.below(3)));
      }
    }
    if (rng.chance(10)) {
      m.source_prefixes = {rng.chance(50) ? "447" + rng.digits(1) : "A"};
    }
    if (rng.chance(5)) {
      m.source_regex = kRegexes[rng.below(kRegexes.size())];
    }
    if (rng.chance(10)) {
      m.service_types = {kServiceTypes[rng.below(kServiceTypes.size())]};
    }
    if (rng.chance(10)) {
      m.data_codings = {kDataCodings[rng.below(kDataCodings.size())], 8};
    }
    if (rng.chance(8)) {
      m.esm_class =
          rng.chance(50) ? config::EsmClassMatch{0x40, 0x40} : config::EsmClassMatch{0x3C, 0x00};
    }
    if (m.destination_prefixes.empty() && m.service_types.empty() && m.data_codings.empty() &&
        !m.esm_class) {
      // Keep catch-alls rare and narrow, so every outcome (rule, default, unroutable) stays
      // common: one customer, one service type.
      m.service_types = {kServiceTypes[rng.below(kServiceTypes.size())]};
      m.any_customer = false;
      m.customer_ids = {static_cast<config::CustomerId>(rng.below(12))};
    }
    if (rng.chance(20)) {
      rt.action.kind = config::Action::Kind::Reject;
      rt.action.status = static_cast<std::uint32_t>(1 + rng.below(0x100));
    } else {
      rt.action.kind = config::Action::Kind::Group;
      rt.action.group = static_cast<config::GroupId>(rng.below(4));
    }
    c.routes.push_back(std::move(rt));
  }
  return c;
}

// The reference: rules in order, each condition checked literally.
std::uint32_t naiveRoute(const config::Config& c, const NumberNormaliser& nn, const MtKey& k) {
  const std::string_view country = k.customer < c.customers.size()
                                       ? std::string_view(c.customers[k.customer].country_code)
                                       : std::string_view();
  const Number dest =
      nn.normalise(k.destination_addr, k.destination_ton, k.destination_npi, country);
  const Number src = nn.normalise(k.source_addr, k.source_ton, k.source_npi, country);
  auto startsWith = [](std::string_view s, const std::string& p) {
    return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
  };
  for (std::uint32_t r = 0; r < c.routes.size(); ++r) {
    const auto& m = c.routes[r].match;
    if (!m.any_customer && std::find(m.customer_ids.begin(), m.customer_ids.end(), k.customer) ==
                               m.customer_ids.end()) {
      continue;
    }
    if (!m.listener_ids.empty() && std::find(m.listener_ids.begin(), m.listener_ids.end(),
                                             k.listener) == m.listener_ids.end()) {
      continue;
    }
    if (!m.destination_prefixes.empty() &&
        std::none_of(m.destination_prefixes.begin(), m.destination_prefixes.end(),
                     [&](const std::string& p) { return startsWith(dest.view(), p); })) {
      continue;
    }
    if (!m.source_prefixes.empty() &&
        std::none_of(m.source_prefixes.begin(), m.source_prefixes.end(),
                     [&](const std::string& p) { return startsWith(src.view(), p); })) {
      continue;
    }
    if (!m.source_regex.empty()) {
      static std::map<std::string, config::Regex> compiled;
      auto it = compiled.find(m.source_regex);
      if (it == compiled.end()) {
        it = compiled.emplace(m.source_regex, *config::Regex::compile(m.source_regex)).first;
      }
      if (!it->second.search(src.view())) {
        continue;
      }
    }
    if (!m.service_types.empty() && std::find(m.service_types.begin(), m.service_types.end(),
                                              k.service_type) == m.service_types.end()) {
      continue;
    }
    if (!m.data_codings.empty() && std::find(m.data_codings.begin(), m.data_codings.end(),
                                             k.data_coding) == m.data_codings.end()) {
      continue;
    }
    if (m.esm_class && (k.esm_class & m.esm_class->mask) != m.esm_class->value) {
      continue;
    }
    return r;
  }
  return kNoRule;
}

}  // namespace

TEST_CASE("compiled table equals a naive linear matcher on 100k random messages") {
  Rng rng(20240611);
  const config::Config cfg = randomConfig(rng);
  auto compiled = RoutingTable::compile(cfg);
  REQUIRE(compiled.ok());
  const RoutingTable& t = *compiled.table;
  const NumberNormaliser nn(cfg.numbering);

  std::size_t mismatches = 0;
  std::size_t matched = 0;
  std::size_t viaDefault = 0;
  std::vector<std::string> storage(6);
  for (int i = 0; i < 100000; ++i) {
    MtKey k;
    k.customer = rng.chance(3) ? config::kNoId : static_cast<config::CustomerId>(rng.below(12));
    k.listener = rng.chance(10) ? config::kNoId : static_cast<config::ListenerId>(rng.below(3));
    // Destinations in the forms customers send: E.164, +, 00, national, random.
    static const char* cc[] = {"44", "447", "4477", "33", "1", "49", "7"};
    std::string body = std::string(cc[rng.below(7)]) + rng.digits(rng.below(10));
    switch (rng.below(6)) {
      case 0:
        storage[0] = "+" + body;
        break;
      case 1:
        storage[0] = "00" + body;
        break;
      case 2:
        storage[0] = "0" + rng.digits(1 + rng.below(9));
        break;
      case 3:
        storage[0] = rng.digits(rng.below(16));
        break;
      default:
        storage[0] = body;
        break;
    }
    k.destination_addr = storage[0];
    k.destination_ton = static_cast<std::uint8_t>(rng.below(3));
    if (rng.chance(50)) {
      storage[1] = kAlphaSenders[rng.below(kAlphaSenders.size())];
      k.source_ton = 5;
    } else {
      storage[1] = (rng.chance(50) ? "07" : "447") + rng.digits(rng.below(9));
      k.source_ton = static_cast<std::uint8_t>(rng.below(2));
    }
    k.source_addr = storage[1];
    k.service_type = kServiceTypes[rng.below(kServiceTypes.size())];
    k.data_coding = kDataCodings[rng.below(kDataCodings.size())];
    k.esm_class = static_cast<std::uint8_t>(rng.below(256));

    const std::uint32_t expected = naiveRoute(cfg, nn, k);
    const MtDecision d = t.route(k);
    if (d.rule != expected) {
      ++mismatches;
      if (mismatches < 10) {
        FAIL_CHECK("message " << i << ": table chose " << d.rule << ", linear chose " << expected
                              << " (dest " << k.destination_addr << ", customer " << k.customer
                              << ")");
      }
    }
    if (expected != kNoRule) {
      ++matched;
      CHECK_MESSAGE(d.via == Via::Rule, "message " << i);
    } else {
      const bool hasDefault =
          k.customer < cfg.customers.size() && cfg.customers[k.customer].default_route;
      viaDefault += hasDefault;
      CHECK_MESSAGE(d.via == (hasDefault ? Via::CustomerDefault : Via::Unroutable),
                    "message " << i);
    }
    if (i % 500 == 0) {
      CHECK(t.explain(k).decision.rule == expected);
    }
  }
  CHECK(mismatches == 0);
  // The random mix must exercise both outcomes meaningfully.
  CHECK(matched > 30000);
  CHECK(matched < 97000);
  CHECK(viaDefault > 100);
  MESSAGE("matched " << matched << " of 100000, via default_route " << viaDefault << ", "
                     << t.nodeCount() << " trie nodes, " << t.entryCount() << " entries");
}
