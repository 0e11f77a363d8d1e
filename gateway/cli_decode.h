#pragma once
// `smppgw decode`: PDUs as hex (arguments, or standard input one per line) -> one JSON object per
// PDU per line. Exit 0 if every PDU decoded, 1 if any did not, 2 on usage errors.

#include <iosfwd>
#include <span>
#include <string_view>

namespace smppgw {

int runDecode(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
              std::ostream& err);

}  // namespace smppgw
