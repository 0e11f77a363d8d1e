// The shipped examples must load without errors: deploy/examples/*.json and the complete
// example in docs/configuration.md (between the example:begin / example:end markers).

#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/load.h"

using namespace smppgw::config;

namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string diagnostics(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += "error: " + toString(e) + "\n";
  }
  for (const auto& w : r.warnings) {
    out += "warning: " + toString(w) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("deploy/examples load without errors") {
  const std::string dir = std::string(SMPPGW_SOURCE_DIR) + "/deploy/examples/";
  SUBCASE("quickstart") {
    auto r = loadConfigFile(dir + "quickstart.json");
    INFO(diagnostics(r));
    REQUIRE(r.ok());
    CHECK(r.warnings.empty());
    const Config& c = *r.config;
    REQUIRE(c.listeners.size() == 1);
    CHECK(c.listeners[0].address == "127.0.0.1");
    CHECK(c.listeners[0].port == 2775);
    CHECK_FALSE(c.listeners[0].tls.enabled);
    REQUIRE(c.customers.size() == 1);
    CHECK(c.customers[0].system_id == "demo");
    CHECK_FALSE(c.customers[0].password_plain);
    REQUIRE(c.upstreams.size() == 1);
    CHECK(c.upstreams[0].name == "mcsim");
    CHECK(c.upstreams[0].host == "127.0.0.1");
    CHECK(c.upstreams[0].port == 2776);
    CHECK(c.upstreams[0].system_id == "smppgw");
    CHECK(c.upstreams[0].password == "mcsim");
    CHECK(c.groups.size() == 1);
    REQUIRE(c.routes.size() == 1);
    CHECK(c.routes[0].match.any_customer);
    CHECK(c.routes[0].match.destination_prefixes.empty());
    REQUIRE(c.mo_routes.size() == 1);
    CHECK(c.mo_routes[0].customer == 0);
    CHECK(c.metrics.address == "127.0.0.1");
    CHECK(c.metrics.port == 9775);
  }
  SUBCASE("production") {
    auto r = loadConfigFile(dir + "production.json");
    INFO(diagnostics(r));
    REQUIRE(r.ok());
    const Config& c = *r.config;
    CHECK(c.listeners.size() == 2);
    // Every key in it acts in this version; its mappings survive a restart (the embedded store).
    CHECK_FALSE(c.listeners[0].tls.enabled);
    CHECK_FALSE(c.listeners[1].tls.enabled);
    CHECK(c.store.type == StoreType::Embedded);
    CHECK(c.store.path == "/var/lib/smppgw/store");
    CHECK(c.upstreams.size() == 2);
    CHECK(c.groups.size() == 2);
    CHECK(c.groups[0].strategy == GroupStrategy::Failover);
    CHECK(c.groups[1].strategy == GroupStrategy::Weighted);
    bool hasReject = false;
    for (const auto& rt : c.routes) {
      hasReject = hasReject || rt.action.kind == Action::Kind::Reject;
    }
    CHECK(hasReject);
    CHECK(c.numbering.default_country == "44");
    // Only warnings allowed: TLS files that do not exist on a build machine.
    for (const auto& w : r.warnings) {
      CHECK(w.message.find("is not readable now") != std::string::npos);
    }
  }
}

TEST_CASE("the complete example in docs/configuration.md loads without errors") {
  const std::string doc = readAll(std::string(SMPPGW_SOURCE_DIR) + "/docs/configuration.md");
  const std::string begin = "<!-- example:begin -->";
  const std::string end = "<!-- example:end -->";
  auto b = doc.find(begin);
  auto e = doc.find(end);
  REQUIRE(b != std::string::npos);
  REQUIRE(e != std::string::npos);
  std::string block = doc.substr(b + begin.size(), e - b - begin.size());
  // Strip the ```jsonc fence lines.
  auto open = block.find("```");
  REQUIRE(open != std::string::npos);
  block = block.substr(block.find('\n', open) + 1);
  auto close = block.rfind("```");
  REQUIRE(close != std::string::npos);
  block = block.substr(0, close);
  auto r = loadConfigText(block, "docs/configuration.md");
  INFO(diagnostics(r));
  REQUIRE(r.ok());
  // The annotated example exercises every block.
  const Config& c = *r.config;
  CHECK(c.listeners.size() >= 2);
  CHECK(c.customers.size() >= 2);
  CHECK(c.upstreams.size() >= 2);
  CHECK(c.groups.size() >= 2);
  CHECK(c.routes.size() >= 4);
  CHECK_FALSE(c.mo_routes.empty());
  CHECK_FALSE(c.numbering.countries.empty());
}
