#include "config/load.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "config/keys.h"
#include "config/password.h"
#include "config/regex.h"
#include "config/status.h"

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

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

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

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string typeName(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::string:
      return "string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "number";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "object";
    default:
      return "value";
  }
}

// "string "abc"" / "integer 5" / "object": what we got, for type errors.
std::string got(const json& j) {
  if (j.is_string()) {
    auto s = j.get_ref<const std::string&>();
    return "string " + quote(s.size() > 40 ? s.substr(0, 40) + "..." : s);
  }
  if (j.is_number() || j.is_boolean()) {
    return typeName(j) + " " + j.dump();
  }
  return typeName(j);
}

std::string at(std::string_view base, std::string_view key) {
  if (base.empty()) {
    return std::string(key);
  }
  std::string out(base);
  out += '.';
  out += key;
  return out;
}

std::string at(std::string_view base, std::size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1);
  std::vector<std::size_t> cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    prev[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string joinNames(const std::vector<std::string_view>& names, std::size_t max = 12) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += names[i];
  }
  if (names.size() > max) {
    out += ", ... (" + std::to_string(names.size()) + " in all)";
  }
  return out.empty() ? "none" : out;
}

std::string formatDuration(Duration d) {
  auto ms = d.count();
  if (ms != 0 && ms % 3600000 == 0) {
    return std::to_string(ms / 3600000) + "h";
  }
  if (ms != 0 && ms % 60000 == 0) {
    return std::to_string(ms / 60000) + "m";
  }
  if (ms != 0 && ms % 1000 == 0) {
    return std::to_string(ms / 1000) + "s";
  }
  return std::to_string(ms) + "ms";
}

bool isDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool validName(std::string_view s) {
  if (s.empty() || s.size() > 64) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
  });
}

bool printableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

// ---------------------------------------------------------------------------------------------
// Typed reading of JSON values, collecting errors.

std::optional<std::string> asString(Diags& d, const json& j, const std::string& path) {
  if (!j.is_string()) {
    d.error(path, "expected a string, got " + got(j));
    return std::nullopt;
  }
  return j.get<std::string>();
}

std::optional<std::uint64_t> asUint(Diags& d, const json& j, const std::string& path,
                                    std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  if (j.is_number_unsigned()) {
    v = j.get<std::uint64_t>();
  } else if (j.is_number_integer()) {
    d.error(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + j.dump());
    return std::nullopt;
  } else {
    d.error(path, "expected an integer, got " + got(j));
    return std::nullopt;
  }
  if (v < min || v > max) {
    d.error(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                      ", got " + std::to_string(v));
    return std::nullopt;
  }
  return v;
}

// An octet given as an integer or a "0x.." string.
std::optional<std::uint8_t> asByte(Diags& d, const json& j, const std::string& path) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s.size() > 2 && s.size() <= 4 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
      unsigned v = 0;
      bool ok = true;
      for (char c : s.substr(2)) {
        int h = (c >= '0' && c <= '9')   ? c - '0'
                : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                         : -1;
        ok = ok && h >= 0;
        v = v * 16 + static_cast<unsigned>(h < 0 ? 0 : h);
      }
      if (ok) {
        return static_cast<std::uint8_t>(v);
      }
    }
    d.error(path, "expected an integer 0..255 or a hex string like \"0x40\", got " + got(j));
    return std::nullopt;
  }
  auto v = asUint(d, j, path, 0, 255);
  if (!v) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(*v);
}

std::optional<std::uint32_t> asStatus(Diags& d, const json& j, const std::string& path) {
  if (j.is_number_unsigned()) {
    auto v = j.get<std::uint64_t>();
    if (v <= 0xFFFFFFFFull) {
      return static_cast<std::uint32_t>(v);
    }
  } else if (j.is_string()) {
    if (auto v = parseCommandStatus(j.get_ref<const std::string&>())) {
      return v;
    }
    d.error(path, "unknown command_status " + quote(j.get_ref<const std::string&>()) +
                      " (use a name like \"ESME_RINVDSTADR\", a number or \"0x0000000B\")");
    return std::nullopt;
  }
  d.error(path, "expected a command_status name or number, got " + got(j));
  return std::nullopt;
}

std::optional<Duration> parseDurationText(std::string_view s) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    v = v * 10 + static_cast<std::uint64_t>(s[i] - '0');
    if (v > (1ull << 40)) {
      return std::nullopt;
    }
    ++i;
  }
  if (i == 0) {
    return std::nullopt;
  }
  std::string_view unit = s.substr(i);
  std::uint64_t scale = 0;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60000;
  } else if (unit == "h") {
    scale = 3600000;
  } else if (unit == "d") {
    scale = 86400000;
  } else {
    return std::nullopt;
  }
  return Duration(static_cast<Duration::rep>(v * scale));
}

std::optional<Duration> asDuration(Diags& d, const json& j, const std::string& path, Duration min,
                                   Duration max) {
  std::optional<Duration> v;
  if (j.is_number_unsigned()) {
    v = Duration(
        static_cast<Duration::rep>(std::min<std::uint64_t>(j.get<std::uint64_t>(), 1ull << 40)));
  } else if (j.is_string()) {
    v = parseDurationText(j.get_ref<const std::string&>());
    if (!v) {
      d.error(path, "invalid duration " + quote(j.get_ref<const std::string&>()) +
                        " (e.g. \"500ms\", \"30s\", \"5m\", \"1h\")");
      return std::nullopt;
    }
  } else {
    d.error(path, "expected a duration like \"30s\" or integer milliseconds, got " + got(j));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    d.error(path, "must be between " + formatDuration(min) + " and " + formatDuration(max) +
                      ", got " + formatDuration(*v));
    return std::nullopt;
  }
  return v;
}

// Calls fn(element, path, index) for each element of an array value.
void forEach(Diags& d, const json* j, const std::string& path,
             const std::function<void(const json&, const std::string&, std::size_t)>& fn) {
  if (j == nullptr) {
    return;
  }
  if (!j->is_array()) {
    d.error(path, "expected an array, got " + got(*j));
    return;
  }
  for (std::size_t i = 0; i < j->size(); ++i) {
    fn((*j)[i], at(path, i), i);
  }
}

// One JSON object being read: remembers which keys were consumed, so leftovers are reported.
class Obj {
 public:
  Obj(Diags& d, const json* j, std::string path)
      : d_(d), j_(j), path_(std::move(path)), schema_(schemaPath(path_)) {
    if (j_ != nullptr && !j_->is_object()) {
      d_.error(path_.empty() ? "(root)" : path_, "expected an object, got " + got(*j_));
      j_ = nullptr;
    }
  }
  Obj(const Obj&) = delete;
  Obj& operator=(const Obj&) = delete;

  bool present() const { return j_ != nullptr; }
  const std::string& path() const { return path_; }
  std::string path(std::string_view key) const { return at(path_, key); }
  Diags& diags() { return d_; }

  const json* take(std::string_view key, bool required = false) {
    known_.push_back(key);
    if (info(key) == nullptr) {
      // The loader reads a key the table does not describe: refuse every file rather than
      // accept a key nothing documents (tests load files, so this cannot go unnoticed).
      d_.error(path(key), "internal: key missing from the key table (config/keys_table.inc)");
    }
    if (j_ == nullptr) {
      return nullptr;
    }
    auto it = j_->find(key);
    if (it == j_->end()) {
      if (required) {
        d_.error(path(key), "missing required key");
      }
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> str(std::string_view key, bool required = false,
                                 std::size_t maxLen = 4096) {
    const json* v = take(key, required);
    if (v == nullptr) {
      return std::nullopt;
    }
    auto s = asString(d_, *v, path(key));
    if (s && s->size() > maxLen) {
      d_.error(path(key), "longer than " + std::to_string(maxLen) + " characters");
      return std::nullopt;
    }
    return s;
  }

  void str(std::string_view key, std::string& out, bool required = false,
           std::size_t maxLen = 4096) {
    if (auto v = str(key, required, maxLen)) {
      out = std::move(*v);
    }
  }

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

  void boolean(std::string_view key, bool& out) {
    const json* v = take(key);
    if (v == nullptr) {
      return;
    }
    if (!v->is_boolean()) {
      d_.error(path(key), "expected true or false, got " + got(*v));
      return;
    }
    out = v->get<bool>();
  }

  void number(std::string_view key, double& out) {
    const json* v = take(key);
    const KeyInfo* k = info(key);
    if (v == nullptr || k == nullptr) {
      return;
    }
    const double min = k->min;
    const double max = k->max;
    if (!v->is_number()) {
      d_.error(path(key), "expected a number, got " + got(*v));
      return;
    }
    double x = v->get<double>();
    if (x < min || x > max) {
      std::ostringstream os;
      os << "must be between " << min << " and " << max << ", got " << x;
      d_.error(path(key), os.str());
      return;
    }
    out = x;
  }

  // A duration within the bounds the key table gives.
  bool duration(std::string_view key, Duration& out) {
    const json* v = take(key);
    const KeyInfo* k = info(key);
    if (v == nullptr || k == nullptr) {
      return false;
    }
    if (auto x = asDuration(d_, *v, path(key), Duration(static_cast<std::int64_t>(k->min)),
                            Duration(static_cast<std::int64_t>(k->max)))) {
      out = *x;
      return true;
    }
    return false;
  }

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

  void status(std::string_view key, std::uint32_t& out) {
    const json* v = take(key);
    if (v == nullptr) {
      return;
    }
    if (auto s = asStatus(d_, *v, path(key))) {
      out = *s;
    }
  }

  // An array of strings; each element checked by `check` (which reports and returns false).
  std::vector<std::string> strings(
      std::string_view key,
      const std::function<bool(std::string&, const std::string&)>& check = nullptr) {
    std::vector<std::string> out;
    forEach(d_, take(key), path(key), [&](const json& e, const std::string& p, std::size_t) {
      if (auto s = asString(d_, e, p)) {
        if (!check || check(*s, p)) {
          out.push_back(std::move(*s));
        }
      }
    });
    return out;
  }

  // Reports keys that nothing asked for, refuses keys (or values) this version does not act on,
  // and records restart-only values. Call once, after all reads.
  void finish() {
    if (j_ == nullptr) {
      return;
    }
    for (const auto& [key, value] : j_->items()) {
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) {
        const KeyInfo* k = info(key);
        if (k == nullptr) {
          continue;  // reported by take()
        }
        if (!supportedValue(*k, value.dump())) {
          d_.error(path(key), (k->support == KeySupport::OnlyValues ? value.dump() + " is " : "") +
                                  unsupportedReason(*k));
        } else if (k->reload == KeyReload::Restart) {
          // An array of objects: its length; each element's keys are recorded on their own.
          d_.restart[path(key)] = value.is_array() && !value.empty() && value[0].is_object()
                                      ? "[" + std::to_string(value.size()) + " elements]"
                                      : value.dump();
        }
        continue;
      }
      std::string_view best;
      std::size_t bestDistance = 3;
      for (auto k : known_) {
        auto dist = editDistance(key, k);
        if (dist < bestDistance && dist <= std::max<std::size_t>(1, k.size() / 3)) {
          best = k;
          bestDistance = dist;
        }
      }
      if (!best.empty()) {
        d_.error(path(key), "unknown key (did you mean " + quote(best) + "?)");
      } else {
        auto sorted = known_;
        std::sort(sorted.begin(), sorted.end());
        sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
        d_.error(path(key), "unknown key (known keys: " + joinNames(sorted, 64) + ")");
      }
    }
  }

 private:
  const KeyInfo* info(std::string_view key) const {
    if (schema_.empty()) {
      return findKey(schemaPath(key));
    }
    return findKey(schemaPath(schema_ + "." + std::string(key)));
  }

  Diags& d_;
  const json* j_;
  std::string path_;
  std::string schema_;
  std::vector<std::string_view> known_;
};

// ---------------------------------------------------------------------------------------------
// Parsing with duplicate-key detection (nlohmann keeps the last duplicate silently).

struct ParseFrame {
  bool array = false;
  std::size_t count = 0;  // array: elements completed
  std::string key;        // object: current key
  std::set<std::string> keys;
};

std::string framePath(const std::vector<ParseFrame>& stack) {
  std::string path;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    const auto& f = stack[i];
    if (i + 1 == stack.size() && !f.array) {
      break;  // the innermost object's current key is added by the caller
    }
    if (f.array) {
      path = at(path, f.count);
    } else {
      path = at(path, f.key);
    }
  }
  return path;
}

std::optional<json> parseJson(std::string_view text, Diags& d) {
  std::vector<ParseFrame> stack;
  auto completeValue = [&]() {
    if (!stack.empty() && stack.back().array) {
      ++stack.back().count;
    }
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back({});
        break;
      case json::parse_event_t::array_start:
        stack.push_back({true, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        auto& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          d.error(at(framePath(stack), f.key), "duplicate key (JSON keeps only the last one)");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) {
          stack.pop_back();
        }
        completeValue();
        break;
      case json::parse_event_t::value:
        completeValue();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // Turn the byte offset into line:column for humans.
    std::size_t line = 1;
    std::size_t column = 1;
    const std::size_t end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (std::size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    if (auto pos = what.find(": "); pos != std::string::npos) {
      what = what.substr(pos + 2);
    }
    d.error("", "invalid JSON at line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ": " + what);
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// Sections. Each reader fills the model and records where each entity came from.

struct Sources {
  std::vector<std::string> listeners, customers, upstreams, groups, routes, mo_routes;
};

class Loader {
 public:
  Loader(Diags& d, Config& c) : d_(d), c_(c) {}

  void run(const json& root) {
    Obj r(d_, &root, "");
    if (!r.present()) {
      return;
    }
    r.uint("version", c_.version);
    readGateway(r);
    readTimers(r);
    readLimits(r);
    readNumbering(r);
    readRouting(r);
    readListeners(r);
    readCustomers(r);
    readUpstreams(r);
    readGroups(r);
    readRoutes(r);
    readMoRoutes(r);
    readStore(r);
    readMetrics(r);
    readLog(r);
    r.finish();

    checkListeners();
    checkCustomers();
    checkUpstreams();
    checkGroups();
    checkRoutes();
    checkMoRoutes();
    checkUsage();
    checkTimers();
  }

 private:
  // -- helpers -----------------------------------------------------------------------------------

  bool name(Obj& o, std::string& out, std::string_view key = "name") {
    auto v = o.str(key, true);
    if (!v) {
      return false;
    }
    const bool ok = validName(*v);
    if (!ok) {
      d_.error(o.path(key),
               "invalid name " + quote(*v) + " (1-64 characters: letters, digits, '_', '-', '.')");
    }
    out = std::move(*v);  // kept even when invalid: later messages can name the entity
    return ok;
  }

  // Digits (an optional leading '+' is dropped): a destination prefix or number.
  bool digitsPrefix(std::string& s, const std::string& path, std::string_view what) {
    std::string v = s;
    if (!v.empty() && v[0] == '+') {
      v.erase(0, 1);
    }
    if (!isDigits(v) || v.size() > 20) {
      d_.error(path, "invalid " + std::string(what) + " " + quote(s) +
                         " (1-20 digits; a leading + is allowed)");
      return false;
    }
    s = std::move(v);
    return true;
  }

  void readTls(Obj& parent, Tls& tls, bool listener) {
    const json* j = parent.take("tls");
    if (j == nullptr) {
      return;
    }
    Obj o(d_, j, parent.path("tls"));
    if (!o.present()) {
      return;
    }
    tls.enabled = true;
    o.boolean("enabled", tls.enabled);
    o.str("certificate", tls.certificate, listener && tls.enabled);
    o.str("private_key", tls.private_key, listener && tls.enabled);
    o.str("ca", tls.ca);
    if (listener) {
      o.boolean("require_client_certificate", tls.require_client_certificate);
    } else {
      o.boolean("verify_peer", tls.verify_peer);
      o.str("server_name", tls.server_name, false, 253);
    }
    o.oneOf<std::string>("min_version", tls.min_version, {{"1.2", "1.2"}, {"1.3", "1.3"}});
    o.str("ciphers", tls.ciphers);
    o.finish();
    if (!tls.enabled) {
      return;
    }
    if (!listener && tls.certificate.empty() != tls.private_key.empty()) {
      d_.error(o.path(tls.certificate.empty() ? "certificate" : "private_key"),
               "certificate and private_key go together");
    }
    if (listener && tls.require_client_certificate && tls.ca.empty()) {
      d_.error(o.path("ca"), "required when require_client_certificate is true");
    }
    if (!listener && !tls.verify_peer) {
      d_.warn(o.path("verify_peer"), "false: the carrier's certificate is not checked");
    }
    for (auto [key, file] :
         {std::pair<const char*, const std::string*>{"certificate", &tls.certificate},
          {"private_key", &tls.private_key},
          {"ca", &tls.ca}}) {
      if (!file->empty()) {
        std::ifstream probe(*file);
        if (!probe) {
          d_.warn(o.path(key), "file " + quote(*file) + " is not readable now");
        }
      }
    }
  }

  // An action object {"group": NAME} or {"reject": STATUS}; references resolved later.
  std::optional<Action> readAction(const json* j, const std::string& path) {
    Obj o(d_, j, path);
    if (!o.present()) {
      return std::nullopt;
    }
    const json* group = o.take("group");
    const json* reject = o.take("reject");
    o.finish();
    Action a;
    if ((group != nullptr) == (reject != nullptr)) {
      d_.error(path, "needs exactly one of \"group\" or \"reject\"");
      return std::nullopt;
    }
    if (group != nullptr) {
      a.kind = Action::Kind::Group;
      auto g = asString(d_, *group, at(path, "group"));
      if (!g) {
        return std::nullopt;
      }
      a.group_name = *g;
      pendingActions_.push_back({at(path, "group"), a.group_name});
      return a;
    }
    a.kind = Action::Kind::Reject;
    auto s = asStatus(d_, *reject, at(path, "reject"));
    if (!s) {
      return std::nullopt;
    }
    if (*s == 0) {
      d_.error(at(path, "reject"), "must not be 0 (ESME_ROK is not a rejection)");
      return std::nullopt;
    }
    a.status = *s;
    return a;
  }

  std::string knownNames(const std::vector<std::string_view>& names) {
    return "(known: " + joinNames(names) + ")";
  }

  template <typename Vec, typename Get>
  std::vector<std::string_view> namesOf(const Vec& v, Get get) {
    std::vector<std::string_view> out;
    for (const auto& e : v) {
      if (!get(e).empty()) {
        out.push_back(get(e));
      }
    }
    return out;
  }

  std::optional<GroupId> resolveGroup(const std::string& name, const std::string& path) {
    if (auto id = c_.findGroup(name)) {
      return id;
    }
    d_.error(path, "unknown group " + quote(name) + " " +
                       knownNames(namesOf(c_.groups, [](const Group& g) -> const std::string& {
                         return g.name;
                       })));
    return std::nullopt;
  }

  std::optional<CustomerId> resolveCustomer(const std::string& name, const std::string& path) {
    if (auto id = c_.findCustomer(name)) {
      return id;
    }
    d_.error(path,
             "unknown customer " + quote(name) + " " +
                 knownNames(namesOf(c_.customers, [](const Customer& x) -> const std::string& {
                   return x.system_id;
                 })));
    return std::nullopt;
  }

  std::optional<UpstreamId> resolveUpstream(const std::string& name, const std::string& path) {
    if (auto id = c_.findUpstream(name)) {
      return id;
    }
    d_.error(path,
             "unknown upstream " + quote(name) + " " +
                 knownNames(namesOf(c_.upstreams, [](const Upstream& x) -> const std::string& {
                   return x.name;
                 })));
    return std::nullopt;
  }

  std::optional<ListenerId> resolveListener(const std::string& name, const std::string& path) {
    if (auto id = c_.findListener(name)) {
      return id;
    }
    d_.error(path,
             "unknown listener " + quote(name) + " " +
                 knownNames(namesOf(c_.listeners, [](const Listener& x) -> const std::string& {
                   return x.name;
                 })));
    return std::nullopt;
  }

  // Customers listed by name or by tag; warns about tags nobody carries.
  std::vector<CustomerId> resolveWho(const std::vector<std::string>& names,
                                     const std::vector<std::string>& tags,
                                     const std::string& path) {
    std::vector<CustomerId> ids;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (auto id = resolveCustomer(names[i], at(at(path, "customers"), i))) {
        ids.push_back(*id);
      }
    }
    for (std::size_t i = 0; i < tags.size(); ++i) {
      bool any = false;
      for (std::size_t k = 0; k < c_.customers.size(); ++k) {
        if (c_.customers[k].hasTag(tags[i])) {
          ids.push_back(static_cast<CustomerId>(k));
          any = true;
        }
      }
      if (!any) {
        d_.warn(at(at(path, "customer_tags"), i), "no customer has tag " + quote(tags[i]));
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

  template <typename Vec, typename Get>
  void checkDuplicates(const Vec& v, const std::vector<std::string>& paths, Get get,
                       std::string_view key, std::string_view what) {
    std::unordered_map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string& n = get(v[i]);
      if (n.empty()) {
        continue;
      }
      auto [it, inserted] = seen.emplace(n, i);
      if (!inserted) {
        d_.error(at(paths[i], key), "duplicate " + std::string(what) + " " + quote(n) + " (also " +
                                        paths[it->second] + ")");
      }
    }
  }

  // -- top-level blocks ---------------------------------------------------------------------------

  void readGateway(Obj& r) {
    Obj o(d_, r.take("gateway"), "gateway");
    if (!o.present()) {
      return;
    }
    if (auto n = o.str("name", false, 64)) {
      if (n->empty()) {
        d_.error(o.path("name"), "must not be empty");
      } else {
        c_.gateway.name = *n;
      }
    }
    o.uint("instance_id", c_.gateway.instance_id);
    if (auto s = o.str("system_id")) {
      if (s->empty() || s->size() > 15 || !printableAscii(*s)) {
        d_.error(o.path("system_id"), "must be 1-15 printable characters (SMPP limit)");
      } else {
        c_.gateway.system_id = *s;
      }
    }
    o.boolean("allow_plain_passwords", c_.gateway.allow_plain_passwords);
    o.finish();
  }

  void readTimers(Obj& r) {
    Obj o(d_, r.take("timers"), "timers");
    auto& t = c_.timers;
    o.duration("session_init", t.session_init);
    o.duration("enquire_link", t.enquire_link);
    o.duration("inactivity", t.inactivity);
    o.duration("response", t.response);
    o.duration("delivery_response", t.delivery_response);
    o.duration("unbind", t.unbind);
    o.duration("shutdown_grace", t.shutdown_grace);
    o.finish();
  }

  void readLimits(Obj& r) {
    Obj o(d_, r.take("limits"), "limits");
    auto& l = c_.limits;
    o.uint("max_pdu_size", l.max_pdu_size);
    o.uint("max_connections", l.max_connections);
    o.uint("max_queue_per_group", l.max_queue_per_group);
    o.uint("max_pending_deliveries_per_customer", l.max_pending_deliveries_per_customer);
    o.uint("max_session_output", l.max_session_output);
    o.finish();
    if (l.max_pdu_size < 65536 + 300) {
      d_.warn(o.path("max_pdu_size"),
              std::to_string(l.max_pdu_size) +
                  " is below 65836: PDUs carrying a full message_payload (64 KiB) are refused");
    }
  }

  void readNumbering(Obj& r) {
    Obj o(d_, r.take("numbering"), "numbering");
    auto& n = c_.numbering;
    o.boolean("enabled", n.enabled);
    o.boolean("normalise_source", n.normalise_source);
    if (const json* ip = o.take("international_prefixes")) {
      n.international_prefixes.clear();
      forEach(d_, ip, o.path("international_prefixes"),
              [&](const json& v, const std::string& vp, std::size_t) {
                auto s = asString(d_, v, vp);
                if (s && (!isDigits(*s) || s->size() > 4)) {
                  d_.error(vp, "invalid international prefix " + quote(*s) + " (1-4 digits)");
                } else if (s) {
                  n.international_prefixes.push_back(*s);
                }
              });
    }
    o.str("default_country", n.default_country, false, 3);
    const json* countries = o.take("countries");
    o.finish();
    if (countries != nullptr) {
      Obj co(d_, countries, o.path("countries"));
      if (co.present()) {
        for (const auto& [cc, value] : countries->items()) {
          std::string p = co.path(cc);
          Obj e(d_, &value, p);
          CountryNumbering entry;
          entry.country_code = cc;
          if (!isDigits(cc) || cc.size() > 3 || cc[0] == '0') {
            d_.error(p, "invalid country code " + quote(cc) + " (1-3 digits, no leading 0)");
          }
          if (auto np = e.str("national_prefix", false, 4)) {
            if (!np->empty() && !isDigits(*np)) {
              d_.error(e.path("national_prefix"), "must be digits, got " + quote(*np));
            } else {
              entry.national_prefix = *np;
            }
          }
          e.finish();
          n.countries.push_back(std::move(entry));
        }
        // Mark all keys of "countries" as consumed.
        for (const auto& [cc, value] : countries->items()) {
          co.take(cc);
        }
      }
    }
    if (!n.default_country.empty() && n.country(n.default_country) == nullptr) {
      d_.error(o.path("default_country"),
               "no numbering.countries entry for country code " + quote(n.default_country));
    }
  }

  void readRouting(Obj& r) {
    Obj o(d_, r.take("routing"), "routing");
    auto& ro = c_.routing;
    o.status("unroutable_status", ro.unroutable_status);
    o.status("mo_unroutable_status", ro.mo_unroutable_status);
    o.status("receipt_unmatched_status", ro.receipt_unmatched_status);
    o.oneOf<AckMode>(
        "ack_mode", ro.ack_mode,
        {{"transparent", AckMode::Transparent}, {"store_and_forward", AckMode::StoreAndForward}});
    o.duration("concat_ttl", ro.concat_ttl);
    o.uint("concat_max_entries", ro.concat_max_entries);
    o.finish();
    if (ro.unroutable_status == 0) {
      d_.error(o.path("unroutable_status"), "must not be 0 (ESME_ROK)");
    }
  }

  void readListeners(Obj& r) {
    const json* j = r.take("listeners", true);
    if (j != nullptr && j->is_array() && j->empty()) {
      d_.error("listeners", "at least one listener is required");
    }
    forEach(d_, j, "listeners", [&](const json& e, const std::string& p, std::size_t) {
      Obj o(d_, &e, p);
      if (!o.present()) {
        return;
      }
      Listener l;
      name(o, l.name);
      if (auto a = o.str("address")) {
        std::array<std::uint8_t, 16> bytes{};
        bool v6 = false;
        if (!parseIp(*a, bytes, v6)) {
          d_.error(o.path("address"), "not an IP address: " + quote(*a));
        } else {
          l.address = *a;
        }
      }
      o.uint("port", l.port, true);  // 0: any free port (tests; see --port-file)
      readTls(o, l.tls, true);
      o.uint("max_connections", l.max_connections);
      o.boolean("proxy_protocol", l.proxy_protocol);
      const bool hasCustomers = o.take("customers") != nullptr;
      const bool hasTags = o.take("customer_tags") != nullptr;
      l.customers = o.strings("customers");
      l.customer_tags = o.strings("customer_tags");
      l.all_customers = !hasCustomers && !hasTags;
      if (!l.all_customers && l.customers.empty() && l.customer_tags.empty()) {
        d_.warn(p, "empty customers/customer_tags: no customer may bind here");
      }
      o.finish();
      c_.listeners.push_back(std::move(l));
      src_.listeners.push_back(p);
    });
  }

  void readRateLimit(Obj& parent, RateLimit& rl) {
    Obj o(d_, parent.take("rate_limit"), parent.path("rate_limit"));
    if (!o.present()) {
      return;
    }
    o.uint("per_second", rl.per_second);
    bool burstGiven = o.take("burst") != nullptr;
    o.uint("burst", rl.burst);
    o.finish();
    if (!burstGiven) {
      rl.burst = rl.per_second;
    }
  }

  void readCustomers(Obj& r) {
    const json* j = r.take("customers");
    if (j == nullptr || (j->is_array() && j->empty())) {
      d_.warn("customers", "no customers: nobody can bind");
    }
    forEach(d_, j, "customers", [&](const json& e, const std::string& p, std::size_t) {
      Obj o(d_, &e, p);
      if (!o.present()) {
        return;
      }
      Customer c;
      if (auto id = o.str("system_id", true)) {
        if (id->empty() || id->size() > 15 || !printableAscii(*id)) {
          d_.error(o.path("system_id"),
                   "must be 1-15 printable characters (SMPP limit), got " + quote(*id));
        } else {
          c.system_id = *id;
        }
      }
      o.str("description", c.description);
      o.boolean("enabled", c.enabled);
      readCustomerPassword(o, c);
      c.tags = o.strings("tags", [&](const std::string& s, const std::string& tp) {
        if (!validName(s)) {
          d_.error(tp, "invalid tag " + quote(s) + " (1-64 letters, digits, '_', '-', '.')");
          return false;
        }
        return true;
      });
      if (const json* bt = o.take("bind_types")) {
        c.bind_types = 0;
        forEach(d_, bt, o.path("bind_types"),
                [&](const json& v, const std::string& vp, std::size_t) {
                  static constexpr std::pair<std::string_view, BindType> kTypes[] = {
                      {"transmitter", BindType::Transmitter},
                      {"receiver", BindType::Receiver},
                      {"transceiver", BindType::Transceiver}};
                  for (auto [n, t] : kTypes) {
                    if (v.is_string() && v.get_ref<const std::string&>() == n) {
                      c.bind_types =
                          static_cast<std::uint8_t>(c.bind_types | 1u << static_cast<int>(t));
                      return;
                    }
                  }
                  d_.error(vp, "expected one of transmitter, receiver, transceiver, got " + got(v));
                });
        if (bt->is_array() && bt->empty()) {
          d_.error(o.path("bind_types"), "empty: the customer could never bind");
        }
      }
      o.uint("max_binds", c.max_binds);
      o.uint("window", c.window);
      forEach(d_, o.take("source_networks"), o.path("source_networks"),
              [&](const json& v, const std::string& vp, std::size_t) {
                auto s = asString(d_, v, vp);
                if (!s) {
                  return;
                }
                std::string reason;
                bool hostBits = false;
                auto cidr = Cidr::parse(*s, &reason, &hostBits);
                if (!cidr) {
                  d_.error(vp, "invalid CIDR " + quote(*s) + " (" + reason + ")");
                  return;
                }
                if (hostBits) {
                  d_.warn(vp, quote(*s) + " has host bits set; it means " + cidr->toString());
                }
                c.source_networks.push_back(*cidr);
              });
      readRateLimit(o, c.rate_limit);
      for (auto& s :
           o.strings("allowed_source_addresses", [&](const std::string&s, const std::string&sp) {
             if (s.empty() || s.size() > 20) {
               d_.error(sp, "must be 1-20 characters, got " + quote(s));
               return false;
             }
             return true;
           })) {
        SourcePattern pat;
        pat.glob = s.find_first_of("*?") != std::string::npos;
        pat.pattern = std::move(s);
        c.allowed_sources.push_back(std::move(pat));
      }
      if (const json* dr = o.take("default_route")) {
        c.default_route = readAction(dr, o.path("default_route"));
      }
      if (auto cc = o.str("country")) {
        if (!isDigits(*cc) || cc->size() > 3) {
          d_.error(o.path("country"), "invalid country code " + quote(*cc) + " (1-3 digits)");
        } else if (c_.numbering.country(*cc) == nullptr) {
          d_.error(o.path("country"),
                   "no numbering.countries entry for country code " + quote(*cc));
        } else {
          c.country_code = *cc;
        }
      }
      {
        Obj m(d_, o.take("message_id"), o.path("message_id"));
        bool lengthGiven = m.take("length") != nullptr;
        m.oneOf<MessageIdFormat>(
            "format", c.message_id_format,
            {{"hex", MessageIdFormat::Hex}, {"decimal", MessageIdFormat::Decimal}});
        if (!lengthGiven && c.message_id_format == MessageIdFormat::Decimal) {
          c.message_id_length = 20;
        }
        m.uint("length", c.message_id_length);
        m.finish();
      }
      o.oneOf<ReceiptPolicy>("receipts", c.receipts,
                             {{"as_requested", ReceiptPolicy::AsRequested},
                              {"always", ReceiptPolicy::Always},
                              {"never", ReceiptPolicy::Never}});
      AckMode ack{};
      if (o.oneOf<AckMode>("ack_mode", ack,
                           {{"transparent", AckMode::Transparent},
                            {"store_and_forward", AckMode::StoreAndForward}})) {
        c.ack_mode = ack;
      }
      o.finish();
      c_.customers.push_back(std::move(c));
      src_.customers.push_back(p);
    });
  }

  void readCustomerPassword(Obj& o, Customer& c) {
    auto pw = o.str("password", true, 512);
    if (!pw) {
      return;
    }
    const std::string path = o.path("password");
    std::string prefix = std::string(kPasswordHashScheme) + "$";
    if (pw->rfind(prefix, 0) == 0) {
      std::string reason;
      if (!isPasswordHash(*pw, &reason)) {
        d_.error(path, "invalid password hash: " + reason);
        return;
      }
      c.password = *pw;
      return;
    }
    // Never echo the value: it is a secret.
    if (!c_.gateway.allow_plain_passwords) {
      d_.error(path,
               "plain-text password refused: store the output of `smppgw hash-password` "
               "(gateway.allow_plain_passwords permits plain text, for tests only)");
      return;
    }
    d_.warn(path, "plain-text password (allowed by gateway.allow_plain_passwords)");
    if (pw->size() > 8) {
      d_.warn(path, "longer than 8 characters: SMPP v3.4 binds carry at most 8");
    }
    c.password = *pw;
    c.password_plain = true;
  }

  void readUpstreams(Obj& r) {
    const json* j = r.take("upstreams");
    if (j == nullptr || (j->is_array() && j->empty())) {
      d_.warn("upstreams", "no upstreams: no message can be delivered");
    }
    forEach(d_, j, "upstreams", [&](const json& e, const std::string& p, std::size_t) {
      Obj o(d_, &e, p);
      if (!o.present()) {
        return;
      }
      Upstream u;
      u.enquire_link_interval = c_.timers.enquire_link;
      u.request_timeout = c_.timers.response;
      name(o, u.name);
      o.str("description", u.description);
      if (auto h = o.str("host", true, 253)) {
        bool ok = !h->empty() && std::all_of(h->begin(), h->end(), [](char ch) {
          return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '.' || ch == ':';
        });
        if (!ok) {
          d_.error(o.path("host"), "not a host name or IP address: " + quote(*h));
        } else {
          u.host = *h;
        }
      }
      o.uint("port", u.port, true);
      readTls(o, u.tls, false);
      if (auto s = o.str("system_id", true)) {
        if (s->empty() || s->size() > 15) {
          d_.error(o.path("system_id"), "must be 1-15 characters (SMPP limit)");
        } else {
          u.system_id = *s;
        }
      }
      if (auto pw = o.str("password", false, 64)) {
        if (pw->size() > 8) {
          d_.warn(o.path("password"), "longer than 8 characters: SMPP v3.4 allows at most 8");
        }
        u.password = *pw;
      }
      if (auto st = o.str("system_type")) {
        if (st->size() > 12) {
          d_.error(o.path("system_type"), "longer than 12 characters (SMPP limit)");
        } else {
          u.system_type = *st;
        }
      }
      o.oneOf<std::uint8_t>("interface_version", u.interface_version,
                            {{"3.3", 0x33}, {"3.4", 0x34}, {"5.0", 0x50}});
      o.oneOf<BindMode>("bind_mode", u.bind_mode,
                        {{"transceiver", BindMode::Transceiver},
                         {"transmitter_receiver", BindMode::TransmitterReceiver}});
      o.uint("binds", u.binds);
      if (u.bind_mode == BindMode::TransmitterReceiver) {
        u.receiver_binds = 1;
        o.uint("receiver_binds", u.receiver_binds);
      } else if (o.take("receiver_binds") != nullptr) {
        d_.error(o.path("receiver_binds"), "only valid with bind_mode \"transmitter_receiver\"");
      }
      if (auto ar = o.str("address_range")) {
        if (ar->size() > 40) {
          d_.error(o.path("address_range"), "longer than 40 characters (SMPP limit)");
        } else {
          u.address_range = *ar;
        }
      }
      o.uint("window", u.window);
      o.uint("customer_delivery_share", u.customer_delivery_share);
      if (u.customer_delivery_share == 0) {  // not set (an explicit 0 is out of bounds)
        u.customer_delivery_share = std::max<std::uint32_t>(1, u.window / 2);
      }
      o.uint("tps_per_bind", u.tps_per_bind);
      o.uint("tps_total", u.tps_total);
      o.duration("enquire_link_interval", u.enquire_link_interval);
      o.duration("request_timeout", u.request_timeout);
      o.duration("connect_timeout", u.connect_timeout);
      {
        Obj rc(d_, o.take("reconnect"), o.path("reconnect"));
        rc.duration("initial", u.reconnect.initial);
        rc.duration("max", u.reconnect.max);
        rc.number("multiplier", u.reconnect.multiplier);
        rc.number("jitter", u.reconnect.jitter);
        rc.finish();
        if (u.reconnect.max < u.reconnect.initial) {
          d_.error(rc.path("max"), formatDuration(u.reconnect.max) + " is below initial " +
                                       formatDuration(u.reconnect.initial));
        }
      }
      {
        Obj m(d_, o.take("message_id"), o.path("message_id"));
        auto bases = {std::pair<std::string_view, IdBase>{"as_is", IdBase::AsIs},
                      {"hex", IdBase::Hex},
                      {"decimal", IdBase::Decimal}};
        m.oneOf<IdBase>("response", u.message_id.response, bases);
        m.oneOf<IdBase>("receipt", u.message_id.receipt, bases);
        m.boolean("strip_leading_zeros", u.message_id.strip_leading_zeros);
        m.oneOf<IdCase>(
            "case", u.message_id.letter_case,
            {{"preserve", IdCase::Preserve}, {"lower", IdCase::Lower}, {"upper", IdCase::Upper}});
        m.finish();
        const auto& mi = u.message_id;
        if (mi.response != mi.receipt &&
            (mi.response == IdBase::AsIs || mi.receipt == IdBase::AsIs)) {
          d_.error(m.path(),
                   "response and receipt differ, so both must be \"hex\" or \"decimal\" "
                   "(ids are converted between them)");
        }
      }
      {
        Obj a(d_, o.take("address_rewrite"), o.path("address_rewrite"));
        auto byte = [&](std::string_view key, std::optional<std::uint8_t>& out) {
          if (const json* v = a.take(key)) {
            out = asByte(d_, *v, a.path(key));
          }
        };
        byte("source_ton", u.rewrite.source_ton);
        byte("source_npi", u.rewrite.source_npi);
        byte("destination_ton", u.rewrite.destination_ton);
        byte("destination_npi", u.rewrite.destination_npi);
        if (auto so = a.str("source_override")) {
          if (so->empty() || so->size() > 20) {
            d_.error(a.path("source_override"), "must be 1-20 characters");
          } else {
            u.rewrite.source_override = *so;
          }
        }
        a.oneOf<DestinationFormat>("destination_format", u.rewrite.destination_format,
                                   {{"as_is", DestinationFormat::AsIs},
                                    {"international", DestinationFormat::International},
                                    {"plus_international", DestinationFormat::PlusInternational}});
        a.finish();
      }
      o.finish();
      if (u.tps_per_bind != 0 && u.tps_total != 0 &&
          static_cast<std::uint64_t>(u.tps_per_bind) * u.binds < u.tps_total) {
        d_.warn(o.path("tps_total"),
                std::to_string(u.tps_total) + " can never be reached: binds x tps_per_bind = " +
                    std::to_string(static_cast<std::uint64_t>(u.tps_per_bind) * u.binds));
      }
      c_.upstreams.push_back(std::move(u));
      src_.upstreams.push_back(p);
    });
  }

  void readGroups(Obj& r) {
    forEach(d_, r.take("groups"), "groups", [&](const json& e, const std::string& p, std::size_t) {
      Obj o(d_, &e, p);
      if (!o.present()) {
        return;
      }
      Group g;
      name(o, g.name);
      o.oneOf<GroupStrategy>("strategy", g.strategy,
                             {{"failover", GroupStrategy::Failover},
                              {"round_robin", GroupStrategy::RoundRobin},
                              {"weighted", GroupStrategy::Weighted},
                              {"least_outstanding", GroupStrategy::LeastOutstanding}});
      const json* members = o.take("members", true);
      bool weightGiven = false;
      bool priorityGiven = false;
      forEach(d_, members, o.path("members"),
              [&](const json& me, const std::string& mp, std::size_t) {
                Obj m(d_, &me, mp);
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
                  d_.error(m.path("weight"),
                           "0 is only meaningful in weighted groups (it drains the member)");
                  gm.weight = 1;
                }
                if (!gm.upstream_name.empty()) {
                  if (auto id = resolveUpstream(gm.upstream_name, m.path("upstream"))) {
                    gm.upstream = *id;
                  }
                }
                g.members.push_back(std::move(gm));
              });
      if (members != nullptr && members->is_array() && members->empty()) {
        d_.error(o.path("members"), "empty group: it can never deliver");
      }
      const bool attemptsGiven = o.take("max_attempts") != nullptr;
      g.max_attempts = 1;  // one member per message: values above 1 are refused (key table)
      o.uint("max_attempts", g.max_attempts);
      if (attemptsGiven && !g.members.empty() && g.max_attempts > g.members.size()) {
        d_.error(o.path("max_attempts"), std::to_string(g.max_attempts) +
                                             " exceeds the number of members (" +
                                             std::to_string(g.members.size()) + ")");
      }
      if (const json* rs = o.take("retry_statuses")) {
        forEach(d_, rs, o.path("retry_statuses"),
                [&](const json& v, const std::string& vp, std::size_t) {
                  if (auto s = asStatus(d_, v, vp)) {
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
            d_.error(at(at(o.path("members"), a), "upstream"),
                     "duplicate member " + quote(g.members[a].upstream_name) + " (also " +
                         at(o.path("members"), b) + ")");
            break;
          }
        }
      }
      if (g.strategy == GroupStrategy::Weighted && !g.members.empty() &&
          std::all_of(g.members.begin(), g.members.end(),
                      [](const GroupMember& m) { return m.weight == 0; })) {
        d_.error(o.path("members"), "every weight is 0: the group can never deliver");
      }
      if (g.strategy == GroupStrategy::RoundRobin && (weightGiven || priorityGiven)) {
        d_.warn(o.path("strategy"), "round_robin ignores member priority and weight");
      }
      if (g.strategy == GroupStrategy::Weighted && priorityGiven) {
        d_.warn(o.path("strategy"), "weighted ignores member priority (use failover for tiers)");
      }
      c_.groups.push_back(std::move(g));
      src_.groups.push_back(p);
    });
  }

  void readPrefixList(Obj& o, std::string_view key, std::vector<std::string>& out,
                      std::string_view what, bool warnLeadingZero) {
    out = o.strings(key,
                    [&](std::string& s, const std::string& p) { return digitsPrefix(s, p, what); });
    const std::string path = o.path(key);
    for (std::size_t i = 0; i < out.size(); ++i) {
      if (warnLeadingZero && c_.numbering.enabled && out[i][0] == '0') {
        d_.warn(at(path, i), quote(out[i]) +
                                 " starts with 0: destinations are matched in international "
                                 "(E.164) form after numbering, e.g. \"44...\"");
      }
      for (std::size_t k = 0; k < out.size(); ++k) {
        if (k == i) {
          continue;
        }
        if (out[k] == out[i] && k < i) {
          d_.warn(at(path, i), "duplicate prefix " + quote(out[i]));
          break;
        }
        if (out[k] != out[i] && out[i].rfind(out[k], 0) == 0) {
          d_.warn(at(path, i), quote(out[i]) + " is already covered by " + quote(out[k]));
          break;
        }
      }
    }
  }

  void readRoutes(Obj& r) {
    const json* j = r.take("routes");
    if (j == nullptr || (j->is_array() && j->empty())) {
      d_.warn("routes",
              "no routes: every message is rejected unless its customer has a "
              "default_route");
    }
    forEach(d_, j, "routes", [&](const json& e, const std::string& p, std::size_t idx) {
      const std::size_t errorsBefore = d_.errors.size();
      Obj o(d_, &e, p);
      if (!o.present()) {
        return;
      }
      Route rt;
      if (o.take("name") != nullptr) {
        name(o, rt.name);
      } else {
        rt.name = "route-" + std::to_string(idx);
      }
      {
        Obj m(d_, o.take("match"), o.path("match"));
        auto& mt = rt.match;
        mt.customers = m.strings("customers");
        mt.customer_tags = m.strings("customer_tags");
        mt.listeners = m.strings("listeners");
        readPrefixList(m, "destination_prefixes", mt.destination_prefixes, "destination prefix",
                       true);
        mt.source_prefixes =
            m.strings("source_prefixes", [&](std::string& s, const std::string& sp) {
              if (s.empty() || s.size() > 20) {
                d_.error(sp, "must be 1-20 characters, got " + quote(s));
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
            d_.error(m.path("source_regex"),
                     "invalid regular expression " + quote(*rx) + ": " + why);
          }
        }
        mt.service_types =
            m.strings("service_types", [&](const std::string& s, const std::string& sp) {
              if (s.size() > 5) {
                d_.error(sp, "longer than 5 characters (SMPP limit), got " + quote(s));
                return false;
              }
              return true;
            });
        forEach(d_, m.take("data_coding"), m.path("data_coding"),
                [&](const json& v, const std::string& vp, std::size_t) {
                  if (auto b = asByte(d_, v, vp)) {
                    mt.data_codings.push_back(*b);
                  }
                });
        if (const json* esm = m.take("esm_class")) {
          if (esm->is_object()) {
            Obj eo(d_, esm, m.path("esm_class"));
            EsmClassMatch em;
            if (const json* v = eo.take("mask", true)) {
              em.mask = asByte(d_, *v, eo.path("mask")).value_or(0xFF);
            }
            if (const json* v = eo.take("value", true)) {
              em.value = asByte(d_, *v, eo.path("value")).value_or(0);
            }
            eo.finish();
            if ((em.value & ~em.mask) != 0) {
              d_.error(eo.path("value"), "has bits outside mask: the route can never match");
            }
            mt.esm_class = em;
          } else if (auto b = asByte(d_, *esm, m.path("esm_class"))) {
            mt.esm_class = EsmClassMatch{0xFF, *b};
          }
        }
        m.finish();
        mt.any_customer = mt.customers.empty() && mt.customer_tags.empty();
      }
      if (const json* a = o.take("action", true)) {
        if (auto act = readAction(a, o.path("action"))) {
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
      c_.routes.push_back(std::move(rt));
      src_.routes.push_back(p);
      // A route with errors is left out of cross checks: its parsed form is not what was meant.
      routeBroken_.push_back(d_.errors.size() != errorsBefore);
    });
  }

  void readMoRoutes(Obj& r) {
    forEach(d_, r.take("mo_routes"), "mo_routes",
            [&](const json& e, const std::string& p, std::size_t idx) {
              const std::size_t errorsBefore = d_.errors.size();
              Obj o(d_, &e, p);
              if (!o.present()) {
                return;
              }
              MoRoute mr;
              if (o.take("name") != nullptr) {
                name(o, mr.name);
              } else {
                mr.name = "mo-route-" + std::to_string(idx);
              }
              {
                Obj m(d_, o.take("match"), o.path("match"));
                mr.match.upstreams = m.strings("upstreams");
                readPrefixList(m, "destination_prefixes", mr.match.destination_prefixes,
                               "destination prefix", false);
                mr.match.destinations =
                    m.strings("destinations", [&](std::string& s, const std::string& sp) {
                      return digitsPrefix(s, sp, "destination");
                    });
                mr.match.source_prefixes =
                    m.strings("source_prefixes", [&](std::string& s, const std::string& sp) {
                      return digitsPrefix(s, sp, "source prefix");
                    });
                m.finish();
              }
              {
                Obj a(d_, o.take("action", true), o.path("action"));
                const json* cust = a.take("customer");
                const json* rej = a.take("reject");
                a.finish();
                if (a.present()) {
                  if ((cust != nullptr) == (rej != nullptr)) {
                    d_.error(a.path(), "needs exactly one of \"customer\" or \"reject\"");
                  } else if (cust != nullptr) {
                    if (auto s = asString(d_, *cust, a.path("customer"))) {
                      mr.customer_name = *s;
                    }
                  } else if (auto s = asStatus(d_, *rej, a.path("reject"))) {
                    if (*s == 0) {
                      d_.error(a.path("reject"), "must not be 0 (ESME_ROK is not a rejection)");
                    }
                    mr.reject = true;
                    mr.status = *s;
                  }
                }
              }
              o.finish();
              c_.mo_routes.push_back(std::move(mr));
              src_.mo_routes.push_back(p);
              moBroken_.push_back(d_.errors.size() != errorsBefore);
            });
  }

  void readStore(Obj& r) {
    Obj o(d_, r.take("store"), "store");
    auto& s = c_.store;
    o.oneOf<StoreType>("type", s.type,
                       {{"memory", StoreType::Memory},
                        {"embedded", StoreType::Embedded},
                        {"redis", StoreType::Redis}});
    o.str("path", s.path);
    o.str("url", s.url);
    o.str("key_prefix", s.key_prefix, false, 64);
    o.duration("mapping_ttl", s.mapping_ttl);
    o.uint("max_mappings", s.max_mappings);
    o.duration("delivery_ttl", s.delivery_ttl);
    o.uint("batch_max", s.batch_max);
    o.duration("batch_delay", s.batch_delay);
    o.finish();
    if (s.type == StoreType::Embedded && s.path.empty()) {
      d_.error(o.path("path"), "required when type is \"embedded\"");
    }
    if (s.type == StoreType::Redis) {
      if (s.url.empty()) {
        d_.error(o.path("url"), "required when type is \"redis\"");
      } else if (s.url.rfind("redis://", 0) != 0 && s.url.rfind("rediss://", 0) != 0 &&
                 s.url.rfind("unix://", 0) != 0) {
        d_.error(o.path("url"), "expected redis://, rediss:// or unix://, got " + quote(s.url));
      }
    }
    if (s.type != StoreType::Embedded && !s.path.empty()) {
      d_.warn(o.path("path"), "ignored unless type is \"embedded\"");
    }
    if (s.type != StoreType::Redis && !s.url.empty()) {
      d_.warn(o.path("url"), "ignored unless type is \"redis\"");
    }
  }

  void readMetrics(Obj& r) {
    Obj o(d_, r.take("metrics"), "metrics");
    auto& m = c_.metrics;
    o.boolean("enabled", m.enabled);
    if (auto a = o.str("address")) {
      std::array<std::uint8_t, 16> bytes{};
      bool v6 = false;
      if (!parseIp(*a, bytes, v6)) {
        d_.error(o.path("address"), "not an IP address: " + quote(*a));
      } else {
        m.address = *a;
      }
    }
    o.uint("port", m.port);  // 0: any free port
    if (auto p = o.str("path")) {
      if (p->empty() || (*p)[0] != '/') {
        d_.error(o.path("path"), "must start with '/'");
      } else {
        m.path = *p;
      }
    }
    o.finish();
  }

  void readLog(Obj& r) {
    Obj o(d_, r.take("log"), "log");
    o.oneOf<LogLevel>("level", c_.log.level,
                      {{"trace", LogLevel::Trace},
                       {"debug", LogLevel::Debug},
                       {"info", LogLevel::Info},
                       {"warn", LogLevel::Warn},
                       {"error", LogLevel::Error}});
    o.oneOf<LogFormat>("format", c_.log.format,
                       {{"text", LogFormat::Text}, {"json", LogFormat::Json}});
    o.str("file", c_.log.file);
    o.finish();
  }

  // -- cross checks -------------------------------------------------------------------------------

  static bool wildcard(const std::string& a) { return a == "0.0.0.0" || a == "::"; }

  static bool addressesOverlap(const std::string& a, const std::string& b) {
    return a == b || wildcard(a) || wildcard(b);
  }

  void checkListeners() {
    checkDuplicates(
        c_.listeners, src_.listeners,
        [](const Listener& l) -> const std::string& { return l.name; }, "name", "listener name");
    for (std::size_t i = 0; i < c_.listeners.size(); ++i) {
      auto& l = c_.listeners[i];
      for (std::size_t k = 0; k < i; ++k) {
        const auto& o = c_.listeners[k];
        // Port 0 asks the OS for a free port: never a conflict.
        if (l.port != 0 && o.port == l.port && addressesOverlap(o.address, l.address)) {
          d_.error(at(src_.listeners[i], "port"), std::to_string(l.port) + " already used by " +
                                                      src_.listeners[k] + " (" + quote(o.name) +
                                                      ")");
          break;
        }
      }
      if (c_.metrics.enabled && l.port != 0 && c_.metrics.port == l.port &&
          addressesOverlap(c_.metrics.address, l.address)) {
        d_.error("metrics.port", std::to_string(l.port) + " already used by " + src_.listeners[i] +
                                     " (" + quote(l.name) + ")");
      }
      if (!l.all_customers) {
        l.allowed_customer_ids = resolveWho(l.customers, l.customer_tags, src_.listeners[i]);
      }
    }
  }

  void checkCustomers() {
    checkDuplicates(
        c_.customers, src_.customers,
        [](const Customer& c) -> const std::string& { return c.system_id; }, "system_id",
        "system_id");
    for (std::size_t i = 0; i < c_.customers.size(); ++i) {
      auto& c = c_.customers[i];
      if (c.default_route && c.default_route->kind == Action::Kind::Group) {
        // Resolved here (not through pendingActions_) to keep the path of this customer.
        if (auto g = c_.findGroup(c.default_route->group_name)) {
          c.default_route->group = *g;
        }
      }
      bool admitted = false;
      for (const auto& l : c_.listeners) {
        admitted = admitted || l.admits(static_cast<CustomerId>(i));
      }
      if (!admitted && !c_.listeners.empty() && !c.system_id.empty()) {
        d_.warn(src_.customers[i], "no listener admits customer " + quote(c.system_id));
      }
    }
  }

  void checkUpstreams() {
    checkDuplicates(
        c_.upstreams, src_.upstreams,
        [](const Upstream& u) -> const std::string& { return u.name; }, "name", "upstream name");
  }

  void checkGroups() {
    checkDuplicates(
        c_.groups, src_.groups, [](const Group& g) -> const std::string& { return g.name; }, "name",
        "group name");
    // Actions (routes and default routes) reference groups by name.
    for (const auto& [path, groupName] : pendingActions_) {
      resolveGroup(groupName, path);
    }
    for (auto& rt : c_.routes) {
      if (rt.action.kind == Action::Kind::Group) {
        rt.action.group = c_.findGroup(rt.action.group_name).value_or(kNoId);
      }
    }
  }

  void checkRoutes() {
    checkDuplicates(
        c_.routes, src_.routes, [](const Route& r) -> const std::string& { return r.name; }, "name",
        "route name");
    for (std::size_t i = 0; i < c_.routes.size(); ++i) {
      const std::size_t errorsBefore = d_.errors.size();
      auto& rt = c_.routes[i];
      auto& m = rt.match;
      const std::string mp = at(src_.routes[i], "match");
      m.customer_ids = resolveWho(m.customers, m.customer_tags, mp);
      if (!m.any_customer && m.customer_ids.empty()) {
        d_.warn(src_.routes[i], "matches no customer: the route never applies");
      }
      for (std::size_t k = 0; k < m.listeners.size(); ++k) {
        if (auto id = resolveListener(m.listeners[k], at(at(mp, "listeners"), k))) {
          m.listener_ids.push_back(*id);
        }
      }
      std::sort(m.listener_ids.begin(), m.listener_ids.end());
      m.listener_ids.erase(std::unique(m.listener_ids.begin(), m.listener_ids.end()),
                           m.listener_ids.end());
      if (rt.action.kind == Action::Kind::Group && rt.action.group == kNoId) {
        routeBroken_[i] = true;  // unknown group, reported by checkGroups()
      }
      if (d_.errors.size() != errorsBefore) {
        routeBroken_[i] = true;
      }
    }
    checkShadowedRoutes();
  }

  static bool prefixesCover(const std::vector<std::string>& outer,
                            const std::vector<std::string>& inner) {
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
  static bool setCovers(std::vector<T> outer, std::vector<T> inner) {
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
  bool routeCovers(const RouteMatch& outer, const RouteMatch& inner) const {
    if (!outer.any_customer) {
      if (inner.any_customer) {
        if (outer.customer_ids.size() != c_.customers.size()) {
          return false;
        }
      } else if (!std::includes(outer.customer_ids.begin(), outer.customer_ids.end(),
                                inner.customer_ids.begin(), inner.customer_ids.end())) {
        return false;
      }
    }
    if (!outer.listener_ids.empty()) {
      if (inner.listener_ids.empty()
              ? outer.listener_ids.size() != c_.listeners.size()
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

  static bool sameAction(const Action& a, const Action& b) {
    return a.kind == b.kind &&
           (a.kind == Action::Kind::Group ? a.group_name == b.group_name : a.status == b.status);
  }

  void checkShadowedRoutes() {
    // Candidates that can cover route j: routes with a destination prefix that is a prefix of
    // j's first one, plus routes without destination constraint. Keeps this near-linear.
    std::unordered_map<std::string, std::vector<std::size_t>> byPrefix;
    std::vector<std::size_t> noDestination;
    for (std::size_t j = 0; j < c_.routes.size(); ++j) {
      const auto& rj = c_.routes[j];
      if (routeBroken_[j]) {
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
          const auto& ri = c_.routes[i];
          if (!routeCovers(ri.match, rj.match)) {
            continue;
          }
          std::string msg = "never matches: every message it could match is taken first by " +
                            src_.routes[i] + " (" + quote(ri.name) + ")";
          if (sameAction(ri.action, rj.action) && ri.ack_mode == rj.ack_mode) {
            d_.warn(src_.routes[j], msg + ", which does the same: remove it");
          } else {
            d_.error(src_.routes[j], msg + ", which has a different action");
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

  bool moCovers(const MoRouteMatch& outer, const MoRouteMatch& inner) const {
    if (!outer.upstream_ids.empty() &&
        (inner.upstream_ids.empty() ? outer.upstream_ids.size() != c_.upstreams.size()
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
        if (!exact && (outer.destination_prefixes.empty() ||
                       !prefixesCover(outer.destination_prefixes, {d}))) {
          return false;
        }
      }
    }
    return prefixesCover(outer.source_prefixes, inner.source_prefixes);
  }

  void checkMoRoutes() {
    checkDuplicates(
        c_.mo_routes, src_.mo_routes, [](const MoRoute& r) -> const std::string& { return r.name; },
        "name", "mo_route name");
    for (std::size_t i = 0; i < c_.mo_routes.size(); ++i) {
      const std::size_t errorsBefore = d_.errors.size();
      auto& mr = c_.mo_routes[i];
      const std::string mp = at(src_.mo_routes[i], "match");
      for (std::size_t k = 0; k < mr.match.upstreams.size(); ++k) {
        if (auto id = resolveUpstream(mr.match.upstreams[k], at(at(mp, "upstreams"), k))) {
          mr.match.upstream_ids.push_back(*id);
        }
      }
      std::sort(mr.match.upstream_ids.begin(), mr.match.upstream_ids.end());
      mr.match.upstream_ids.erase(
          std::unique(mr.match.upstream_ids.begin(), mr.match.upstream_ids.end()),
          mr.match.upstream_ids.end());
      if (!mr.reject && !mr.customer_name.empty()) {
        const std::string cp = at(at(src_.mo_routes[i], "action"), "customer");
        if (auto id = resolveCustomer(mr.customer_name, cp)) {
          mr.customer = *id;
          if (!c_.customers[*id].canReceive()) {
            d_.error(cp, "customer " + quote(mr.customer_name) +
                             " cannot bind as receiver or transceiver (bind_types)");
          }
        }
      }
      if (d_.errors.size() != errorsBefore || (!mr.reject && mr.customer == kNoId)) {
        moBroken_[i] = true;
      }
    }
    for (std::size_t j = 0; j < c_.mo_routes.size(); ++j) {
      for (std::size_t i = 0; i < j; ++i) {
        const auto& ri = c_.mo_routes[i];
        const auto& rj = c_.mo_routes[j];
        if (moBroken_[i] || moBroken_[j] || !moCovers(ri.match, rj.match)) {
          continue;
        }
        std::string msg = "never matches: every message it could match is taken first by " +
                          src_.mo_routes[i] + " (" + quote(ri.name) + ")";
        const bool same = ri.reject == rj.reject &&
                          (ri.reject ? ri.status == rj.status : ri.customer == rj.customer);
        if (same) {
          d_.warn(src_.mo_routes[j], msg + ", which does the same: remove it");
        } else {
          d_.error(src_.mo_routes[j], msg + ", which has a different action");
        }
        break;
      }
    }
  }

  void checkUsage() {
    std::vector<bool> groupUsed(c_.groups.size());
    for (const auto& rt : c_.routes) {
      if (rt.action.kind == Action::Kind::Group && rt.action.group < groupUsed.size()) {
        groupUsed[rt.action.group] = true;
      }
    }
    for (std::size_t i = 0; i < c_.customers.size(); ++i) {
      const auto& c = c_.customers[i];
      if (!c.default_route) {
        continue;
      }
      if (c.default_route->kind == Action::Kind::Group &&
          c.default_route->group < groupUsed.size()) {
        groupUsed[c.default_route->group] = true;
      }
      // A route that takes every message of this customer makes default_route dead.
      for (std::size_t r = 0; r < c_.routes.size(); ++r) {
        if (routeBroken_[r]) {
          continue;
        }
        const auto& m = c_.routes[r].match;
        const bool who =
            m.any_customer || std::binary_search(m.customer_ids.begin(), m.customer_ids.end(),
                                                 static_cast<CustomerId>(i));
        const bool everything = m.listener_ids.empty() && m.destination_prefixes.empty() &&
                                m.source_prefixes.empty() && m.source_regex.empty() &&
                                m.service_types.empty() && m.data_codings.empty() &&
                                (!m.esm_class || m.esm_class->mask == 0);
        if (who && everything) {
          d_.warn(at(src_.customers[i], "default_route"),
                  "never used: " + src_.routes[r] + " (" + quote(c_.routes[r].name) +
                      ") matches every message of this customer");
          break;
        }
      }
    }
    for (std::size_t g = 0; g < c_.groups.size(); ++g) {
      if (!groupUsed[g]) {
        d_.warn(src_.groups[g], "group " + quote(c_.groups[g].name) + " is not used by any route");
      }
    }
    std::vector<bool> upstreamUsed(c_.upstreams.size());
    for (const auto& g : c_.groups) {
      for (const auto& m : g.members) {
        if (m.upstream < upstreamUsed.size()) {
          upstreamUsed[m.upstream] = true;
        }
      }
    }
    for (std::size_t u = 0; u < c_.upstreams.size(); ++u) {
      if (!upstreamUsed[u]) {
        d_.warn(src_.upstreams[u], "upstream " + quote(c_.upstreams[u].name) +
                                       " is not a member of any group: it carries no MT traffic");
      }
    }
  }

  void checkTimers() {
    const auto& t = c_.timers;
    if (t.inactivity <= t.enquire_link) {
      d_.warn("timers.inactivity",
              formatDuration(t.inactivity) + " is not above timers.enquire_link (" +
                  formatDuration(t.enquire_link) + "): idle but healthy sessions will be dropped");
    }
  }

  Diags& d_;
  Config& c_;
  Sources src_;
  std::vector<std::pair<std::string, std::string>> pendingActions_;  // (path, group name)
  std::vector<bool> routeBroken_;
  std::vector<bool> moBroken_;
};

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

LoadResult loadConfigText(std::string_view text, std::string_view origin) {
  Diags d;
  try {
    auto root = parseJson(text, d);
    if (!root) {
      return finishLoad(std::move(d), nullptr);
    }
    auto c = std::make_unique<Config>();
    c->origin = std::string(origin);
    Loader(d, *c).run(*root);
    // Canonical form: comments and whitespace gone, object keys sorted (nlohmann's std::map).
    c->content_hash = sha256Hex(root->dump());
    c->restart_values = std::move(d.restart);
    return finishLoad(std::move(d), std::move(c));
  } catch (const std::exception& e) {
    d.error("", std::string("internal error while loading: ") + e.what());
  } catch (...) {
    d.error("", "internal error while loading");
  }
  return finishLoad(std::move(d), nullptr);
}

LoadResult loadConfigFile(const std::string& path) {
  try {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      LoadResult r;
      r.errors.push_back({"", "cannot open " + quote(path), false});
      return r;
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
      LoadResult r;
      r.errors.push_back({"", "cannot read " + quote(path), false});
      return r;
    }
    return loadConfigText(buffer.str(), path);
  } catch (...) {
    LoadResult r;
    r.errors.push_back({"", "cannot read " + quote(path), false});
    return r;
  }
}

}  // namespace smppgw::config
