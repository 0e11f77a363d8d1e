#include "config/load.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <utility>

#include "config/load_internal.h"
#include "config/password.h"
#include "config/reader.h"

namespace smppgw::config {

std::string toString(const Diagnostic& d) {
  if (d.path.empty()) {
    return d.message;
  }
  if (d.message.empty()) {
    return d.path;
  }
  return d.path + ": " + d.message;
}

// The stages live in detail (config/load_internal.h); this file only runs them in order.
namespace detail {
namespace {

// Every section, in document order (later sections read what earlier ones set: customers the
// numbering countries, upstreams the timers, groups the upstreams).
void readSections(LoadState& st, const json& root) {
  Obj r(st.d, &root, "");
  if (!r.present()) {
    return;
  }
  r.uint("version", st.c.version);
  readGateway(st, r);
  readTimers(st, r);
  readLimits(st, r);
  readAuth(st, r);
  readNumbering(st, r);
  readRouting(st, r);
  readListeners(st, r);
  readCustomers(st, r);
  readUpstreams(st, r);
  readGroups(st, r);
  readRoutes(st, r);
  readMoRoutes(st, r);
  readStore(st, r);
  readMetrics(st, r);
  readLog(st, r);
  r.finish();
}

// Cross references and shadowing, interleaved as each needs: the shadowing of routes needs
// their customers, listeners and groups resolved; that of mo_routes their upstreams and
// customers; the usage check needs to know which routes are broken.
void checkDocument(LoadState& st) {
  checkListeners(st);
  checkCustomers(st);
  checkUpstreams(st);
  checkGroups(st);
  checkRoutes(st);
  checkShadowedRoutes(st);
  checkMoRoutes(st);
  checkShadowedMoRoutes(st);
  checkUsage(st);
  checkTimers(st);
  checkAckModes(st);
}

LoadResult finishLoad(Diags&& d, std::unique_ptr<Config> c) {
  LoadResult result;
  result.errors = std::move(d.errors);
  result.warnings = std::move(d.warnings);
  if (result.errors.empty() && c) {
    result.config = std::move(c);
  }
  return result;
}

}  // namespace
}  // namespace detail

LoadResult loadConfigText(std::string_view text, std::string_view origin) {
  detail::Diags d;
  try {
    auto root = detail::parseJson(text, d);
    if (!root) {
      return detail::finishLoad(std::move(d), nullptr);
    }
    auto c = std::make_unique<Config>();
    c->origin = std::string(origin);
    {
      detail::LoadState st(d, *c);
      detail::readSections(st, *root);
      detail::checkDocument(st);
    }
    // Canonical form: comments and whitespace gone, object keys sorted (nlohmann's std::map).
    c->content_hash = sha256Hex(root->dump());
    c->restart_values = std::move(d.restart);
    return detail::finishLoad(std::move(d), std::move(c));
  } catch (const std::exception& e) {
    d.error("", std::string("internal error while loading: ") + e.what());
  } catch (...) {
    d.error("", "internal error while loading");
  }
  return detail::finishLoad(std::move(d), nullptr);
}

LoadResult loadConfigFile(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      LoadResult r;
      r.errors.push_back({"", "cannot open " + detail::quote(path), false});
      return r;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
      LoadResult r;
      r.errors.push_back({"", "cannot read " + detail::quote(path), false});
      return r;
    }
    return loadConfigText(buffer.str(), path);
  } catch (...) {
    LoadResult r;
    r.errors.push_back({"", "cannot read " + detail::quote(path), false});
    return r;
  }
}

}  // namespace smppgw::config
