#include "codec/decode.h"

#include <cstring>

namespace smppgw::codec {
namespace {

using K = DecodeErrorKind;

// Walks a body's mandatory fields (see pdu.h for the visitor protocol), then its TLVs. The first
// error stops it; every later call is a no-op, so bodies need no error checks of their own.
class BodyReader {
 public:
  BodyReader(const uint8_t* p, const uint8_t* end, CommandId response_id, bool respond)
      : p_(p), end_(end), response_id_(response_id), respond_(respond) {}

  bool failed() const { return failed_; }
  const DecodeError& error() const { return error_; }

  void cstr(std::string_view name, std::string_view& out, uint16_t max, uint32_t too_long_status) {
    size_t len;
    if (!readCString(name, out, len)) {
      return;
    }
    if (len + 1 > max) {
      fail(K::FieldTooLong, too_long_status, name);
    }
  }

  void u8(std::string_view name, uint8_t& out) {
    if (failed_) {
      return;
    }
    if (p_ == end_) {
      truncated(name);
      return;
    }
    out = *p_++;
  }

  void u8Max(std::string_view name, uint8_t& out, uint8_t max, uint32_t bad_status) {
    u8(name, out);
    if (!failed_ && out > max) {
      fail(K::InvalidFieldValue, bad_status, name);
    }
  }

  void u8Mask(std::string_view name, uint8_t& out, uint8_t reserved_bits, uint32_t bad_status) {
    u8(name, out);
    if (!failed_ && (out & reserved_bits) != 0) {
      fail(K::InvalidFieldValue, bad_status, name);
    }
  }

  void u32(std::string_view name, uint32_t& out) {
    if (failed_) {
      return;
    }
    if (end_ - p_ < 4) {
      truncated(name);
      return;
    }
    out = load32(p_);
    p_ += 4;
  }

  void time(std::string_view name, std::string_view& out, uint32_t bad_status) {
    size_t len;
    if (readCString(name, out, len) && !isValidSmppTime(out)) {
      fail(K::InvalidFieldValue, bad_status, name);
    }
  }

  void shortMessage(Bytes& out) {
    uint8_t sm_length = 0;
    u8("sm_length", sm_length);
    if (failed_) {
      return;
    }
    if (static_cast<size_t>(end_ - p_) < sm_length) {
      fail(K::SmLengthMismatch, status::ESME_RINVMSGLEN, "sm_length");
      return;
    }
    out = Bytes(p_, sm_length);
    p_ += sm_length;
  }

  void destAddresses(DestList& out) {
    uint8_t n = 0;
    u8("number_of_dests", n);
    if (!failed_ && (n == 0 || n > 254)) {
      fail(K::InvalidFieldValue, status::ESME_RINVNUMDESTS, "number_of_dests");
    }
    for (unsigned i = 0; i < n && !failed_; ++i) {
      DestAddress d;
      u8("dest_flag", d.dest_flag);
      if (failed_) {
        return;
      }
      if (d.dest_flag == 1) {
        u8("dest_addr_ton", d.dest_addr_ton);
        u8("dest_addr_npi", d.dest_addr_npi);
        cstr("destination_addr", d.address, maxlen::kAddr, status::ESME_RINVDSTADR);
      } else if (d.dest_flag == 2) {
        cstr("dl_name", d.address, maxlen::kDlName, status::ESME_RINVDLNAME);
      } else {
        fail(K::InvalidFieldValue, status::ESME_RINVDESTFLAG, "dest_flag");
        return;
      }
      out.push_back(d);
    }
  }

  void unsuccessSmes(UnsuccessList& out) {
    uint8_t n = 0;
    u8("no_unsuccess", n);
    for (unsigned i = 0; i < n && !failed_; ++i) {
      UnsuccessSme u;
      u8("dest_addr_ton", u.dest_addr_ton);
      u8("dest_addr_npi", u.dest_addr_npi);
      cstr("destination_addr", u.destination_addr, maxlen::kAddr, status::ESME_RINVDSTADR);
      u32("error_status_code", u.error_status_code);
      if (!failed_) {
        out.push_back(u);
      }
    }
  }

  // Whatever follows the mandatory fields is a TLV stream (v5.0 lets every PDU carry one).
  void tlvs(TlvList& out) {
    while (!failed_ && p_ != end_) {
      size_t left = static_cast<size_t>(end_ - p_);
      if (left < 4) {
        fail(K::TlvStreamTrailingBytes, status::ESME_RINVTLVSTREAM, "tlv");
        return;
      }
      Tlv t;
      t.tag = load16(p_);
      t.length = load16(p_ + 2);
      if (t.length > left - 4) {
        fail(K::TlvLengthOverrun, status::ESME_RINVTLVSTREAM, tlvName(t.tag));
        return;
      }
      t.ptr = p_ + 4;
      if (const TlvDef* def = findTlvDef(t.tag);
          def != nullptr && (t.length < def->min_len || t.length > def->max_len)) {
        fail(K::TlvBadLength, status::ESME_RINVTLVLEN, def->name);
        return;
      }
      out.add(t);
      p_ += 4u + t.length;
    }
  }

  void fail(K kind, uint32_t st, std::string_view field) {
    if (failed_) {
      return;
    }
    failed_ = true;
    error_.kind = kind;
    error_.status = st;
    error_.field = field;
    error_.respond = respond_;
    error_.response_id = response_id_;
  }

 private:
  bool readCString(std::string_view name, std::string_view& out, size_t& len) {
    if (failed_) {
      return false;
    }
    const void* nul = std::memchr(p_, 0, static_cast<size_t>(end_ - p_));
    if (nul == nullptr) {
      // The PDU ends inside the string: command_length is wrong for this PDU (v3.4 §4.3).
      fail(K::CStringUnterminated, status::ESME_RINVCMDLEN, name);
      error_.response_id = CommandId::generic_nack;
      return false;
    }
    len = static_cast<size_t>(static_cast<const uint8_t*>(nul) - p_);
    out = std::string_view(reinterpret_cast<const char*>(p_), len);
    p_ += len + 1;
    return true;
  }

  void truncated(std::string_view name) {
    fail(K::CStringUnterminated, status::ESME_RINVCMDLEN, name);
    error_.kind = K::CStringUnterminated;
    error_.response_id = CommandId::generic_nack;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  CommandId response_id_;
  bool respond_;
  bool failed_ = false;
  DecodeError error_;
};

bool digits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return true;
}

bool hasUserData(const Pdu& pdu) {
  if (const auto* sm = pdu.tryAs<SmBody>()) {
    return !sm->short_message.empty();
  }
  if (const auto* sm = pdu.tryAs<SubmitMultiBody>()) {
    return !sm->short_message.empty();
  }
  if (const auto* sm = pdu.tryAs<ReplaceSmBody>()) {
    return !sm->short_message.empty();
  }
  return false;
}

}  // namespace

std::string_view decodeErrorKindName(DecodeErrorKind kind) {
  switch (kind) {
    case K::CommandLengthTooShort:
      return "command_length_too_short";
    case K::CommandLengthExceedsMax:
      return "command_length_exceeds_max";
    case K::UnknownCommandId:
      return "unknown_command_id";
    case K::CStringUnterminated:
      return "cstring_unterminated";
    case K::FieldTooLong:
      return "field_too_long";
    case K::InvalidFieldValue:
      return "invalid_field_value";
    case K::SmLengthMismatch:
      return "sm_length_mismatch";
    case K::TlvLengthOverrun:
      return "tlv_length_overrun";
    case K::TlvStreamTrailingBytes:
      return "tlv_stream_trailing_bytes";
    case K::TlvBadLength:
      return "tlv_bad_length";
    case K::PayloadConflict:
      return "payload_conflict";
    case K::MissingTlv:
      return "missing_tlv";
  }
  return "unknown";
}

bool isValidSmppTime(std::string_view t) {
  if (t.empty()) {
    return true;  // NULL: "immediately" / "MC default"
  }
  if (t.size() != 16 || !digits(t.substr(0, 15))) {
    return false;
  }
  char p = t[15];
  if (p == 'R') {
    return true;  // relative: YYMMDDhhmmss000R
  }
  if (p != '+' && p != '-') {
    return false;
  }
  auto two = [&](size_t i) { return (t[i] - '0') * 10 + (t[i + 1] - '0'); };
  int month = two(2), day = two(4), hour = two(6), minute = two(8), second = two(10);
  int quarters = two(13);
  return month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 &&
         second <= 59 && quarters <= 48;
}

Frame peekFrame(Bytes data, uint32_t max_command_length) {
  Frame f;
  if (data.size() < 4) {
    f.need = 4;
    return f;
  }
  uint32_t len = load32(data.data());
  if (len < kHeaderSize || len > max_command_length) {
    // Framing is lost for good. Wait for the 16 header octets so the nack can echo the
    // sequence_number (the session's timers bound that wait), then answer and close.
    if (data.size() < kHeaderSize) {
      f.need = kHeaderSize;
      return f;
    }
    Header h = readHeader(data.data());
    f.state = Frame::State::Error;
    f.error.kind = len < kHeaderSize ? K::CommandLengthTooShort : K::CommandLengthExceedsMax;
    f.error.command_id = h.command_id;
    f.error.sequence_number = h.sequence_number;
    f.error.status = status::ESME_RINVCMDLEN;
    f.error.respond = true;
    f.error.response_id = CommandId::generic_nack;
    f.error.close_connection = true;
    f.error.field = "command_length";
    return f;
  }
  if (data.size() < len) {
    f.need = len;
    return f;
  }
  f.state = Frame::State::Complete;
  f.pdu = data.first(len);
  return f;
}

std::optional<DecodeError> decode(Bytes pdu, Pdu& out) {
  out.tlvs.clear();
  out.body_omitted = false;
  if (pdu.size() < kHeaderSize || load32(pdu.data()) != pdu.size()) {
    DecodeError e;
    e.kind = K::CommandLengthTooShort;
    e.status = status::ESME_RINVCMDLEN;
    e.respond = true;
    e.close_connection = true;
    e.field = "command_length";
    if (pdu.size() >= kHeaderSize) {
      e.command_id = load32(pdu.data() + 4);
      e.sequence_number = load32(pdu.data() + 12);
    }
    return e;
  }
  Header h = readHeader(pdu.data());
  out.command_id = static_cast<CommandId>(h.command_id);
  out.command_status = h.command_status;
  out.sequence_number = h.sequence_number;

  if (!isKnownCommand(h.command_id)) {
    // Unknown or reserved id (0x8000000B included): nack it; the length is plausible, so the
    // stream goes on (v3.4 §4.3).
    out.body = EmptyBody{};
    DecodeError e;
    e.kind = K::UnknownCommandId;
    e.command_id = h.command_id;
    e.sequence_number = h.sequence_number;
    e.status = status::ESME_RINVCMDID;
    e.respond = true;
    e.response_id = CommandId::generic_nack;
    e.field = "command_id";
    return e;
  }

  resetBody(out.body, out.command_id);
  if (isResponse(out.command_id) && h.command_status != 0 && pdu.size() == kHeaderSize) {
    out.body_omitted = true;
    return std::nullopt;
  }

  const bool respond = expectsResponse(out.command_id);
  BodyReader reader(pdu.data() + kHeaderSize, pdu.data() + pdu.size(),
                    respond ? responseFor(out.command_id) : CommandId::generic_nack, respond);
  std::visit([&](auto& body) { std::decay_t<decltype(body)>::visit(reader, body); }, out.body);
  reader.tlvs(out.tlvs);

  if (!reader.failed()) {
    if (hasUserData(out) && out.tlvs.has(tag::message_payload)) {
      reader.fail(K::PayloadConflict, status::ESME_RINVTLVVAL, "message_payload");
    } else if (out.command_id == CommandId::broadcast_sm) {
      for (uint16_t t : {tag::broadcast_area_identifier, tag::broadcast_content_type,
                         tag::broadcast_rep_num, tag::broadcast_frequency_interval}) {
        if (!out.tlvs.has(t)) {
          reader.fail(K::MissingTlv, status::ESME_RMISSINGTLV, tlvName(t));
          break;
        }
      }
    }
  }
  if (!reader.failed()) {
    return std::nullopt;
  }
  DecodeError e = reader.error();
  e.command_id = h.command_id;
  e.sequence_number = h.sequence_number;
  return e;
}

}  // namespace smppgw::codec
