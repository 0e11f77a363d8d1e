// Every PDU case of ../shared/vectors/pdus.json: valid cases decode to the expected fields and
// re-encode byte for byte; malformed ones produce the expected response, status and verdict.

#include <doctest/doctest.h>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/json/pdu_json.h"
#include "tests/vectors.h"

using namespace smppgw::codec;
using nlohmann::json;

namespace {

Bytes bytesOf(const std::string& s) {
  return asBytes(s);
}

std::string bytesFromHex(const std::string& hex) {
  std::string out;
  REQUIRE(parseHex(hex, out));
  return out;
}

}  // namespace

TEST_CASE("pdus.json: every valid case decodes to its fields and re-encodes identically") {
  json doc = smppgw::test::loadVectors("pdus.json");
  size_t valid_total = 0;
  size_t checked = 0;
  for (const json& c : doc.at("cases")) {
    if (!c.at("valid").get<bool>()) {
      continue;
    }
    ++valid_total;
    const std::string name = c.at("name");
    CAPTURE(name);
    const json& expect = c.at("expect");
    std::string wire = bytesFromHex(c.at("hex"));

    Frame f = peekFrame(bytesOf(wire));
    REQUIRE(f.state == Frame::State::Complete);
    CHECK(f.pdu.size() == wire.size());
    CHECK(f.pdu.size() == expect.at("command_length").get<size_t>());

    Pdu pdu;
    auto err = decode(f.pdu, pdu);
    if (err) {
      FAIL("decode error " << decodeErrorKindName(err->kind) << " at " << err->field);
    }
    auto j = pduToJson(pdu, f.pdu.size());
    CHECK(j["command"] == expect.at("command"));
    CHECK(j["command_id"] == expect.at("command_id"));
    CHECK(j["command_status"] == expect.at("command_status"));
    CHECK(j["sequence_number"] == expect.at("sequence_number"));
    for (const auto& [key, value] : expect.at("fields").items()) {
      CAPTURE(key);
      REQUIRE(j.contains(key));
      CHECK(json(j[key]) == value);
    }
    const json& tlvs = expect.at("tlvs");
    REQUIRE(j["tlvs"].size() == tlvs.size());
    for (size_t i = 0; i < tlvs.size(); ++i) {
      CAPTURE(i);
      CHECK(j["tlvs"][i]["tag"] == tlvs[i].at("tag"));
      CHECK(j["tlvs"][i]["name"] == tlvs[i].at("name"));
      CHECK(j["tlvs"][i]["length"] == tlvs[i].at("length"));
      CHECK(j["tlvs"][i]["hex"] == tlvs[i].at("hex"));
    }

    Buffer out;
    size_t n = encode(pdu, out);
    CHECK(n == wire.size());
    CHECK(encodedSize(pdu) == wire.size());
    CHECK(hexString(out.view()) == c.at("hex").get<std::string>());

    // The framer never completes early when the bytes trickle in one at a time.
    for (size_t len = 0; len < wire.size(); ++len) {
      Frame partial = peekFrame(bytesOf(wire).first(len));
      REQUIRE(partial.state == Frame::State::NeedMore);
      CHECK(partial.need > len);
    }
    ++checked;
  }
  CHECK(valid_total == 57);
  CHECK(checked == valid_total);
}

TEST_CASE("pdus.json: every malformed case gets the expected answer") {
  json doc = smppgw::test::loadVectors("pdus.json");
  const uint32_t max_len = doc.at("assumptions").at("max_command_length").get<uint32_t>();
  size_t invalid_total = 0;
  size_t checked = 0;
  for (const json& c : doc.at("cases")) {
    if (c.at("valid").get<bool>()) {
      continue;
    }
    ++invalid_total;
    const std::string name = c.at("name");
    CAPTURE(name);
    const json& expect = c.at("error");
    std::string wire = bytesFromHex(c.at("hex"));
    uint32_t case_max = max_len;
    if (c.contains("context") && c["context"].contains("configured_max_command_length")) {
      case_max = c["context"]["configured_max_command_length"].get<uint32_t>();
    }

    Frame f = peekFrame(bytesOf(wire), case_max);
    if (expect.at("kind") == "incomplete") {
      CHECK(f.state == Frame::State::NeedMore);
      CHECK(f.need == c.at("header").at("command_length").get<uint32_t>());
      ++checked;
      continue;
    }
    DecodeError e;
    if (f.state == Frame::State::Error) {
      e = f.error;
    } else {
      REQUIRE(f.state == Frame::State::Complete);
      Pdu pdu;
      auto err = decode(f.pdu, pdu);
      REQUIRE(err.has_value());
      e = *err;
    }
    CHECK(decodeErrorKindName(e.kind) == expect.at("kind").get<std::string>());
    std::string response = e.respond ? std::string(commandName(e.response_id)) : "none";
    std::string st = hex32(e.status);
    bool acceptable = response == expect.at("response") && st == expect.at("command_status");
    if (expect.contains("acceptable_alternatives")) {
      for (const json& alt : expect["acceptable_alternatives"]) {
        acceptable =
            acceptable || (response == alt.at("response") && st == alt.at("command_status"));
      }
    }
    CAPTURE(response);
    CAPTURE(st);
    CHECK(acceptable);
    CHECK(e.sequence_number == expect.at("response_sequence_number").get<uint32_t>());
    CHECK(e.close_connection == expect.at("close_connection").get<bool>());
    ++checked;
  }
  CHECK(invalid_total == 24);
  CHECK(checked == invalid_total);
}
