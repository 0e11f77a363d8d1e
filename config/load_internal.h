#pragma once
// The loader's stages (internal to config/; load.cc runs them in order):
//   section readers   fill the model from the document, one block at a time
//                     (sections_settings.cc, sections_peers.cc, sections_routing.cc);
//   cross references  resolve the names sections give each other and check what only the
//                     whole document shows: duplicates, dangling names, unused entities
//                     (crossref.cc);
//   shadowing         finds routes and mo_routes that can never match (shadowing.cc).
// Every stage reports into the same Diags, in the order load.cc calls it: the order of the
// messages is part of the output (check-config, tests/config/cases).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace smppgw::config::detail {

// Where each entity came from ("routes[3]"), parallel to the model's vectors.
struct Sources {
  std::vector<std::string> listeners, customers, upstreams, groups, routes, mo_routes;
};

// What the stages share while one document loads.
struct LoadState {
  LoadState(Diags& diags, Config& config) : d(diags), c(config) {}

  Diags& d;
  Config& c;
  Sources src;
  std::vector<std::pair<std::string, std::string>> pending_actions;  // (path, group name)
  // Per route / mo_route: it had errors, so its parsed form is not what was meant and cross
  // checks leave it out.
  std::vector<bool> route_broken;
  std::vector<bool> mo_broken;
};

// -- section readers, in document order; `r` is the root object ----------------------------------

void readGateway(LoadState& st, Obj& r);
void readTimers(LoadState& st, Obj& r);
void readLimits(LoadState& st, Obj& r);
void readAuth(LoadState& st, Obj& r);
void readNumbering(LoadState& st, Obj& r);
void readRouting(LoadState& st, Obj& r);
void readListeners(LoadState& st, Obj& r);
void readCustomers(LoadState& st, Obj& r);
void readUpstreams(LoadState& st, Obj& r);
void readGroups(LoadState& st, Obj& r);
void readRoutes(LoadState& st, Obj& r);
void readMoRoutes(LoadState& st, Obj& r);
void readStore(LoadState& st, Obj& r);
void readMetrics(LoadState& st, Obj& r);
void readLog(LoadState& st, Obj& r);

// An action object {"group": NAME} or {"reject": STATUS}; references resolved later.
std::optional<Action> readAction(LoadState& st, const json* j, const std::string& path);

// -- cross references ---------------------------------------------------------------------------

std::optional<UpstreamId> resolveUpstream(LoadState& st, const std::string& name,
                                          const std::string& path);

void checkListeners(LoadState& st);
void checkCustomers(LoadState& st);
void checkUpstreams(LoadState& st);
void checkGroups(LoadState& st);
void checkRoutes(LoadState& st);
// store_and_forward anywhere needs the embedded store (its queue lives there).
void checkAckModes(LoadState& st);
void checkMoRoutes(LoadState& st);
void checkUsage(LoadState& st);
void checkTimers(LoadState& st);

// -- shadowing (after the references of the routes concerned are resolved) -------------------

void checkShadowedRoutes(LoadState& st);
void checkShadowedMoRoutes(LoadState& st);

}  // namespace smppgw::config::detail
