#pragma once
// Loads the shared protocol test vectors at run time. A missing file fails the test: vectors are
// never optional and never copied into the repository.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace smppgw::test {

inline std::string vectorsDir() {
  if (const char* env = std::getenv("SMPPGW_VECTORS_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return SMPPGW_VECTORS_DIR;
}

inline nlohmann::json loadVectors(const std::string& file) {
  std::string path = vectorsDir() + "/" + file;
  std::ifstream in(path);
  INFO("vector file: " << path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  REQUIRE_MESSAGE(!doc.is_discarded(), "invalid JSON in " << path);
  return doc;
}

}  // namespace smppgw::test
