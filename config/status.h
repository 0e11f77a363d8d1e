#pragma once
// SMPP command_status names, for parsing config values ("ESME_RTHROTTLED", 88, "0x58") and for
// printing. A copy of the names only: config/ depends on nothing else in the tree (codec/ has the
// full status type used on the wire).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smppgw::config {

// Accepts a known name (case-insensitive, "ESME_" prefix optional), a decimal or "0x" hex number.
std::optional<std::uint32_t> parseCommandStatus(std::string_view text);
// Known name, or empty.
std::string_view commandStatusName(std::uint32_t status);
// "ESME_RTHROTTLED (0x00000058)" or "0x00000400".
std::string describeCommandStatus(std::uint32_t status);

}  // namespace smppgw::config
