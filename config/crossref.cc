// Cross-reference checks: names that sections give each other (groups, customers, upstreams,
// listeners) resolved to ids, duplicates, entities nothing uses, and limits that only make sense
// together.
#include <algorithm>
#include <unordered_map>

#include "config/load_internal.h"

namespace smppgw::config::detail {

namespace {

std::string knownNames(const std::vector<std::string_view>& names) {
  return "(known: " + joinNames(names) + ")";
}

template <typename Vec, typename Get>
std::vector<std::string_view> namesOf(const Vec& v, Get get) {
  std::vector<std::string_view> out;
  for (const auto& e : v) {
    if (!get(e).empty()) {
      out.push_back(get(e));
    }
  }
  return out;
}

std::optional<GroupId> resolveGroup(LoadState& st, const std::string& name,
                                    const std::string& path) {
  if (auto id = st.c.findGroup(name)) {
    return id;
  }
  st.d.error(path, "unknown group " + quote(name) + " " +
                       knownNames(namesOf(st.c.groups, [](const Group& g) -> const std::string& {
                         return g.name;
                       })));
  return std::nullopt;
}

std::optional<CustomerId> resolveCustomer(LoadState& st, const std::string& name,
                                          const std::string& path) {
  if (auto id = st.c.findCustomer(name)) {
    return id;
  }
  st.d.error(path,
             "unknown customer " + quote(name) + " " +
                 knownNames(namesOf(st.c.customers, [](const Customer& x) -> const std::string& {
                   return x.system_id;
                 })));
  return std::nullopt;
}

}  // namespace

std::optional<UpstreamId> resolveUpstream(LoadState& st, const std::string& name,
                                          const std::string& path) {
  if (auto id = st.c.findUpstream(name)) {
    return id;
  }
  st.d.error(path,
             "unknown upstream " + quote(name) + " " +
                 knownNames(namesOf(st.c.upstreams, [](const Upstream& x) -> const std::string& {
                   return x.name;
                 })));
  return std::nullopt;
}

namespace {

std::optional<ListenerId> resolveListener(LoadState& st, const std::string& name,
                                          const std::string& path) {
  if (auto id = st.c.findListener(name)) {
    return id;
  }
  st.d.error(path,
             "unknown listener " + quote(name) + " " +
                 knownNames(namesOf(st.c.listeners, [](const Listener& x) -> const std::string& {
                   return x.name;
                 })));
  return std::nullopt;
}

// Customers listed by name or by tag; warns about tags nobody carries.
std::vector<CustomerId> resolveWho(LoadState& st, const std::vector<std::string>& names,
                                   const std::vector<std::string>& tags, const std::string& path) {
  std::vector<CustomerId> ids;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (auto id = resolveCustomer(st, names[i], at(at(path, "customers"), i))) {
      ids.push_back(*id);
    }
  }
  for (std::size_t i = 0; i < tags.size(); ++i) {
    bool any = false;
    for (std::size_t k = 0; k < st.c.customers.size(); ++k) {
      if (st.c.customers[k].hasTag(tags[i])) {
        ids.push_back(static_cast<CustomerId>(k));
        any = true;
      }
    }
    if (!any) {
      st.d.warn(at(at(path, "customer_tags"), i), "no customer has tag " + quote(tags[i]));
    }
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

template <typename Vec, typename Get>
void checkDuplicates(Diags& d, const Vec& v, const std::vector<std::string>& paths, Get get,
                     std::string_view key, std::string_view what) {
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string& n = get(v[i]);
    if (n.empty()) {
      continue;
    }
    auto [it, inserted] = seen.emplace(n, i);
    if (!inserted) {
      d.error(at(paths[i], key), "duplicate " + std::string(what) + " " + quote(n) + " (also " +
                                     paths[it->second] + ")");
    }
  }
}

bool wildcard(const std::string& a) {
  return a == "0.0.0.0" || a == "::";
}

bool addressesOverlap(const std::string& a, const std::string& b) {
  return a == b || wildcard(a) || wildcard(b);
}

}  // namespace

void checkListeners(LoadState& st) {
  checkDuplicates(
      st.d, st.c.listeners, st.src.listeners,
      [](const Listener& l) -> const std::string& { return l.name; }, "name", "listener name");
  for (std::size_t i = 0; i < st.c.listeners.size(); ++i) {
    auto& l = st.c.listeners[i];
    for (std::size_t k = 0; k < i; ++k) {
      const auto& o = st.c.listeners[k];
      // Port 0 asks the OS for a free port: never a conflict.
      if (l.port != 0 && o.port == l.port && addressesOverlap(o.address, l.address)) {
        st.d.error(at(st.src.listeners[i], "port"), std::to_string(l.port) + " already used by " +
                                                        st.src.listeners[k] + " (" + quote(o.name) +
                                                        ")");
        break;
      }
    }
    if (st.c.metrics.enabled && l.port != 0 && st.c.metrics.port == l.port &&
        addressesOverlap(st.c.metrics.address, l.address)) {
      st.d.error("metrics.port", std::to_string(l.port) + " already used by " +
                                     st.src.listeners[i] + " (" + quote(l.name) + ")");
    }
    if (!l.all_customers) {
      l.allowed_customer_ids = resolveWho(st, l.customers, l.customer_tags, st.src.listeners[i]);
    }
  }
}

void checkCustomers(LoadState& st) {
  checkDuplicates(
      st.d, st.c.customers, st.src.customers,
      [](const Customer& c) -> const std::string& { return c.system_id; }, "system_id",
      "system_id");
  for (std::size_t i = 0; i < st.c.customers.size(); ++i) {
    auto& c = st.c.customers[i];
    if (c.default_route && c.default_route->kind == Action::Kind::Group) {
      // Resolved here (not through st.pending_actions) to keep the path of this customer.
      if (auto g = st.c.findGroup(c.default_route->group_name)) {
        c.default_route->group = *g;
      }
    }
    bool admitted = false;
    bool mtls = false;  // a listener admitting it verifies client certificates
    for (const auto& l : st.c.listeners) {
      const bool here = l.admits(static_cast<CustomerId>(i));
      admitted = admitted || here;
      mtls = mtls || (here && l.tls.enabled && l.tls.require_client_certificate);
    }
    if (!admitted && !st.c.listeners.empty() && !c.system_id.empty()) {
      st.d.warn(st.src.customers[i], "no listener admits customer " + quote(c.system_id));
    } else if (admitted && !mtls && !c.certificate_names.empty()) {
      st.d.warn(st.src.customers[i],
                "certificate_names is set but no listener admitting customer " +
                    quote(c.system_id) + " requires client certificates: it cannot bind");
    }
  }
}

void checkUpstreams(LoadState& st) {
  checkDuplicates(
      st.d, st.c.upstreams, st.src.upstreams,
      [](const Upstream& u) -> const std::string& { return u.name; }, "name", "upstream name");
}

void checkGroups(LoadState& st) {
  checkDuplicates(
      st.d, st.c.groups, st.src.groups, [](const Group& g) -> const std::string& { return g.name; },
      "name", "group name");
  // Actions (routes and default routes) reference groups by name.
  for (const auto& [path, groupName] : st.pending_actions) {
    resolveGroup(st, groupName, path);
  }
  for (auto& rt : st.c.routes) {
    if (rt.action.kind == Action::Kind::Group) {
      rt.action.group = st.c.findGroup(rt.action.group_name).value_or(kNoId);
    }
  }
}

void checkRoutes(LoadState& st) {
  checkDuplicates(
      st.d, st.c.routes, st.src.routes, [](const Route& r) -> const std::string& { return r.name; },
      "name", "route name");
  for (std::size_t i = 0; i < st.c.routes.size(); ++i) {
    const std::size_t errorsBefore = st.d.errors.size();
    auto& rt = st.c.routes[i];
    auto& m = rt.match;
    const std::string mp = at(st.src.routes[i], "match");
    m.customer_ids = resolveWho(st, m.customers, m.customer_tags, mp);
    if (!m.any_customer && m.customer_ids.empty()) {
      st.d.warn(st.src.routes[i], "matches no customer: the route never applies");
    }
    for (std::size_t k = 0; k < m.listeners.size(); ++k) {
      if (auto id = resolveListener(st, m.listeners[k], at(at(mp, "listeners"), k))) {
        m.listener_ids.push_back(*id);
      }
    }
    std::sort(m.listener_ids.begin(), m.listener_ids.end());
    m.listener_ids.erase(std::unique(m.listener_ids.begin(), m.listener_ids.end()),
                         m.listener_ids.end());
    if (rt.action.kind == Action::Kind::Group && rt.action.group == kNoId) {
      st.route_broken[i] = true;  // unknown group, reported by checkGroups()
    }
    if (st.d.errors.size() != errorsBefore) {
      st.route_broken[i] = true;
    }
  }
}

void checkMoRoutes(LoadState& st) {
  checkDuplicates(
      st.d, st.c.mo_routes, st.src.mo_routes,
      [](const MoRoute& r) -> const std::string& { return r.name; }, "name", "mo_route name");
  for (std::size_t i = 0; i < st.c.mo_routes.size(); ++i) {
    const std::size_t errorsBefore = st.d.errors.size();
    auto& mr = st.c.mo_routes[i];
    const std::string mp = at(st.src.mo_routes[i], "match");
    for (std::size_t k = 0; k < mr.match.upstreams.size(); ++k) {
      if (auto id = resolveUpstream(st, mr.match.upstreams[k], at(at(mp, "upstreams"), k))) {
        mr.match.upstream_ids.push_back(*id);
      }
    }
    std::sort(mr.match.upstream_ids.begin(), mr.match.upstream_ids.end());
    mr.match.upstream_ids.erase(
        std::unique(mr.match.upstream_ids.begin(), mr.match.upstream_ids.end()),
        mr.match.upstream_ids.end());
    if (!mr.reject && !mr.customer_name.empty()) {
      const std::string cp = at(at(st.src.mo_routes[i], "action"), "customer");
      if (auto id = resolveCustomer(st, mr.customer_name, cp)) {
        mr.customer = *id;
        if (!st.c.customers[*id].canReceive()) {
          st.d.error(cp, "customer " + quote(mr.customer_name) +
                             " cannot bind as receiver or transceiver (bind_types)");
        }
      }
    }
    if (st.d.errors.size() != errorsBefore || (!mr.reject && mr.customer == kNoId)) {
      st.mo_broken[i] = true;
    }
  }
}

void checkUsage(LoadState& st) {
  std::vector<bool> groupUsed(st.c.groups.size());
  for (const auto& rt : st.c.routes) {
    if (rt.action.kind == Action::Kind::Group && rt.action.group < groupUsed.size()) {
      groupUsed[rt.action.group] = true;
    }
  }
  for (std::size_t i = 0; i < st.c.customers.size(); ++i) {
    const auto& c = st.c.customers[i];
    if (!c.default_route) {
      continue;
    }
    if (c.default_route->kind == Action::Kind::Group && c.default_route->group < groupUsed.size()) {
      groupUsed[c.default_route->group] = true;
    }
    // A route that takes every message of this customer makes default_route dead.
    for (std::size_t r = 0; r < st.c.routes.size(); ++r) {
      if (st.route_broken[r]) {
        continue;
      }
      const auto& m = st.c.routes[r].match;
      const bool who =
          m.any_customer || std::binary_search(m.customer_ids.begin(), m.customer_ids.end(),
                                               static_cast<CustomerId>(i));
      const bool everything = m.listener_ids.empty() && m.destination_prefixes.empty() &&
                              m.source_prefixes.empty() && m.source_regex.empty() &&
                              m.service_types.empty() && m.data_codings.empty() &&
                              (!m.esm_class || m.esm_class->mask == 0);
      if (who && everything) {
        st.d.warn(at(st.src.customers[i], "default_route"),
                  "never used: " + st.src.routes[r] + " (" + quote(st.c.routes[r].name) +
                      ") matches every message of this customer");
        break;
      }
    }
  }
  for (std::size_t g = 0; g < st.c.groups.size(); ++g) {
    if (!groupUsed[g]) {
      st.d.warn(st.src.groups[g],
                "group " + quote(st.c.groups[g].name) + " is not used by any route");
    }
  }
  std::vector<bool> upstreamUsed(st.c.upstreams.size());
  for (const auto& g : st.c.groups) {
    for (const auto& m : g.members) {
      if (m.upstream < upstreamUsed.size()) {
        upstreamUsed[m.upstream] = true;
      }
    }
  }
  for (std::size_t u = 0; u < st.c.upstreams.size(); ++u) {
    if (!upstreamUsed[u]) {
      st.d.warn(st.src.upstreams[u], "upstream " + quote(st.c.upstreams[u].name) +
                                         " is not a member of any group: it carries no MT traffic");
    }
  }
}

void checkTimers(LoadState& st) {
  const auto& t = st.c.timers;
  if (t.inactivity <= t.enquire_link) {
    st.d.warn("timers.inactivity",
              formatDuration(t.inactivity) + " is not above timers.enquire_link (" +
                  formatDuration(t.enquire_link) + "): idle but healthy sessions will be dropped");
  }
}

void checkAckModes(LoadState& st) {
  if (st.c.store.type == StoreType::Embedded) {
    return;
  }
  const std::string why = "store_and_forward needs store.type \"embedded\" (its queue is on disk)";
  for (std::size_t i = 0; i < st.c.customers.size() && i < st.src.customers.size(); ++i) {
    if (st.c.customers[i].ack_mode == AckMode::StoreAndForward) {
      st.d.error(at(st.src.customers[i], "ack_mode"), why);
    }
  }
  for (std::size_t i = 0; i < st.c.routes.size() && i < st.src.routes.size(); ++i) {
    if (st.c.routes[i].ack_mode == AckMode::StoreAndForward) {
      st.d.error(at(st.src.routes[i], "ack_mode"), why);
    }
  }
  if (st.c.routing.ack_mode == AckMode::StoreAndForward) {
    st.d.error("routing.ack_mode", why);
  }
}

}  // namespace smppgw::config::detail
