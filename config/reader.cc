#include "config/reader.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "config/status.h"

namespace smppgw::config::detail {

// ---------------------------------------------------------------------------------------------
// Diagnostics and small text helpers

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

namespace {

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

}  // namespace

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

namespace {

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

}  // namespace

std::string joinNames(const std::vector<std::string_view>& names, std::size_t max) {
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

namespace {

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

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// Obj

Obj::Obj(Diags& d, const json* j, std::string path)
    : d_(d), j_(j), path_(std::move(path)), schema_(schemaPath(path_)) {
  if (j_ != nullptr && !j_->is_object()) {
    d_.error(path_.empty() ? "(root)" : path_, "expected an object, got " + got(*j_));
    j_ = nullptr;
  }
}

const json* Obj::take(std::string_view key, bool required) {
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

std::optional<std::string> Obj::str(std::string_view key, bool required, std::size_t maxLen) {
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

void Obj::str(std::string_view key, std::string& out, bool required, std::size_t maxLen) {
  if (auto v = str(key, required, maxLen)) {
    out = std::move(*v);
  }
}

void Obj::boolean(std::string_view key, bool& out) {
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

void Obj::number(std::string_view key, double& out) {
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
bool Obj::duration(std::string_view key, Duration& out) {
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

void Obj::status(std::string_view key, std::uint32_t& out) {
  const json* v = take(key);
  if (v == nullptr) {
    return;
  }
  if (auto s = asStatus(d_, *v, path(key))) {
    out = *s;
  }
}

// An array of strings; each element checked by `check` (which reports and returns false).
std::vector<std::string> Obj::strings(
    std::string_view key, const std::function<bool(std::string&, const std::string&)>& check) {
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
void Obj::finish() {
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

const KeyInfo* Obj::info(std::string_view key) const {
  if (schema_.empty()) {
    return findKey(schemaPath(key));
  }
  return findKey(schemaPath(schema_ + "." + std::string(key)));
}

bool readName(Obj& o, std::string& out, std::string_view key) {
  auto v = o.str(key, true);
  if (!v) {
    return false;
  }
  const bool ok = validName(*v);
  if (!ok) {
    o.diags().error(o.path(key), "invalid name " + quote(*v) +
                                     " (1-64 characters: letters, digits, '_', '-', '.')");
  }
  out = std::move(*v);  // kept even when invalid: later messages can name the entity
  return ok;
}

// Digits (an optional leading '+' is dropped): a destination prefix or number.
bool digitsPrefix(Diags& d, std::string& s, const std::string& path, std::string_view what) {
  std::string v = s;
  if (!v.empty() && v[0] == '+') {
    v.erase(0, 1);
  }
  if (!isDigits(v) || v.size() > 20) {
    d.error(path, "invalid " + std::string(what) + " " + quote(s) +
                      " (1-20 digits; a leading + is allowed)");
    return false;
  }
  s = std::move(v);
  return true;
}

}  // namespace smppgw::config::detail
