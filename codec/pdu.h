#pragma once
// Decoded SMPP PDUs. Every body field is a view into the bytes the PDU was decoded from (or into
// storage the caller owns when building one), so decoding copies nothing.
//
// Each body lists its mandatory fields once, in wire order, in a static visit(): the decoder,
// the encoder, the JSON printer, equality and the random generator of the tests all walk that
// one list (the X-macro idea of Kannel's smpp_pdu.def, done with templates).

#include <cstdint>
#include <string_view>
#include <variant>

#include "codec/bytes.h"
#include "codec/command.h"
#include "codec/status.h"
#include "codec/tlv.h"

namespace smppgw::codec {

// Field-size maxima, NUL included (v3.4 §4, v5.0 §4).
namespace maxlen {
constexpr uint16_t kSystemId = 16;
constexpr uint16_t kPassword = 9;
constexpr uint16_t kSystemType = 13;
constexpr uint16_t kAddressRange = 41;
constexpr uint16_t kServiceType = 6;
constexpr uint16_t kAddr = 21;
constexpr uint16_t kLongAddr = 65;  // data_sm, alert_notification
constexpr uint16_t kMessageId = 65;
constexpr uint16_t kDlName = 21;
}  // namespace maxlen

// submit_multi destination: an SME address (dest_flag 1) or a distribution list (dest_flag 2).
struct DestAddress {
  uint8_t dest_flag = 1;
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view address;  // destination_addr, or dl_name for a distribution list
  friend bool operator==(const DestAddress&, const DestAddress&) = default;
};

struct UnsuccessSme {
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view destination_addr;
  uint32_t error_status_code = 0;
  friend bool operator==(const UnsuccessSme&, const UnsuccessSme&) = default;
};

using DestList = SmallVec<DestAddress, 4>;
using UnsuccessList = SmallVec<UnsuccessSme, 4>;

// Visitor protocol (V): cstr(name, sv, max, status), u8(name, v), u8Max(name, v, max, status),
// u8Mask(name, v, reserved_bits, status), time(name, sv, status), shortMessage(bytes),
// destAddresses(list), unsuccessSmes(list).

struct EmptyBody {
  template <class V, class S>
  static void visit(V&, S&) {}
  friend bool operator==(const EmptyBody&, const EmptyBody&) = default;
};

// bind_transmitter, bind_receiver, bind_transceiver.
struct BindBody {
  std::string_view system_id;
  std::string_view password;
  std::string_view system_type;
  uint8_t interface_version = 0x34;
  uint8_t addr_ton = 0;
  uint8_t addr_npi = 0;
  std::string_view address_range;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("system_id", s.system_id, maxlen::kSystemId, status::ESME_RINVSYSID);
    v.cstr("password", s.password, maxlen::kPassword, status::ESME_RINVPASWD);
    v.cstr("system_type", s.system_type, maxlen::kSystemType, status::ESME_RINVSYSTYP);
    v.u8("interface_version", s.interface_version);
    v.u8("addr_ton", s.addr_ton);
    v.u8("addr_npi", s.addr_npi);
    v.cstr("address_range", s.address_range, maxlen::kAddressRange, status::ESME_RBINDFAIL);
  }
  friend bool operator==(const BindBody&, const BindBody&) = default;
};

// bind_*_resp.
struct BindRespBody {
  std::string_view system_id;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("system_id", s.system_id, maxlen::kSystemId, status::ESME_RINVSYSID);
  }
  friend bool operator==(const BindRespBody&, const BindRespBody&) = default;
};

struct OutbindBody {
  std::string_view system_id;
  std::string_view password;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("system_id", s.system_id, maxlen::kSystemId, status::ESME_RINVSYSID);
    v.cstr("password", s.password, maxlen::kPassword, status::ESME_RINVPASWD);
  }
  friend bool operator==(const OutbindBody&, const OutbindBody&) = default;
};

// submit_sm and deliver_sm share one layout.
struct SmBody {
  std::string_view service_type;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view destination_addr;
  uint8_t esm_class = 0;
  uint8_t protocol_id = 0;
  uint8_t priority_flag = 0;
  std::string_view schedule_delivery_time;
  std::string_view validity_period;
  uint8_t registered_delivery = 0;
  uint8_t replace_if_present_flag = 0;
  uint8_t data_coding = 0;
  uint8_t sm_default_msg_id = 0;
  Bytes short_message;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("service_type", s.service_type, maxlen::kServiceType, status::ESME_RINVSERTYP);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
    v.u8("dest_addr_ton", s.dest_addr_ton);
    v.u8("dest_addr_npi", s.dest_addr_npi);
    v.cstr("destination_addr", s.destination_addr, maxlen::kAddr, status::ESME_RINVDSTADR);
    v.u8("esm_class", s.esm_class);
    v.u8("protocol_id", s.protocol_id);
    v.u8Max("priority_flag", s.priority_flag, 4, status::ESME_RINVPRTFLG);
    v.time("schedule_delivery_time", s.schedule_delivery_time, status::ESME_RINVSCHED);
    v.time("validity_period", s.validity_period, status::ESME_RINVEXPIRY);
    v.u8Mask("registered_delivery", s.registered_delivery, 0xE0, status::ESME_RINVREGDLVFLG);
    v.u8Max("replace_if_present_flag", s.replace_if_present_flag, 1, status::ESME_RINVREPFLAG);
    v.u8("data_coding", s.data_coding);
    v.u8("sm_default_msg_id", s.sm_default_msg_id);
    v.shortMessage(s.short_message);
  }
  friend bool operator==(const SmBody& a, const SmBody& b) { return eq(a, b); }
  static bool eq(const SmBody& a, const SmBody& b);
};

// submit_sm_resp, deliver_sm_resp, data_sm_resp, broadcast_sm_resp, query_broadcast_sm_resp.
struct MessageIdBody {
  std::string_view message_id;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
  }
  friend bool operator==(const MessageIdBody&, const MessageIdBody&) = default;
};

struct SubmitMultiBody {
  std::string_view service_type;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  DestList dest_addresses;
  uint8_t esm_class = 0;
  uint8_t protocol_id = 0;
  uint8_t priority_flag = 0;
  std::string_view schedule_delivery_time;
  std::string_view validity_period;
  uint8_t registered_delivery = 0;
  uint8_t replace_if_present_flag = 0;
  uint8_t data_coding = 0;
  uint8_t sm_default_msg_id = 0;
  Bytes short_message;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("service_type", s.service_type, maxlen::kServiceType, status::ESME_RINVSERTYP);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
    v.destAddresses(s.dest_addresses);
    v.u8("esm_class", s.esm_class);
    v.u8("protocol_id", s.protocol_id);
    v.u8Max("priority_flag", s.priority_flag, 4, status::ESME_RINVPRTFLG);
    v.time("schedule_delivery_time", s.schedule_delivery_time, status::ESME_RINVSCHED);
    v.time("validity_period", s.validity_period, status::ESME_RINVEXPIRY);
    v.u8Mask("registered_delivery", s.registered_delivery, 0xE0, status::ESME_RINVREGDLVFLG);
    v.u8Max("replace_if_present_flag", s.replace_if_present_flag, 1, status::ESME_RINVREPFLAG);
    v.u8("data_coding", s.data_coding);
    v.u8("sm_default_msg_id", s.sm_default_msg_id);
    v.shortMessage(s.short_message);
  }
  friend bool operator==(const SubmitMultiBody& a, const SubmitMultiBody& b) { return eq(a, b); }
  static bool eq(const SubmitMultiBody& a, const SubmitMultiBody& b);
};

struct SubmitMultiRespBody {
  std::string_view message_id;
  UnsuccessList unsuccess_smes;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.unsuccessSmes(s.unsuccess_smes);
  }
  friend bool operator==(const SubmitMultiRespBody&, const SubmitMultiRespBody&) = default;
};

struct DataSmBody {
  std::string_view service_type;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view destination_addr;
  uint8_t esm_class = 0;
  uint8_t registered_delivery = 0;
  uint8_t data_coding = 0;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("service_type", s.service_type, maxlen::kServiceType, status::ESME_RINVSERTYP);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kLongAddr, status::ESME_RINVSRCADR);
    v.u8("dest_addr_ton", s.dest_addr_ton);
    v.u8("dest_addr_npi", s.dest_addr_npi);
    v.cstr("destination_addr", s.destination_addr, maxlen::kLongAddr, status::ESME_RINVDSTADR);
    v.u8("esm_class", s.esm_class);
    v.u8Mask("registered_delivery", s.registered_delivery, 0xE0, status::ESME_RINVREGDLVFLG);
    v.u8("data_coding", s.data_coding);
  }
  friend bool operator==(const DataSmBody&, const DataSmBody&) = default;
};

// query_sm and query_broadcast_sm.
struct QuerySmBody {
  std::string_view message_id;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
  }
  friend bool operator==(const QuerySmBody&, const QuerySmBody&) = default;
};

struct QuerySmRespBody {
  std::string_view message_id;
  std::string_view final_date;
  uint8_t message_state = 0;
  uint8_t error_code = 0;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.time("final_date", s.final_date, status::ESME_RQUERYFAIL);
    v.u8("message_state", s.message_state);
    v.u8("error_code", s.error_code);
  }
  friend bool operator==(const QuerySmRespBody&, const QuerySmRespBody&) = default;
};

struct CancelSmBody {
  std::string_view service_type;
  std::string_view message_id;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  uint8_t dest_addr_ton = 0;
  uint8_t dest_addr_npi = 0;
  std::string_view destination_addr;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("service_type", s.service_type, maxlen::kServiceType, status::ESME_RINVSERTYP);
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
    v.u8("dest_addr_ton", s.dest_addr_ton);
    v.u8("dest_addr_npi", s.dest_addr_npi);
    v.cstr("destination_addr", s.destination_addr, maxlen::kAddr, status::ESME_RINVDSTADR);
  }
  friend bool operator==(const CancelSmBody&, const CancelSmBody&) = default;
};

struct ReplaceSmBody {
  std::string_view message_id;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  std::string_view schedule_delivery_time;
  std::string_view validity_period;
  uint8_t registered_delivery = 0;
  uint8_t sm_default_msg_id = 0;
  Bytes short_message;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
    v.time("schedule_delivery_time", s.schedule_delivery_time, status::ESME_RINVSCHED);
    v.time("validity_period", s.validity_period, status::ESME_RINVEXPIRY);
    v.u8Mask("registered_delivery", s.registered_delivery, 0xE0, status::ESME_RINVREGDLVFLG);
    v.u8("sm_default_msg_id", s.sm_default_msg_id);
    v.shortMessage(s.short_message);
  }
  friend bool operator==(const ReplaceSmBody& a, const ReplaceSmBody& b) { return eq(a, b); }
  static bool eq(const ReplaceSmBody& a, const ReplaceSmBody& b);
};

struct AlertNotificationBody {
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  uint8_t esme_addr_ton = 0;
  uint8_t esme_addr_npi = 0;
  std::string_view esme_addr;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kLongAddr, status::ESME_RINVSRCADR);
    v.u8("esme_addr_ton", s.esme_addr_ton);
    v.u8("esme_addr_npi", s.esme_addr_npi);
    v.cstr("esme_addr", s.esme_addr, maxlen::kLongAddr, status::ESME_RINVDSTADR);
  }
  friend bool operator==(const AlertNotificationBody&, const AlertNotificationBody&) = default;
};

struct BroadcastSmBody {
  std::string_view service_type;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  std::string_view message_id;
  uint8_t priority_flag = 0;
  std::string_view schedule_delivery_time;
  std::string_view validity_period;
  uint8_t replace_if_present_flag = 0;
  uint8_t data_coding = 0;
  uint8_t sm_default_msg_id = 0;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("service_type", s.service_type, maxlen::kServiceType, status::ESME_RINVSERTYP);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.u8Max("priority_flag", s.priority_flag, 4, status::ESME_RINVPRTFLG);
    v.time("schedule_delivery_time", s.schedule_delivery_time, status::ESME_RINVSCHED);
    v.time("validity_period", s.validity_period, status::ESME_RINVEXPIRY);
    v.u8Max("replace_if_present_flag", s.replace_if_present_flag, 1, status::ESME_RINVREPFLAG);
    v.u8("data_coding", s.data_coding);
    v.u8("sm_default_msg_id", s.sm_default_msg_id);
  }
  friend bool operator==(const BroadcastSmBody&, const BroadcastSmBody&) = default;
};

struct CancelBroadcastSmBody {
  std::string_view service_type;
  std::string_view message_id;
  uint8_t source_addr_ton = 0;
  uint8_t source_addr_npi = 0;
  std::string_view source_addr;
  template <class V, class S>
  static void visit(V& v, S& s) {
    v.cstr("service_type", s.service_type, maxlen::kServiceType, status::ESME_RINVSERTYP);
    v.cstr("message_id", s.message_id, maxlen::kMessageId, status::ESME_RINVMSGID);
    v.u8("source_addr_ton", s.source_addr_ton);
    v.u8("source_addr_npi", s.source_addr_npi);
    v.cstr("source_addr", s.source_addr, maxlen::kAddr, status::ESME_RINVSRCADR);
  }
  friend bool operator==(const CancelBroadcastSmBody&, const CancelBroadcastSmBody&) = default;
};

using Body = std::variant<EmptyBody, BindBody, BindRespBody, OutbindBody, SmBody, MessageIdBody,
                          SubmitMultiBody, SubmitMultiRespBody, DataSmBody, QuerySmBody,
                          QuerySmRespBody, CancelSmBody, ReplaceSmBody, AlertNotificationBody,
                          BroadcastSmBody, CancelBroadcastSmBody>;

// The body type that goes with a command id (EmptyBody for header-only and unknown ids).
Body makeBody(CommandId id);
// body = makeBody(id), without building a temporary when body already holds that type.
void resetBody(Body& body, CommandId id);

struct Pdu {
  CommandId command_id = CommandId::generic_nack;
  uint32_t command_status = 0;
  uint32_t sequence_number = 0;
  Body body;
  TlvList tlvs;
  // An error response that came without its body (v3.4 §4.4.2 allows leaving it out); re-encoded
  // the same way.
  bool body_omitted = false;

  Pdu() = default;
  Pdu(CommandId id, uint32_t seq, uint32_t status = 0)
      : command_id(id), command_status(status), sequence_number(seq), body(makeBody(id)) {}

  template <class T>
  T& as() {
    return std::get<T>(body);
  }
  template <class T>
  const T& as() const {
    return std::get<T>(body);
  }
  template <class T>
  T* tryAs() {
    return std::get_if<T>(&body);
  }
  template <class T>
  const T* tryAs() const {
    return std::get_if<T>(&body);
  }

  friend bool operator==(const Pdu&, const Pdu&) = default;
};

}  // namespace smppgw::codec
