#include "net/proxy_protocol.h"

#include <arpa/inet.h>

#include <cstring>
#include <string_view>

namespace smppgw::net {

namespace {

constexpr uint8_t kV2Signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV2Fixed = 16;
constexpr uint8_t kTlvCrc32c = 0x03;

uint32_t crcStep(uint32_t crc, uint8_t b) {
  crc ^= b;
  for (int k = 0; k < 8; ++k) {
    crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));  // reflected Castagnoli polynomial
  }
  return crc;
}

// Dotted quad, exactly four decimal parts 0..255, no leading zeros (the spec forbids them so an
// octal reading is never possible).
bool parseIpv4(std::string_view s, in_addr& out) {
  uint32_t addr = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    size_t digits = 0;
    uint32_t v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 4) {
      v = v * 10 + static_cast<uint32_t>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0')) {
      return false;
    }
    addr = (addr << 8) | v;
    ++parts;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') {
        return false;
      }
      ++i;
    }
  }
  if (i != s.size()) {
    return false;
  }
  out.s_addr = htonl(addr);
  return true;
}

bool parseIpv6(std::string_view s, in6_addr& out) {
  char text[INET6_ADDRSTRLEN] = {};  // inet_pton needs a terminated string
  if (s.empty() || s.size() >= sizeof(text) || s.find(':') == std::string_view::npos) {
    return false;
  }
  std::memcpy(text, s.data(), s.size());
  return inet_pton(AF_INET6, text, &out) == 1;
}

bool parsePort(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) {
    return false;
  }
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) {
    return false;
  }
  out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

uint32_t crc32c(std::span<const uint8_t> data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (uint8_t b : data) {
    crc = crcStep(crc, b);
  }
  return ~crc;
}

ProxyHeaderParser::Status ProxyHeaderParser::fail(const char* reason) {
  error_ = reason;
  status_ = Status::Error;
  return status_;
}

ProxyHeaderParser::Status ProxyHeaderParser::failSignature(const char* reason) {
  not_proxy_ = true;
  return fail(reason);
}

const char* proxyFailureName(ProxyFailure f) {
  switch (f) {
    case ProxyFailure::None:
      return "";
    case ProxyFailure::NotProxy:
      return "not_proxy";
    case ProxyFailure::Invalid:
      return "invalid";
    case ProxyFailure::Timeout:
      return "timeout";
    case ProxyFailure::Closed:
      return "closed";
  }
  return "";
}

ProxyHeaderParser::Status ProxyHeaderParser::feed(std::span<const uint8_t> data, size_t& consumed) {
  for (size_t k = 0; k < data.size() && status_ == Status::NeedMore; ++k) {
    const uint8_t b = data[k];
    if (phase_ == Phase::Detect) {
      if (b == kV2Signature[0]) {
        phase_ = Phase::V2;
      } else if (b == static_cast<uint8_t>(kV1Prefix[0])) {
        phase_ = Phase::V1;
      } else {
        return failSignature("neither a PROXY v1 nor a v2 header");
      }
    }
    status_ = phase_ == Phase::V1 ? stepV1(b) : stepV2(b);
    if (status_ != Status::Error) {
      ++consumed;
    }
  }
  return status_;
}

// ---- v1 ------------------------------------------------------------------------------------

ProxyHeaderParser::Status ProxyHeaderParser::stepV1(uint8_t b) {
  const size_t i = pos_++;
  if (i < kV1Prefix.size()) {
    if (b != static_cast<uint8_t>(kV1Prefix[i])) {
      return failSignature("bad v1 signature");
    }
    buf_[i] = b;
    return Status::NeedMore;
  }
  if (i >= kMaxV1Line) {
    return fail("v1 line longer than 107 bytes");
  }
  buf_[i] = b;
  const uint8_t prev = buf_[i - 1];
  if (prev == '\r' && b != '\n') {
    return fail("v1 CR not followed by LF");
  }
  if (b == '\n') {
    if (prev != '\r') {
      return fail("v1 line ends in LF without CR");
    }
    return finishV1();
  }
  if (b != '\r' && (b < 0x20 || b > 0x7E)) {
    return fail("v1 line holds a byte that is not printable ASCII");
  }
  return Status::NeedMore;
}

ProxyHeaderParser::Status ProxyHeaderParser::finishV1() {
  header_.version = 1;
  header_.length = pos_;
  // Between "PROXY " and CRLF.
  std::string_view rest(reinterpret_cast<const char*>(buf_) + kV1Prefix.size(),
                        pos_ - kV1Prefix.size() - 2);
  // The spec: for UNKNOWN the receiver ignores whatever precedes the CRLF.
  if (rest == "UNKNOWN" || rest.starts_with("UNKNOWN ")) {
    header_.local = true;
    status_ = Status::Done;
    return status_;
  }
  int family = 0;
  if (rest.starts_with("TCP4 ")) {
    family = AF_INET;
  } else if (rest.starts_with("TCP6 ")) {
    family = AF_INET6;
  } else {
    return fail("v1 protocol is not TCP4, TCP6 or UNKNOWN");
  }
  rest.remove_prefix(5);
  std::string_view fields[4];
  for (int f = 0; f < 4; ++f) {
    const size_t sp = rest.find(' ');
    fields[f] = rest.substr(0, sp);
    if (fields[f].empty() || (f < 3) == (sp == std::string_view::npos)) {
      return fail("v1 line is not: source destination source-port destination-port");
    }
    rest.remove_prefix(f < 3 ? sp + 1 : rest.size());
  }
  uint16_t sport = 0;
  uint16_t dport = 0;
  if (!parsePort(fields[2], sport) || !parsePort(fields[3], dport)) {
    return fail("v1 port is not a decimal 0..65535 without leading zeros");
  }
  if (family == AF_INET) {
    auto* src = reinterpret_cast<sockaddr_in*>(&header_.source);
    auto* dst = reinterpret_cast<sockaddr_in*>(&header_.destination);
    if (!parseIpv4(fields[0], src->sin_addr) || !parseIpv4(fields[1], dst->sin_addr)) {
      header_ = ProxyHeader{};
      return fail("v1 TCP4 address is not a dotted quad");
    }
    src->sin_family = dst->sin_family = AF_INET;
    src->sin_port = htons(sport);
    dst->sin_port = htons(dport);
  } else {
    auto* src = reinterpret_cast<sockaddr_in6*>(&header_.source);
    auto* dst = reinterpret_cast<sockaddr_in6*>(&header_.destination);
    if (!parseIpv6(fields[0], src->sin6_addr) || !parseIpv6(fields[1], dst->sin6_addr)) {
      header_ = ProxyHeader{};
      return fail("v1 TCP6 address is not an IPv6 address");
    }
    src->sin6_family = dst->sin6_family = AF_INET6;
    src->sin6_port = htons(sport);
    dst->sin6_port = htons(dport);
  }
  status_ = Status::Done;
  return status_;
}

// ---- v2 ------------------------------------------------------------------------------------

ProxyHeaderParser::Status ProxyHeaderParser::stepV2(uint8_t b) {
  const size_t i = pos_++;
  uint8_t crc_in = b;
  if (i < sizeof(kV2Signature)) {
    if (b != kV2Signature[i]) {
      return failSignature("bad v2 signature");
    }
  } else if (i == 12) {
    if ((b >> 4) != 2) {
      return fail("v2 version is not 2");
    }
    if ((b & 0x0F) > 1) {
      return fail("v2 command is neither LOCAL nor PROXY");
    }
    ver_cmd_ = b;
  } else if (i == 13) {
    fam_ = b;
  } else if (i == 14) {
    end_ = size_t{b} << 8;
  } else if (i == 15) {
    end_ = kV2Fixed + (end_ | b);
    crc_ = crcStep(crc_, b);
    return startV2Body();
  } else {
    if (i < addr_end_) {
      if (inet_) {
        buf_[i - kV2Fixed] = b;
      }
    } else if (!skip_all_) {
      switch (tlv_state_) {
        case 0:
          if (end_ - i < 3) {
            return fail("v2 TLV truncated by the header length");
          }
          tlv_type_ = b;
          tlv_state_ = 1;
          break;
        case 1:
          tlv_left_ = static_cast<uint16_t>(b << 8);
          tlv_state_ = 2;
          break;
        case 2:
          tlv_left_ = static_cast<uint16_t>(tlv_left_ | b);
          if (tlv_left_ > end_ - pos_) {
            return fail("v2 TLV runs past the header");
          }
          if (tlv_type_ == kTlvCrc32c) {
            if (crc_seen_ || tlv_left_ != 4) {
              return fail("v2 CRC32C TLV is not one 4-byte value");
            }
            crc_seen_ = true;
          }
          tlv_state_ = tlv_left_ > 0 ? 3 : 0;
          break;
        default:
          if (tlv_type_ == kTlvCrc32c) {
            crc_wire_ = (crc_wire_ << 8) | b;
            crc_in = 0;  // the checksum is computed with its own field zeroed
          }
          if (--tlv_left_ == 0) {
            tlv_state_ = 0;
          }
          break;
      }
    }
    crc_ = crcStep(crc_, crc_in);
    return pos_ == end_ ? finishV2() : Status::NeedMore;
  }
  crc_ = crcStep(crc_, crc_in);
  return Status::NeedMore;
}

ProxyHeaderParser::Status ProxyHeaderParser::startV2Body() {
  if (end_ > kMaxV2Header) {
    return fail("v2 header longer than 536 bytes");
  }
  const uint8_t family = fam_ >> 4;
  const uint8_t proto = fam_ & 0x0F;
  if (family > 3 || proto > 2) {
    return fail("v2 address family or transport is not one the spec defines");
  }
  size_t addr_len = 0;
  if ((ver_cmd_ & 0x0F) == 0 || family == 0 || proto == 0) {
    // LOCAL (health checks: the family is ignored) and UNSPEC: the socket's own endpoints stand.
    skip_all_ = true;
  } else if (proto == 2) {
    return fail("v2 UDP on a stream listener");
  } else if (family == 3) {
    addr_len = 216;  // UNIX stream: no address usable here, but TLVs follow it
  } else {
    inet_ = true;
    addr_len = family == 1 ? 12 : 36;
  }
  if (end_ - kV2Fixed < addr_len) {
    return fail("v2 address block shorter than its family needs");
  }
  addr_end_ = kV2Fixed + addr_len;
  return end_ == kV2Fixed ? finishV2() : Status::NeedMore;
}

ProxyHeaderParser::Status ProxyHeaderParser::finishV2() {
  if (crc_seen_ && ~crc_ != crc_wire_) {
    return fail("v2 CRC32C does not match the header");
  }
  header_.version = 2;
  header_.length = end_;
  if (!inet_) {
    header_.local = true;
  } else if ((fam_ >> 4) == 1) {
    auto* src = reinterpret_cast<sockaddr_in*>(&header_.source);
    auto* dst = reinterpret_cast<sockaddr_in*>(&header_.destination);
    src->sin_family = dst->sin_family = AF_INET;
    // Addresses and ports travel in network byte order, as sockaddr holds them.
    std::memcpy(&src->sin_addr, buf_, 4);
    std::memcpy(&dst->sin_addr, buf_ + 4, 4);
    std::memcpy(&src->sin_port, buf_ + 8, 2);
    std::memcpy(&dst->sin_port, buf_ + 10, 2);
  } else {
    auto* src = reinterpret_cast<sockaddr_in6*>(&header_.source);
    auto* dst = reinterpret_cast<sockaddr_in6*>(&header_.destination);
    src->sin6_family = dst->sin6_family = AF_INET6;
    std::memcpy(&src->sin6_addr, buf_, 16);
    std::memcpy(&dst->sin6_addr, buf_ + 16, 16);
    std::memcpy(&src->sin6_port, buf_ + 32, 2);
    std::memcpy(&dst->sin6_port, buf_ + 34, 2);
  }
  status_ = Status::Done;
  return status_;
}

}  // namespace smppgw::net
