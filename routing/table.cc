#include "routing/table.h"

#include <algorithm>

#include "config/status.h"

namespace smppgw::routing {
namespace {

bool startsWithAny(std::string_view s, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return s.substr(0, p.size()) == p; });
}

std::string joinList(const std::vector<std::string>& v, std::size_t max = 6) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) {
    out += (i == 0 ? "" : ", ") + v[i];
  }
  if (v.size() > max) {
    out += ", ... (" + std::to_string(v.size()) + ")";
  }
  return out;
}

config::AckMode ackModeFor(const config::Config& c, config::CustomerId customer,
                           const config::Route* route) {
  if (route != nullptr && route->ack_mode) {
    return *route->ack_mode;
  }
  if (customer < c.customers.size() && c.customers[customer].ack_mode) {
    return *c.customers[customer].ack_mode;
  }
  return c.routing.ack_mode;
}

}  // namespace

RoutingTable::RoutingTable(Key, std::shared_ptr<const config::Config> config)
    : config_(std::move(config)), numbering_(config_->numbering) {}

CompileResult RoutingTable::compile(const config::Config& config) {
  return compile(std::make_shared<const config::Config>(config));
}

CompileResult RoutingTable::compile(std::shared_ptr<const config::Config> config) {
  CompileResult result;
  if (!config) {
    result.errors.push_back({"", "no configuration", false});
    return result;
  }
  auto t = std::make_shared<RoutingTable>(Key{}, config);
  const auto& c = *config;
  auto error = [&](std::string path, std::string message) {
    result.errors.push_back({std::move(path), std::move(message), false});
  };
  const auto nCustomers = c.customers.size();

  t->customerCountries_.resize(nCustomers, nullptr);
  for (std::size_t i = 0; i < nCustomers; ++i) {
    t->customerCountries_[i] = t->numbering_.country(c.customers[i].country_code);
  }
  t->globalRoot_ = t->trie_.addRoot();
  t->customerRoots_.assign(nCustomers, -1);
  t->residuals_.resize(c.routes.size());

  auto digitsOnly = [](const std::string& p) {
    return std::all_of(p.begin(), p.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  };

  for (std::size_t r = 0; r < c.routes.size(); ++r) {
    const auto& route = c.routes[r];
    const auto& m = route.match;
    const std::string path = "routes[" + std::to_string(r) + "]";
    if (route.action.kind == config::Action::Kind::Group && route.action.group >= c.groups.size()) {
      error(path + ".action.group", "group id out of range");
      continue;
    }
    Residual& res = t->residuals_[r];
    res.listeners = m.listener_ids;
    std::sort(res.listeners.begin(), res.listeners.end());
    res.source_prefixes = m.source_prefixes;
    if (!m.source_regex.empty()) {
      std::string why;
      res.source_regex = config::Regex::compile(m.source_regex, &why);
      if (!res.source_regex) {
        error(path + ".match.source_regex", "invalid regular expression: " + why);
        continue;
      }
    }
    res.service_types = m.service_types;
    res.any_data_coding = m.data_codings.empty();
    for (auto dc : m.data_codings) {
      res.data_coding_bits[dc >> 6] |= std::uint64_t{1} << (dc & 63);
    }
    if (m.esm_class) {
      res.esm_mask = m.esm_class->mask;
      res.esm_value = m.esm_class->value;
    }
    res.trivial = res.listeners.empty() && res.source_prefixes.empty() && !res.source_regex &&
                  res.service_types.empty() && res.any_data_coding && res.esm_mask == 0 &&
                  res.esm_value == 0;

    bool bad = false;
    for (const auto& p : m.destination_prefixes) {
      if (!digitsOnly(p)) {
        error(path + ".match.destination_prefixes", "not digits: \"" + p + "\"");
        bad = true;
      }
    }
    if (bad) {
      continue;
    }
    auto index = [&](PrefixTrie::Root root) {
      if (m.destination_prefixes.empty()) {
        t->trie_.insert(root, {}, static_cast<PrefixTrie::Value>(r));
      }
      for (const auto& p : m.destination_prefixes) {
        t->trie_.insert(root, p, static_cast<PrefixTrie::Value>(r));
      }
    };
    if (m.any_customer) {
      index(t->globalRoot_);
    } else {
      for (auto id : m.customer_ids) {
        if (id >= nCustomers) {
          error(path + ".match.customers", "customer id out of range");
          continue;
        }
        if (t->customerRoots_[id] < 0) {
          t->customerRoots_[id] = static_cast<std::int32_t>(t->trie_.addRoot());
        }
        index(static_cast<PrefixTrie::Root>(t->customerRoots_[id]));
      }
    }
  }
  for (std::size_t i = 0; i < nCustomers; ++i) {
    const auto& dr = c.customers[i].default_route;
    if (dr && dr->kind == config::Action::Kind::Group && dr->group >= c.groups.size()) {
      error("customers[" + std::to_string(i) + "].default_route.group", "group id out of range");
    }
  }

  t->moRoot_ = t->trie_.addRoot();
  t->moResiduals_.resize(c.mo_routes.size());
  for (std::size_t r = 0; r < c.mo_routes.size(); ++r) {
    const auto& mr = c.mo_routes[r];
    const std::string path = "mo_routes[" + std::to_string(r) + "]";
    if (!mr.reject && mr.customer >= nCustomers) {
      error(path + ".action.customer", "customer id out of range");
      continue;
    }
    auto& res = t->moResiduals_[r];
    res.upstreams = mr.match.upstream_ids;
    std::sort(res.upstreams.begin(), res.upstreams.end());
    res.source_prefixes = mr.match.source_prefixes;
    const auto v = static_cast<PrefixTrie::Value>(r);
    if (mr.match.destination_prefixes.empty() && mr.match.destinations.empty()) {
      t->trie_.insert(t->moRoot_, {}, v);
    }
    for (const auto& p : mr.match.destination_prefixes) {
      if (digitsOnly(p)) {
        t->trie_.insert(t->moRoot_, p, v);
      } else {
        error(path + ".match.destination_prefixes", "not digits: \"" + p + "\"");
      }
    }
    for (const auto& d : mr.match.destinations) {
      if (digitsOnly(d)) {
        t->trie_.insert(t->moRoot_, d, v | kExactBit);
      } else {
        error(path + ".match.destinations", "not digits: \"" + d + "\"");
      }
    }
  }
  if (!result.errors.empty()) {
    return result;
  }
  t->trivialResidual_.reserve(t->residuals_.size());
  for (const auto& r : t->residuals_) {
    t->trivialResidual_.push_back(r.trivial ? 1 : 0);
  }
  t->trie_.finalize();
  result.table = std::move(t);
  return result;
}

const config::CountryNumbering* RoutingTable::customerCountry(config::CustomerId id) const {
  return id < customerCountries_.size() ? customerCountries_[id] : nullptr;
}

Number RoutingTable::normaliseDestination(const MtKey& k) const {
  return numbering_.normalise(k.destination_addr, k.destination_ton, k.destination_npi,
                              customerCountry(k.customer));
}

Number RoutingTable::normaliseSource(std::string_view addr, std::uint8_t ton, std::uint8_t npi,
                                     const config::CountryNumbering* country) const {
  if (numbering_.normaliseSource()) {
    return numbering_.normalise(addr, ton, npi, country);
  }
  Number n;
  const std::size_t len = std::min(addr.size(), Number::kCapacity);
  std::copy_n(addr.data(), len, n.chars.data());
  n.length = static_cast<std::uint8_t>(len);
  n.ton = ton;
  n.npi = npi;
  return n;
}

bool RoutingTable::residualPasses(const Residual& r, const MtKey& k,
                                  std::string_view source) const {
  if (r.trivial) {
    return true;
  }
  if (!r.listeners.empty() &&
      !std::binary_search(r.listeners.begin(), r.listeners.end(), k.listener)) {
    return false;
  }
  if ((k.esm_class & r.esm_mask) != r.esm_value) {
    return false;
  }
  if (!r.any_data_coding && !(r.data_coding_bits[k.data_coding >> 6] >> (k.data_coding & 63) & 1)) {
    return false;
  }
  if (!r.service_types.empty() && std::find(r.service_types.begin(), r.service_types.end(),
                                            k.service_type) == r.service_types.end()) {
    return false;
  }
  if (!r.source_prefixes.empty() && !startsWithAny(source, r.source_prefixes)) {
    return false;
  }
  if (r.source_regex && !r.source_regex->search(source)) {
    return false;
  }
  return true;
}

void RoutingTable::finishDecision(MtDecision& d, const MtKey& k, std::uint32_t rule) const {
  const auto& c = *config_;
  if (rule != kNoRule) {
    const auto& route = c.routes[rule];
    d.via = Via::Rule;
    d.rule = rule;
    d.rule_name = route.name;
    d.action = route.action.kind;
    d.group = route.action.group;
    d.status = route.action.status;
    d.ack_mode = ackModeFor(c, k.customer, &route);
    return;
  }
  if (k.customer < c.customers.size() && c.customers[k.customer].default_route) {
    const auto& a = *c.customers[k.customer].default_route;
    d.via = Via::CustomerDefault;
    d.rule_name = "default_route";
    d.action = a.kind;
    d.group = a.group;
    d.status = a.status;
    d.ack_mode = ackModeFor(c, k.customer, nullptr);
    return;
  }
  d.via = Via::Unroutable;
  d.rule_name = "unroutable";
  d.action = config::Action::Kind::Reject;
  d.status = c.routing.unroutable_status;
  d.ack_mode = ackModeFor(c, k.customer, nullptr);
}

MtDecision RoutingTable::route(const MtKey& k) const {
  MtDecision d;
  const auto* country = customerCountry(k.customer);
  d.destination =
      numbering_.normalise(k.destination_addr, k.destination_ton, k.destination_npi, country);
  // The source is normalised only when a rule with conditions beyond the prefix is tried: most
  // tables route on the destination alone, and this is a per-message cost.
  bool have_source = false;
  auto source = [&]() {
    if (!have_source) {
      d.source = normaliseSource(k.source_addr, k.source_ton, k.source_npi, country);
      have_source = true;
    }
    return d.source.view();
  };
  std::uint32_t best = kNoRule;
  auto visit = [&](std::size_t, std::span<const PrefixTrie::Value> v) {
    for (auto rule : v) {
      if (rule >= best) {
        break;  // ascending: nothing later in this list can win
      }
      if (trivialResidual_[rule] != 0 || residualPasses(residuals_[rule], k, source())) {
        best = rule;
        break;
      }
    }
  };
  if (k.customer < customerRoots_.size() && customerRoots_[k.customer] >= 0) {
    trie_.walkBoth(static_cast<PrefixTrie::Root>(customerRoots_[k.customer]), globalRoot_,
                   d.destination.view(), visit);
  } else {
    trie_.walk(globalRoot_, d.destination.view(), visit);
  }
  finishDecision(d, k, best);
  return d;
}

MoDecision RoutingTable::routeMo(const MoKey& k) const {
  MoDecision d;
  d.destination = numbering_.normalise(k.destination_addr, k.destination_ton, k.destination_npi,
                                       static_cast<const config::CountryNumbering*>(nullptr));
  d.source = normaliseSource(k.source_addr, k.source_ton, k.source_npi, nullptr);
  const std::string_view dest = d.destination.view();
  const std::string_view source = d.source.view();
  std::uint32_t best = kNoRule;
  trie_.walk(moRoot_, dest, [&](std::size_t depth, std::span<const PrefixTrie::Value> v) {
    for (auto entry : v) {
      const std::uint32_t rule = entry & ~kExactBit;
      if (rule >= best) {
        continue;  // exact and prefix entries interleave: keep scanning
      }
      if ((entry & kExactBit) != 0 && depth != dest.size()) {
        continue;
      }
      const auto& res = moResiduals_[rule];
      if (!res.upstreams.empty() &&
          !std::binary_search(res.upstreams.begin(), res.upstreams.end(), k.upstream)) {
        continue;
      }
      if (!res.source_prefixes.empty() && !startsWithAny(source, res.source_prefixes)) {
        continue;
      }
      best = rule;
    }
  });
  const auto& c = *config_;
  if (best == kNoRule) {
    d.via = Via::Unroutable;
    d.rule_name = "unroutable";
    d.status = c.routing.mo_unroutable_status;
    return d;
  }
  const auto& mr = c.mo_routes[best];
  d.via = Via::Rule;
  d.rule = best;
  d.rule_name = mr.name;
  if (mr.reject) {
    d.status = mr.status;
  } else {
    d.customer = mr.customer;
  }
  return d;
}

MtExplanation RoutingTable::explain(const MtKey& k) const {
  MtExplanation ex;
  const auto& c = *config_;
  MtDecision& d = ex.decision;
  const auto* country = customerCountry(k.customer);
  d.destination =
      numbering_.normalise(k.destination_addr, k.destination_ton, k.destination_npi, country);
  d.source = normaliseSource(k.source_addr, k.source_ton, k.source_npi, country);
  const std::string_view dest = d.destination.view();
  const std::string_view source = d.source.view();
  std::uint32_t found = kNoRule;
  for (std::uint32_t r = 0; r < c.routes.size() && found == kNoRule; ++r) {
    const auto& m = c.routes[r].match;
    RuleVerdict v;
    v.rule = r;
    const std::string customerName =
        k.customer < c.customers.size() ? c.customers[k.customer].system_id : "(unknown)";
    if (!m.any_customer &&
        !std::binary_search(m.customer_ids.begin(), m.customer_ids.end(), k.customer)) {
      v.reason = "customer " + customerName + " is not in customers [" + joinList(m.customers) +
                 "] and has none of the tags [" + joinList(m.customer_tags) + "]";
    } else if (!m.listener_ids.empty() && std::find(m.listener_ids.begin(), m.listener_ids.end(),
                                                    k.listener) == m.listener_ids.end()) {
      v.reason = "listener " +
                 (k.listener < c.listeners.size() ? c.listeners[k.listener].name
                                                  : std::string("(not given)")) +
                 " is not in [" + joinList(m.listeners) + "]";
    } else if (!m.destination_prefixes.empty() && !startsWithAny(dest, m.destination_prefixes)) {
      v.reason = "destination \"" + std::string(dest) + "\" has none of the prefixes [" +
                 joinList(m.destination_prefixes) + "]";
    } else if (!m.source_prefixes.empty() && !startsWithAny(source, m.source_prefixes)) {
      v.reason = "source \"" + std::string(source) + "\" has none of the prefixes [" +
                 joinList(m.source_prefixes) + "]";
    } else if (residuals_[r].source_regex && !residuals_[r].source_regex->search(source)) {
      v.reason = "source \"" + std::string(source) + "\" does not match /" + m.source_regex + "/";
    } else if (!m.service_types.empty() && std::find(m.service_types.begin(), m.service_types.end(),
                                                     k.service_type) == m.service_types.end()) {
      v.reason = "service_type \"" + std::string(k.service_type) + "\" is not in [" +
                 joinList(m.service_types) + "]";
    } else if (!m.data_codings.empty() && std::find(m.data_codings.begin(), m.data_codings.end(),
                                                    k.data_coding) == m.data_codings.end()) {
      v.reason = "data_coding " + std::to_string(k.data_coding) + " is not listed";
    } else if (m.esm_class && (k.esm_class & m.esm_class->mask) != m.esm_class->value) {
      v.reason = "esm_class " + std::to_string(k.esm_class) + " & " +
                 std::to_string(m.esm_class->mask) + " != " + std::to_string(m.esm_class->value);
    } else {
      v.matched = true;
      found = r;
    }
    ex.rules.push_back(std::move(v));
  }
  finishDecision(d, k, found);
  return ex;
}

}  // namespace smppgw::routing
