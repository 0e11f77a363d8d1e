#pragma once
// The PROXY protocol header (HAProxy's doc/proxy-protocol.txt, v1 text and v2 binary) that a load
// balancer puts in front of the first SMPP byte, carrying the customer's real address.
//
// ProxyHeaderParser is fed the bytes as they arrive (one at a time is fine) and consumes only
// header bytes: on Done, what follows in the same buffer is SMPP. It never allocates and never
// reads ahead; its whole state is a few dozen bytes plus the 107-byte v1 line.
//
// Strictness (a listener configured for the header accepts nothing else, as the spec requires):
//  - the first byte must start either the v2 signature or "PROXY "; every later byte of those
//    prefixes is checked as it arrives, so an SMPP client on such a listener fails at its first
//    byte (command_length's high byte is 0x00), without waiting for more;
//  - v2: version 2, command LOCAL or PROXY, a known family/protocol byte. TCP over IPv4/IPv6
//    gives the addresses; UNSPEC and UNIX, and any LOCAL command, give "local" (use the socket's
//    own addresses); UDP is refused (this is a stream listener). The whole header may be at most
//    kMaxV2Header bytes (see there). TLVs must tile the rest of the header exactly; they are
//    skipped, except PP2_TYPE_CRC32C, which is verified when present (the spec's MUST);
//  - v1: one line of at most 107 bytes ending in CRLF (a lone CR or LF fails), "TCP4" / "TCP6" /
//    "UNKNOWN", single spaces, dotted-quad IPv4 without leading zeros, IPv6 as inet_pton reads it,
//    ports 0..65535 without leading zeros. UNKNOWN ignores the rest of its line and gives "local".

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace smppgw::net {

// net::Connection closes with this status when the header it expects is bad or late (see
// Connection::proxyFailure()); nothing SMPP has been spoken, so nothing is answered.
inline constexpr int kStatusProxyHeader = -40003;

enum class ProxyFailure : uint8_t {
  None,
  NotProxy,  // the first bytes start neither header (e.g. a client talking SMPP directly)
  Invalid,   // a header that breaks the spec
  Timeout,   // not complete in time
  Closed,    // the peer closed or the socket failed before the header was complete
};
// "not_proxy", "invalid", "timeout", "closed" (metric labels); "" for None.
const char* proxyFailureName(ProxyFailure f);

struct ProxyHeader {
  uint8_t version = 0;  // 1 or 2
  // True for v2 LOCAL, v2 UNSPEC/UNIX families and v1 UNKNOWN: the connection's own endpoints
  // stand (source/destination are left zeroed, ss_family AF_UNSPEC).
  bool local = false;
  sockaddr_storage source{};       // the customer (AF_INET or AF_INET6, port set)
  sockaddr_storage destination{};  // the address the customer connected to
  size_t length = 0;               // header bytes, v1 CRLF / v2 TLVs included
};

class ProxyHeaderParser {
 public:
  enum class Status : uint8_t { NeedMore, Done, Error };

  // HAProxy's own headers without SSL TLVs fit the 536 bytes the spec sizes both formats for
  // (the smallest TCP segment every host must take); a header beyond that is not from a proxy we
  // front, and bounding it bounds what an unauthenticated peer can make us read.
  static constexpr size_t kMaxV2Header = 536;
  static constexpr size_t kMaxV1Line = 107;  // the spec's worst case, CRLF included

  // Consumes header bytes from `data` and adds their count to `consumed` (so the caller's offset
  // can be passed in). Done: header() is complete and data[consumed..] is untouched payload.
  // Error: error() says why; the connection should be closed. NeedMore: all of `data` was header.
  // After Done or Error, further calls consume nothing and return the same status.
  Status feed(std::span<const uint8_t> data, size_t& consumed);

  Status status() const { return status_; }
  const ProxyHeader& header() const { return header_; }
  // A static string; empty unless status() is Error.
  const char* error() const { return error_; }
  // The error is in the signature: the peer does not speak the PROXY protocol at all.
  bool notProxy() const { return not_proxy_; }

 private:
  enum class Phase : uint8_t { Detect, V1, V2 };
  Status fail(const char* reason);
  Status failSignature(const char* reason);
  Status stepV1(uint8_t b);
  Status stepV2(uint8_t b);
  Status startV2Body();
  Status finishV1();
  Status finishV2();

  Status status_ = Status::NeedMore;
  Phase phase_ = Phase::Detect;
  const char* error_ = "";
  bool not_proxy_ = false;
  size_t pos_ = 0;  // header bytes consumed so far

  // v2: after the fixed 16 bytes, [16, addr_end_) is the address block, [addr_end_, end_) TLVs.
  uint8_t ver_cmd_ = 0;
  uint8_t fam_ = 0;
  bool inet_ = false;      // PROXY over TCP4/TCP6: the address block is kept in buf_
  bool skip_all_ = false;  // LOCAL / UNSPEC: the rest of the header is ignored, not parsed
  size_t end_ = 0;
  size_t addr_end_ = 0;
  // TLV walk: tlv_state_ 0 type, 1 length high, 2 length low, 3 value (tlv_left_ bytes).
  uint8_t tlv_state_ = 0;
  uint8_t tlv_type_ = 0;
  uint16_t tlv_left_ = 0;
  bool crc_seen_ = false;
  uint32_t crc_ = 0xFFFFFFFFu;  // CRC32C of the header so far, the checksum's own bytes as zeros
  uint32_t crc_wire_ = 0;

  uint8_t buf_[kMaxV1Line] = {};  // v1: the line; v2: the address block (36 bytes at most)
  ProxyHeader header_;
};

// CRC32C (Castagnoli), as the v2 PP2_TYPE_CRC32C TLV carries it: crc32c("123456789") = 0xE3069283.
uint32_t crc32c(std::span<const uint8_t> data);

}  // namespace smppgw::net
