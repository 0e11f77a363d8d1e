#include "config/cli.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iostream>
#include <istream>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "config/keys.h"
#include "config/load.h"
#include "config/password.h"
#include "config/status.h"

namespace smppgw::config {
namespace {

std::string listSummary(const std::vector<std::string>& items, std::size_t max = 3) {
  if (items.empty()) {
    return "";
  }
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < max; ++i) {
    out += (i == 0 ? "" : ",") + items[i];
  }
  if (items.size() > max) {
    out += ",+" + std::to_string(items.size() - max);
  }
  return out;
}

std::string clip(std::string s, std::size_t width) {
  if (s.size() > width) {
    s.resize(width - 3);
    s += "...";
  }
  return s;
}

std::string whoCell(const RouteMatch& m) {
  if (m.any_customer) {
    return "any";
  }
  std::vector<std::string> parts = m.customers;
  for (const auto& t : m.customer_tags) {
    parts.push_back("tag:" + t);
  }
  return listSummary(parts);
}

std::string otherCell(const RouteMatch& m) {
  std::vector<std::string> parts;
  if (!m.listener_ids.empty()) {
    parts.push_back("listener=" + listSummary(m.listeners, 2));
  }
  if (!m.source_prefixes.empty()) {
    parts.push_back("src=" + listSummary(m.source_prefixes, 2));
  }
  if (!m.source_regex.empty()) {
    parts.push_back("src~/" + m.source_regex + "/");
  }
  if (!m.service_types.empty()) {
    parts.push_back("svc=" + listSummary(m.service_types, 2));
  }
  if (!m.data_codings.empty()) {
    std::vector<std::string> dcs;
    for (auto dc : m.data_codings) {
      dcs.push_back(std::to_string(dc));
    }
    parts.push_back("dc=" + listSummary(dcs, 3));
  }
  if (m.esm_class) {
    parts.push_back("esm&" + std::to_string(m.esm_class->mask) + "=" +
                    std::to_string(m.esm_class->value));
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : " ") + p;
  }
  return out.empty() ? "-" : out;
}

std::string actionCell(const Config& c, const Route& r) {
  std::string out;
  if (r.action.kind == Action::Kind::Group) {
    out = "group " + r.action.group_name;
    if (r.action.group < c.groups.size()) {
      out += " (" + std::string(enumName(c.groups[r.action.group].strategy)) + ")";
    }
  } else {
    out = "reject " + describeCommandStatus(r.action.status);
  }
  if (r.ack_mode) {
    out += " [" + std::string(enumName(*r.ack_mode)) + "]";
  }
  return out;
}

void printTable(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line = "  ";
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    out << line << "\n";
  }
}

void printSummary(std::ostream& out, const Config& c) {
  std::uint64_t binds = 0;
  for (const auto& u : c.upstreams) {
    binds += u.binds + u.receiver_binds;
  }
  std::size_t prefixes = 0;
  for (const auto& r : c.routes) {
    prefixes += r.match.destination_prefixes.size();
  }
  out << "summary:\n";
  out << "  listeners  " << c.listeners.size() << ":";
  for (const auto& l : c.listeners) {
    out << " " << l.name << "=" << l.address << ":" << l.port << (l.tls.enabled ? "/tls" : "");
  }
  out << "\n";
  out << "  customers  " << c.customers.size() << "\n";
  out << "  upstreams  " << c.upstreams.size() << " (" << binds << " binds)\n";
  out << "  groups     " << c.groups.size() << "\n";
  out << "  routes     " << c.routes.size() << " (" << prefixes << " destination prefixes)\n";
  out << "  mo_routes  " << c.mo_routes.size() << "\n";
  out << "  store      " << enumName(c.store.type) << "\n";
  out << "  metrics    "
      << (c.metrics.enabled
              ? c.metrics.address + ":" + std::to_string(c.metrics.port) + c.metrics.path
              : std::string("disabled"))
      << "\n";
  if (!c.routes.empty()) {
    out << "routes (first match wins):\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"#", "name", "customers", "destinations", "other", "action"});
    for (std::size_t i = 0; i < c.routes.size(); ++i) {
      const auto& r = c.routes[i];
      rows.push_back({std::to_string(i), clip(r.name, 24), clip(whoCell(r.match), 24),
                      r.match.destination_prefixes.empty()
                          ? "any"
                          : clip(listSummary(r.match.destination_prefixes, 4), 32),
                      clip(otherCell(r.match), 40), actionCell(c, r)});
    }
    printTable(out, rows);
  }
  if (!c.mo_routes.empty()) {
    out << "mo_routes (first match wins):\n";
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"#", "name", "upstreams", "destinations", "sources", "action"});
    for (std::size_t i = 0; i < c.mo_routes.size(); ++i) {
      const auto& r = c.mo_routes[i];
      std::vector<std::string> dests = r.match.destinations;
      for (const auto& p : r.match.destination_prefixes) {
        dests.push_back(p + "*");
      }
      rows.push_back(
          {std::to_string(i), clip(r.name, 24),
           r.match.upstreams.empty() ? "any" : listSummary(r.match.upstreams),
           dests.empty() ? "any" : clip(listSummary(dests, 4), 32),
           r.match.source_prefixes.empty() ? "any" : listSummary(r.match.source_prefixes),
           r.reject ? "reject " + describeCommandStatus(r.status) : "customer " + r.customer_name});
    }
    printTable(out, rows);
  }
}

}  // namespace

int runCheckConfig(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                   const ExtraCheck& extra) {
  std::string file;
  bool quiet = false;
  for (auto a : args) {
    if (a == "--quiet" || a == "-q") {
      quiet = true;
    } else if (a == "--help" || a == "-h") {
      out << "usage: smppgw check-config FILE [--quiet]\n";
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      err << "check-config: unknown option " << a << "\n";
      return 2;
    } else if (file.empty()) {
      file = std::string(a);
    } else {
      err << "check-config: more than one FILE\n";
      return 2;
    }
  }
  if (file.empty()) {
    err << "usage: smppgw check-config FILE [--quiet]\n";
    return 2;
  }
  LoadResult r = loadConfigFile(file);
  if (r.ok() && extra) {
    extra(*r.config, r.errors);
    if (!r.errors.empty()) {
      r.config.reset();
    }
  }
  for (const auto& e : r.errors) {
    out << "error: " << toString(e) << "\n";
  }
  for (const auto& w : r.warnings) {
    out << "warning: " << toString(w) << "\n";
  }
  const auto plural = [](std::size_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  if (!r.ok()) {
    out << file << ": INVALID (" << plural(r.errors.size(), "error") << ", "
        << plural(r.warnings.size(), "warning") << ")\n";
    return 1;
  }
  out << file << ": OK (" << plural(r.warnings.size(), "warning") << "), sha256 "
      << r.config->content_hash << "\n";
  if (!quiet) {
    printSummary(out, *r.config);
  }
  return 0;
}

int runHashPassword(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
                    std::ostream& err) {
  std::uint32_t iterations = kDefaultPasswordIterations;
  std::optional<std::string> password;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto a = args[i];
    if (a == "--help" || a == "-h") {
      out << "usage: smppgw hash-password [PASSWORD] [--iterations N]\n"
             "  without PASSWORD, reads it from the first line of standard input\n";
      return 0;
    }
    if (a == "--iterations") {
      if (i + 1 >= args.size()) {
        err << "hash-password: --iterations needs a value\n";
        return 2;
      }
      auto v = args[++i];
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), iterations);
      if (ec != std::errc() || ptr != v.data() + v.size() || iterations < kMinPasswordIterations ||
          iterations > kMaxPasswordIterations) {
        err << "hash-password: --iterations must be " << kMinPasswordIterations << ".."
            << kMaxPasswordIterations << "\n";
        return 2;
      }
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      err << "hash-password: unknown option " << a << "\n";
      return 2;
    } else if (!password) {
      password = std::string(a);
    } else {
      err << "hash-password: more than one PASSWORD\n";
      return 2;
    }
  }
  if (!password || *password == "-") {
    std::string line;
    std::getline(in, line);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
      line.pop_back();
    }
    password = std::move(line);
  }
  if (password->empty()) {
    err << "hash-password: empty password\n";
    return 2;
  }
  if (password->size() > 8) {
    err << "hash-password: warning: " << password->size()
        << " characters; SMPP v3.4 bind passwords carry at most 8, some ESMEs truncate\n";
  }
  std::string hash = hashPassword(*password, iterations);
  if (hash.empty()) {
    err << "hash-password: OpenSSL failed to derive the hash\n";
    return 1;
  }
  out << hash << "\n";
  return 0;
}

int runHashPassword(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  return runHashPassword(args, std::cin, out, err);
}

int runConfigKeys(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    for (const auto& section : keySections()) {
      out << "### " << (section.empty() ? "(top level)" : section) << "\n\n"
          << keyTableMarkdown(section) << "\n";
    }
    return 0;
  }
  if (args.size() != 2 || (args[0] != "--check" && args[0] != "--update")) {
    err << "usage: smppgw config-keys [--check FILE | --update FILE]\n";
    return 2;
  }
  const std::string path(args[1]);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err << "config-keys: cannot open " << path << "\n";
    return 1;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  const std::string rendered = renderKeyBlocks(text.str(), &error);
  if (!error.empty()) {
    err << "config-keys: " << path << ": " << error << "\n";
    return 1;
  }
  if (args[0] == "--check") {
    if (rendered != text.str()) {
      err << "config-keys: " << path
          << " differs from the key table; run smppgw config-keys --update " << path << "\n";
      return 1;
    }
    return 0;
  }
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  o << rendered;
  return o ? 0 : 1;
}

}  // namespace smppgw::config
