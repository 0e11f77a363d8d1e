#include "config/keys.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace smppgw::config {

namespace {

// Builds one KeyInfo; every setter returns the builder so entries read as one line each.
struct B {
  KeyInfo k;
  constexpr B(std::string_view path, KeyKind kind) {
    k.path = path;
    k.kind = kind;
  }
  constexpr B t(std::string_view type) const {
    B b = *this;
    b.k.type = type;
    return b;
  }
  constexpr B r(double min, double max) const {
    B b = *this;
    b.k.min = min;
    b.k.max = max;
    return b;
  }
  constexpr B d(std::string_view json) const {
    B b = *this;
    b.k.json_default = json;
    return b;
  }
  constexpr B dd(std::string_view text) const {
    B b = *this;
    b.k.doc_default = text;
    return b;
  }
  constexpr B restart() const {
    B b = *this;
    b.k.reload = KeyReload::Restart;
    return b;
  }
  constexpr B no(std::string_view why) const {
    B b = *this;
    b.k.support = KeySupport::No;
    b.k.refusal = why;
    return b;
  }
  constexpr B only(std::string_view values, std::string_view why) const {
    B b = *this;
    b.k.support = KeySupport::OnlyValues;
    b.k.supported = values;
    b.k.refusal = why;
    return b;
  }
  constexpr B m(std::string_view meaning) const {
    B b = *this;
    b.k.meaning = meaning;
    return b;
  }
  constexpr operator KeyInfo() const { return k; }  // NOLINT: the table converts implicitly
};

const KeyInfo kKeys[] = {
#include "config/keys_table.inc"
};

std::string_view parentOf(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view leafOf(std::string_view path) {
  auto dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

std::string formatMs(double v) {
  const auto ms = static_cast<long long>(v);
  struct Unit {
    long long size;
    const char* name;
  };
  for (Unit u : {Unit{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}}) {
    if (ms >= u.size && ms % u.size == 0) {
      return std::to_string(ms / u.size) + u.name;
    }
  }
  return std::to_string(ms) + "ms";
}

std::string formatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  std::string s = buf;
  // Thousands separators keep large bounds readable: 10000000 -> 10,000,000.
  if (s.find_first_not_of("0123456789") != std::string::npos || s.size() <= 4) {
    return s;
  }
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) {
      out += ',';
    }
    out += s[i];
  }
  return out;
}

std::string typeText(const KeyInfo& k) {
  std::string t(k.type);
  switch (k.kind) {
    case KeyKind::Int:
    case KeyKind::Number:
      return t + " " + formatNumber(k.min) + "–" + formatNumber(k.max);
    case KeyKind::Duration:
      if (k.max > 0) {
        return t + " " + formatMs(k.min) + "–" + formatMs(k.max);
      }
      return t;
    default:
      return t;
  }
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) {
      return out;
    }
    s.remove_prefix(p + 1);
  }
}

std::string supportedList(const KeyInfo& k) {
  std::string out;
  for (auto v : split(k.supported, '|')) {
    out += out.empty() ? "" : ", ";
    out += v;
  }
  return out;
}

}  // namespace

std::span<const KeyInfo> keyTable() {
  return kKeys;
}

const KeyInfo* findKey(std::string_view schema) {
  // Sorted once, on first use (the table is constant, so this is a cache of constant data).
  static const std::vector<const KeyInfo*> sorted = [] {
    std::vector<const KeyInfo*> v;
    for (const auto& k : kKeys) {
      v.push_back(&k);
    }
    std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->path < b->path; });
    return v;
  }();
  auto it = std::lower_bound(sorted.begin(), sorted.end(), schema,
                             [](const KeyInfo* k, std::string_view s) { return k->path < s; });
  return it != sorted.end() && (*it)->path == schema ? *it : nullptr;
}

std::string schemaPath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '[') {
      auto close = path.find(']', i);
      if (close == std::string_view::npos) {
        out.append(path.substr(i));
        break;
      }
      out += "[]";
      i = close;
      continue;
    }
    out += path[i];
  }
  // Maps whose keys are data, not schema: one entry "*" stands for every key.
  static constexpr std::string_view kMaps[] = {"numbering.countries."};
  for (auto m : kMaps) {
    if (out.size() > m.size() && out.compare(0, m.size(), m) == 0) {
      auto end = out.find('.', m.size());
      out.replace(m.size(), end == std::string::npos ? std::string::npos : end - m.size(), "*");
    }
  }
  return out;
}

bool supportedValue(const KeyInfo& k, std::string_view valueJson) {
  switch (k.support) {
    case KeySupport::Yes:
      return true;
    case KeySupport::No:
      return false;
    case KeySupport::OnlyValues:
      for (auto v : split(k.supported, '|')) {
        if (v == valueJson) {
          return true;
        }
      }
      return false;
  }
  return false;
}

std::string unsupportedReason(const KeyInfo& k) {
  std::string out = "not supported in this version: " + std::string(k.refusal);
  if (k.support == KeySupport::OnlyValues) {
    out += " (supported: " + supportedList(k) + ")";
  }
  return out;
}

std::vector<std::string> restartChanges(const RestartValues& running, const RestartValues& next) {
  std::vector<std::string> out;
  auto valueOr = [](const RestartValues& m, const std::string& path) -> std::string {
    if (auto it = m.find(path); it != m.end()) {
      return it->second;
    }
    const KeyInfo* k = findKey(schemaPath(path));
    return k != nullptr ? std::string(k->json_default) : std::string();
  };
  for (const auto& [path, value] : running) {
    if (valueOr(next, path) != value) {
      out.push_back(path);
    }
  }
  for (const auto& [path, value] : next) {
    if (!running.contains(path) && valueOr(running, path) != value) {
      out.push_back(path);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> keySections() {
  std::vector<std::string> out;
  for (const auto& k : kKeys) {
    std::string p(parentOf(k.path));
    if (std::find(out.begin(), out.end(), p) == out.end()) {
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::string keyTableMarkdown(std::string_view section) {
  std::string out = "| key | type | default | reload | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : kKeys) {
    if (parentOf(k.path) != section) {
      continue;
    }
    std::string def;
    if (!k.json_default.empty()) {
      def = "`" + std::string(k.json_default) + "`";
    } else {
      def = k.doc_default;
    }
    std::string meaning;
    if (k.support == KeySupport::No) {
      meaning = "**Refused: not supported in this version** (" + std::string(k.refusal) + ").";
    } else if (k.support == KeySupport::OnlyValues) {
      meaning = "**Only " + supportedList(k) + " in this version**; other values are refused (" +
                std::string(k.refusal) + ").";
    }
    if (!k.meaning.empty()) {
      meaning += meaning.empty() ? "" : " ";
      meaning += k.meaning;
    }
    out += "| `" + std::string(leafOf(k.path)) + "` | " + typeText(k) + " | " + def + " | " +
           (k.reload == KeyReload::Live ? "live" : "restart") + " | " + meaning + " |\n";
  }
  return out;
}

std::string renderKeyBlocks(std::string_view doc, std::string* error) {
  static constexpr std::string_view kOpen = "<!-- keys: ";
  static constexpr std::string_view kClose = "<!-- /keys -->";
  std::string out;
  std::size_t pos = 0;
  while (true) {
    auto open = doc.find(kOpen, pos);
    if (open == std::string_view::npos) {
      out.append(doc.substr(pos));
      return out;
    }
    auto openEnd = doc.find(" -->", open);
    auto close = doc.find(kClose, open);
    if (openEnd == std::string_view::npos || close == std::string_view::npos || close < openEnd) {
      if (error != nullptr) {
        *error = "a keys block is not closed";
      }
      out.append(doc.substr(pos));
      return out;
    }
    std::string section(doc.substr(open + kOpen.size(), openEnd - open - kOpen.size()));
    if (section == "(top level)") {
      section.clear();
    }
    const auto sections = keySections();
    if (std::find(sections.begin(), sections.end(), section) == sections.end() && error) {
      *error = "no keys in section \"" + section + "\"";
    }
    out.append(doc.substr(pos, openEnd + 4 - pos));
    out += "\n";
    out += keyTableMarkdown(section);
    out.append(kClose);
    pos = close + kClose.size();
  }
}

}  // namespace smppgw::config
