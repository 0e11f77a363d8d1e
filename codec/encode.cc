#include "codec/encode.h"

#include "codec/decode.h"

namespace smppgw::codec {
namespace {

bool tlvAllowed(const Tlv& t, uint8_t peer_version) {
  if (peer_version < 0x34) {
    return false;  // v3.3 has no TLVs
  }
  return peer_version >= 0x50 || !isV50OnlyTlv(t.tag);
}

class BodyWriter {
 public:
  explicit BodyWriter(Buffer& out) : out_(out) {}

  void cstr(std::string_view, std::string_view s, uint16_t, uint32_t) { putCString(s); }
  void u8(std::string_view, uint8_t v) { out_.push(v); }
  void u8Max(std::string_view, uint8_t v, uint8_t, uint32_t) { out_.push(v); }
  void u8Mask(std::string_view, uint8_t v, uint8_t, uint32_t) { out_.push(v); }
  void time(std::string_view, std::string_view s, uint32_t) { putCString(s); }
  void shortMessage(Bytes b) {
    out_.push(static_cast<uint8_t>(b.size()));
    out_.append(b.data(), b.size() & 0xFF);
  }
  void destAddresses(const DestList& list) {
    out_.push(static_cast<uint8_t>(list.size()));
    for (const DestAddress& d : list) {
      out_.push(d.dest_flag);
      if (d.dest_flag == 1) {
        out_.push(d.dest_addr_ton);
        out_.push(d.dest_addr_npi);
      }
      putCString(d.address);
    }
  }
  void unsuccessSmes(const UnsuccessList& list) {
    out_.push(static_cast<uint8_t>(list.size()));
    for (const UnsuccessSme& u : list) {
      out_.push(u.dest_addr_ton);
      out_.push(u.dest_addr_npi);
      putCString(u.destination_addr);
      out_.put32(u.error_status_code);
    }
  }

 private:
  void putCString(std::string_view s) {
    uint8_t* p = out_.grow(s.size() + 1);
    if (!s.empty()) {
      std::memcpy(p, s.data(), s.size());  // an empty view may have a null data()
    }
    p[s.size()] = 0;
  }
  Buffer& out_;
};

// Counts bytes with the same walk as BodyWriter.
class BodySizer {
 public:
  size_t n = 0;
  void cstr(std::string_view, std::string_view s, uint16_t, uint32_t) { n += s.size() + 1; }
  void u8(std::string_view, uint8_t) { ++n; }
  void u8Max(std::string_view, uint8_t, uint8_t, uint32_t) { ++n; }
  void u8Mask(std::string_view, uint8_t, uint8_t, uint32_t) { ++n; }
  void time(std::string_view, std::string_view s, uint32_t) { n += s.size() + 1; }
  void shortMessage(Bytes b) { n += 1 + (b.size() & 0xFF); }
  void destAddresses(const DestList& list) {
    ++n;
    for (const DestAddress& d : list) {
      n += (d.dest_flag == 1 ? 3 : 1) + d.address.size() + 1;
    }
  }
  void unsuccessSmes(const UnsuccessList& list) {
    ++n;
    for (const UnsuccessSme& u : list) {
      n += 2 + u.destination_addr.size() + 1 + 4;
    }
  }
};

}  // namespace

size_t encodedSize(const Pdu& pdu, const EncodeOptions& options) {
  BodySizer sizer;
  if (!pdu.body_omitted) {
    std::visit([&](const auto& body) { std::decay_t<decltype(body)>::visit(sizer, body); },
               pdu.body);
  }
  for (const Tlv& t : pdu.tlvs) {
    if (tlvAllowed(t, options.peer_version)) {
      sizer.n += 4u + t.length;
    }
  }
  return kHeaderSize + sizer.n;
}

size_t encode(const Pdu& pdu, Buffer& out, const EncodeOptions& options) {
  const size_t start = out.size();
  out.reserve(start + 256);
  uint8_t* h = out.grow(kHeaderSize);
  store32(h + 4, static_cast<uint32_t>(pdu.command_id));
  store32(h + 8, pdu.command_status);
  store32(h + 12, pdu.sequence_number);
  if (!pdu.body_omitted) {
    BodyWriter writer(out);
    std::visit([&](const auto& body) { std::decay_t<decltype(body)>::visit(writer, body); },
               pdu.body);
  }
  for (const Tlv& t : pdu.tlvs) {
    if (!tlvAllowed(t, options.peer_version)) {
      continue;
    }
    uint8_t* p = out.grow(4u + t.length);
    store16(p, t.tag);
    store16(p + 2, t.length);
    Bytes v = t.value();
    if (!v.empty()) {
      std::memcpy(p + 4, v.data(), v.size());
    }
    if (t.append_nul) {
      p[4 + v.size()] = 0;
    }
  }
  const size_t written = out.size() - start;
  store32(out.data() + start, static_cast<uint32_t>(written));
  return written;
}

void encodeHeaderOnly(Buffer& out, CommandId id, uint32_t status, uint32_t seq) {
  uint8_t* p = out.grow(kHeaderSize);
  store32(p, kHeaderSize);
  store32(p + 4, static_cast<uint32_t>(id));
  store32(p + 8, status);
  store32(p + 12, seq);
}

}  // namespace smppgw::codec
