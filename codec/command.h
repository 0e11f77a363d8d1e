#pragma once
// SMPP command ids (v3.4 §5.1.2, v5.0 §4.7.5) and what the codec knows about each.

#include <cstdint>
#include <optional>
#include <string_view>

namespace smppgw::codec {

constexpr uint32_t kResponseBit = 0x80000000u;

// X(name, id): every request and response the codec decodes. Ids not listed are "unknown".
#define SMPPGW_COMMANDS(X)                \
  X(generic_nack, 0x80000000u)            \
  X(bind_receiver, 0x00000001u)           \
  X(bind_receiver_resp, 0x80000001u)      \
  X(bind_transmitter, 0x00000002u)        \
  X(bind_transmitter_resp, 0x80000002u)   \
  X(query_sm, 0x00000003u)                \
  X(query_sm_resp, 0x80000003u)           \
  X(submit_sm, 0x00000004u)               \
  X(submit_sm_resp, 0x80000004u)          \
  X(deliver_sm, 0x00000005u)              \
  X(deliver_sm_resp, 0x80000005u)         \
  X(unbind, 0x00000006u)                  \
  X(unbind_resp, 0x80000006u)             \
  X(replace_sm, 0x00000007u)              \
  X(replace_sm_resp, 0x80000007u)         \
  X(cancel_sm, 0x00000008u)               \
  X(cancel_sm_resp, 0x80000008u)          \
  X(bind_transceiver, 0x00000009u)        \
  X(bind_transceiver_resp, 0x80000009u)   \
  X(outbind, 0x0000000Bu)                 \
  X(enquire_link, 0x00000015u)            \
  X(enquire_link_resp, 0x80000015u)       \
  X(submit_multi, 0x00000021u)            \
  X(submit_multi_resp, 0x80000021u)       \
  X(alert_notification, 0x00000102u)      \
  X(data_sm, 0x00000103u)                 \
  X(data_sm_resp, 0x80000103u)            \
  X(broadcast_sm, 0x00000111u)            \
  X(broadcast_sm_resp, 0x80000111u)       \
  X(query_broadcast_sm, 0x00000112u)      \
  X(query_broadcast_sm_resp, 0x80000112u) \
  X(cancel_broadcast_sm, 0x00000113u)     \
  X(cancel_broadcast_sm_resp, 0x80000113u)

enum class CommandId : uint32_t {
#define SMPPGW_X(name, id) name = id,
  SMPPGW_COMMANDS(SMPPGW_X)
#undef SMPPGW_X
};

// The spec's name ("submit_sm"), or an empty view for an id the codec does not know.
std::string_view commandName(CommandId id);
std::optional<CommandId> commandFromName(std::string_view name);
bool isKnownCommand(uint32_t id);

constexpr bool isResponse(CommandId id) {
  return (static_cast<uint32_t>(id) & kResponseBit) != 0;
}
constexpr CommandId responseFor(CommandId request) {
  return static_cast<CommandId>(static_cast<uint32_t>(request) | kResponseBit);
}
constexpr CommandId requestFor(CommandId response) {
  return static_cast<CommandId>(static_cast<uint32_t>(response) & ~kResponseBit);
}
// outbind and alert_notification are never answered; generic_nack is itself a response.
constexpr bool expectsResponse(CommandId id) {
  return !isResponse(id) && id != CommandId::outbind && id != CommandId::alert_notification;
}
constexpr bool isBind(CommandId id) {
  return id == CommandId::bind_transmitter || id == CommandId::bind_receiver ||
         id == CommandId::bind_transceiver;
}
// v5.0-only operations (never sent to a v3.4 peer).
constexpr bool isV50Only(CommandId id) {
  auto r = static_cast<uint32_t>(id) & ~kResponseBit;
  return r >= 0x111 && r <= 0x113;
}

}  // namespace smppgw::codec
