#pragma once
// A compiled ECMAScript regular expression (route source_regex). Wraps std::regex behind a
// pointer so that only regex.cc includes <regex>: it is slow to compile and GCC 12 reports a
// false -Wmaybe-uninitialized inside it under -fsanitize, which regex.cc silences locally.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace smppgw::config {

class Regex {
 public:
  // nullopt (and the reason in *error) when the pattern does not compile.
  static std::optional<Regex> compile(std::string_view pattern, std::string* error = nullptr);

  // True when the expression matches somewhere in `text` (std::regex_search semantics).
  bool search(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

 private:
  struct Impl;
  Regex(std::string pattern, std::unique_ptr<Impl> impl);
  std::string pattern_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace smppgw::config
