// GSM 03.38 tests: every case of shared/vectors/gsm7.json (counting, encoding, packing, splitting)
// plus packing with UDH fill bits and a round trip of every basic and extension character.

#include "codec/gsm7.h"

#include <doctest/doctest.h>

#include "tests/codec/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "codec/charset.h"
#include "codec/split.h"
#include "codec/udh.h"

using namespace smppgw::codec;

namespace {

using smppgw::test::fromHex;
using smppgw::test::loadVectors;
using smppgw::test::toHex;

std::vector<std::string> utf8Chars(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  char32_t cp = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    REQUIRE(nextUtf8(text, pos, cp));
    out.emplace_back(text.substr(start, pos - start));
  }
  return out;
}

// Characters of `text` in class `cls`, each once, in order of first appearance.
std::vector<std::string> charsOfClass(std::string_view text, Gsm7Class cls) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& ch : utf8Chars(text)) {
    size_t pos = 0;
    char32_t cp = 0;
    nextUtf8(ch, pos, cp);
    if (gsm7Lookup(cp).cls == cls && seen.insert(ch).second) {
      out.push_back(ch);
    }
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

std::vector<std::string> textsOf(const SplitPlan& plan, std::string_view text) {
  std::vector<std::string> out;
  for (const auto& part : plan.parts) {
    out.emplace_back(text.substr(part.begin, part.end - part.begin));
  }
  return out;
}

// Lists compared as strings, so that a failure prints both sides.
template <typename T>
std::string str(const std::vector<T>& items) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < items.size(); ++i) {
    out << (i == 0 ? "" : ", ") << items[i];
  }
  out << ']';
  return out.str();
}

bool hasNonBmp(std::string_view text) {
  size_t pos = 0;
  char32_t cp = 0;
  while (nextUtf8(text, pos, cp)) {
    if (cp >= 0x10000) {
      return true;
    }
  }
  return false;
}

// Encodes the case as ready-to-send parts and checks them against the split the vector expects:
// every UDH carries the right {ref, total, seq}, payloads decode back to the part texts, and every
// part fits the 140-octet air interface once packed.
void checkEncodedParts(const nlohmann::json& c, bool ref_16bit) {
  const std::string text = c["text"];
  const uint16_t ref = ref_16bit ? 0xBEEF : 0x42;
  SplitOptions options;
  options.ref_16bit = ref_16bit;
  EncodedMessage message;
  REQUIRE(encodeMessage(text, ConcatMethod::Udh, ref, options, message) == SplitError::None);
  const size_t expected_parts = c[ref_16bit ? "parts_16bit_ref" : "parts_8bit_ref"];
  REQUIRE(message.parts.size() == expected_parts);
  CHECK(message.data_coding == (c["encoding"] == "GSM7" ? 0x00 : 0x08));
  std::string joined;
  for (size_t i = 0; i < message.parts.size(); ++i) {
    const MessagePart& part = message.parts[i];
    CHECK(part.seq == i + 1);
    CHECK(part.total == expected_parts);
    std::span<const uint8_t> payload = part.short_message;
    CHECK(part.udhi == (expected_parts > 1));
    if (part.udhi) {
      Udh udh;
      REQUIRE(parseUdh(payload, udh) == UdhError::None);
      const auto info = concatInfo(udh);
      REQUIRE(info.has_value());
      CHECK(*info == ConcatInfo{ref, static_cast<uint8_t>(expected_parts), part.seq, ref_16bit});
      payload = userDataAfterUdh(payload, udh);
      if (message.encoding == TextEncoding::Gsm7) {
        std::vector<uint8_t> air;
        REQUIRE(packGsm7WithUdh(udh.bytes(), payload, air));
        CHECK(air.size() <= 140);
      } else {
        CHECK(udh.size() + payload.size() <= 140);
      }
    }
    CHECK(payload.size() == (message.encoding == TextEncoding::Gsm7 ? part.units : 2 * part.units));
    std::string decoded;
    REQUIRE(decodeText(message.data_coding, payload, decoded));
    joined += decoded;
  }
  CHECK(joined == text);
}

}  // namespace

TEST_CASE("gsm7.json: every case") {
  const auto doc = loadVectors("gsm7.json");
  REQUIRE(doc.contains("cases"));
  const auto& cases = doc["cases"];
  REQUIRE(cases.size() > 0);

  // Cross-check the limits the file states with the ones the code uses.
  const auto& rules = doc["rules"];
  CHECK(rules["gsm7_single"] == singlePartLimit(TextEncoding::Gsm7));
  CHECK(rules["ucs2_single"] == singlePartLimit(TextEncoding::Ucs2));
  CHECK(rules["gsm7_per_part_8bit_ref_udh"] == perPartLimit(TextEncoding::Gsm7, false));
  CHECK(rules["gsm7_per_part_16bit_ref_udh"] == perPartLimit(TextEncoding::Gsm7, true));
  CHECK(rules["ucs2_per_part_8bit_ref_udh"] == perPartLimit(TextEncoding::Ucs2, false));
  CHECK(rules["ucs2_per_part_16bit_ref_udh"] == perPartLimit(TextEncoding::Ucs2, true));
  CHECK(rules["max_parts"] == kMaxParts);

  const std::set<std::string> informational = {"name", "text", "notes"};
  size_t checked = 0;
  size_t fields_checked = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"];
    const std::string text = c["text"];
    CAPTURE(name);
    std::set<std::string> handled = informational;
    auto has = [&](const char* key) {
      if (!c.contains(key)) {
        return false;
      }
      handled.insert(key);
      ++fields_checked;
      return true;
    };

    TextAnalysis analysis;
    REQUIRE(analyzeText(text, analysis));
    std::vector<uint8_t> unpacked;
    const bool gsm7_ok = utf8ToGsm7(text, unpacked);

    if (has("length_codepoints")) {
      CHECK(utf8CodepointCount(text) == c["length_codepoints"].get<size_t>());
      CHECK(analysis.codepoints == c["length_codepoints"].get<size_t>());
    }
    if (has("gsm7_encodable")) {
      CHECK(isGsm7Encodable(text) == c["gsm7_encodable"].get<bool>());
      CHECK(gsm7_ok == c["gsm7_encodable"].get<bool>());
    }
    if (has("escape_chars")) {
      CHECK(str(charsOfClass(text, Gsm7Class::Extension)) ==
            str(c["escape_chars"].get<std::vector<std::string>>()));
    }
    if (has("unrepresentable_chars")) {
      CHECK(str(charsOfClass(text, Gsm7Class::None)) ==
            str(c["unrepresentable_chars"].get<std::vector<std::string>>()));
    }
    if (has("encoding")) {
      CHECK(textEncodingName(analysis.encoding) == c["encoding"].get<std::string>());
    }
    if (has("septets")) {
      CHECK(gsm7SeptetCount(text) == c["septets"].get<size_t>());
      CHECK(analysis.units == c["septets"].get<size_t>());
    }
    if (has("ucs2_units")) {
      CHECK(utf16UnitCount(text) == c["ucs2_units"].get<size_t>());
      CHECK(analysis.units == c["ucs2_units"].get<size_t>());
    }
    if (has("unpacked_hex")) {
      REQUIRE(gsm7_ok);
      CHECK(toHex(unpacked) == c["unpacked_hex"].get<std::string>());
      std::string back;
      REQUIRE(gsm7ToUtf8(fromHex(c["unpacked_hex"].get<std::string>()), back));
      CHECK(back == text);
    }
    if (has("packed_hex")) {
      REQUIRE(gsm7_ok);
      std::vector<uint8_t> packed;
      REQUIRE(packGsm7(unpacked, packed));
      CHECK(toHex(packed) == c["packed_hex"].get<std::string>());
      CHECK(packed.size() == gsm7PackedSize(unpacked.size()));
      std::vector<uint8_t> again;
      REQUIRE(unpackGsm7(fromHex(c["packed_hex"].get<std::string>()), unpacked.size(), again));
      CHECK(again == unpacked);
    }
    if (has("ucs2_hex")) {
      std::vector<uint8_t> ucs2;
      REQUIRE(utf8ToUcs2(text, ucs2));
      CHECK(toHex(ucs2) == c["ucs2_hex"].get<std::string>());
      std::string back;
      REQUIRE(ucs2ToUtf8(fromHex(c["ucs2_hex"].get<std::string>()), back));
      CHECK(back == text);
    }
    if (has("single_part_limit")) {
      CHECK(singlePartLimit(analysis.encoding) == c["single_part_limit"].get<size_t>());
    }

    SplitPlan plan8;
    SplitPlan plan16;
    REQUIRE(planSplit(text, SplitOptions{.ref_16bit = false}, plan8) == SplitError::None);
    REQUIRE(planSplit(text, SplitOptions{.ref_16bit = true}, plan16) == SplitError::None);
    CHECK(plan8.encoding == analysis.encoding);
    CHECK(plan8.total_units == analysis.units);
    if (has("parts_8bit_ref")) {
      CHECK(plan8.parts.size() == c["parts_8bit_ref"].get<size_t>());
      checkEncodedParts(c, false);
    }
    if (has("parts_16bit_ref")) {
      CHECK(plan16.parts.size() == c["parts_16bit_ref"].get<size_t>());
      checkEncodedParts(c, true);
    }
    if (has("per_part_8bit_ref")) {
      const size_t limit = c["per_part_8bit_ref"];
      CHECK(perPartLimit(analysis.encoding, false) == limit);
      for (const auto& part : plan8.parts) {
        CHECK(part.units <= limit);
      }
    }
    if (has("per_part_16bit_ref")) {
      const size_t limit = c["per_part_16bit_ref"];
      CHECK(perPartLimit(analysis.encoding, true) == limit);
      for (const auto& part : plan16.parts) {
        CHECK(part.units <= limit);
      }
    }
    if (has("split_8bit_ref_units")) {
      CHECK(str(unitsOf(plan8)) == str(c["split_8bit_ref_units"].get<std::vector<size_t>>()));
    }
    if (has("split_16bit_ref_units")) {
      CHECK(str(unitsOf(plan16)) == str(c["split_16bit_ref_units"].get<std::vector<size_t>>()));
    }
    if (has("split_8bit_ref_text")) {
      CHECK(str(textsOf(plan8, text)) ==
            str(c["split_8bit_ref_text"].get<std::vector<std::string>>()));
    }
    if (has("needs_surrogate_pairs")) {
      CHECK(hasNonBmp(text) == c["needs_surrogate_pairs"].get<bool>());
    }
    if (has("lenient_alternative")) {
      // A transliteration some gateways apply; the strict encoder must still choose UCS2.
      CHECK(analysis.encoding == TextEncoding::Ucs2);
      CHECK_FALSE(isGsm7Encodable(text));
    }
    if (has("tshark_note")) {
      // Explains why tshark (strict UCS-2) did not reproduce the text: it has surrogate pairs.
      CHECK(hasNonBmp(text));
    }
    if (has("tshark_roundtrip")) {
      // tshark's decoding of the same bytes, as checks of our decoder. Where tshark failed
      // (surrogate pairs), ours must still succeed: that is the documented difference.
      const auto& rt = c["tshark_roundtrip"];
      size_t keys = 0;
      if (rt.contains("unpacked")) {
        ++keys;
        CHECK(rt["unpacked"].get<bool>());
        std::string decoded;
        REQUIRE(decodeText(0x00, fromHex(c["unpacked_hex"].get<std::string>()), decoded));
        CHECK(decoded == text);
      }
      if (rt.contains("packed")) {
        ++keys;
        CHECK(rt["packed"].get<bool>());
        std::vector<uint8_t> septets;
        REQUIRE(unpackGsm7(fromHex(c["packed_hex"].get<std::string>()), c["septets"].get<size_t>(),
                           septets));
        std::string decoded;
        REQUIRE(decodeText(0x00, septets, decoded));
        CHECK(decoded == text);
      }
      if (rt.contains("ucs2")) {
        ++keys;
        CHECK(rt["ucs2"].get<bool>() == !hasNonBmp(text));
        std::string decoded;
        REQUIRE(decodeText(0x08, fromHex(c["ucs2_hex"].get<std::string>()), decoded));
        CHECK(decoded == text);
      }
      CHECK(keys == rt.size());
    }

    for (const auto& item : c.items()) {
      const std::string key = item.key();
      INFO("unhandled key " << key);
      CHECK(handled.count(key) == 1);
    }
    ++checked;
  }
  CHECK(checked == cases.size());
  CHECK(fields_checked > 10 * checked);
  MESSAGE("gsm7.json: " << checked << " cases, " << fields_checked << " fields checked");
}

TEST_CASE("gsm7: hellohello packs to the reference octets") {
  std::vector<uint8_t> septets;
  REQUIRE(utf8ToGsm7("hellohello", septets));
  std::vector<uint8_t> packed;
  REQUIRE(packGsm7(septets, packed));
  CHECK(toHex(packed) == "e8329bfd4697d9ec37");
  std::vector<uint8_t> back;
  REQUIRE(unpackGsm7(packed, 10, back));
  CHECK(back == septets);
  CHECK(gsm7MaxSeptets(packed.size()) == 10);
}

TEST_CASE("gsm7: packing boundaries") {
  std::vector<uint8_t> out;
  REQUIRE(packGsm7({}, out));
  CHECK(out.empty());
  // 8 septets fill exactly 7 octets.
  const std::vector<uint8_t> eight(8, 0x7F);
  REQUIRE(packGsm7(eight, out));
  CHECK(toHex(out) == "ffffffffffffff");
  CHECK(gsm7PackedSize(8) == 7);
  CHECK(gsm7PackedSize(160) == 140);
  CHECK(gsm7PackedSize(153, 1) == 134);
  CHECK(gsm7PackedSize(152, 0) == 133);
  // An octet above 0x7F is not a septet; nothing is appended.
  out.clear();
  const std::vector<uint8_t> bad = {0x41, 0x80};
  CHECK_FALSE(packGsm7(bad, out));
  CHECK(out.empty());
  CHECK_FALSE(packGsm7(eight, out, 7));
  // Unpacking needs enough octets.
  std::vector<uint8_t> septets;
  const std::vector<uint8_t> two = {0xE8, 0x32};
  CHECK_FALSE(unpackGsm7(two, 3, septets));
  CHECK(septets.empty());
  REQUIRE(unpackGsm7(two, 2, septets));
  CHECK(septets == std::vector<uint8_t>{0x68, 0x65});
}

TEST_CASE("gsm7: packing after a UDH uses fill bits") {
  CHECK(gsm7FillBits(6) == 1);  // 8-bit-reference concatenation UDH: 48 bits + 1 = 7 septets
  CHECK(gsm7FillBits(7) == 0);  // 16-bit reference: 56 bits = 8 septets
  CHECK(gsm7FillBits(1) == 6);
  CHECK(gsm7FillBits(12) == 2);

  std::vector<uint8_t> septets;
  REQUIRE(utf8ToGsm7("hellohello", septets));

  // With one fill bit every septet moves one bit up: "hello" -> 'h' = 0x68 << 1 = 0xD0 first.
  std::vector<uint8_t> shifted;
  REQUIRE(packGsm7(septets, shifted, 1));
  CHECK(shifted.size() == gsm7PackedSize(10, 1));
  CHECK(shifted.size() == 9);
  CHECK(shifted[0] == 0xD0);
  std::vector<uint8_t> back;
  REQUIRE(unpackGsm7(shifted, 10, back, 1));
  CHECK(back == septets);
  // Every fill offset round-trips.
  for (unsigned fill = 0; fill <= 6; ++fill) {
    CAPTURE(fill);
    std::vector<uint8_t> packed;
    REQUIRE(packGsm7(septets, packed, fill));
    CHECK(packed.size() == gsm7PackedSize(septets.size(), fill));
    CHECK((packed[0] & ((1u << fill) - 1)) == 0);  // the fill bits are zero
    std::vector<uint8_t> unpacked;
    REQUIRE(unpackGsm7(packed, septets.size(), unpacked, fill));
    CHECK(unpacked == septets);
  }

  // UDH + packed text: the 6-octet UDH is copied, then the septets with 1 fill bit.
  const std::vector<uint8_t> udh = {0x05, 0x00, 0x03, 0x2A, 0x02, 0x01};
  std::vector<uint8_t> user_data;
  REQUIRE(packGsm7WithUdh(udh, septets, user_data));
  CHECK(toHex(user_data) == "0500032a0201" + toHex(shifted));
  // A full 153-septet part fits 140 octets with its UDH.
  const std::vector<uint8_t> full(153, 0x61);
  user_data.clear();
  REQUIRE(packGsm7WithUdh(udh, full, user_data));
  CHECK(user_data.size() == 140);
  // A 16-bit reference UDH needs no fill bits; 152 septets fill 140 octets exactly.
  const std::vector<uint8_t> udh16 = {0x06, 0x08, 0x04, 0x12, 0x34, 0x02, 0x01};
  const std::vector<uint8_t> full16(152, 0x61);
  user_data.clear();
  REQUIRE(packGsm7WithUdh(udh16, full16, user_data));
  CHECK(user_data.size() == 140);
  std::vector<uint8_t> plain;
  REQUIRE(packGsm7(full16, plain));
  CHECK(std::vector<uint8_t>(user_data.begin() + 7, user_data.end()) == plain);
}

TEST_CASE("gsm7: every basic and extension character round-trips through UTF-8") {
  size_t basic = 0;
  for (unsigned s = 0; s < 128; ++s) {
    if (s == kGsm7Escape) {
      continue;
    }
    CAPTURE(s);
    const char32_t cp = gsm7BasicChar(static_cast<uint8_t>(s));
    std::string utf8;
    appendUtf8(cp, utf8);
    const Gsm7Char c = gsm7Lookup(cp);
    CHECK(c.cls == Gsm7Class::Basic);
    CHECK(c.code == s);
    std::vector<uint8_t> septets;
    REQUIRE(utf8ToGsm7(utf8, septets));
    CHECK(septets == std::vector<uint8_t>{static_cast<uint8_t>(s)});
    std::string back;
    REQUIRE(gsm7ToUtf8(septets, back));
    CHECK(back == utf8);
    CHECK(gsm7SeptetCount(utf8) == 1u);
    ++basic;
  }
  CHECK(basic == 127);

  const std::vector<std::pair<uint8_t, char32_t>> extension = {
      {0x0A, U'\f'}, {0x14, U'^'}, {0x28, U'{'}, {0x29, U'}'}, {0x2F, U'\\'},
      {0x3C, U'['},  {0x3D, U'~'}, {0x3E, U']'}, {0x40, U'|'}, {0x65, U'\u20AC'}};
  for (const auto& entry : extension) {
    const uint8_t code = entry.first;
    const char32_t cp = entry.second;
    CAPTURE(code);
    CHECK(gsm7ExtensionChar(code) == cp);
    const Gsm7Char c = gsm7Lookup(cp);
    CHECK(c.cls == Gsm7Class::Extension);
    CHECK(c.code == code);
    std::string utf8;
    appendUtf8(cp, utf8);
    std::vector<uint8_t> septets;
    REQUIRE(utf8ToGsm7(utf8, septets));
    CHECK(septets == std::vector<uint8_t>{kGsm7Escape, code});
    std::string back;
    REQUIRE(gsm7ToUtf8(septets, back));
    CHECK(back == utf8);
    CHECK(gsm7SeptetCount(utf8) == 2u);
  }
  // No other extension code is assigned.
  size_t assigned = 0;
  for (unsigned code = 0; code < 128; ++code) {
    assigned += gsm7ExtensionChar(static_cast<uint8_t>(code)).has_value() ? 1 : 0;
  }
  CHECK(assigned == extension.size());
}

TEST_CASE("gsm7: look-alikes are not encodable (strict)") {
  for (const char* s : {"\xC3\xA7", "\xCE\x91", "`", "\xC3\xA1", "\t", "\x01", "\xC2\xA0"}) {
    CAPTURE(s);
    CHECK_FALSE(isGsm7Encodable(s));
    std::vector<uint8_t> out = {0x99};
    CHECK_FALSE(utf8ToGsm7(std::string("ab") + s, out));
    CHECK(out == std::vector<uint8_t>{0x99});  // untouched on failure
  }
  CHECK(isGsm7Encodable(""));
  CHECK(isGsm7Encodable("@$_\r\n\f"));
  // '$' is 0x02, '@' is 0x00: never a C string.
  std::vector<uint8_t> out;
  REQUIRE(utf8ToGsm7("@$", out));
  CHECK(out == std::vector<uint8_t>{0x00, 0x02});
  // Invalid UTF-8 is not encodable either.
  CHECK_FALSE(isGsm7Encodable("\xC3"));
  CHECK_FALSE(gsm7SeptetCount("a\xFF").has_value());
}

TEST_CASE("gsm7: decoding odd escape sequences") {
  std::string out;
  // ESC + unassigned code: the basic-table character of that code.
  REQUIRE(gsm7ToUtf8(std::vector<uint8_t>{0x1B, 0x41}, out));
  CHECK(out == "A");
  out.clear();
  // ESC ESC and a trailing lone ESC: a space.
  REQUIRE(gsm7ToUtf8(std::vector<uint8_t>{0x61, 0x1B, 0x1B, 0x62, 0x1B}, out));
  CHECK(out == "a b ");
  out = "keep";
  CHECK_FALSE(gsm7ToUtf8(std::vector<uint8_t>{0x61, 0x80}, out));
  CHECK(out == "keep");
  CHECK_FALSE(gsm7ToUtf8(std::vector<uint8_t>{0x1B, 0xE5}, out));
  CHECK(out == "keep");
}
