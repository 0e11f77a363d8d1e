// codec::Splicer against the encoder as the reference: for every valid PDU of
// ../shared/vectors/pdus.json, editing fields in place must give exactly the bytes that
// decode -> change the same fields -> encode gives. Also the TLV table lookup, against the list.

#include <doctest/doctest.h>

#include <string>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/json/pdu_json.h"
#include "codec/splice.h"
#include "tests/vectors.h"

using namespace smppgw::codec;
using nlohmann::json;

namespace {

std::string fromHexString(const std::string& hex) {
  std::string out;
  REQUIRE(parseHex(hex, out));
  return out;
}

// Edits every field kind a forwarding gateway changes, where the PDU has it: message ids,
// addresses, short_message, receipted_message_id and message_payload TLVs.
struct Edited {
  Buffer spliced;
  Buffer reference;
  size_t edits = 0;
};

Edited editBoth(Bytes wire, const std::string& new_text) {
  Pdu pdu;
  REQUIRE_FALSE(decode(wire, pdu).has_value());
  Edited r;
  Splicer sp(wire);
  Pdu ref = pdu;
  ref.sequence_number = 0x01020304;
  const std::string short_message = "id:" + new_text + " stat:DELIVRD";
  auto editAddresses = [&](const auto& in, auto& out) {
    sp.text(in.source_addr, new_text);
    out.source_addr = new_text;
    sp.text(in.destination_addr, "");
    out.destination_addr = "";
    r.edits += 2;
  };
  if (const auto* b = pdu.tryAs<SmBody>()) {
    editAddresses(*b, ref.as<SmBody>());
    if (!pdu.tlvs.has(tag::message_payload)) {
      sp.u8(b->short_message.data() - 1, static_cast<uint8_t>(short_message.size()));
      sp.text(asString(b->short_message), short_message);
      ref.as<SmBody>().short_message = asBytes(short_message);
      ++r.edits;
    }
  } else if (const auto* d = pdu.tryAs<DataSmBody>()) {
    editAddresses(*d, ref.as<DataSmBody>());
  } else if (const auto* m = pdu.tryAs<MessageIdBody>(); m != nullptr && !pdu.body_omitted) {
    sp.text(m->message_id, new_text);
    ref.as<MessageIdBody>().message_id = new_text;
    ++r.edits;
  } else if (const auto* q = pdu.tryAs<QuerySmBody>()) {
    sp.text(q->message_id, new_text);
    ref.as<QuerySmBody>().message_id = new_text;
    ++r.edits;
  }
  const std::string id_value = new_text + std::string(1, '\0');
  const std::string payload = "id:" + new_text + " sub:001";
  TlvList tlvs;
  for (const Tlv& t : pdu.tlvs) {
    if (t.tag == tag::receipted_message_id) {
      sp.tlvValue(t, asBytes(id_value));
      tlvs.addCString(t.tag, new_text);
      ++r.edits;
    } else if (t.tag == tag::message_payload) {
      sp.tlvValue(t, asBytes(payload));
      tlvs.addBytes(t.tag, asBytes(payload));
      ++r.edits;
    } else {
      tlvs.add(t);
    }
  }
  ref.tlvs = tlvs;
  sp.write(r.spliced, 0x01020304);
  encode(ref, r.reference);
  return r;
}

}  // namespace

TEST_CASE("Splicer: equals decode, edit, encode on every valid vector (longer and shorter)") {
  json doc = smppgw::test::loadVectors("pdus.json");
  size_t edited_pdus = 0;
  for (const json& c : doc.at("cases")) {
    if (!c.at("valid").get<bool>()) {
      continue;
    }
    const std::string name = c.at("name");
    CAPTURE(name);
    const std::string wire = fromHexString(c.at("hex"));
    for (const std::string& text :
         {std::string(), std::string("7"), std::string("0123456789abcdef0123")}) {
      CAPTURE(text);
      Edited e = editBoth(asBytes(wire), text);
      REQUIRE(e.spliced.size() == e.reference.size());
      CHECK(std::string(asString(e.spliced.view())) == std::string(asString(e.reference.view())));
      Pdu back;
      CHECK_FALSE(decode(e.spliced.view(), back).has_value());
      CHECK(back.sequence_number == 0x01020304u);
      if (e.edits != 0 && text.size() == 1) {
        ++edited_pdus;
      }
    }
  }
  // Submissions, deliveries, their responses, query_sm, receipts with TLVs: a real spread.
  CHECK(edited_pdus >= 20);
  MESSAGE(edited_pdus << " vectors edited");
}

TEST_CASE("Splicer: a length and a part of what it counts (receipt id inside the text)") {
  // deliver_sm receipt: the id inside short_message and inside a message_payload-like TLV of a
  // data_sm change length; sm_length / the TLV length follow.
  Pdu d(CommandId::deliver_sm, 5);
  auto& sm = d.as<SmBody>();
  sm.source_addr = "4477001";
  sm.destination_addr = "4477002";
  sm.esm_class = 0x04;
  const std::string text =
      "id:ab12 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
      "stat:DELIVRD err:000 text:hi";
  sm.short_message = asBytes(text);
  d.tlvs.addCString(tag::receipted_message_id, "ab12");
  Buffer wire;
  encode(d, wire);
  Pdu in;
  REQUIRE_FALSE(decode(wire.view(), in).has_value());
  const auto& ism = in.as<SmBody>();
  for (std::string new_id : {std::string("Z"), std::string("0123456789abcdef0123")}) {
    Splicer sp(wire.view());
    const std::string_view id = asString(ism.short_message).substr(3, 4);
    sp.u8(ism.short_message.data() - 1,
          static_cast<uint8_t>(ism.short_message.size() - id.size() + new_id.size()));
    sp.text(id, new_id);
    Buffer out;
    sp.write(out, 5);
    Pdu ref = d;
    const std::string new_text = "id:" + new_id + text.substr(7);
    ref.as<SmBody>().short_message = asBytes(new_text);
    Buffer expect;
    encode(ref, expect);
    CHECK(std::string(asString(out.view())) == std::string(asString(expect.view())));
  }
  // A TLV's length and part of its value.
  Pdu ds(CommandId::data_sm, 6);
  ds.as<DataSmBody>().source_addr = "1";
  ds.as<DataSmBody>().destination_addr = "2";
  ds.tlvs.addBytes(tag::message_payload, asBytes(text));
  Buffer dwire;
  encode(ds, dwire);
  Pdu din;
  REQUIRE_FALSE(decode(dwire.view(), din).has_value());
  const Tlv* payload = din.tlvs.find(tag::message_payload);
  REQUIRE(payload != nullptr);
  Splicer sp(dwire.view());
  sp.u16(payload->ptr - 2, static_cast<uint16_t>(payload->length - 4 + 1));
  sp.text(asString(payload->value()).substr(3, 4), "Q");
  Buffer out;
  sp.write(out, 6);
  Pdu ref = ds;
  ref.tlvs = TlvList();
  const std::string new_text = "id:Q" + text.substr(7);
  ref.tlvs.addBytes(tag::message_payload, asBytes(new_text));
  Buffer expect;
  encode(ref, expect);
  CHECK(std::string(asString(out.view())) == std::string(asString(expect.view())));
}

TEST_CASE("Splicer: no edits copies the PDU and sets only the sequence number") {
  // submit_sm_resp, length 22, message_id "abcde".
  const std::string resp = fromHexString("00000016800000040000000000000007616263646500");
  Buffer out;
  out.append(asBytes("prefix"));  // appends after what is there
  Splicer sp(asBytes(resp));
  CHECK(sp.write(out, 9) == resp.size());
  std::string expect = resp;
  expect[15] = 9;
  CHECK(std::string(asString(out.view())) == "prefix" + expect);
}

TEST_CASE("tlvVersionNeeded: none, v3.4 and v5.0-only TLVs") {
  TlvList none;
  CHECK(tlvVersionNeeded(none) == 0x33);
  TlvList v34;
  v34.addInt(tag::message_state, 2, 1);
  CHECK(tlvVersionNeeded(v34) == 0x34);
  TlvList v50 = v34;
  v50.addInt(tag::congestion_state, 10, 1);
  CHECK(tlvVersionNeeded(v50) == 0x50);
}

TEST_CASE("findTlvDef: every listed tag finds its own entry, every other tag none") {
  size_t listed = 0;
#define SMPPGW_X(nm, tg, kind, min, max, v50) \
  {                                           \
    const TlvDef* d = findTlvDef(tg);         \
    REQUIRE(d != nullptr);                    \
    CHECK(d->tag == tg);                      \
    CHECK(d->name == std::string_view(#nm));  \
    ++listed;                                 \
  }
  SMPPGW_TLVS(SMPPGW_X)
#undef SMPPGW_X
  size_t found = 0;
  for (uint32_t t = 0; t <= 0xFFFF; ++t) {
    if (const TlvDef* d = findTlvDef(static_cast<uint16_t>(t))) {
      CHECK(d->tag == t);
      ++found;
    }
  }
  CHECK(found == listed);
}
