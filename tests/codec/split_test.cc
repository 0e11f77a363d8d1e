// Splitting tests beyond gsm7.json: part limits, pair boundaries, SAR payloads, errors.

#include "codec/split.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "codec/charset.h"
#include "codec/udh.h"

using namespace smppgw::codec;

namespace {

std::string repeat(std::string_view s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += s;
  }
  return out;
}

std::vector<size_t> unitsOf(const SplitPlan& plan) {
  std::vector<size_t> out;
  for (const auto& part : plan.parts) {
    out.push_back(part.units);
  }
  return out;
}

const std::string kEmoji = "\xF0\x9F\x98\x80";  // U+1F600
const std::string kZhe = "\xD0\xB6";            // ж

}  // namespace

TEST_CASE("split: encoding choice and counting") {
  TextAnalysis a;
  REQUIRE(analyzeText("Price 5\xE2\x82\xAC", a));
  CHECK(a.encoding == TextEncoding::Gsm7);
  CHECK(a.units == 9);
  CHECK(a.codepoints == 8);
  REQUIRE(analyzeText("\xC3\xA7" + kEmoji, a));  // ç + emoji: UCS2, emoji counts 2
  CHECK(a.encoding == TextEncoding::Ucs2);
  CHECK(a.units == 3);
  CHECK_FALSE(analyzeText("bad \xC3", a));
  CHECK(dataCodingFor(TextEncoding::Gsm7) == 0x00);
  CHECK(dataCodingFor(TextEncoding::Ucs2) == 0x08);
}

TEST_CASE("split: escape pair at the boundary moves to the next part") {
  // 152 x 'a' + '{' + 10 x 'b' = 164 septets (the reference's example) -> 152 + 12.
  const std::string text = repeat("a", 152) + "{" + repeat("b", 10);
  SplitPlan plan;
  REQUIRE(planSplit(text, {}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{152, 12});
  CHECK(text.substr(plan.parts[1].begin, 1) == "{");
  // With a 16-bit reference (152 per part) it ends exactly at the boundary.
  REQUIRE(planSplit(text, {.ref_16bit = true}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{152, 12});
  // 151 x 'a' + '{': the pair fits in 153 exactly.
  const std::string fits = repeat("a", 151) + "{" + repeat("b", 10);
  REQUIRE(planSplit(fits, {}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{153, 10});
  REQUIRE(planSplit(fits, {.ref_16bit = true}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{151, 12});
}

TEST_CASE("split: surrogate pair at the boundary moves to the next part") {
  // 65 x ж + emoji: with a 16-bit reference the pair would take units 66-67.
  const std::string text = repeat(kZhe, 65) + kEmoji + repeat(kZhe, 10);
  SplitPlan plan;
  REQUIRE(planSplit(text, {.ref_16bit = true}, plan) == SplitError::None);
  CHECK(plan.encoding == TextEncoding::Ucs2);
  CHECK(unitsOf(plan) == std::vector<size_t>{65, 12});
  REQUIRE(planSplit(text, {.ref_16bit = false}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{67, 10});
  // Only emoji: 40 emoji = 80 units -> 33 emoji (66 units) per 8-bit-ref part.
  REQUIRE(planSplit(repeat(kEmoji, 40), {}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{66, 14});
  // 35 emoji = 70 units fit one message.
  REQUIRE(planSplit(repeat(kEmoji, 35), {}, plan) == SplitError::None);
  CHECK(unitsOf(plan) == std::vector<size_t>{70});
}

TEST_CASE("split: 255 parts at most") {
  SplitPlan plan;
  // 255 x 153 septets is the most an 8-bit-ref split can carry.
  REQUIRE(planSplit(repeat("a", 255 * 153), {}, plan) == SplitError::None);
  CHECK(plan.parts.size() == 255);
  CHECK(planSplit(repeat("a", 255 * 153 + 1), {}, plan) == SplitError::TooManyParts);
  CHECK(plan.parts.size() == 256);  // the plan is kept so the caller can report it
  CHECK(planSplit(repeat(kZhe, 255 * 66 + 1), {.ref_16bit = true}, plan) ==
        SplitError::TooManyParts);
  // A policy limit below 255.
  CHECK(planSplit(repeat("a", 4 * 153), {.max_parts = 3}, plan) == SplitError::TooManyParts);
  CHECK(planSplit(repeat("a", 3 * 153), {.max_parts = 3}, plan) == SplitError::None);
  EncodedMessage message;
  CHECK(encodeMessage(repeat("a", 256 * 153), ConcatMethod::Udh, 1, {}, message) ==
        SplitError::TooManyParts);
  CHECK(message.parts.empty());
  CHECK(splitErrorName(SplitError::TooManyParts) == "too_many_parts");
}

TEST_CASE("split: invalid input and references") {
  SplitPlan plan;
  CHECK(planSplit("abc\xFF", {}, plan) == SplitError::InvalidUtf8);
  CHECK(plan.parts.empty());
  EncodedMessage message;
  CHECK(encodeMessage("\xED\xA0\x80", ConcatMethod::Udh, 1, {}, message) ==
        SplitError::InvalidUtf8);
  // An 8-bit reference must fit 8 bits, but only if a UDH is needed.
  CHECK(encodeMessage(repeat("a", 200), ConcatMethod::Udh, 300, {}, message) ==
        SplitError::RefTooLarge);
  CHECK(message.parts.empty());
  CHECK(encodeMessage("short", ConcatMethod::Udh, 300, {}, message) == SplitError::None);
  CHECK(encodeMessage(repeat("a", 200), ConcatMethod::Udh, 300, {.ref_16bit = true}, message) ==
        SplitError::None);
  CHECK(encodeMessage(repeat("a", 200), ConcatMethod::Sar, 300, {}, message) == SplitError::None);
}

TEST_CASE("split: single-part message has no UDH") {
  EncodedMessage message;
  REQUIRE(encodeMessage("Hello \xE2\x82\xAC", ConcatMethod::Udh, 7, {}, message) ==
          SplitError::None);
  REQUIRE(message.parts.size() == 1);
  const MessagePart& part = message.parts[0];
  CHECK_FALSE(part.udhi);
  CHECK(part.total == 1);
  CHECK(part.seq == 1);
  CHECK(part.short_message == std::vector<uint8_t>{'H', 'e', 'l', 'l', 'o', ' ', 0x1B, 0x65});
  // Empty text: one empty part.
  REQUIRE(encodeMessage("", ConcatMethod::Udh, 7, {}, message) == SplitError::None);
  REQUIRE(message.parts.size() == 1);
  CHECK(message.parts[0].short_message.empty());
  CHECK(message.data_coding == 0x00);
}

TEST_CASE("split: UDH payloads") {
  const std::string text = repeat("0123456789", 20) + "\xE2\x82\xAC";  // 202 septets
  EncodedMessage message;
  REQUIRE(encodeMessage(text, ConcatMethod::Udh, 0x5A, {}, message) == SplitError::None);
  CHECK(message.encoding == TextEncoding::Gsm7);
  CHECK(message.total_units == 202);
  REQUIRE(message.parts.size() == 2);
  const auto& p1 = message.parts[0].short_message;
  CHECK(p1.size() == 6 + 153);
  CHECK(std::vector<uint8_t>(p1.begin(), p1.begin() + 6) ==
        std::vector<uint8_t>{0x05, 0x00, 0x03, 0x5A, 0x02, 0x01});
  const auto& p2 = message.parts[1].short_message;
  CHECK(std::vector<uint8_t>(p2.begin(), p2.begin() + 6) ==
        std::vector<uint8_t>{0x05, 0x00, 0x03, 0x5A, 0x02, 0x02});
  CHECK(p2.size() == 6 + 49);
  CHECK(message.parts[1].units == 49);
  CHECK(p2[p2.size() - 2] == 0x1B);
  CHECK(p2.back() == 0x65);

  // UCS2 with a 16-bit reference.
  const std::string cyr = repeat(kZhe, 100);
  REQUIRE(encodeMessage(cyr, ConcatMethod::Udh, 0xABCD, {.ref_16bit = true}, message) ==
          SplitError::None);
  CHECK(message.data_coding == 0x08);
  REQUIRE(message.parts.size() == 2);
  for (const auto& part : message.parts) {
    CHECK(part.udhi);
    CHECK(part.short_message.size() <= 140);
    const auto info = concatInfo(std::span<const uint8_t>(part.short_message));
    REQUIRE(info.has_value());
    CHECK(*info == ConcatInfo{0xABCD, 2, part.seq, true});
  }
  CHECK(message.parts[0].short_message.size() == 7 + 132);

  // force_ucs2 on GSM7-encodable text.
  REQUIRE(encodeMessage("abc", ConcatMethod::Udh, 1, {.force_ucs2 = true}, message) ==
          SplitError::None);
  CHECK(message.encoding == TextEncoding::Ucs2);
  CHECK(message.parts[0].short_message == std::vector<uint8_t>{0, 'a', 0, 'b', 0, 'c'});
}

TEST_CASE("split: SAR variant carries no UDH") {
  const std::string text = repeat("x", 320);
  EncodedMessage message;
  REQUIRE(encodeMessage(text, ConcatMethod::Sar, 0x1234, {.ref_16bit = true}, message) ==
          SplitError::None);
  REQUIRE(message.parts.size() == 3);  // 152 + 152 + 16
  std::string joined;
  for (size_t i = 0; i < message.parts.size(); ++i) {
    const MessagePart& part = message.parts[i];
    CHECK_FALSE(part.udhi);
    CHECK(part.ref == 0x1234);
    CHECK(part.total == 3);
    CHECK(part.seq == i + 1);
    CHECK(part.short_message.size() == part.units);
    joined.append(part.short_message.begin(), part.short_message.end());
  }
  CHECK(joined == text);
  CHECK(message.parts[2].units == 16);
  // 8-bit sizing gives 153 per part.
  REQUIRE(encodeMessage(text, ConcatMethod::Sar, 0x1234, {}, message) == SplitError::None);
  REQUIRE(message.parts.size() == 3);
  CHECK(message.parts[0].units == 153);
  CHECK(message.parts[2].units == 14);
}

TEST_CASE("split: parts decode back to the original text") {
  const std::string text =
      "Gr\xC3\xBC\xC3\x9F"
      "e " +
      repeat("\xE2\x82\xAC{}", 60) + " ok";
  for (bool ref16 : {false, true}) {
    CAPTURE(ref16);
    EncodedMessage message;
    REQUIRE(encodeMessage(text, ConcatMethod::Udh, 9, {.ref_16bit = ref16}, message) ==
            SplitError::None);
    CHECK(message.encoding == TextEncoding::Gsm7);
    std::string joined;
    for (const auto& part : message.parts) {
      Udh udh;
      REQUIRE(parseUdh(part.short_message, udh) == UdhError::None);
      REQUIRE(decodeText(message.data_coding,
                         userDataAfterUdh(std::span<const uint8_t>(part.short_message), udh),
                         joined));
      CHECK(part.units <= perPartLimit(TextEncoding::Gsm7, ref16));
    }
    CHECK(joined == text);
  }
}
