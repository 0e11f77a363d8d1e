#include "routing/message_id.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace smppgw::routing {
namespace {

int digitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return 99;
}

// Arbitrary-length base conversion (ids may exceed 64 bits): repeated division of the digit
// string. Quadratic in the length, which is at most 64.
std::optional<std::string> convert(std::string_view id, unsigned from, unsigned to) {
  if (id.empty()) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> digits;
  digits.reserve(id.size());
  for (char c : id) {
    const int v = digitValue(c);
    if (v < 0 || static_cast<unsigned>(v) >= from) {
      return std::nullopt;
    }
    digits.push_back(static_cast<std::uint8_t>(v));
  }
  std::string out;
  while (!digits.empty()) {
    std::vector<std::uint8_t> quotient;
    unsigned remainder = 0;
    for (auto d : digits) {
      const unsigned acc = remainder * from + d;
      const unsigned q = acc / to;
      remainder = acc % to;
      if (!quotient.empty() || q != 0) {
        quotient.push_back(static_cast<std::uint8_t>(q));
      }
    }
    out += "0123456789abcdef"[remainder];
    digits = std::move(quotient);
  }
  std::reverse(out.begin(), out.end());
  return out;
}

unsigned radix(config::IdBase b) {
  return b == config::IdBase::Hex ? 16 : 10;
}

}  // namespace

std::string normaliseMessageId(const config::MessageIdNormalisation& rule, std::string_view id,
                               IdOrigin origin) {
  std::string out(id);
  const bool converting = rule.receipt != rule.response && rule.receipt != config::IdBase::AsIs &&
                          rule.response != config::IdBase::AsIs;
  if (origin == IdOrigin::Receipt && converting) {
    if (auto converted = convert(id, radix(rule.receipt), radix(rule.response))) {
      out = std::move(*converted);
    }
  }
  // A converted id has no leading zeros and lower-case hex, so when bases differ both sides
  // must be brought to that form whatever the explicit settings say.
  const bool stripZeros = rule.strip_leading_zeros || converting;
  const config::IdCase letterCase = converting && rule.letter_case == config::IdCase::Preserve
                                        ? config::IdCase::Lower
                                        : rule.letter_case;
  if (stripZeros) {
    const auto first = out.find_first_not_of('0');
    out = first == std::string::npos ? (out.empty() ? out : std::string("0")) : out.substr(first);
  }
  switch (letterCase) {
    case config::IdCase::Lower:
      std::transform(out.begin(), out.end(), out.begin(),
                     [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
      break;
    case config::IdCase::Upper:
      std::transform(out.begin(), out.end(), out.begin(),
                     [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; });
      break;
    case config::IdCase::Preserve:
      break;
  }
  return out;
}

}  // namespace smppgw::routing
