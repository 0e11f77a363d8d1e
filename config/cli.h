#pragma once
// Subcommands of the smppgw executable implemented by config/. `args` are the arguments after
// the subcommand name. Exit codes: 0 ok, 1 configuration errors (or failed check), 2 usage error.

#include <iosfwd>
#include <span>
#include <string_view>

namespace smppgw::config {

// smppgw check-config FILE [--quiet]
// Prints the verdict, every error and warning, and a summary (counts, the routes table).
int runCheckConfig(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

// smppgw config-keys [--check FILE | --update FILE]
// Prints the key table as markdown, one table per section; --check exits 1 when FILE's
// `<!-- keys: SECTION -->` blocks differ from the table, --update rewrites them.
int runConfigKeys(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

// smppgw hash-password [PASSWORD] [--iterations N]
// Prints one pbkdf2-sha256 hash. Without PASSWORD, reads the first line of standard input (keeps
// the password out of the process list and shell history).
int runHashPassword(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);
int runHashPassword(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
                    std::ostream& err);

}  // namespace smppgw::config
