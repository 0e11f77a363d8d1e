#pragma once
// doctest 2.4 cannot print std::string_view on its own; failed CHECKs need this to show values.

#include <doctest/doctest.h>

#include <string_view>

namespace doctest {
template <>
struct StringMaker<std::string_view> {
  static String convert(std::string_view s) {
    return String(s.data(), static_cast<String::size_type>(s.size()));
  }
};
}  // namespace doctest
