#include "codec/pdu.h"

#include <type_traits>

#include <algorithm>

namespace smppgw::codec {
namespace {

bool sameBytes(Bytes a, Bytes b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

bool SmBody::eq(const SmBody& a, const SmBody& b) {
  return a.service_type == b.service_type && a.source_addr_ton == b.source_addr_ton &&
         a.source_addr_npi == b.source_addr_npi && a.source_addr == b.source_addr &&
         a.dest_addr_ton == b.dest_addr_ton && a.dest_addr_npi == b.dest_addr_npi &&
         a.destination_addr == b.destination_addr && a.esm_class == b.esm_class &&
         a.protocol_id == b.protocol_id && a.priority_flag == b.priority_flag &&
         a.schedule_delivery_time == b.schedule_delivery_time &&
         a.validity_period == b.validity_period && a.registered_delivery == b.registered_delivery &&
         a.replace_if_present_flag == b.replace_if_present_flag && a.data_coding == b.data_coding &&
         a.sm_default_msg_id == b.sm_default_msg_id && sameBytes(a.short_message, b.short_message);
}

bool SubmitMultiBody::eq(const SubmitMultiBody& a, const SubmitMultiBody& b) {
  return a.service_type == b.service_type && a.source_addr_ton == b.source_addr_ton &&
         a.source_addr_npi == b.source_addr_npi && a.source_addr == b.source_addr &&
         a.dest_addresses == b.dest_addresses && a.esm_class == b.esm_class &&
         a.protocol_id == b.protocol_id && a.priority_flag == b.priority_flag &&
         a.schedule_delivery_time == b.schedule_delivery_time &&
         a.validity_period == b.validity_period && a.registered_delivery == b.registered_delivery &&
         a.replace_if_present_flag == b.replace_if_present_flag && a.data_coding == b.data_coding &&
         a.sm_default_msg_id == b.sm_default_msg_id && sameBytes(a.short_message, b.short_message);
}

bool ReplaceSmBody::eq(const ReplaceSmBody& a, const ReplaceSmBody& b) {
  return a.message_id == b.message_id && a.source_addr_ton == b.source_addr_ton &&
         a.source_addr_npi == b.source_addr_npi && a.source_addr == b.source_addr &&
         a.schedule_delivery_time == b.schedule_delivery_time &&
         a.validity_period == b.validity_period && a.registered_delivery == b.registered_delivery &&
         a.sm_default_msg_id == b.sm_default_msg_id && sameBytes(a.short_message, b.short_message);
}

namespace {

// Calls f(std::type_identity<T>{}) with the body type of a command id: one table for makeBody
// and resetBody.
template <class F>
decltype(auto) withBodyType(CommandId id, F&& f) {
  switch (id) {
    case CommandId::bind_receiver:
    case CommandId::bind_transmitter:
    case CommandId::bind_transceiver:
      return f(std::type_identity<BindBody>{});
    case CommandId::bind_receiver_resp:
    case CommandId::bind_transmitter_resp:
    case CommandId::bind_transceiver_resp:
      return f(std::type_identity<BindRespBody>{});
    case CommandId::outbind:
      return f(std::type_identity<OutbindBody>{});
    case CommandId::submit_sm:
    case CommandId::deliver_sm:
      return f(std::type_identity<SmBody>{});
    case CommandId::submit_sm_resp:
    case CommandId::deliver_sm_resp:
    case CommandId::data_sm_resp:
    case CommandId::broadcast_sm_resp:
    case CommandId::query_broadcast_sm_resp:
      return f(std::type_identity<MessageIdBody>{});
    case CommandId::submit_multi:
      return f(std::type_identity<SubmitMultiBody>{});
    case CommandId::submit_multi_resp:
      return f(std::type_identity<SubmitMultiRespBody>{});
    case CommandId::data_sm:
      return f(std::type_identity<DataSmBody>{});
    case CommandId::query_sm:
    case CommandId::query_broadcast_sm:
      return f(std::type_identity<QuerySmBody>{});
    case CommandId::query_sm_resp:
      return f(std::type_identity<QuerySmRespBody>{});
    case CommandId::cancel_sm:
      return f(std::type_identity<CancelSmBody>{});
    case CommandId::replace_sm:
      return f(std::type_identity<ReplaceSmBody>{});
    case CommandId::alert_notification:
      return f(std::type_identity<AlertNotificationBody>{});
    case CommandId::broadcast_sm:
      return f(std::type_identity<BroadcastSmBody>{});
    case CommandId::cancel_broadcast_sm:
      return f(std::type_identity<CancelBroadcastSmBody>{});
    default:
      return f(std::type_identity<EmptyBody>{});
  }
}

}  // namespace

Body makeBody(CommandId id) {
  return withBodyType(id, [](auto t) { return Body(typename decltype(t)::type{}); });
}

void resetBody(Body& body, CommandId id) {
  withBodyType(id, [&](auto t) {
    using T = typename decltype(t)::type;
    if (T* b = std::get_if<T>(&body)) {
      *b = T{};  // the common case: a connection decodes the same commands again and again
    } else {
      body.emplace<T>();
    }
  });
}

}  // namespace smppgw::codec
