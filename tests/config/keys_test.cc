// The key table (config/keys.h) against the loader and the documentation: every key the table
// marks unsupported is refused with its JSON path, every key it lists is read by the loader,
// docs/configuration.md carries exactly the generated tables, and a reload sees restart-only
// changes by key.

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "config/keys.h"
#include "config/load.h"

using namespace smppgw::config;
using json = nlohmann::json;

namespace {

// A valid file with one element in every array, so any key path has a place to go.
json baseConfig() {
  return json::parse(R"({
    "gateway": {"allow_plain_passwords": true},
    "listeners": [{"name": "l", "address": "127.0.0.1", "port": 0}],
    "customers": [{"system_id": "acme", "password": "secret"}],
    "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 2776, "system_id": "gw"}],
    "groups": [{"name": "g", "members": [{"upstream": "u"}]}],
    "routes": [{"name": "r", "match": {"customers": ["acme"]}, "action": {"group": "g"}}],
    "mo_routes": [{"name": "m", "action": {"customer": "acme"}}],
    "numbering": {"countries": {"44": {"national_prefix": "0"}}},
    "metrics": {"enabled": false}
  })");
}

// "upstreams[].tls.ca" -> "/upstreams/0/tls/ca"; "numbering.countries.*" -> ".../44".
json::json_pointer pointerFor(std::string_view schema) {
  std::string out;
  std::string seg;
  auto flush = [&] {
    if (!seg.empty()) {
      out += "/" + (seg == "*" ? std::string("44") : seg);
      seg.clear();
    }
  };
  for (std::size_t i = 0; i < schema.size(); ++i) {
    char c = schema[i];
    if (c == '.') {
      flush();
    } else if (c == '[') {
      flush();
      out += "/0";
      ++i;  // skip ']'
    } else {
      seg += c;
    }
  }
  flush();
  return json::json_pointer(out);
}

std::string concretePath(std::string_view schema) {
  std::string out;
  for (std::size_t i = 0; i < schema.size(); ++i) {
    if (schema[i] == '[') {
      out += "[0]";
      ++i;
    } else if (schema[i] == '*') {
      out += "44";
    } else {
      out += schema[i];
    }
  }
  return out;
}

// A value of the key's kind that the loader would accept on its own.
json sampleValue(const KeyInfo& k) {
  switch (k.kind) {
    case KeyKind::Object:
      return json::object();
    case KeyKind::Array:
      return json::array();
    case KeyKind::Bool:
      return true;
    case KeyKind::Int:
      return static_cast<std::int64_t>(k.min);
    case KeyKind::Number:
      return k.min;
    case KeyKind::Duration:
      return static_cast<std::int64_t>(k.min);
    case KeyKind::String:
      return "x";
    case KeyKind::Other:
      return 1;
  }
  return nullptr;
}

// Values this version does not act on, one per key the table restricts to some values. A new
// restricted key without a sample fails the test below.
const std::map<std::string, json>& unsupportedSamples() {
  static const std::map<std::string, json> m = {
      {"store.type", "redis"},
  };
  return m;
}

bool hasError(const LoadResult& r, const std::string& path, const std::string& needle) {
  for (const auto& e : r.errors) {
    if (e.path == path && e.message.find(needle) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string errorsOf(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += toString(e) + "\n";
  }
  return out;
}

LoadResult loadWith(const KeyInfo& k, const json& value) {
  json j = baseConfig();
  j[pointerFor(k.path)] = value;
  return loadConfigText(j.dump(), "keys-test");
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("the base file of these tests loads") {
  auto r = loadConfigText(baseConfig().dump(), "base");
  INFO(errorsOf(r));
  CHECK(r.ok());
}

TEST_CASE("every key the table marks unsupported is refused with its JSON path") {
  int refused = 0;
  for (const KeyInfo& k : keyTable()) {
    if (k.support == KeySupport::Yes) {
      continue;
    }
    json bad = sampleValue(k);
    if (k.support == KeySupport::OnlyValues) {
      auto it = unsupportedSamples().find(std::string(k.path));
      REQUIRE_MESSAGE(it != unsupportedSamples().end(), "no unsupported sample for ", k.path);
      bad = it->second;
    }
    const std::string path = concretePath(k.path);
    auto r = loadWith(k, bad);
    INFO(k.path, " = ", bad.dump(), "\n", errorsOf(r));
    CHECK_FALSE(r.ok());
    CHECK(hasError(r, path, "not supported in this version"));
    ++refused;
    if (k.support == KeySupport::OnlyValues) {
      // The supported value of the same key is accepted.
      auto good =
          loadWith(k, json::parse(std::string(k.supported.substr(0, k.supported.find('|')))));
      INFO(errorsOf(good));
      CHECK_FALSE(hasError(good, path, "not supported"));
    }
  }
  // The redis store (type, url, key_prefix).
  // (Retry went from this list to acting in #15; the embedded store, its batching and outboxes in
  // #16.)
  CHECK(refused >= 3);
}

TEST_CASE("every key in the table is read by the loader (none is unknown to it)") {
  for (const KeyInfo& k : keyTable()) {
    if (k.path.find('.') == std::string_view::npos && k.path != "version") {
      continue;  // top-level blocks: present in the base file already
    }
    auto r = loadWith(k, sampleValue(k));
    const std::string path = concretePath(k.path);
    INFO(k.path, "\n", errorsOf(r));
    CHECK_FALSE(hasError(r, path, "unknown key"));
    CHECK_FALSE(hasError(r, path, "internal"));
  }
}

TEST_CASE("every key has its row in docs/configuration.md, generated from the table") {
  const std::string doc = readFile(std::string(SMPPGW_SOURCE_DIR) + "/docs/configuration.md");
  REQUIRE_FALSE(doc.empty());
  std::string error;
  const std::string rendered = renderKeyBlocks(doc, &error);
  CHECK(error.empty());
  // Equal text: the tables are exactly what the table generates (run
  // `smppgw config-keys --update docs/configuration.md` after changing config/keys_table.inc).
  CHECK(rendered == doc);
  for (const auto& section : keySections()) {
    const std::string marker = "<!-- keys: " + (section.empty() ? "(top level)" : section) + " -->";
    CHECK_MESSAGE(doc.find(marker) != std::string::npos, "no docs block for ", section);
  }
  for (const KeyInfo& k : keyTable()) {
    auto dot = k.path.rfind('.');
    std::string leaf(dot == std::string_view::npos ? k.path : k.path.substr(dot + 1));
    CHECK_MESSAGE(rendered.find("| `" + leaf + "` |") != std::string::npos, k.path);
  }
}

TEST_CASE("the loader reads bounds from the table") {
  const KeyInfo* k = findKey("customers[].window");
  REQUIRE(k != nullptr);
  auto over = loadWith(*k, static_cast<std::int64_t>(k->max) + 1);
  CHECK(hasError(over, "customers[0].window", "must be between"));
  auto atMax = loadWith(*k, static_cast<std::int64_t>(k->max));
  CHECK(atMax.ok());
  const KeyInfo* t = findKey("timers.response");
  REQUIRE(t != nullptr);
  auto below = loadWith(*t, static_cast<std::int64_t>(t->min) - 1);
  CHECK(hasError(below, "timers.response", "must be between"));
}

TEST_CASE("schema paths") {
  CHECK(schemaPath("listeners[12].tls.ca") == "listeners[].tls.ca");
  CHECK(schemaPath("groups[0].members[3].weight") == "groups[].members[].weight");
  CHECK(schemaPath("numbering.countries.44") == "numbering.countries.*");
  CHECK(schemaPath("numbering.countries.44.national_prefix") ==
        "numbering.countries.*.national_prefix");
  CHECK(findKey("numbering.countries.*.national_prefix") != nullptr);
  CHECK(findKey("no.such.key") == nullptr);
}

TEST_CASE("restart-only changes are named; live ones and spelled-out defaults are not") {
  auto load = [](const json& j) {
    auto r = loadConfigText(j.dump(), "restart-test");
    INFO(errorsOf(r));
    REQUIRE(r.ok());
    return r.config;
  };
  const json base = baseConfig();
  auto running = load(base);

  json live = base;
  live["log"] = {{"level", "debug"}};
  live["routing"] = {{"concat_ttl", "1m"}};
  live["customers"][0]["window"] = 50;
  CHECK(restartChanges(running->restart_values, load(live)->restart_values).empty());

  json same = base;
  same["gateway"]["instance_id"] = 0;  // the default, spelled out
  same["listeners"][0]["proxy_protocol"] = false;
  CHECK(restartChanges(running->restart_values, load(same)->restart_values).empty());

  json port = base;
  port["listeners"][0]["port"] = 2775;
  port["metrics"]["port"] = 9999;
  port["gateway"]["instance_id"] = 7;
  CHECK(restartChanges(running->restart_values, load(port)->restart_values) ==
        std::vector<std::string>{"gateway.instance_id", "listeners[0].port", "metrics.port"});

  json added = base;
  added["listeners"].push_back({{"name", "m"}, {"address", "127.0.0.1"}, {"port", 0}});
  auto changes = restartChanges(running->restart_values, load(added)->restart_values);
  CHECK(std::find(changes.begin(), changes.end(), "listeners") != changes.end());
}
