// Shadowing analysis: a route (or mo_route) that every message it could match reaches only
// after an earlier one has taken it. The same action is a warning, a different one an error.
#include <algorithm>
#include <unordered_map>

#include "config/load_internal.h"

namespace smppgw::config::detail {

namespace {

bool prefixesCover(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
  if (outer.empty()) {
    return true;
  }
  if (inner.empty()) {
    return false;
  }
  return std::all_of(inner.begin(), inner.end(), [&](const std::string& p) {
    return std::any_of(outer.begin(), outer.end(),
                       [&](const std::string& q) { return p.rfind(q, 0) == 0; });
  });
}

template <typename T>
bool setCovers(std::vector<T> outer, std::vector<T> inner) {
  if (outer.empty()) {
    return true;
  }
  if (inner.empty()) {
    return false;
  }
  std::sort(outer.begin(), outer.end());
  std::sort(inner.begin(), inner.end());
  return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

// True when every message `inner` can match is matched by `outer`.
bool routeCovers(const LoadState& st, const RouteMatch& outer, const RouteMatch& inner) {
  if (!outer.any_customer) {
    if (inner.any_customer) {
      if (outer.customer_ids.size() != st.c.customers.size()) {
        return false;
      }
    } else if (!std::includes(outer.customer_ids.begin(), outer.customer_ids.end(),
                              inner.customer_ids.begin(), inner.customer_ids.end())) {
      return false;
    }
  }
  if (!outer.listener_ids.empty()) {
    if (inner.listener_ids.empty()
            ? outer.listener_ids.size() != st.c.listeners.size()
            : !std::includes(outer.listener_ids.begin(), outer.listener_ids.end(),
                             inner.listener_ids.begin(), inner.listener_ids.end())) {
      return false;
    }
  }
  if (!prefixesCover(outer.destination_prefixes, inner.destination_prefixes) ||
      !prefixesCover(outer.source_prefixes, inner.source_prefixes)) {
    return false;
  }
  if (!outer.source_regex.empty() && outer.source_regex != inner.source_regex) {
    return false;
  }
  if (!setCovers(outer.service_types, inner.service_types) ||
      !setCovers(outer.data_codings, inner.data_codings)) {
    return false;
  }
  if (outer.esm_class) {
    if (!inner.esm_class) {
      return outer.esm_class->mask == 0;
    }
    const auto& o = *outer.esm_class;
    const auto& n = *inner.esm_class;
    if ((o.mask & ~n.mask) != 0 || (n.value & o.mask) != o.value) {
      return false;
    }
  }
  return true;
}

bool sameAction(const Action& a, const Action& b) {
  return a.kind == b.kind &&
         (a.kind == Action::Kind::Group ? a.group_name == b.group_name : a.status == b.status);
}

}  // namespace

void checkShadowedRoutes(LoadState& st) {
  // Candidates that can cover route j: routes with a destination prefix that is a prefix of
  // j's first one, plus routes without destination constraint. Keeps this near-linear.
  std::unordered_map<std::string, std::vector<std::size_t>> byPrefix;
  std::vector<std::size_t> noDestination;
  for (std::size_t j = 0; j < st.c.routes.size(); ++j) {
    const auto& rj = st.c.routes[j];
    if (st.route_broken[j]) {
      continue;
    }
    const bool matchesNobody = !rj.match.any_customer && rj.match.customer_ids.empty();
    if (!matchesNobody) {
      std::vector<std::size_t> candidates = noDestination;
      if (!rj.match.destination_prefixes.empty()) {
        const auto& p0 = rj.match.destination_prefixes.front();
        for (std::size_t len = 1; len <= p0.size(); ++len) {
          auto it = byPrefix.find(p0.substr(0, len));
          if (it != byPrefix.end()) {
            candidates.insert(candidates.end(), it->second.begin(), it->second.end());
          }
        }
      }
      std::sort(candidates.begin(), candidates.end());
      candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
      for (std::size_t i : candidates) {
        const auto& ri = st.c.routes[i];
        if (!routeCovers(st, ri.match, rj.match)) {
          continue;
        }
        std::string msg = "never matches: every message it could match is taken first by " +
                          st.src.routes[i] + " (" + quote(ri.name) + ")";
        if (sameAction(ri.action, rj.action) && ri.ack_mode == rj.ack_mode) {
          st.d.warn(st.src.routes[j], msg + ", which does the same: remove it");
        } else {
          st.d.error(st.src.routes[j], msg + ", which has a different action");
        }
        break;
      }
    }
    if (rj.match.destination_prefixes.empty()) {
      noDestination.push_back(j);
    } else {
      for (const auto& p : rj.match.destination_prefixes) {
        auto& v = byPrefix[p];
        if (v.empty() || v.back() != j) {
          v.push_back(j);
        }
      }
    }
  }
}

namespace {

bool moCovers(const LoadState& st, const MoRouteMatch& outer, const MoRouteMatch& inner) {
  if (!outer.upstream_ids.empty() &&
      (inner.upstream_ids.empty() ? outer.upstream_ids.size() != st.c.upstreams.size()
                                  : !setCovers(outer.upstream_ids, inner.upstream_ids))) {
    return false;
  }
  const bool outerAnyDest = outer.destination_prefixes.empty() && outer.destinations.empty();
  if (!outerAnyDest) {
    if (inner.destination_prefixes.empty() && inner.destinations.empty()) {
      return false;
    }
    for (const auto& p : inner.destination_prefixes) {
      if (!prefixesCover(outer.destination_prefixes, {p}) || outer.destination_prefixes.empty()) {
        return false;
      }
    }
    for (const auto& d : inner.destinations) {
      const bool exact = std::find(outer.destinations.begin(), outer.destinations.end(), d) !=
                         outer.destinations.end();
      if (!exact &&
          (outer.destination_prefixes.empty() || !prefixesCover(outer.destination_prefixes, {d}))) {
        return false;
      }
    }
  }
  return prefixesCover(outer.source_prefixes, inner.source_prefixes);
}

}  // namespace

void checkShadowedMoRoutes(LoadState& st) {
  for (std::size_t j = 0; j < st.c.mo_routes.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      const auto& ri = st.c.mo_routes[i];
      const auto& rj = st.c.mo_routes[j];
      if (st.mo_broken[i] || st.mo_broken[j] || !moCovers(st, ri.match, rj.match)) {
        continue;
      }
      std::string msg = "never matches: every message it could match is taken first by " +
                        st.src.mo_routes[i] + " (" + quote(ri.name) + ")";
      const bool same = ri.reject == rj.reject &&
                        (ri.reject ? ri.status == rj.status : ri.customer == rj.customer);
      if (same) {
        st.d.warn(st.src.mo_routes[j], msg + ", which does the same: remove it");
      } else {
        st.d.error(st.src.mo_routes[j], msg + ", which has a different action");
      }
      break;
    }
  }
}

}  // namespace smppgw::config::detail
