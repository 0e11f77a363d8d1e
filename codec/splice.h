#pragma once
// Editing an encoded PDU without re-encoding it. A forwarding gateway changes a few fields of the
// PDUs it passes on (a message id, two addresses, a receipt's text, the sequence number); copying
// the original bytes around those edits costs a memcpy, where decode -> copy -> encode costs a
// full pass over every field and TLV. Fields are located by the decoded Pdu's views, which point
// into the encoded bytes (codec::decode never copies a field).
//
//   Splicer sp(raw);                          // the bytes decode() read
//   sp.text(body.message_id, new_id);         // a C-Octet String's content (its NUL stays)
//   sp.tlvValue(tlv, value);                  // a TLV's value (and its length)
//   sp.u8(len_octet, n); sp.text(part, with); // a length and (part of) what it counts, e.g.
//                                             // sm_length and short_message
//   sp.write(out, seq);                       // command_length recomputed, sequence set
//
// Edits may be added in any order but must not overlap. Replacement bytes are not copied: they
// must outlive write(). The caller keeps field limits (C-Octet String maxima, 255 for sm_length).

#include <cstdint>
#include <string_view>

#include "codec/bytes.h"
#include "codec/tlv.h"

namespace smppgw::codec {

class Splicer {
 public:
  explicit Splicer(Bytes original) : original_(original) {}

  void text(std::string_view field, std::string_view with) {
    add(offsetOf(field.data()), field.size(), asBytes(with), nullptr, 0);
  }
  // t must be a TLV decoded from the original (its value points into it).
  void tlvValue(const Tlv& t, Bytes with) {
    uint8_t head[4];
    store16(head, t.tag);
    store16(head + 2, static_cast<uint16_t>(with.size()));
    add(offsetOf(t.ptr) - 4, size_t{4} + t.length, with, head, 4);
  }

  // One octet / a big-endian 16-bit integer of the original (a length in front of a field whose
  // inside is edited: sm_length before short_message, a TLV's length before its value).
  void u8(const uint8_t* at, uint8_t value) { add(offsetOf(at), 1, {}, &value, 1); }
  void u16(const uint8_t* at, uint16_t value) {
    uint8_t b[2];
    store16(b, value);
    add(offsetOf(at), 2, {}, b, 2);
  }

  // Adds a one-octet TLV after everything else (congestion_state on a response to a v5.0 peer).
  // Once per Splicer.
  void appendU8Tlv(uint16_t tag, uint8_t value) {
    uint8_t head[4];
    store16(head, tag);
    store16(head + 2, 1);
    appended_ = value;
    add(original_.size(), 0, Bytes(&appended_, 1), head, 4);
  }

  // Appends the edited PDU to out; returns its size.
  size_t write(Buffer& out, uint32_t sequence_number);

 private:
  struct Edit {
    uint32_t at;   // offset in the original
    uint32_t len;  // bytes of the original replaced
    Bytes with;
    uint8_t prefix[4];  // written before `with` (a new length octet, a TLV header)
    uint8_t prefix_len;
  };
  size_t offsetOf(const void* p) const {
    return static_cast<size_t>(static_cast<const uint8_t*>(p) - original_.data());
  }
  void add(size_t at, size_t len, Bytes with, const uint8_t* prefix, uint8_t prefix_len);

  Bytes original_;
  SmallVec<Edit, 6> edits_;
  uint8_t appended_ = 0;
};

// The lowest interface_version a peer may have to receive these TLVs unchanged: 0x33 (none),
// 0x34 (v3.4 TLVs only) or 0x50 (a v5.0-only TLV). A peer below it needs a re-encode, which
// drops what it may not see (codec::encode with EncodeOptions::peer_version).
uint8_t tlvVersionNeeded(const TlvList& tlvs);

}  // namespace smppgw::codec
