#pragma once
// Reads samples out of a text exposition (format 0.0.4) for assertions.

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace smppgw::test {

// The value of the sample whose line is exactly `series` (name plus {labels} as serialized)
// followed by a space; nullopt when there is no such line.
inline std::optional<double> sampleValue(std::string_view text, std::string_view series) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view line = text.substr(pos, end - pos);
    if (line.size() > series.size() && line.substr(0, series.size()) == series &&
        line[series.size()] == ' ') {
      return std::strtod(std::string(line.substr(series.size() + 1)).c_str(), nullptr);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace smppgw::test
