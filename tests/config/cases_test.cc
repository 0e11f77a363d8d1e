// Table-driven config validation: every tests/config/cases/NAME.json is loaded and its
// diagnostics, one per line ("error: PATH: MESSAGE" / "warning: PATH: MESSAGE", errors first,
// in the order found), must equal NAME.expected exactly. Files named good_* must load.
// To regenerate after an intended change: SMPPGW_UPDATE_EXPECTED=1 ./config_tests, then review
// the diff of every .expected file before keeping it.

#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/load.h"

namespace fs = std::filesystem;
using namespace smppgw::config;

namespace {

std::string render(const LoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) {
    out += "error: " + toString(e) + "\n";
  }
  for (const auto& w : r.warnings) {
    out += "warning: " + toString(w) + "\n";
  }
  return out;
}

std::string readAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("config cases: diagnostics match the .expected files") {
  const fs::path dir = fs::path(SMPPGW_SOURCE_DIR) / "tests/config/cases";
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") {
      cases.push_back(entry.path());
    }
  }
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 20);
  const bool update = std::getenv("SMPPGW_UPDATE_EXPECTED") != nullptr;
  for (const auto& json : cases) {
    const std::string name = json.stem().string();
    CAPTURE(name);
    // Load from text with a fixed origin so the output does not depend on the checkout path.
    LoadResult r = loadConfigText(readAll(json), name);
    const std::string got = render(r);
    fs::path expectedPath = json;
    expectedPath.replace_extension(".expected");
    if (update) {
      std::ofstream(expectedPath, std::ios::binary) << got;
    }
    CHECK(got == readAll(expectedPath));
    if (name.rfind("good_", 0) == 0) {
      CHECK(r.ok());
      CHECK(r.errors.empty());
    } else {
      CHECK_FALSE(r.ok());
      CHECK(r.config == nullptr);
      CHECK_FALSE(r.errors.empty());
    }
  }
}
