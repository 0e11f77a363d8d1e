#pragma once
// Reading the configuration document (internal to config/): diagnostics collected with their
// JSON paths, the parse that refuses duplicate keys, and typed readers whose bounds come from
// the key table (config/keys_table.inc). The loader's stages (load_internal.h) build on these.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/keys.h"
#include "config/load.h"
#include "config/model.h"

namespace smppgw::config::detail {

using json = nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Diagnostics and small text helpers

struct Diags {
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
  RestartValues restart;  // values of restart-only keys, by concrete path
  void error(std::string path, std::string message) {
    errors.push_back({std::move(path), std::move(message), false});
  }
  void warn(std::string path, std::string message) {
    warnings.push_back({std::move(path), std::move(message), true});
  }
};

// A string in double quotes, control characters escaped: safe to put in a message.
std::string quote(std::string_view s);
// "string "abc"" / "integer 5" / "object": what we got, for type errors.
std::string got(const json& j);
// JSON paths: at("routes", 3) == "routes[3]", at("routes[3]", "action") == "routes[3].action".
std::string at(std::string_view base, std::string_view key);
std::string at(std::string_view base, std::size_t index);
// "a, b, c" (at most `max`, then the count); "none" when empty.
std::string joinNames(const std::vector<std::string_view>& names, std::size_t max = 12);
// The largest whole unit: "2h", "5m", "30s", "1500ms".
std::string formatDuration(Duration d);
bool isDigits(std::string_view s);
bool validName(std::string_view s);
bool printableAscii(std::string_view s);

// ---------------------------------------------------------------------------------------------
// Typed reading of JSON values, collecting errors.

std::optional<std::string> asString(Diags& d, const json& j, const std::string& path);
std::optional<std::uint64_t> asUint(Diags& d, const json& j, const std::string& path,
                                    std::uint64_t min, std::uint64_t max);
// An octet given as an integer or a "0x.." string.
std::optional<std::uint8_t> asByte(Diags& d, const json& j, const std::string& path);
std::optional<std::uint32_t> asStatus(Diags& d, const json& j, const std::string& path);
std::optional<Duration> asDuration(Diags& d, const json& j, const std::string& path, Duration min,
                                   Duration max);

// Calls fn(element, path, index) for each element of an array value.
void forEach(Diags& d, const json* j, const std::string& path,
             const std::function<void(const json&, const std::string&, std::size_t)>& fn);

// One JSON object being read: remembers which keys were consumed, so leftovers are reported.
class Obj {
 public:
  Obj(Diags& d, const json* j, std::string path);
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;

  bool present() const { return j_ != nullptr; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return at(path_, key); }
  Diags& diags() { return d_; }

  const json* take(std::string_view key, bool required = false);

  std::optional<std::string> str(std::string_view key, bool required = false,
                                 std::size_t maxLen = 4096);
  void str(std::string_view key, std::string& out, bool required = false,
           std::size_t maxLen = 4096);

  // An integer within the bounds the key table gives.
  template <typename T>
  void uint(std::string_view key, T& out, bool required = false) {
    const json* v = take(key, required);
    const KeyInfo* k = info(key);
    if (v == nullptr || k == nullptr) {
      return;
    }
    if (auto n = asUint(d_, *v, path(key), static_cast<std::uint64_t>(k->min),
                        static_cast<std::uint64_t>(k->max))) {
      out = static_cast<T>(*n);
    }
  }

  void boolean(std::string_view key, bool& out);
  // A number within the bounds the key table gives.
  void number(std::string_view key, double& out);
  // A duration within the bounds the key table gives.
  bool duration(std::string_view key, Duration& out);

  template <typename E>
  bool oneOf(std::string_view key, E& out,
             std::initializer_list<std::pair<std::string_view, E>> values, bool required = false) {
    const json* v = take(key, required);
    if (v == nullptr) {
      return false;
    }
    std::vector<std::string_view> names;
    for (const auto& [name, value] : values) {
      names.push_back(name);
    }
    if (v->is_string()) {
      for (const auto& [name, value] : values) {
        if (v->get_ref<const std::string&>() == name) {
          out = value;
          return true;
        }
      }
    }
    d_.error(path(key), "expected one of " + joinNames(names) + ", got " + got(*v));
    return false;
  }

  void status(std::string_view key, std::uint32_t& out);

  // An array of strings; each element checked by `check` (which reports and returns false).
  std::vector<std::string> strings(
      std::string_view key,
      const std::function<bool(std::string&, const std::string&)>& check = nullptr);

  // Reports keys that nothing asked for, refuses keys (or values) this version does not act on,
  // and records restart-only values. Call once, after all reads.
  void finish();

 private:
  const KeyInfo* info(std::string_view key) const;

  Diags& d_;
  const json* j_;
  std::string path_;
  std::string schema_;
  std::vector<std::string_view> known_;
};

// An entity name (1-64 letters, digits, '_', '-', '.'); kept in `out` even when invalid, so
// later messages can name the entity.
bool readName(Obj& o, std::string& out, std::string_view key = "name");
// Digits (an optional leading '+' is dropped): a destination prefix or number.
bool digitsPrefix(Diags& d, std::string& s, const std::string& path, std::string_view what);

// ---------------------------------------------------------------------------------------------
// Parsing with duplicate-key detection (nlohmann keeps the last duplicate silently).

std::optional<json> parseJson(std::string_view text, Diags& d);

}  // namespace smppgw::config::detail
