#pragma once
// `smppgw route`: explains a routing decision. `args` are the arguments after the subcommand.
//
//   smppgw route FILE --customer C --to NUMBER [--from N] [--to-ton N] [--to-npi N]
//                [--from-ton N] [--from-npi N] [--service-type S] [--data-coding N]
//                [--esm-class N] [--listener L] [--verbose]
//   smppgw route FILE --mo --to NUMBER [--from N] [--upstream U] [--verbose]
//
// Prints the normalised numbers, the matching rule, the group and its members in order of
// preference; --verbose adds every earlier rule and why it did not match.
// Exit codes: 0 explained (whatever the decision), 1 configuration errors, 2 usage error.

#include <iosfwd>
#include <span>
#include <string_view>

namespace smppgw::routing {

int runRoute(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace smppgw::routing
