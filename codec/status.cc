#include "codec/status.h"

#include <array>
#include <charconv>

namespace smppgw::codec {
namespace {

struct Entry {
  std::string_view name;
  uint32_t value;
};

constexpr std::array kStatuses{
#define SMPPGW_X(name, value) Entry{#name, value},
    SMPPGW_STATUSES(SMPPGW_X)
#undef SMPPGW_X
};

}  // namespace

std::string_view statusName(uint32_t status) {
  for (const auto& e : kStatuses) {
    if (e.value == status) {
      return e.name;
    }
  }
  return {};
}

bool parseStatus(std::string_view text, uint32_t& out) {
  for (const auto& e : kStatuses) {
    if (e.name == text) {
      out = e.value;
      return true;
    }
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  if (text.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

}  // namespace smppgw::codec
