// Section readers for where messages go: groups of upstreams, routes (MT) and mo_routes, and
// the actions they share. Names are resolved later (crossref.cc), except group members.
#include <algorithm>
#include <cstdint>

#include "config/load_internal.h"
#include "config/regex.h"

namespace smppgw::config::detail {

// An action object {"group": NAME} or {"reject": STATUS}; references resolved later.
std::optional<Action> readAction(LoadState& st, const json* j, const std::string& path) {
  Obj o(st.d, j, path);
  if (!o.present()) {
    return std::nullopt;
  }
  const json* group = o.take("group");
  const json* reject = o.take("reject");
  o.finish();
  Action a;
  if ((group != nullptr) == (reject != nullptr)) {
    st.d.error(path, "needs exactly one of \"group\" or \"reject\"");
    return std::nullopt;
  }
  if (group != nullptr) {
    a.kind = Action::Kind::Group;
    auto g = asString(st.d, *group, at(path, "group"));
    if (!g) {
      return std::nullopt;
    }
    a.group_name = *g;
    st.pending_actions.push_back({at(path, "group"), a.group_name});
    return a;
  }
  a.kind = Action::Kind::Reject;
  auto s = asStatus(st.d, *reject, at(path, "reject"));
  if (!s) {
    return std::nullopt;
  }
  if (*s == 0) {
    st.d.error(at(path, "reject"), "must not be 0 (ESME_ROK is not a rejection)");
    return std::nullopt;
  }
  a.status = *s;
  return a;
}

void readGroups(LoadState& st, Obj& r) {
  forEach(st.d, r.take("groups"), "groups", [&](const json& e, const std::string& p, std::size_t) {
    Obj o(st.d, &e, p);
    if (!o.present()) {
      return;
    }
    Group g;
    readName(o, g.name);
    o.oneOf<GroupStrategy>("strategy", g.strategy,
                           {{"failover", GroupStrategy::Failover},
                            {"round_robin", GroupStrategy::RoundRobin},
                            {"weighted", GroupStrategy::Weighted},
                            {"least_outstanding", GroupStrategy::LeastOutstanding}});
    const json* members = o.take("members", true);
    bool weightGiven = false;
    bool priorityGiven = false;
    forEach(st.d, members, o.path("members"),
            [&](const json& me, const std::string& mp, std::size_t) {
              Obj m(st.d, &me, mp);
              if (!m.present()) {
                return;
              }
              GroupMember gm;
              m.str("upstream", gm.upstream_name, true);
              priorityGiven = priorityGiven || m.take("priority") != nullptr;
              weightGiven = weightGiven || m.take("weight") != nullptr;
              m.uint("priority", gm.priority);
              m.uint("weight", gm.weight);
              m.finish();
              if (gm.weight == 0 && g.strategy != GroupStrategy::Weighted) {
                st.d.error(m.path("weight"),
                           "0 is only meaningful in weighted groups (it drains the member)");
                gm.weight = 1;
              }
              if (!gm.upstream_name.empty()) {
                if (auto id = resolveUpstream(st, gm.upstream_name, m.path("upstream"))) {
                  gm.upstream = *id;
                }
              }
              g.members.push_back(std::move(gm));
            });
    if (members != nullptr && members->is_array() && members->empty()) {
      st.d.error(o.path("members"), "empty group: it can never deliver");
    }
    // (Above the number of members: the "try later" statuses go to the best member again.)
    o.uint("max_attempts", g.max_attempts);
    if (const json* rs = o.take("retry_statuses")) {
      g.retry_statuses.clear();
      forEach(st.d, rs, o.path("retry_statuses"),
              [&](const json& v, const std::string& vp, std::size_t) {
                if (auto s = asStatus(st.d, v, vp)) {
                  g.retry_statuses.push_back(*s);
                }
              });
    }
    o.finish();
    // Duplicate members.
    for (std::size_t a = 0; a < g.members.size(); ++a) {
      for (std::size_t b = 0; b < a; ++b) {
        if (!g.members[a].upstream_name.empty() &&
            g.members[a].upstream_name == g.members[b].upstream_name) {
          st.d.error(at(at(o.path("members"), a), "upstream"),
                     "duplicate member " + quote(g.members[a].upstream_name) + " (also " +
                         at(o.path("members"), b) + ")");
          break;
        }
      }
    }
    if (g.strategy == GroupStrategy::Weighted && !g.members.empty() &&
        std::all_of(g.members.begin(), g.members.end(),
                    [](const GroupMember& m) { return m.weight == 0; })) {
      st.d.error(o.path("members"), "every weight is 0: the group can never deliver");
    }
    if (g.strategy == GroupStrategy::RoundRobin && (weightGiven || priorityGiven)) {
      st.d.warn(o.path("strategy"), "round_robin ignores member priority and weight");
    }
    if (g.strategy == GroupStrategy::Weighted && priorityGiven) {
      st.d.warn(o.path("strategy"), "weighted ignores member priority (use failover for tiers)");
    }
    st.c.groups.push_back(std::move(g));
    st.src.groups.push_back(p);
  });
}

namespace {

void readPrefixList(LoadState& st, Obj& o, std::string_view key, std::vector<std::string>& out,
                    std::string_view what, bool warnLeadingZero) {
  out = o.strings(
      key, [&](std::string& s, const std::string& p) { return digitsPrefix(st.d, s, p, what); });
  const std::string path = o.path(key);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (warnLeadingZero && st.c.numbering.enabled && out[i][0] == '0') {
      st.d.warn(at(path, i), quote(out[i]) +
                                 " starts with 0: destinations are matched in international "
                                 "(E.164) form after numbering, e.g. \"44...\"");
    }
    for (std::size_t k = 0; k < out.size(); ++k) {
      if (k == i) {
        continue;
      }
      if (out[k] == out[i] && k < i) {
        st.d.warn(at(path, i), "duplicate prefix " + quote(out[i]));
        break;
      }
      if (out[k] != out[i] && out[i].rfind(out[k], 0) == 0) {
        st.d.warn(at(path, i), quote(out[i]) + " is already covered by " + quote(out[k]));
        break;
      }
    }
  }
}

}  // namespace

void readRoutes(LoadState& st, Obj& r) {
  const json* j = r.take("routes");
  if (j == nullptr || (j->is_array() && j->empty())) {
    st.d.warn("routes",
              "no routes: every message is rejected unless its customer has a "
              "default_route");
  }
  forEach(st.d, j, "routes", [&](const json& e, const std::string& p, std::size_t idx) {
    const std::size_t errorsBefore = st.d.errors.size();
    Obj o(st.d, &e, p);
    if (!o.present()) {
      return;
    }
    Route rt;
    if (o.take("name") != nullptr) {
      readName(o, rt.name);
    } else {
      rt.name = "route-" + std::to_string(idx);
    }
    {
      Obj m(st.d, o.take("match"), o.path("match"));
      auto& mt = rt.match;
      mt.customers = m.strings("customers");
      mt.customer_tags = m.strings("customer_tags");
      mt.listeners = m.strings("listeners");
      readPrefixList(st, m, "destination_prefixes", mt.destination_prefixes, "destination prefix",
                     true);
      mt.source_prefixes = m.strings("source_prefixes", [&](std::string& s, const std::string& sp) {
        if (s.empty() || s.size() > 20) {
          st.d.error(sp, "must be 1-20 characters, got " + quote(s));
          return false;
        }
        if (s.size() > 1 && s[0] == '+' && isDigits(std::string_view(s).substr(1))) {
          s.erase(0, 1);  // numeric sources are matched after normalisation (no '+')
        }
        return true;
      });
      if (auto rx = m.str("source_regex", false, 256)) {
        std::string why;
        if (Regex::compile(*rx, &why)) {
          mt.source_regex = *rx;
        } else {
          st.d.error(m.path("source_regex"),
                     "invalid regular expression " + quote(*rx) + ": " + why);
        }
      }
      mt.service_types =
          m.strings("service_types", [&](const std::string& s, const std::string& sp) {
            if (s.size() > 5) {
              st.d.error(sp, "longer than 5 characters (SMPP limit), got " + quote(s));
              return false;
            }
            return true;
          });
      forEach(st.d, m.take("data_coding"), m.path("data_coding"),
              [&](const json& v, const std::string& vp, std::size_t) {
                if (auto b = asByte(st.d, v, vp)) {
                  mt.data_codings.push_back(*b);
                }
              });
      if (const json* esm = m.take("esm_class")) {
        if (esm->is_object()) {
          Obj eo(st.d, esm, m.path("esm_class"));
          EsmClassMatch em;
          if (const json* v = eo.take("mask", true)) {
            em.mask = asByte(st.d, *v, eo.path("mask")).value_or(0xFF);
          }
          if (const json* v = eo.take("value", true)) {
            em.value = asByte(st.d, *v, eo.path("value")).value_or(0);
          }
          eo.finish();
          if ((em.value & ~em.mask) != 0) {
            st.d.error(eo.path("value"), "has bits outside mask: the route can never match");
          }
          mt.esm_class = em;
        } else if (auto b = asByte(st.d, *esm, m.path("esm_class"))) {
          mt.esm_class = EsmClassMatch{0xFF, *b};
        }
      }
      m.finish();
      mt.any_customer = mt.customers.empty() && mt.customer_tags.empty();
    }
    if (const json* a = o.take("action", true)) {
      if (auto act = readAction(st, a, o.path("action"))) {
        rt.action = *act;
      }
    }
    AckMode ack{};
    if (o.oneOf<AckMode>("ack_mode", ack,
                         {{"transparent", AckMode::Transparent},
                          {"store_and_forward", AckMode::StoreAndForward}})) {
      rt.ack_mode = ack;
    }
    o.finish();
    st.c.routes.push_back(std::move(rt));
    st.src.routes.push_back(p);
    // A route with errors is left out of cross checks: its parsed form is not what was meant.
    st.route_broken.push_back(st.d.errors.size() != errorsBefore);
  });
}

void readMoRoutes(LoadState& st, Obj& r) {
  forEach(st.d, r.take("mo_routes"), "mo_routes",
          [&](const json& e, const std::string& p, std::size_t idx) {
            const std::size_t errorsBefore = st.d.errors.size();
            Obj o(st.d, &e, p);
            if (!o.present()) {
              return;
            }
            MoRoute mr;
            if (o.take("name") != nullptr) {
              readName(o, mr.name);
            } else {
              mr.name = "mo-route-" + std::to_string(idx);
            }
            {
              Obj m(st.d, o.take("match"), o.path("match"));
              mr.match.upstreams = m.strings("upstreams");
              readPrefixList(st, m, "destination_prefixes", mr.match.destination_prefixes,
                             "destination prefix", false);
              mr.match.destinations =
                  m.strings("destinations", [&](std::string& s, const std::string& sp) {
                    return digitsPrefix(st.d, s, sp, "destination");
                  });
              mr.match.source_prefixes =
                  m.strings("source_prefixes", [&](std::string& s, const std::string& sp) {
                    return digitsPrefix(st.d, s, sp, "source prefix");
                  });
              m.finish();
            }
            {
              Obj a(st.d, o.take("action", true), o.path("action"));
              const json* cust = a.take("customer");
              const json* rej = a.take("reject");
              a.finish();
              if (a.present()) {
                if ((cust != nullptr) == (rej != nullptr)) {
                  st.d.error(a.path(), "needs exactly one of \"customer\" or \"reject\"");
                } else if (cust != nullptr) {
                  if (auto s = asString(st.d, *cust, a.path("customer"))) {
                    mr.customer_name = *s;
                  }
                } else if (auto s = asStatus(st.d, *rej, a.path("reject"))) {
                  if (*s == 0) {
                    st.d.error(a.path("reject"), "must not be 0 (ESME_ROK is not a rejection)");
                  }
                  mr.reject = true;
                  mr.status = *s;
                }
              }
            }
            o.finish();
            st.c.mo_routes.push_back(std::move(mr));
            st.src.mo_routes.push_back(p);
            st.mo_broken.push_back(st.d.errors.size() != errorsBefore);
          });
}

}  // namespace smppgw::config::detail
