#include "routing/cli.h"

#include <charconv>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

#include "config/load.h"
#include "config/status.h"
#include "routing/group_selector.h"
#include "routing/table.h"

namespace smppgw::routing {
namespace {

constexpr std::string_view kUsage =
    "usage: smppgw route FILE --customer C --to NUMBER [--from N] [--to-ton N] [--to-npi N]\n"
    "                    [--from-ton N] [--from-npi N] [--service-type S] [--data-coding N]\n"
    "                    [--esm-class N] [--listener L] [--verbose]\n"
    "       smppgw route FILE --mo --to NUMBER [--from N] [--upstream U] [--verbose]\n";

std::optional<std::uint8_t> parseByte(std::string_view s) {
  unsigned v = 0;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size() || v > 255 || s.empty()) {
    return std::nullopt;
  }
  return static_cast<std::uint8_t>(v);
}

std::string describeNumber(std::string_view raw, std::uint8_t ton, std::uint8_t npi,
                           const Number& n) {
  // A stream, not `"\"" + std::string(raw) + ...`: GCC 12 at -O3 reports operator+(const char*,
  // std::string&&) as a memcpy of 2^63 bytes that may overlap (GCC bug 105329, a false positive)
  // and stops a Release build with -Werror=restrict.
  std::ostringstream out;
  out << '"' << raw << "\" (ton " << unsigned{ton} << ", npi " << unsigned{npi} << ")";
  if (n.changed) {
    out << " -> \"" << n.str() << "\" (ton " << unsigned{n.ton} << ", npi " << unsigned{n.npi}
        << ")";
  } else {
    out << ", unchanged by numbering";
  }
  return out.str();
}

void printMembers(std::ostream& out, const config::Config& c, config::GroupId g) {
  const auto& group = c.groups[g];
  GroupSelector selector(c);
  out << "group: " << group.name << " (" << config::enumName(group.strategy) << ", max_attempts "
      << group.max_attempts << ")\n";
  out << "members in order of preference:\n";
  int rank = 1;
  for (auto u : selector.preferenceOrder(g)) {
    for (const auto& m : group.members) {
      if (m.upstream != u) {
        continue;
      }
      out << "  " << rank++ << ". " << m.upstream_name;
      if (u < c.upstreams.size()) {
        const auto& up = c.upstreams[u];
        out << " (" << up.host << ":" << up.port << ", " << up.binds + up.receiver_binds
            << " binds)";
      }
      out << " priority " << m.priority << " weight " << m.weight;
      if (m.weight == 0) {
        out << " [drained]";
      }
      out << "\n";
    }
  }
  switch (group.strategy) {
    case config::GroupStrategy::Failover:
      out << "  (the first available member takes the message; equal priorities share it by "
             "weight)\n";
      break;
    case config::GroupStrategy::RoundRobin:
      out << "  (available members take turns)\n";
      break;
    case config::GroupStrategy::Weighted:
      out << "  (available members share messages in proportion to weight)\n";
      break;
    case config::GroupStrategy::LeastOutstanding:
      out << "  (the available member with the fewest requests in flight takes it)\n";
      break;
  }
}

}  // namespace

int runRoute(std::span<const std::string_view> args, std::ostream& out, std::ostream& err) {
  std::string file;
  std::string customer;
  std::string listener;
  std::string upstream;
  std::string to;
  std::string from;
  std::string serviceType;
  bool verbose = false;
  bool mo = false;
  bool haveTo = false;
  std::uint8_t toTon = 0;
  std::uint8_t toNpi = 0;
  std::uint8_t fromTon = 0;
  std::uint8_t fromNpi = 0;
  std::uint8_t dataCoding = 0;
  std::uint8_t esmClass = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto a = args[i];
    auto value = [&]() -> std::optional<std::string_view> {
      if (i + 1 >= args.size()) {
        err << "route: " << a << " needs a value\n" << kUsage;
        return std::nullopt;
      }
      return args[++i];
    };
    auto byteOption = [&](std::uint8_t& outByte) {
      auto v = value();
      if (!v) {
        return false;
      }
      auto b = parseByte(*v);
      if (!b) {
        err << "route: " << a << " expects 0..255, got " << *v << "\n";
        return false;
      }
      outByte = *b;
      return true;
    };
    auto stringOption = [&](std::string& outString) {
      auto v = value();
      if (!v) {
        return false;
      }
      outString = std::string(*v);
      return true;
    };
    bool ok = true;
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return 0;
    } else if (a == "--verbose" || a == "-v") {
      verbose = true;
    } else if (a == "--mo") {
      mo = true;
    } else if (a == "--customer") {
      ok = stringOption(customer);
    } else if (a == "--listener") {
      ok = stringOption(listener);
    } else if (a == "--upstream") {
      ok = stringOption(upstream);
    } else if (a == "--to") {
      ok = stringOption(to);
      haveTo = true;
    } else if (a == "--from") {
      ok = stringOption(from);
    } else if (a == "--service-type") {
      ok = stringOption(serviceType);
    } else if (a == "--to-ton") {
      ok = byteOption(toTon);
    } else if (a == "--to-npi") {
      ok = byteOption(toNpi);
    } else if (a == "--from-ton") {
      ok = byteOption(fromTon);
    } else if (a == "--from-npi") {
      ok = byteOption(fromNpi);
    } else if (a == "--data-coding") {
      ok = byteOption(dataCoding);
    } else if (a == "--esm-class") {
      ok = byteOption(esmClass);
    } else if (!a.empty() && a[0] == '-') {
      err << "route: unknown option " << a << "\n" << kUsage;
      return 2;
    } else if (file.empty()) {
      file = std::string(a);
    } else {
      err << "route: more than one FILE\n" << kUsage;
      return 2;
    }
    if (!ok) {
      return 2;
    }
  }
  if (file.empty() || !haveTo || (!mo && customer.empty())) {
    err << kUsage;
    return 2;
  }

  auto loaded = config::loadConfigFile(file);
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) {
      err << "error: " << config::toString(e) << "\n";
    }
    err << file << ": INVALID, cannot route\n";
    return 1;
  }
  auto compiled = RoutingTable::compile(loaded.config);
  if (!compiled.ok()) {
    for (const auto& e : compiled.errors) {
      err << "error: " << config::toString(e) << "\n";
    }
    return 1;
  }
  const RoutingTable& table = *compiled.table;
  const config::Config& c = table.config();
  out << "config: " << file << " (sha256 " << c.content_hash.substr(0, 16) << ")\n";

  if (mo) {
    MoKey key;
    if (!upstream.empty()) {
      auto id = c.findUpstream(upstream);
      if (!id) {
        err << "route: unknown upstream \"" << upstream << "\"\n";
        return 2;
      }
      key.upstream = *id;
    }
    key.source_addr = from;
    key.source_ton = fromTon;
    key.source_npi = fromNpi;
    key.destination_addr = to;
    key.destination_ton = toTon;
    key.destination_npi = toNpi;
    auto d = table.routeMo(key);
    out << "MO from upstream " << (upstream.empty() ? "(any)" : upstream) << "\n";
    out << "source:      " << describeNumber(from, fromTon, fromNpi, d.source) << "\n";
    out << "destination: " << describeNumber(to, toTon, toNpi, d.destination) << "\n";
    if (verbose) {
      const auto last =
          d.via == Via::Rule ? d.rule : static_cast<std::uint32_t>(c.mo_routes.size());
      for (std::uint32_t r = 0; r < last && r < c.mo_routes.size(); ++r) {
        out << "  mo_routes[" << r << "] \"" << c.mo_routes[r].name << "\": no match\n";
      }
    }
    if (d.via == Via::Rule) {
      out << "decision: mo_routes[" << d.rule << "] \"" << d.rule_name << "\" -> ";
    } else {
      out << "decision: no mo_route matched -> ";
    }
    if (d.routed()) {
      out << "customer " << c.customers[d.customer].system_id << "\n";
    } else {
      out << "reject " << config::describeCommandStatus(d.status) << "\n";
    }
    return 0;
  }

  MtKey key;
  auto cid = c.findCustomer(customer);
  if (!cid) {
    err << "route: unknown customer \"" << customer << "\"\n";
    return 2;
  }
  key.customer = *cid;
  if (!listener.empty()) {
    auto lid = c.findListener(listener);
    if (!lid) {
      err << "route: unknown listener \"" << listener << "\"\n";
      return 2;
    }
    key.listener = *lid;
  }
  key.source_addr = from;
  key.source_ton = fromTon;
  key.source_npi = fromNpi;
  key.destination_addr = to;
  key.destination_ton = toTon;
  key.destination_npi = toNpi;
  key.service_type = serviceType;
  key.data_coding = dataCoding;
  key.esm_class = esmClass;

  auto ex = table.explain(key);
  const auto fast = table.route(key);
  const auto& d = ex.decision;
  out << "customer: " << customer << " (customers[" << *cid << "])";
  if (listener.empty()) {
    out << ", listener not given (routes restricted to listeners do not match; see --listener)";
  } else {
    out << ", listener " << listener;
  }
  out << "\n";
  out << "source:      " << describeNumber(from, fromTon, fromNpi, d.source) << "\n";
  out << "destination: " << describeNumber(to, toTon, toNpi, d.destination) << "\n";
  out << "service_type \"" << serviceType << "\", data_coding " << int{dataCoding} << ", esm_class "
      << int{esmClass} << "\n";
  if (verbose) {
    for (const auto& v : ex.rules) {
      out << "  routes[" << v.rule << "] \"" << c.routes[v.rule].name
          << "\": " << (v.matched ? "MATCH" : "no match: " + v.reason) << "\n";
    }
  } else if (!ex.rules.empty() && d.via == Via::Rule && d.rule > 0) {
    out << "(" << d.rule << " earlier rule" << (d.rule == 1 ? "" : "s")
        << " did not match; --verbose says why)\n";
  }
  switch (d.via) {
    case Via::Rule:
      out << "decision: routes[" << d.rule << "] \"" << d.rule_name << "\" -> ";
      break;
    case Via::CustomerDefault:
      out << "decision: no route matched; customer default_route -> ";
      break;
    case Via::Unroutable:
      out << "decision: no route matched and no default_route -> ";
      break;
  }
  if (d.routed()) {
    out << "group " << c.groups[d.group].name << ", ack_mode " << config::enumName(d.ack_mode)
        << "\n";
    printMembers(out, c, d.group);
  } else {
    out << "reject " << config::describeCommandStatus(d.status)
        << (d.via == Via::Unroutable ? " (routing.unroutable_status)" : "") << "\n";
  }
  if (fast.rule != d.rule || fast.via != d.via) {
    // The compiled and the linear evaluation disagree: a bug worth shouting about.
    err << "route: internal mismatch: compiled table chose rule " << fast.rule << "\n";
    return 1;
  }
  return 0;
}

}  // namespace smppgw::routing
