#include "config/model.h"

#include <algorithm>
#include <cstdio>

namespace smppgw::config {

std::string_view enumName(BindType v) {
  switch (v) {
    case BindType::Transmitter:
      return "transmitter";
    case BindType::Receiver:
      return "receiver";
    case BindType::Transceiver:
      return "transceiver";
  }
  return "?";
}

std::string_view enumName(AckMode v) {
  return v == AckMode::Transparent ? "transparent" : "store_and_forward";
}

std::string_view enumName(ReceiptPolicy v) {
  switch (v) {
    case ReceiptPolicy::AsRequested:
      return "as_requested";
    case ReceiptPolicy::Always:
      return "always";
    case ReceiptPolicy::Never:
      return "never";
  }
  return "?";
}

std::string_view enumName(MessageIdFormat v) {
  return v == MessageIdFormat::Hex ? "hex" : "decimal";
}

std::string_view enumName(BindMode v) {
  return v == BindMode::Transceiver ? "transceiver" : "transmitter_receiver";
}

std::string_view enumName(GroupStrategy v) {
  switch (v) {
    case GroupStrategy::Failover:
      return "failover";
    case GroupStrategy::RoundRobin:
      return "round_robin";
    case GroupStrategy::Weighted:
      return "weighted";
    case GroupStrategy::LeastOutstanding:
      return "least_outstanding";
  }
  return "?";
}

std::string_view enumName(IdBase v) {
  switch (v) {
    case IdBase::AsIs:
      return "as_is";
    case IdBase::Hex:
      return "hex";
    case IdBase::Decimal:
      return "decimal";
  }
  return "?";
}

std::string_view enumName(IdCase v) {
  switch (v) {
    case IdCase::Preserve:
      return "preserve";
    case IdCase::Lower:
      return "lower";
    case IdCase::Upper:
      return "upper";
  }
  return "?";
}

std::string_view enumName(DestinationFormat v) {
  switch (v) {
    case DestinationFormat::AsIs:
      return "as_is";
    case DestinationFormat::International:
      return "international";
    case DestinationFormat::PlusInternational:
      return "plus_international";
  }
  return "?";
}

std::string_view enumName(StoreType v) {
  switch (v) {
    case StoreType::Memory:
      return "memory";
    case StoreType::Embedded:
      return "embedded";
    case StoreType::Redis:
      return "redis";
  }
  return "?";
}

std::string_view enumName(LogLevel v) {
  switch (v) {
    case LogLevel::Trace:
      return "trace";
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "?";
}

std::string_view enumName(LogFormat v) {
  return v == LogFormat::Text ? "text" : "json";
}

namespace {

bool parseIpv4(std::string_view s, std::uint8_t* out) {
  int part = 0;
  std::size_t i = 0;
  while (part < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') {
      return false;
    }
    unsigned value = 0;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++digits;
      ++i;
      if (digits > 3 || value > 255) {
        return false;
      }
    }
    if (digits > 1 && s[i - digits] == '0') {
      return false;  // leading zeros are ambiguous (octal in some parsers)
    }
    out[part++] = static_cast<std::uint8_t>(value);
    if (part < 4) {
      if (i >= s.size() || s[i] != '.') {
        return false;
      }
      ++i;
    }
  }
  return i == s.size();
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool parseIpv6(std::string_view s, std::uint8_t* out) {
  std::array<std::uint16_t, 8> head{};
  std::array<std::uint16_t, 8> tail{};
  int nHead = 0;
  int nTail = 0;
  bool compressed = false;
  std::size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    compressed = true;
    i = 2;
  } else if (!s.empty() && s[0] == ':') {
    return false;
  }
  while (i < s.size()) {
    // An embedded IPv4 tail: the rest contains a '.'.
    std::size_t next = s.find(':', i);
    std::string_view group = s.substr(i, next == std::string_view::npos ? s.npos : next - i);
    if (group.find('.') != std::string_view::npos) {
      if (next != std::string_view::npos) {
        return false;
      }
      std::uint8_t v4[4];
      if (!parseIpv4(group, v4)) {
        return false;
      }
      auto& arr = compressed ? tail : head;
      int& n = compressed ? nTail : nHead;
      if (n + 2 > 8) {
        return false;
      }
      arr[n++] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
      arr[n++] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
      i = s.size();
      break;
    }
    if (group.empty() || group.size() > 4) {
      return false;
    }
    unsigned value = 0;
    for (char c : group) {
      int h = hexValue(c);
      if (h < 0) {
        return false;
      }
      value = value * 16 + static_cast<unsigned>(h);
    }
    auto& arr = compressed ? tail : head;
    int& n = compressed ? nTail : nHead;
    if (n >= 8) {
      return false;
    }
    arr[n++] = static_cast<std::uint16_t>(value);
    if (next == std::string_view::npos) {
      i = s.size();
      break;
    }
    i = next + 1;
    if (i < s.size() && s[i] == ':') {
      if (compressed) {
        return false;  // two "::"
      }
      compressed = true;
      ++i;
    } else if (i == s.size()) {
      return false;  // trailing single ':'
    }
  }
  if (compressed ? nHead + nTail > 7 : nHead != 8) {
    return false;
  }
  std::array<std::uint16_t, 8> all{};
  for (int k = 0; k < nHead; ++k) {
    all[static_cast<std::size_t>(k)] = head[static_cast<std::size_t>(k)];
  }
  for (int k = 0; k < nTail; ++k) {
    all[static_cast<std::size_t>(8 - nTail + k)] = tail[static_cast<std::size_t>(k)];
  }
  for (std::size_t k = 0; k < 8; ++k) {
    out[2 * k] = static_cast<std::uint8_t>(all[k] >> 8);
    out[2 * k + 1] = static_cast<std::uint8_t>(all[k] & 0xFF);
  }
  return true;
}

bool globMatch(std::string_view p, std::string_view s) {
  // Iterative glob with single-star backtracking: linear for the short sender ids we match.
  std::size_t pi = 0;
  std::size_t si = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') {
    ++pi;
  }
  return pi == p.size();
}

}  // namespace

bool parseIp(std::string_view text, std::array<std::uint8_t, 16>& out, bool& v6) {
  out.fill(0);
  if (text.find(':') != std::string_view::npos) {
    v6 = true;
    return parseIpv6(text, out.data());
  }
  v6 = false;
  return parseIpv4(text, out.data());
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* reason, bool* hostBitsSet) {
  auto fail = [&](std::string why) -> std::optional<Cidr> {
    if (reason != nullptr) {
      *reason = std::move(why);
    }
    return std::nullopt;
  };
  Cidr c;
  std::string_view ip = text;
  std::optional<unsigned> len;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    ip = text.substr(0, slash);
    std::string_view l = text.substr(slash + 1);
    if (l.empty() || l.size() > 3) {
      return fail("bad prefix length");
    }
    unsigned v = 0;
    for (char ch : l) {
      if (ch < '0' || ch > '9') {
        return fail("bad prefix length");
      }
      v = v * 10 + static_cast<unsigned>(ch - '0');
    }
    len = v;
  }
  if (!parseIp(ip, c.address, c.v6)) {
    return fail(c.v6 ? "not an IPv6 address" : "not an IPv4 address");
  }
  const unsigned maxLen = c.v6 ? 128 : 32;
  if (len.value_or(maxLen) > maxLen) {
    return fail("prefix length must be 0.." + std::to_string(maxLen));
  }
  c.prefix_length = static_cast<std::uint8_t>(len.value_or(maxLen));
  bool hostBits = false;
  for (unsigned bit = c.prefix_length; bit < maxLen; ++bit) {
    auto& byte = c.address[bit / 8];
    const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    if (byte & mask) {
      hostBits = true;
      byte = static_cast<std::uint8_t>(byte & ~mask);
    }
  }
  if (hostBitsSet != nullptr) {
    *hostBitsSet = hostBits;
  }
  return c;
}

bool Cidr::containsBytes(const std::uint8_t* ip, bool ipIsV6) const {
  const std::uint8_t* bytes = ip;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (ipIsV6 && !v6) {
    // A v4-mapped v6 address (dual-stack sockets) matches v4 networks.
    if (!std::equal(kMapped, kMapped + 12, ip)) {
      return false;
    }
    bytes = ip + 12;
  } else if (ipIsV6 != v6) {
    return false;
  }
  unsigned full = prefix_length / 8;
  for (unsigned k = 0; k < full; ++k) {
    if (bytes[k] != address[k]) {
      return false;
    }
  }
  if (unsigned rest = prefix_length % 8; rest != 0) {
    const auto mask = static_cast<std::uint8_t>(0xFFu << (8 - rest));
    if ((bytes[full] & mask) != address[full]) {
      return false;
    }
  }
  return true;
}

bool Cidr::contains(std::string_view ip) const {
  std::array<std::uint8_t, 16> bytes{};
  bool isV6 = false;
  if (!parseIp(ip, bytes, isV6)) {
    return false;
  }
  return containsBytes(bytes.data(), isV6);
}

std::string Cidr::toString() const {
  char buf[64];
  std::string out;
  if (!v6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", address[0], address[1], address[2], address[3]);
    out = buf;
  } else {
    for (int k = 0; k < 8; ++k) {
      std::snprintf(buf, sizeof buf, "%s%x", k == 0 ? "" : ":",
                    static_cast<unsigned>(address[static_cast<std::size_t>(2 * k)] << 8 |
                                          address[static_cast<std::size_t>(2 * k + 1)]));
      out += buf;
    }
  }
  return out + "/" + std::to_string(prefix_length);
}

bool SourcePattern::matches(std::string_view source) const {
  return glob ? globMatch(pattern, source) : pattern == source;
}

bool Listener::admits(CustomerId id) const {
  return all_customers ||
         std::binary_search(allowed_customer_ids.begin(), allowed_customer_ids.end(), id);
}

bool Customer::hasTag(std::string_view tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

bool Customer::sourceAllowed(std::string_view source) const {
  if (allowed_sources.empty()) {
    return true;
  }
  return std::any_of(allowed_sources.begin(), allowed_sources.end(),
                     [&](const SourcePattern& p) { return p.matches(source); });
}

bool Customer::networkAllowed(std::string_view ip) const {
  if (source_networks.empty()) {
    return true;
  }
  std::array<std::uint8_t, 16> bytes{};
  bool isV6 = false;
  if (!parseIp(ip, bytes, isV6)) {
    return false;
  }
  return std::any_of(source_networks.begin(), source_networks.end(),
                     [&](const Cidr& c) { return c.containsBytes(bytes.data(), isV6); });
}

const CountryNumbering* Numbering::country(std::string_view code) const {
  for (const auto& c : countries) {
    if (c.country_code == code) {
      return &c;
    }
  }
  return nullptr;
}

namespace {
template <typename Vec, typename Get>
std::optional<std::uint32_t> findByName(const Vec& v, std::string_view name, Get get) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (get(v[i]) == name) {
      return static_cast<std::uint32_t>(i);
    }
  }
  return std::nullopt;
}
}  // namespace

std::optional<CustomerId> Config::findCustomer(std::string_view system_id) const {
  return findByName(customers, system_id, [](const Customer& c) { return c.system_id; });
}
std::optional<ListenerId> Config::findListener(std::string_view name) const {
  return findByName(listeners, name, [](const Listener& l) { return l.name; });
}
std::optional<UpstreamId> Config::findUpstream(std::string_view name) const {
  return findByName(upstreams, name, [](const Upstream& u) { return u.name; });
}
std::optional<GroupId> Config::findGroup(std::string_view name) const {
  return findByName(groups, name, [](const Group& g) { return g.name; });
}

}  // namespace smppgw::config
