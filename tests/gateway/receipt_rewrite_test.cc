// A receipt as the customer gets it: the registered_delivery policy, and the gateway's id and the
// customer's own numbers spliced into the carrier's deliver_sm.

#include "gateway/receipt_rewrite.h"

#include <doctest/doctest.h>

#include <string>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/tlv.h"

using namespace smppgw;
using codec::CommandId;

namespace {

// A carrier's receipt for `carrier_id` with final state `stat` (text and TLVs).
codec::Buffer carrierReceipt(const std::string& carrier_id, const std::string& stat,
                             bool with_tlvs = true, uint8_t esm = 0x04) {
  const std::string text =
      "id:" + carrier_id +
      " sub:001 dlvrd:001 submit date:2612051200 done date:2612051201 stat:" + stat +
      " err:000 text:hello";
  codec::Pdu r(CommandId::deliver_sm, 9);
  auto& d = r.as<codec::SmBody>();
  d.source_addr = "447700900123";  // the handset the message went to
  d.destination_addr = "12345";    // the sender as the carrier knows it
  d.esm_class = esm;
  d.short_message = codec::asBytes(text);
  if (with_tlvs) {
    r.tlvs.addCString(codec::tag::receipted_message_id, carrier_id);
    r.tlvs.addU8(codec::tag::message_state, stat == "DELIVRD" ? 2 : 5);
  }
  codec::Buffer wire;
  codec::encode(r, wire);
  return wire;
}

codec::Pdu decoded(const codec::Buffer& wire) {
  codec::Pdu p;
  REQUIRE_FALSE(codec::decode(wire.view(), p));
  return p;
}

}  // namespace

TEST_CASE("receiptWanted follows the customer's registered_delivery and the receipt policy") {
  // The PDUs view their wire buffers: keep those alive.
  const codec::Buffer w_ok = carrierReceipt("ABC", "DELIVRD");
  const codec::Buffer w_failed = carrierReceipt("ABC", "UNDELIV");
  const codec::Buffer w_ok_text = carrierReceipt("ABC", "DELIVRD", false);
  const codec::Buffer w_failed_text = carrierReceipt("ABC", "UNDELIV", false);
  const codec::Buffer w_intermediate = carrierReceipt("ABC", "ENROUTE", true, 0x20);
  const codec::Pdu ok = decoded(w_ok);
  const codec::Pdu failed = decoded(w_failed);
  const codec::Pdu ok_text_only = decoded(w_ok_text);
  const codec::Pdu failed_text_only = decoded(w_failed_text);
  const codec::Pdu intermediate = decoded(w_intermediate);
  using P = config::ReceiptPolicy;
  CHECK(receiptWanted(P::AsRequested, 0x01, ok));
  CHECK(receiptWanted(P::AsRequested, 0x01, failed));
  CHECK_FALSE(receiptWanted(P::AsRequested, 0x00, ok));
  // 2: on failure only; 3: on success only (reference §6.2), from the TLV or else the text.
  CHECK_FALSE(receiptWanted(P::AsRequested, 0x02, ok));
  CHECK(receiptWanted(P::AsRequested, 0x02, failed));
  CHECK(receiptWanted(P::AsRequested, 0x03, ok));
  CHECK_FALSE(receiptWanted(P::AsRequested, 0x03, failed));
  CHECK_FALSE(receiptWanted(P::AsRequested, 0x02, ok_text_only));
  CHECK(receiptWanted(P::AsRequested, 0x02, failed_text_only));
  // `always` asked the carrier for every receipt; the customer gets those it asked for itself.
  CHECK_FALSE(receiptWanted(P::Always, 0x00, ok));
  CHECK(receiptWanted(P::Always, 0x01, ok));
  CHECK_FALSE(receiptWanted(P::Never, 0x01, ok));
  // An intermediate notification (esm_class 0x20) only if bit 4 was set.
  CHECK_FALSE(receiptWanted(P::AsRequested, 0x01, intermediate));
  CHECK(receiptWanted(P::AsRequested, 0x11, intermediate));
}

TEST_CASE(
    "rewriteReceipt puts the gateway id in the text and TLV and the customer's numbers back") {
  const codec::Buffer wire = carrierReceipt("7f3a9c", "DELIVRD");
  const codec::Pdu in = decoded(wire);
  store::MappingView m;
  m.source_addr = "ACME";                      // what the customer sent as source
  m.destination_addr = "+447700900123";        // and as destination
  const std::string gid = "000000000000002a";  // std::string: a NUL follows its data
  codec::Buffer out;
  rewriteReceipt(in, wire.view(), m, gid, out);

  const codec::Pdu p = decoded(out);
  CHECK(p.command_id == CommandId::deliver_sm);
  const auto& b = p.as<codec::SmBody>();
  CHECK(b.source_addr == "+447700900123");
  CHECK(b.destination_addr == "ACME");
  const std::string text(codec::asString(b.short_message));
  CHECK(text.rfind("id:000000000000002a sub:001", 0) == 0);
  CHECK(text.find("7f3a9c") == std::string::npos);
  CHECK(p.tlvs.text(codec::tag::receipted_message_id) == std::string_view(gid));
  CHECK(p.tlvs.integer(codec::tag::message_state) == 2u);
  // Everything else as the carrier sent it.
  CHECK(b.esm_class == 0x04);
  CHECK(out.size() == wire.size() + (gid.size() - 6) * 2 + (13 - 12) + (4 - 5));
}
