#pragma once
// Subcommands of the smppgw executable implemented by config/. `args` are the arguments after
// the subcommand name. Exit codes: 0 ok, 1 configuration errors (or failed check), 2 usage error.

#include <functional>
#include <iosfwd>
#include <span>
#include <string_view>
#include <vector>

namespace smppgw::config {

// smppgw check-config FILE [--quiet]
// Prints the verdict, every error and warning, and a summary (counts, the routes table).
// `extra` runs on a configuration that loaded (the gateway's checks of what config/ cannot
// load itself, such as TLS certificates) and adds its errors.
struct Config;
struct Diagnostic;
using ExtraCheck = std::function<void(const Config&, std::vector<Diagnostic>& errors)>;
int runCheckConfig(std::span<const std::string_view> args, std::ostream& out, std::ostream& err,
                   const ExtraCheck& extra = {});

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
