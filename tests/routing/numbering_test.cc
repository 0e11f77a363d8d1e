#include <doctest/doctest.h>

#include "string_view_maker.h"

#include "config/model.h"
#include "routing/numbering.h"

using namespace smppgw;
using namespace smppgw::routing;

namespace {
config::Numbering numbering() {
  config::Numbering n;
  n.international_prefixes = {"00", "011"};
  n.default_country = "44";
  n.countries = {{"44", "0"}, {"1", "1"}, {"49", "0"}, {"39", ""}};
  return n;
}
}  // namespace

TEST_CASE("number normalisation table") {
  struct Case {
    const char* in;
    std::uint8_t ton;
    std::uint8_t npi;
    const char* country;
    const char* out;
    std::uint8_t outTon;
    bool changed;
  };
  const Case cases[] = {
      {"+447700900123", 0, 0, "", "447700900123", 1, true},
      {"+447700900123", 1, 1, "", "447700900123", 1, true},
      {"447700900123", 1, 1, "", "447700900123", 1, false},
      {"00447700900123", 0, 0, "", "447700900123", 1, true},
      {"0114477", 0, 0, "", "4477", 1, true},   // longest international prefix first
      {"0044123", 1, 1, "", "44123", 1, true},  // TON 1 with a dialled prefix: stripped too
      {"07700900123", 0, 0, "", "447700900123", 1, true},    // default country 44
      {"07700900123", 0, 0, "44", "447700900123", 1, true},  // explicit
      {"030123456", 0, 0, "49", "4930123456", 1, true},
      {"7700900123", 2, 1, "", "447700900123", 1, true},  // national TON, no trunk prefix
      {"2125551234", 2, 1, "1", "12125551234", 1, true},
      {"12125551234", 0, 0, "1", "12125551234", 1, true},    // NANP: "1" is both
      {"3331234567", 2, 0, "39", "393331234567", 1, true},   // empty national prefix
      {"447700900123", 0, 0, "", "447700900123", 0, false},  // already international, no +
      {"MyBrand", 5, 0, "", "MyBrand", 5, false},
      {"+44MyBrand", 0, 0, "", "+44MyBrand", 0, false},  // not digits: untouched
      {"12345", 3, 0, "", "12345", 3, false},            // network specific: untouched
      {"+12345", 6, 0, "", "12345", 1, true},            // explicit + always means international
      {"", 0, 0, "", "", 0, false},
      {"+", 0, 0, "", "+", 0, false},
      {"0", 0, 0, "", "0", 0, false},  // national prefix alone is not a number
      {"00", 0, 0, "", "00", 0, false},
  };
  NumberNormaliser nn(numbering());
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CAPTURE(int{c.ton});
    CAPTURE(c.country);
    Number n = nn.normalise(c.in, c.ton, c.npi, c.country);
    CHECK(n.view() == std::string_view(c.out));
    CHECK(int{n.ton} == int{c.outTon});
    CHECK(n.changed == c.changed);
    // Idempotent: normalising the result again changes nothing.
    Number again = nn.normalise(n.view(), n.ton, n.npi, c.country);
    CHECK(again.view() == n.view());
  }
}

TEST_CASE("numbering disabled leaves everything as it is") {
  auto n = numbering();
  n.enabled = false;
  NumberNormaliser nn(n);
  Number out = nn.normalise("+447700900123", 0, 0);
  CHECK(out.view() == "+447700900123");
  CHECK_FALSE(out.changed);
  CHECK(normaliseNumber(numbering(), "07700900123") == "447700900123");
}

TEST_CASE("over-long input is cut to the inline capacity, never overflows") {
  NumberNormaliser nn(numbering());
  std::string longNumber(200, '7');
  Number n = nn.normalise(longNumber, 2, 1, "44");
  CHECK(n.length == Number::kCapacity);
}

TEST_CASE("a non-digit anywhere (the 8-at-a-time check and its tail) leaves the number as is") {
  NumberNormaliser nn(numbering());
  // International with TON 1: digits are kept (changed only by TON/NPI); any non-digit byte,
  // including ones next to '0'..'9' in ASCII ('/', ':') and high bytes, stops normalisation.
  for (size_t len = 1; len <= 21; ++len) {
    std::string digits(len, '5');
    digits[0] = '4';
    Number ok = nn.normalise("00" + digits, 0, 0);
    CHECK(ok.view() == digits);
    for (size_t at = 0; at < len; ++at) {
      for (char bad : {'/', ':', 'a', ' ', '\x80', '\xff', '\x06'}) {
        std::string s = "00" + digits;
        s[2 + at] = bad;
        Number n = nn.normalise(s, 0, 0);
        CAPTURE(len);
        CAPTURE(at);
        REQUIRE(n.view() == s);
        REQUIRE_FALSE(n.changed);
      }
    }
  }
}
