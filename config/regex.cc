// GCC 12 with -fsanitize=address warns about std::function members "maybe used uninitialized"
// deep inside <regex> (a known false positive); keep -Werror for everything else.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "config/regex.h"

#include <regex>

namespace smppgw::config {

struct Regex::Impl {
  std::regex re;
};

Regex::Regex(std::string pattern, std::unique_ptr<Impl> impl)
    : pattern_(std::move(pattern)), impl_(std::move(impl)) {}
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;
Regex::~Regex() = default;

std::optional<Regex> Regex::compile(std::string_view pattern, std::string* error) {
  try {
    auto impl = std::make_unique<Impl>();
    impl->re =
        std::regex(pattern.begin(), pattern.end(), std::regex::ECMAScript | std::regex::optimize);
    return Regex(std::string(pattern), std::move(impl));
  } catch (const std::regex_error& e) {
    if (error != nullptr) {
      *error = e.what();
    }
  } catch (const std::exception& e) {
    if (error != nullptr) {
      *error = e.what();
    }
  }
  return std::nullopt;
}

bool Regex::search(std::string_view text) const {
  try {
    return std::regex_search(text.begin(), text.end(), impl_->re);
  } catch (const std::exception&) {
    return false;  // regex_error(error_complexity/stack): treat as no match, never throw
  }
}

}  // namespace smppgw::config
