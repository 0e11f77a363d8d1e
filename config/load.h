#pragma once
// JSON file -> validated, immutable Config. The pipeline (docs/configuration.md):
//   read -> parse (comments allowed, duplicate keys refused) -> typed read of every block with
//   defaults and bounds (unknown keys refused) -> resolve references -> cross checks
//   (duplicates, dangling names, shadowed routes, impossible limits) -> content hash.
// Every problem is collected with its JSON path; nothing stops at the first error. Loading has
// no side effects and never throws: a reload that fails leaves the running config untouched.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace smppgw::config {

struct Diagnostic {
  std::string path;  // "routes[3].action.group"; "" for the document as a whole
  std::string message;
  bool warning = false;
};

// "routes[3].action.group: unknown group ..." (the path alone when message is empty).
std::string toString(const Diagnostic& d);

struct LoadResult {
  std::shared_ptr<const Config> config;  // set only when errors is empty
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  bool ok() const { return config != nullptr && errors.empty(); }
};

LoadResult loadConfigFile(const std::string& path);
// `origin` names the source in Config::origin (a file name, "<reload>", a test name).
LoadResult loadConfigText(std::string_view json, std::string_view origin);

}  // namespace smppgw::config
