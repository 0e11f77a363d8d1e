// The PROXY protocol reader (net/proxy_protocol.h) against headers built here from HAProxy's
// doc/proxy-protocol.txt: v1 and v2, every way of cutting them into reads, and every malformation
// the reader must refuse, with the SMPP bytes that follow a header left as they were.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "net/proxy_protocol.h"

using smppgw::net::crc32c;
using smppgw::net::ProxyHeader;
using smppgw::net::ProxyHeaderParser;
using Status = ProxyHeaderParser::Status;
using Buf = std::vector<uint8_t>;

namespace {

const Buf kSig = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
// An enquire_link, as a customer would send it right after the header.
const Buf kSmpp = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x15,
                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01};

Buf text(std::string_view s) {
  return Buf(s.begin(), s.end());
}

Buf cat(Buf a, const Buf& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Buf tlv(uint8_t type, const Buf& value) {
  Buf t = {type, static_cast<uint8_t>(value.size() >> 8), static_cast<uint8_t>(value.size())};
  return cat(t, value);
}

// A v2 header: signature, version/command, family, length, body.
Buf v2(uint8_t ver_cmd, uint8_t fam, const Buf& body) {
  Buf h = kSig;
  h.push_back(ver_cmd);
  h.push_back(fam);
  h.push_back(static_cast<uint8_t>(body.size() >> 8));
  h.push_back(static_cast<uint8_t>(body.size()));
  return cat(h, body);
}

// TCP over IPv4, 192.0.2.10:40000 -> 198.51.100.7:2775.
Buf v4Block() {
  return {192, 0, 2, 10, 198, 51, 100, 7, 0x9C, 0x40, 0x0A, 0xD7};
}

// TCP over IPv6, [2001:db8::1]:65535 -> [2001:db8::2]:2775.
Buf v6Block() {
  Buf b(36, 0);
  b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8, b[15] = 1;
  b[16] = 0x20, b[17] = 0x01, b[18] = 0x0d, b[19] = 0xb8, b[31] = 2;
  b[32] = 0xFF, b[33] = 0xFF, b[34] = 0x0A, b[35] = 0xD7;
  return b;
}

// Fills the CRC32C TLV's value (located by `at`) the way a sender does: over the whole header
// with the field zeroed.
Buf withCrc(Buf h, size_t at) {
  std::memset(h.data() + at, 0, 4);
  const uint32_t crc = crc32c(h);
  h[at] = static_cast<uint8_t>(crc >> 24);
  h[at + 1] = static_cast<uint8_t>(crc >> 16);
  h[at + 2] = static_cast<uint8_t>(crc >> 8);
  h[at + 3] = static_cast<uint8_t>(crc);
  return h;
}

struct Outcome {
  Status status = Status::NeedMore;
  size_t consumed = 0;
  ProxyHeader header;
  std::string error;
};

// Feeds `data` cut at the given points (each piece one read), stopping at the first piece after
// which the parser is no longer NeedMore, as a connection would.
Outcome feedCut(const Buf& data, const std::vector<size_t>& cuts) {
  ProxyHeaderParser p;
  Outcome o;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(data.size());
  for (size_t to : ends) {
    size_t used = 0;
    o.status = p.feed(std::span<const uint8_t>(data).subspan(from, to - from), used);
    o.consumed += used;
    if (o.status != Status::NeedMore) {
      break;
    }
    CHECK(used == to - from);  // NeedMore: everything offered was header
    from = to;
  }
  o.header = p.header();
  o.error = p.error();
  return o;
}

Outcome feedAll(const Buf& data) {
  return feedCut(data, {});
}

std::string addr(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {};
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
    return "[" + std::string(host) + "]:" + std::to_string(port);
  }
  return "unspec";
}

// The header followed by SMPP, whole, byte by byte and cut once at every position: every way
// gives the same header and stops exactly where the SMPP starts.
void expectEveryCut(const Buf& header, const std::string& src, const std::string& dst, bool local) {
  const Buf data = cat(header, kSmpp);
  std::vector<std::vector<size_t>> ways = {{}};
  std::vector<size_t> each;
  for (size_t k = 1; k < data.size(); ++k) {
    each.push_back(k);
    ways.push_back({k});
  }
  ways.push_back(each);
  for (const auto& cuts : ways) {
    CAPTURE(cuts.size());
    CAPTURE(cuts.empty() ? 0 : cuts[0]);
    const Outcome o = feedCut(data, cuts);
    REQUIRE(o.status == Status::Done);
    CHECK(o.error.empty());
    CHECK(o.consumed == header.size());
    CHECK(o.header.length == header.size());
    CHECK(o.header.local == local);
    CHECK(addr(o.header.source) == src);
    CHECK(addr(o.header.destination) == dst);
    // What is left of the buffer is the SMPP, untouched.
    CHECK(Buf(data.begin() + static_cast<long>(o.consumed), data.end()) == kSmpp);
  }
}

// Feeds byte by byte; the parser must fail on exactly byte `at` (0-based), not later.
void expectErrorAt(const Buf& data, size_t at, std::string_view reason) {
  CAPTURE(reason);
  ProxyHeaderParser p;
  size_t used = 0;
  for (size_t k = 0; k < data.size(); ++k) {
    const Status s = p.feed(std::span<const uint8_t>(data).subspan(k, 1), used);
    if (s != Status::NeedMore) {
      CHECK(s == Status::Error);
      CHECK(k == at);
      CHECK(std::string_view(p.error()).find(reason) != std::string_view::npos);
      // Stays failed, takes nothing more.
      size_t more = 0;
      CHECK(p.feed(kSmpp, more) == Status::Error);
      CHECK(more == 0);
      return;
    }
  }
  FAIL("no error after " << data.size() << " bytes");
}

}  // namespace

TEST_CASE("crc32c: the Castagnoli check value") {
  CHECK(crc32c(text("123456789")) == 0xE3069283u);
  CHECK(crc32c(Buf{}) == 0u);
}

TEST_CASE("v1 TCP4, TCP6 and UNKNOWN, in every cut") {
  expectEveryCut(text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"), "192.168.0.1:56324",
                 "192.168.0.11:443", false);
  expectEveryCut(text("PROXY TCP4 255.255.255.255 0.0.0.0 65535 0\r\n"), "255.255.255.255:65535",
                 "0.0.0.0:0", false);
  expectEveryCut(text("PROXY TCP6 2001:db8::1 ::1 65535 2775\r\n"), "[2001:db8::1]:65535",
                 "[::1]:2775", false);
  expectEveryCut(
      text("PROXY TCP6 ::ffff:127.0.0.1 FFFF:ffff:ffff:ffff:ffff:ffff:ffff:fffe 1 2\r\n"),
      "[::ffff:127.0.0.1]:1", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:2", false);
  expectEveryCut(text("PROXY UNKNOWN\r\n"), "unspec", "unspec", true);
  // The spec's worst case, 107 bytes: whatever follows UNKNOWN is ignored.
  const std::string f39 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const Buf longest = text("PROXY UNKNOWN " + f39 + " " + f39 + " 65535 65535\r\n");
  REQUIRE(longest.size() == ProxyHeaderParser::kMaxV1Line);
  expectEveryCut(longest, "unspec", "unspec", true);
  const Outcome o = feedAll(text("PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n"));
  CHECK(o.header.version == 1);
}

TEST_CASE("v2 PROXY over IPv4 and IPv6, with TLVs, in every cut") {
  expectEveryCut(v2(0x21, 0x11, v4Block()), "192.0.2.10:40000", "198.51.100.7:2775", false);
  expectEveryCut(v2(0x21, 0x21, v6Block()), "[2001:db8::1]:65535", "[2001:db8::2]:2775", false);
  // ALPN, AUTHORITY, NOOP (empty), UNIQUE_ID, an SSL TLV with sub-TLVs, a custom type: skipped.
  const Buf tlvs = cat(cat(cat(tlv(0x01, text("smpp")), tlv(0x02, text("smsc.example"))),
                           cat(tlv(0x04, {}), tlv(0x05, Buf(128, 0xAB)))),
                       cat(tlv(0x20, cat(Buf{0x01, 0, 0, 0, 0}, tlv(0x21, text("TLSv1.3")))),
                           tlv(0xE0, Buf{1, 2, 3})));
  expectEveryCut(v2(0x21, 0x11, cat(v4Block(), tlvs)), "192.0.2.10:40000", "198.51.100.7:2775",
                 false);
  expectEveryCut(v2(0x21, 0x21, cat(v6Block(), tlvs)), "[2001:db8::1]:65535", "[2001:db8::2]:2775",
                 false);
  // A CRC32C TLV is verified (HAProxy's proxy-v2-options crc32c).
  const Buf crc_body = cat(cat(v4Block(), tlv(0x03, Buf(4, 0))), tlv(0x01, text("smpp")));
  const Buf with_crc = withCrc(v2(0x21, 0x11, crc_body), 16 + 12 + 3);
  expectEveryCut(with_crc, "192.0.2.10:40000", "198.51.100.7:2775", false);
  const Outcome o = feedAll(with_crc);
  CHECK(o.header.version == 2);
}

TEST_CASE("v2 LOCAL, UNSPEC and UNIX: the socket's own endpoints stand") {
  // LOCAL as HAProxy sends it for health checks, and with a block the receiver must still skip.
  expectEveryCut(v2(0x20, 0x00, {}), "unspec", "unspec", true);
  expectEveryCut(v2(0x20, 0x11, v4Block()), "unspec", "unspec", true);
  expectEveryCut(v2(0x20, 0x00, Buf{1, 2, 3, 4, 5}), "unspec", "unspec", true);
  // PROXY with an unspecified family or protocol: address information is ignored.
  expectEveryCut(v2(0x21, 0x00, {}), "unspec", "unspec", true);
  expectEveryCut(v2(0x21, 0x10, v4Block()), "unspec", "unspec", true);
  // UNIX stream: 216 bytes of addresses, then TLVs are still walked.
  expectEveryCut(v2(0x21, 0x31, cat(Buf(216, 'x'), tlv(0x01, text("smpp")))), "unspec", "unspec",
                 true);
}

TEST_CASE("v2 length bound: 536 bytes in all, one more is refused at once") {
  const size_t room = ProxyHeaderParser::kMaxV2Header - 16 - 12 - 3;
  const Buf fits = v2(0x21, 0x11, cat(v4Block(), tlv(0x04, Buf(room, 0))));
  REQUIRE(fits.size() == ProxyHeaderParser::kMaxV2Header);
  expectEveryCut(fits, "192.0.2.10:40000", "198.51.100.7:2775", false);
  // Refused on the length's last byte, before any of the body arrives.
  const Buf over = v2(0x21, 0x11, cat(v4Block(), tlv(0x04, Buf(room + 1, 0))));
  expectErrorAt(over, 15, "longer than 536");
  Buf max = kSig;
  max.insert(max.end(), {0x21, 0x11, 0xFF, 0xFF});
  expectErrorAt(max, 15, "longer than 536");
}

TEST_CASE("a first byte that starts no header fails at once: SMPP on a PROXY listener") {
  expectErrorAt(kSmpp, 0, "neither");
  expectErrorAt(text("GET / HTTP/1.1\r\n"), 0, "neither");
  expectErrorAt(text("proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"), 0, "neither");
  // A whole buffer: nothing consumed.
  const Outcome o = feedAll(kSmpp);
  CHECK(o.status == Status::Error);
  CHECK(o.consumed == 0);
}

TEST_CASE("v2 malformed: signature, version, command, family, lengths, TLVs, CRC") {
  const Buf good = v2(0x21, 0x11, v4Block());
  for (size_t k = 1; k < 12; ++k) {
    Buf bad = good;
    bad[k] ^= 0x40;
    CAPTURE(k);
    expectErrorAt(bad, k, "bad v2 signature");
  }
  Buf v1ver = good;
  v1ver[12] = 0x11;
  expectErrorAt(v1ver, 12, "version");
  Buf v3ver = good;
  v3ver[12] = 0x31;
  expectErrorAt(v3ver, 12, "version");
  Buf cmd = good;
  cmd[12] = 0x22;
  expectErrorAt(cmd, 12, "command");
  expectErrorAt(v2(0x21, 0x41, v4Block()), 15, "family");
  expectErrorAt(v2(0x21, 0x13, v4Block()), 15, "family");
  expectErrorAt(v2(0x21, 0x12, v4Block()), 15, "UDP");
  expectErrorAt(v2(0x21, 0x22, v6Block()), 15, "UDP");
  // The length leaves no room for the addresses the family announces.
  expectErrorAt(v2(0x21, 0x11, Buf(11, 0)), 15, "shorter");
  expectErrorAt(v2(0x21, 0x21, v4Block()), 15, "shorter");
  expectErrorAt(v2(0x21, 0x31, Buf(215, 0)), 15, "shorter");
  // TLVs must tile the rest of the header: one that runs past it, or 1-2 stray bytes.
  Buf overrun = cat(v4Block(), tlv(0x01, text("smpp")));
  overrun[12 + 2] = 5;  // claims 5 value bytes, 4 follow
  expectErrorAt(v2(0x21, 0x11, overrun), 16 + 12 + 2, "runs past");
  expectErrorAt(v2(0x21, 0x11, cat(v4Block(), Buf{0x01, 0x00})), 16 + 12, "TLV truncated");
  // CRC32C: a wrong value, a wrong size, twice.
  const Buf crc_body = cat(v4Block(), tlv(0x03, Buf(4, 0)));
  Buf bad_crc = withCrc(v2(0x21, 0x11, crc_body), 16 + 12 + 3);
  bad_crc.back() ^= 1;
  expectErrorAt(bad_crc, bad_crc.size() - 1, "CRC32C does not match");
  expectErrorAt(v2(0x21, 0x11, cat(v4Block(), tlv(0x03, Buf(3, 0)))), 16 + 12 + 2, "CRC32C");
  expectErrorAt(v2(0x21, 0x11, cat(crc_body, tlv(0x03, Buf(4, 0)))), 16 + 12 + 7 + 2, "CRC32C");
}

TEST_CASE("truncated headers wait for more, and are never Done") {
  for (const Buf& whole :
       {v2(0x21, 0x11, cat(v4Block(), tlv(0x01, text("smpp")))), v2(0x21, 0x21, v6Block()),
        text("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")}) {
    for (size_t n = 1; n < whole.size(); ++n) {
      const Outcome o = feedAll(Buf(whole.begin(), whole.begin() + static_cast<long>(n)));
      CAPTURE(n);
      CHECK(o.status == Status::NeedMore);
      CHECK(o.consumed == n);
    }
  }
}

TEST_CASE("v1 malformed: signature, protocol, addresses, ports, spacing, line end, length") {
  expectErrorAt(text("PROXX TCP4 1.2.3.4 1.2.3.4 1 2\r\n"), 4, "bad v1 signature");
  expectErrorAt(text("PROXY\tTCP4 1.2.3.4 1.2.3.4 1 2\r\n"), 5, "bad v1 signature");
  const auto line = [](std::string_view s) { return text(s); };
  struct Case {
    const char* line;
    const char* reason;
  };
  const Case cases[] = {
      {"PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", "protocol"},
      {"PROXY tcp4 1.2.3.4 1.2.3.4 1 2\r\n", "protocol"},
      {"PROXY UNKNOWNX\r\n", "protocol"},
      {"PROXY \r\n", "protocol"},
      {"PROXY TCP4 256.1.1.1 1.2.3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP4 01.2.3.4 1.2.3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP4 1.2.3.4.5 1.2.3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP4 1.2.3.4 1..3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP4 1.2.3.4 0001.2.3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP4 ::1 1.2.3.4 1 2\r\n", "dotted quad"},
      {"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "IPv6"},
      {"PROXY TCP6 ::1 ::g 1 2\r\n", "IPv6"},
      {"PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "IPv6"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", "port"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 080\r\n", "port"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", "port"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 2x\r\n", "port"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", "source destination"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", "source destination"},
      {"PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n", "source destination"},
      {"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n", "source destination"},
  };
  for (const Case& c : cases) {
    const Buf l = line(c.line);
    CAPTURE(c.line);
    expectErrorAt(l, l.size() - 1, c.reason);  // decoded only once the CRLF is there
  }
  // Line ends: LF alone, CR alone, a control byte.
  expectErrorAt(text("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n"), 30, "LF without CR");
  expectErrorAt(text("PROXY TCP4 1.2.3.4 1.2.3.4 1 2\rX"), 31, "CR not followed");
  expectErrorAt(text("PROXY UNKNOWN\r\r\n"), 14, "CR not followed");
  expectErrorAt(text("PROXY UNKNOWN \x01\r\n"), 14, "printable");
  // No CRLF within 107 bytes.
  const Buf long_line = text("PROXY UNKNOWN " + std::string(200, 'a'));
  expectErrorAt(long_line, ProxyHeaderParser::kMaxV1Line, "longer than 107");
}

TEST_CASE("after Done the parser takes nothing more") {
  ProxyHeaderParser p;
  size_t used = 0;
  const Buf data = cat(text("PROXY UNKNOWN\r\n"), kSmpp);
  REQUIRE(p.feed(data, used) == Status::Done);
  CHECK(used == 15);
  size_t more = 0;
  CHECK(p.feed(kSmpp, more) == Status::Done);
  CHECK(more == 0);
  CHECK(p.status() == Status::Done);
}
