// Charset tests: UTF-8 validation, UCS-2/UTF-16 (surrogate pairs), Latin-1, IA5, data_coding
// dispatch, and the message-content expectations of shared/vectors/pdus.json (text, udh,
// receipt).

#include "codec/charset.h"

#include <doctest/doctest.h>

#include "tests/codec/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/receipt.h"
#include "codec/udh.h"

using namespace smppgw::codec;

namespace {

using smppgw::test::fromHex;
using smppgw::test::loadVectors;
using smppgw::test::toHex;

std::vector<uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

const nlohmann::json* findTlv(const nlohmann::json& expect, const std::string& name) {
  if (!expect.contains("tlvs")) {
    return nullptr;
  }
  for (const auto& tlv : expect["tlvs"]) {
    if (tlv["name"] == name) {
      return &tlv;
    }
  }
  return nullptr;
}

}  // namespace

TEST_CASE("pdus.json: text, udh and receipt expectations") {
  const auto doc = loadVectors("pdus.json");
  REQUIRE(doc.contains("cases"));
  size_t text_cases = 0;
  size_t udh_cases = 0;
  size_t receipt_cases = 0;
  size_t text_checked = 0;
  size_t udh_checked = 0;
  size_t receipt_checked = 0;
  for (const auto& c : doc["cases"]) {
    const std::string name = c["name"];
    CAPTURE(name);
    if (!c.contains("expect")) {
      // Only invalid cases have no expectations; they must not carry message content either.
      CHECK_FALSE(c["valid"].get<bool>());
      continue;
    }
    const auto& expect = c["expect"];
    const auto& fields = expect["fields"];
    text_cases += expect.contains("text") ? 1 : 0;
    udh_cases += expect.contains("udh") ? 1 : 0;
    receipt_cases += expect.contains("receipt") ? 1 : 0;
    if (!c["valid"].get<bool>()) {
      continue;
    }

    if (expect.contains("text")) {
      REQUIRE(expect.contains("text_encoding"));
      const auto dc = fields["data_coding"].get<uint8_t>();
      const std::string encoding = expect["text_encoding"];
      const TextCoding coding = textCodingOf(dc);
      if (encoding == "gsm7_unpacked") {
        CHECK(coding == TextCoding::Gsm7);
      } else if (encoding == "ucs2") {
        CHECK(coding == TextCoding::Ucs2);
      } else if (encoding == "latin1") {
        CHECK(coding == TextCoding::Latin1);
      } else {
        FAIL("unknown text_encoding " << encoding);
      }
      const auto bytes = fromHex(fields["short_message_hex"].get<std::string>());
      CHECK(bytes.size() == fields["sm_length"].get<size_t>());
      std::string text;
      REQUIRE(decodeText(dc, bytes, text));
      CHECK(text == expect["text"].get<std::string>());
      ++text_checked;
    }

    if (expect.contains("udh")) {
      const auto& want = expect["udh"];
      CHECK((fields["esm_class"].get<int>() & 0x40) != 0);  // UDHI
      const auto bytes = fromHex(fields["short_message_hex"].get<std::string>());
      Udh udh;
      REQUIRE(parseUdh(bytes, udh) == UdhError::None);
      CHECK(udh.udhl() == want["udhl"].get<int>());
      const auto iei =
          static_cast<uint8_t>(std::stoul(want["iei"].get<std::string>(), nullptr, 16));
      REQUIRE(udh.find(iei).has_value());
      const auto info = concatInfo(udh);
      REQUIRE(info.has_value());
      CHECK(info->ref == want["ref"].get<int>());
      CHECK(info->total == want["total"].get<int>());
      CHECK(info->seq == want["seq"].get<int>());
      CHECK(info->ref_is_16bit == (iei == kIeiConcat16BitRef));
      // The rest is the part's text and must decode with the case's data_coding.
      std::string text;
      CHECK(decodeText(fields["data_coding"].get<uint8_t>(), userDataAfterUdh(bytes, udh), text));
      CHECK_FALSE(text.empty());
      ++udh_checked;
    }

    if (expect.contains("receipt")) {
      const auto& want = expect["receipt"];
      CHECK((fields["esm_class"].get<int>() & 0x3C) == 0x04);  // MC delivery receipt
      const auto bytes = fromHex(fields["short_message_hex"].get<std::string>());
      Receipt receipt;
      REQUIRE(parseReceipt(std::span<const uint8_t>(bytes), receipt));
      const std::vector<std::pair<const char*, ReceiptField>> keys = {
          {"id", ReceiptField::Id},
          {"sub", ReceiptField::Sub},
          {"dlvrd", ReceiptField::Dlvrd},
          {"submit_date", ReceiptField::SubmitDate},
          {"done_date", ReceiptField::DoneDate},
          {"stat", ReceiptField::Stat},
          {"err", ReceiptField::Err},
          {"text", ReceiptField::Text}};
      CHECK(want.size() == keys.size());
      for (const auto& entry : keys) {
        const char* key = entry.first;
        const ReceiptField field = entry.second;
        CAPTURE(key);
        REQUIRE(want.contains(key));
        CHECK(receipt.has(field));
        CHECK(receipt.get(field) == want[key].get<std::string>());
      }
      // The receipt TLVs say the same thing as the text.
      if (const auto* tlv = findTlv(expect, "receipted_message_id")) {
        auto id = fromHex((*tlv)["hex"].get<std::string>());
        if (!id.empty() && id.back() == 0) {
          id.pop_back();
        }
        CHECK(std::string(id.begin(), id.end()) == receipt.id);
      }
      if (const auto* tlv = findTlv(expect, "message_state")) {
        const auto state = fromHex((*tlv)["hex"].get<std::string>());
        REQUIRE(state.size() == 1);
        CHECK(messageStateFromStat(receipt.stat) == messageStateFromValue(state[0]));
      }
      if (const auto* tlv = findTlv(expect, "network_error_code")) {
        const auto nec = fromHex((*tlv)["hex"].get<std::string>());
        REQUIRE(nec.size() == 3);
        CHECK(parseHexId(receipt.err) == uint64_t{(nec[1] * 256u) + nec[2]});
      }
      ++receipt_checked;
    }
  }
  CHECK(text_checked == text_cases);
  CHECK(udh_checked == udh_cases);
  CHECK(receipt_checked == receipt_cases);
  CHECK(text_checked > 0);
  CHECK(udh_checked > 0);
  CHECK(receipt_checked > 0);
  MESSAGE("pdus.json: " << text_checked << " text, " << udh_checked << " udh, " << receipt_checked
                        << " receipt cases checked");
}

TEST_CASE("utf8: validation") {
  CHECK(isValidUtf8(""));
  CHECK(isValidUtf8("plain ascii"));
  CHECK(isValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  CHECK(isValidUtf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  CHECK(isValidUtf8(std::string_view("\0", 1)));
  CHECK_FALSE(isValidUtf8("\x80"));              // stray continuation
  CHECK_FALSE(isValidUtf8("\xC3"));              // truncated
  CHECK_FALSE(isValidUtf8("\xE2\x82"));          // truncated
  CHECK_FALSE(isValidUtf8("\xC0\x80"));          // overlong NUL
  CHECK_FALSE(isValidUtf8("\xC1\xBF"));          // overlong
  CHECK_FALSE(isValidUtf8("\xE0\x80\x80"));      // overlong
  CHECK_FALSE(isValidUtf8("\xF0\x80\x80\x80"));  // overlong
  CHECK_FALSE(isValidUtf8("\xED\xA0\x80"));      // encoded surrogate (CESU-8)
  CHECK_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(isValidUtf8("\xF8\x88\x80\x80\x80"));
  CHECK_FALSE(isValidUtf8("\xC3\x28"));  // bad continuation
  CHECK_FALSE(isValidUtf8("\xFF"));

  size_t pos = 0;
  char32_t cp = 0;
  CHECK_FALSE(nextUtf8("\xC3", pos, cp));
  CHECK(pos == 0);
  CHECK(utf8CodepointCount("a\xC3\xA9\xF0\x9F\x98\x80") == 3u);
  CHECK(utf16UnitCount("a\xC3\xA9\xF0\x9F\x98\x80") == 4u);
  CHECK_FALSE(utf16UnitCount("\xC3").has_value());

  std::string out;
  appendUtf8(0xD800, out);  // a surrogate cannot be written as UTF-8
  appendUtf8(0x110000, out);
  CHECK(out == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("ucs2: emoji as surrogate pairs, both ways") {
  const std::string text = "Hi \xF0\x9F\x98\x80 \xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";  // 😀 🇫🇷
  std::vector<uint8_t> ucs2;
  REQUIRE(utf8ToUcs2(text, ucs2));
  CHECK(toHex(ucs2) == "004800690020d83dde000020d83cddebd83cddf7");
  std::string back;
  REQUIRE(ucs2ToUtf8(ucs2, back));
  CHECK(back == text);
  // The highest code point.
  ucs2.clear();
  REQUIRE(utf8ToUcs2("\xF4\x8F\xBF\xBF", ucs2));
  CHECK(toHex(ucs2) == "dbffdfff");
  back.clear();
  REQUIRE(ucs2ToUtf8(ucs2, back));
  CHECK(back == "\xF4\x8F\xBF\xBF");
  // Invalid UTF-8 in, nothing out.
  ucs2 = {0x01};
  CHECK_FALSE(utf8ToUcs2("ok\xC3", ucs2));
  CHECK(ucs2 == std::vector<uint8_t>{0x01});
}

TEST_CASE("ucs2: lone surrogates and odd lengths") {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    const char* hex;
    std::string replaced;
  };
  const std::vector<Case> cases = {
      {"d83d", fffd},                               // high surrogate at the end
      {"d83d0041", fffd + "A"},                     // high surrogate followed by a BMP character
      {"de000041", fffd + "A"},                     // low surrogate first
      {"de00d83d", fffd + fffd},                    // pair in the wrong order
      {"d83dd83dde00", fffd + "\xF0\x9F\x98\x80"},  // two highs: the second one pairs
      {"0041dc00", "A" + fffd},
  };
  for (const auto& c : cases) {
    CAPTURE(c.hex);
    const auto bytes = fromHex(c.hex);
    std::string out;
    REQUIRE(ucs2ToUtf8(bytes, out));
    CHECK(out == c.replaced);
    CHECK(isValidUtf8(out));
    std::string strict = "kept";
    CHECK_FALSE(ucs2ToUtf8(bytes, strict, SurrogatePolicy::Reject));
    CHECK(strict == "kept");
  }
  std::string out = "kept";
  CHECK_FALSE(ucs2ToUtf8(fromHex("004100"), out));
  CHECK(out == "kept");
  REQUIRE(ucs2ToUtf8({}, out));
  CHECK(out == "kept");
}

TEST_CASE("latin1 and ia5") {
  std::string out;
  REQUIRE(latin1ToUtf8(fromHex("436166e9206372e86d65"), out));
  CHECK(out == "Caf\xC3\xA9 cr\xC3\xA8me");
  out.clear();
  REQUIRE(latin1ToUtf8(fromHex("80ff"), out));  // C1 control and ÿ
  CHECK(out == "\xC2\x80\xC3\xBF");
  std::vector<uint8_t> bytes;
  REQUIRE(utf8ToLatin1("Caf\xC3\xA9 \xC3\xBF", bytes));
  CHECK(toHex(bytes) == "436166e920ff");
  bytes = {0x7E};
  CHECK_FALSE(utf8ToLatin1("5\xE2\x82\xAC", bytes));  // € is not Latin-1
  CHECK(bytes == std::vector<uint8_t>{0x7E});

  out.clear();
  REQUIRE(ia5ToUtf8(bytesOf("Hello {world}"), out));
  CHECK(out == "Hello {world}");
  CHECK_FALSE(ia5ToUtf8(fromHex("41e9"), out));
  CHECK(out == "Hello {world}");
  bytes.clear();
  REQUIRE(utf8ToIa5("a~b", bytes));
  CHECK(bytes == bytesOf("a~b"));
  CHECK_FALSE(utf8ToIa5("\xC3\xA9", bytes));
  CHECK(bytes == bytesOf("a~b"));
}

TEST_CASE("data_coding: text coding by value and coding group") {
  CHECK(textCodingOf(0x00) == TextCoding::Gsm7);
  CHECK(textCodingOf(0x01) == TextCoding::Ia5);
  CHECK(textCodingOf(0x02) == TextCoding::Binary);
  CHECK(textCodingOf(0x03) == TextCoding::Latin1);
  CHECK(textCodingOf(0x04) == TextCoding::Binary);
  for (unsigned dc : {0x05u, 0x06u, 0x07u, 0x09u, 0x0Au, 0x0Du, 0x0Eu, 0x0Fu, 0x10u, 0xBFu}) {
    CAPTURE(dc);
    CHECK(textCodingOf(static_cast<uint8_t>(dc)) == TextCoding::Unsupported);
  }
  CHECK(textCodingOf(0x08) == TextCoding::Ucs2);
  for (unsigned dc = 0xC0; dc <= 0xDF; ++dc) {
    CHECK(textCodingOf(static_cast<uint8_t>(dc)) == TextCoding::Gsm7);
  }
  for (unsigned dc = 0xE0; dc <= 0xEF; ++dc) {
    CHECK(textCodingOf(static_cast<uint8_t>(dc)) == TextCoding::Ucs2);
  }
  for (unsigned dc = 0xF0; dc <= 0xFF; ++dc) {
    CAPTURE(dc);
    CHECK(textCodingOf(static_cast<uint8_t>(dc)) ==
          ((dc & 0x04) != 0 ? TextCoding::Binary : TextCoding::Gsm7));
  }

  // decodeText dispatches and appends.
  std::string out = ">";
  REQUIRE(decodeText(0xF0, fromHex("48691b65"), out));  // flash SMS, GSM7
  CHECK(out == ">Hi\xE2\x82\xAC");
  REQUIRE(decodeText(0xE1, fromHex("0436"), out));
  CHECK(out == ">Hi\xE2\x82\xAC\xD0\xB6");
  REQUIRE(decodeText(0x01, bytesOf("!"), out));
  CHECK(out == ">Hi\xE2\x82\xAC\xD0\xB6!");
  const std::string before = out;
  CHECK_FALSE(decodeText(0x04, bytesOf("bin"), out));
  CHECK_FALSE(decodeText(0xF5, bytesOf("bin"), out));
  CHECK_FALSE(decodeText(0x06, bytesOf("cyr"), out));
  CHECK_FALSE(decodeText(0x00, fromHex("41ff"), out));    // not a septet
  CHECK_FALSE(decodeText(0x08, fromHex("004100"), out));  // odd length
  CHECK(out == before);
}
