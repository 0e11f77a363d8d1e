#include "codec/command.h"

#include <array>
#include <utility>

namespace smppgw::codec {
namespace {

struct Entry {
  std::string_view name;
  uint32_t id;
};

constexpr std::array kCommands{
#define SMPPGW_X(name, id) Entry{#name, id},
    SMPPGW_COMMANDS(SMPPGW_X)
#undef SMPPGW_X
};

}  // namespace

std::string_view commandName(CommandId id) {
  for (const auto& e : kCommands) {
    if (e.id == static_cast<uint32_t>(id)) {
      return e.name;
    }
  }
  return {};
}

std::optional<CommandId> commandFromName(std::string_view name) {
  for (const auto& e : kCommands) {
    if (e.name == name) {
      return static_cast<CommandId>(e.id);
    }
  }
  return std::nullopt;
}

bool isKnownCommand(uint32_t id) {
  switch (static_cast<CommandId>(id)) {
#define SMPPGW_X(name, id) case CommandId::name:
    SMPPGW_COMMANDS(SMPPGW_X)
#undef SMPPGW_X
    return true;
  }
  return false;
}

}  // namespace smppgw::codec
