// Operations on messages already sent, through the gateway as a real process between a real
// carrier (smpp-mcsim) and a test customer: replace_sm, cancel_sm and query_sm by the gateway id,
// cancel_sm by service_type + source + destination, the v5.0 broadcast family, and what a v3.3
// customer receives (never a TLV) and may send (no data_sm). The carrier's journal of the by-id
// operations it received (its JSON summary) shows which id reached it.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/receipt.h"
#include "codec/status.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"

using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::ReceivedPtr;
namespace codec = smppgw::codec;
namespace st = smppgw::codec::status;

namespace {

constexpr int kWaitMs = 5000;

void bindOk(EsmeClient& c, uint16_t port, uint8_t version = 0x34,
            CommandId bind = CommandId::bind_transceiver) {
  REQUIRE(c.connect("127.0.0.1", port));
  ReceivedPtr r = c.bind(bind, "acme", "secret", version, kWaitMs);
  REQUIRE(r != nullptr);
  REQUIRE_MESSAGE(r->status() == st::ESME_ROK, "bind status " << r->status());
}

std::string messageId(const ReceivedPtr& r) {
  if (const auto* b = r->pdu.tryAs<codec::MessageIdBody>()) {
    return std::string(b->message_id);
  }
  if (const auto* q = r->pdu.tryAs<codec::QuerySmRespBody>()) {
    return std::string(q->message_id);
  }
  return {};
}

// Sends `p` and returns its response (by command id), checking the sequence number.
ReceivedPtr call(EsmeClient& c, const codec::Pdu& p) {
  REQUIRE(c.send(p));
  ReceivedPtr r = c.readUntil(codec::responseFor(p.command_id), kWaitMs);
  REQUIRE_MESSAGE(r != nullptr, "no " << codec::commandName(codec::responseFor(p.command_id)));
  CHECK(r->seq() == p.sequence_number);
  return r;
}

ReceivedPtr querySm(EsmeClient& c, const std::string& id) {
  codec::Pdu q(CommandId::query_sm, c.nextSeq());
  q.as<codec::QuerySmBody>().message_id = id;
  q.as<codec::QuerySmBody>().source_addr = "447700900001";
  return call(c, q);
}

ReceivedPtr cancelSm(EsmeClient& c, const std::string& id, const std::string& dst) {
  codec::Pdu x(CommandId::cancel_sm, c.nextSeq());
  auto& b = x.as<codec::CancelSmBody>();
  b.message_id = id;
  b.source_addr_ton = 1;
  b.source_addr_npi = 1;
  b.source_addr = "447700900001";
  b.dest_addr_ton = 1;
  b.dest_addr_npi = 1;
  b.destination_addr = dst;
  return call(c, x);
}

ReceivedPtr replaceSm(EsmeClient& c, const std::string& id, const std::string& text) {
  codec::Pdu r(CommandId::replace_sm, c.nextSeq());
  auto& b = r.as<codec::ReplaceSmBody>();
  b.message_id = id;
  b.source_addr_ton = 1;
  b.source_addr_npi = 1;
  b.source_addr = "447700900001";
  b.registered_delivery = 1;
  b.short_message = codec::asBytes(text);
  return call(c, r);
}

// The (command, message_id, status) triples of the carrier's journal, in arrival order.
using Op = std::vector<std::string>;
std::vector<Op> operations(const json& summary) {
  std::vector<Op> out;
  REQUIRE_MESSAGE(summary.contains("operations"), summary.dump());
  for (const json& o : summary["operations"]) {
    out.push_back({o["command"].get<std::string>(), o["message_id"].get<std::string>(),
                   o["status"].get<std::string>()});
  }
  return out;
}

const uint8_t kArea[] = {0x00, 'L', 'O', 'N'};      // alias-name format, "LON"
const uint8_t kContentType[] = {0x01, 0x00, 0x01};  // GSM, service 1
const uint8_t kFrequency[] = {0x08, 0x00, 0x05};    // every 5 (minutes)

// `text` must outlive the PDU (the body holds views): callers pass string literals.
codec::Pdu broadcastSm(EsmeClient& c, std::string_view text) {
  codec::Pdu p(CommandId::broadcast_sm, c.nextSeq());
  auto& b = p.as<codec::BroadcastSmBody>();
  b.source_addr_ton = 1;
  b.source_addr_npi = 1;
  b.source_addr = "447700900001";
  p.tlvs.addBytes(codec::tag::broadcast_area_identifier, codec::Bytes(kArea, sizeof kArea));
  p.tlvs.addBytes(codec::tag::broadcast_content_type,
                  codec::Bytes(kContentType, sizeof kContentType));
  p.tlvs.addU16(codec::tag::broadcast_rep_num, 1);
  p.tlvs.addBytes(codec::tag::broadcast_frequency_interval,
                  codec::Bytes(kFrequency, sizeof kFrequency));
  p.tlvs.addBytes(codec::tag::message_payload, codec::asBytes(text));
  return p;
}

ReceivedPtr queryBroadcast(EsmeClient& c, const std::string& id) {
  codec::Pdu q(CommandId::query_broadcast_sm, c.nextSeq());
  q.as<codec::QuerySmBody>().message_id = id;
  q.as<codec::QuerySmBody>().source_addr = "447700900001";
  return call(c, q);
}

ReceivedPtr cancelBroadcast(EsmeClient& c, const std::string& id) {
  codec::Pdu x(CommandId::cancel_broadcast_sm, c.nextSeq());
  x.as<codec::CancelBroadcastSmBody>().message_id = id;
  x.as<codec::CancelBroadcastSmBody>().source_addr = "447700900001";
  return call(c, x);
}

bool isReceipt(const ReceivedPtr& d) {
  return (d->pdu.as<codec::SmBody>().esm_class & 0x3C) == 0x04;
}

}  // namespace

TEST_CASE("replace_sm, cancel_sm and query_sm by gateway id reach the carrier with its id") {
  // Carrier ids start at 7000; receipts are a minute away, so every message stays ENROUTE (and
  // replaceable, cancellable) for the whole test.
  McsimProc mc({"--id-start", "7000", "--receipt-delay-ms", "60000"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  EsmeClient c;
  bindOk(c, gw.port());
  ReceivedPtr ra = c.submit("447700900001", "447700900111", "first", 1, kWaitMs);
  ReceivedPtr rb = c.submit("447700900001", "447700900222", "second", 1, kWaitMs);
  REQUIRE(ra != nullptr);
  REQUIRE(rb != nullptr);
  REQUIRE(ra->status() == st::ESME_ROK);
  REQUIRE(rb->status() == st::ESME_ROK);
  const std::string a = messageId(ra);  // carrier id 7000
  const std::string b = messageId(rb);  // carrier id 7001
  CHECK(a.size() == 16);
  CHECK(a != b);

  ReceivedPtr r = replaceSm(c, a, "first, corrected");
  CHECK(r->status() == st::ESME_ROK);
  r = querySm(c, a);
  CHECK(r->status() == st::ESME_ROK);
  CHECK(messageId(r) == a);  // the customer's own id, not the carrier's
  CHECK(r->pdu.as<codec::QuerySmRespBody>().message_state == 1);  // ENROUTE
  r = cancelSm(c, a, "447700900111");
  CHECK(r->status() == st::ESME_ROK);
  r = querySm(c, a);
  CHECK(r->status() == st::ESME_ROK);
  CHECK(r->pdu.as<codec::QuerySmRespBody>().message_state == 4);  // DELETED, said the carrier
  // The carrier's refusals come back as the carrier gave them.
  r = cancelSm(c, a, "447700900111");
  CHECK(r->status() == st::ESME_RCANCELFAIL);
  r = replaceSm(c, a, "too late");
  CHECK(r->status() == st::ESME_RREPLACEFAIL);

  bool by_addresses = false;
  SUBCASE("unknown gateway ids are refused by the gateway") {
    for (const std::string& id : {std::string("00000000000000ff"), std::string("not-an-id")}) {
      CHECK(querySm(c, id)->status() == st::ESME_RINVMSGID);
      CHECK(cancelSm(c, id, "447700900111")->status() == st::ESME_RINVMSGID);
      CHECK(replaceSm(c, id, "x")->status() == st::ESME_RINVMSGID);
    }
  }
  SUBCASE("cancel_sm by service_type + source + destination is refused: ESME_RCANCELFAIL") {
    by_addresses = true;
    r = cancelSm(c, "", "447700900222");
    CHECK(r->status() == st::ESME_RCANCELFAIL);
    CHECK(r->bytes.size() == 16);  // header only
    // Nothing was cancelled: the matching message is still pending at the carrier.
    r = querySm(c, b);
    CHECK(r->status() == st::ESME_ROK);
    CHECK(r->pdu.as<codec::QuerySmRespBody>().message_state == 1);  // ENROUTE
  }

  c.close();
  const json summary = mc.stop();
  const std::vector<Op> ops = operations(summary);
  std::vector<Op> expected = {
      {"replace_sm", "7000", "ESME_ROK"},        {"query_sm", "7000", "ESME_ROK"},
      {"cancel_sm", "7000", "ESME_ROK"},         {"query_sm", "7000", "ESME_ROK"},
      {"cancel_sm", "7000", "ESME_RCANCELFAIL"}, {"replace_sm", "7000", "ESME_RREPLACEFAIL"},
  };
  if (by_addresses) {  // only the query reached the carrier, not the cancel
    expected.push_back({"query_sm", "7001", "ESME_ROK"});
  }
  CHECK(ops == expected);
  CHECK(summary["pdus_in"]["cancel_sm"]["total"] == 2);
}

TEST_CASE("broadcast_sm gets a gateway id; query/cancel_broadcast_sm by it reach the carrier") {
  McsimProc mc({"--id-start", "8000"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["upstreams"][0]["interface_version"] = "5.0";
  GatewayProc gw(cfg);
  EsmeClient c;
  bindOk(c, gw.port(), 0x50);

  ReceivedPtr r = call(c, broadcastSm(c, "storm warning"));
  REQUIRE(r->status() == st::ESME_ROK);
  const std::string id = messageId(r);
  CHECK(id.size() == 16);  // the gateway's id
  CHECK(id != "8000");

  r = queryBroadcast(c, id);
  CHECK(r->status() == st::ESME_ROK);
  CHECK(messageId(r) == id);
  CHECK(r->pdu.tlvs.integer(codec::tag::message_state) == 1u);  // ENROUTE
  auto area = r->pdu.tlvs.bytes(codec::tag::broadcast_area_identifier);
  REQUIRE(area.has_value());
  CHECK(std::vector<uint8_t>(area->begin(), area->end()) ==
        std::vector<uint8_t>(std::begin(kArea), std::end(kArea)));
  CHECK(r->pdu.tlvs.integer(codec::tag::broadcast_area_success) == 100u);

  r = cancelBroadcast(c, id);
  CHECK(r->status() == st::ESME_ROK);
  r = queryBroadcast(c, id);
  CHECK(r->status() == st::ESME_ROK);
  CHECK(r->pdu.tlvs.integer(codec::tag::message_state) == 4u);  // DELETED
  r = cancelBroadcast(c, id);
  CHECK(r->status() == st::ESME_RBCASTCANCELFAIL);  // the carrier's status, passed through

  // Ids the gateway never gave out never reach the carrier.
  CHECK(queryBroadcast(c, "00000000000000ff")->status() == st::ESME_RINVMSGID);
  CHECK(cancelBroadcast(c, "00000000000000ff")->status() == st::ESME_RINVMSGID);

  // A v3.4 customer has no broadcast commands: generic_nack, not a v5.0 response PDU.
  EsmeClient c34;
  bindOk(c34, gw.port(), 0x34);
  codec::Pdu q34(CommandId::query_broadcast_sm, c34.nextSeq());
  q34.as<codec::QuerySmBody>().message_id = id;
  for (const codec::Pdu& p : {broadcastSm(c34, "x"), q34}) {
    REQUIRE(c34.send(p));
    ReceivedPtr nack = c34.readUntil(CommandId::generic_nack, kWaitMs);
    REQUIRE(nack != nullptr);
    CHECK(nack->status() == st::ESME_RINVCMDID);
    CHECK(nack->seq() == p.sequence_number);
  }
  c34.close();

  c.close();
  const json summary = mc.stop();
  const std::vector<Op> expected = {
      {"broadcast_sm", "8000", "ESME_ROK"},
      {"query_broadcast_sm", "8000", "ESME_ROK"},
      {"cancel_broadcast_sm", "8000", "ESME_ROK"},
      {"query_broadcast_sm", "8000", "ESME_ROK"},
      {"cancel_broadcast_sm", "8000", "ESME_RBCASTCANCELFAIL"},
  };
  CHECK(operations(summary) == expected);
}

TEST_CASE("smpp-mcsim keeps a book of broadcasts for v5.0 peers") {
  McsimProc mc({"--id-start", "500"});
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", mc.port()));
  ReceivedPtr r = c.bind(CommandId::bind_transceiver, "gw", "pw", 0x50, kWaitMs);
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == st::ESME_ROK);

  r = call(c, broadcastSm(c, "one"));
  REQUIRE(r->status() == st::ESME_ROK);
  CHECK(messageId(r) == "500");
  r = call(c, broadcastSm(c, "two"));
  REQUIRE(r->status() == st::ESME_ROK);
  CHECK(messageId(r) == "501");
  // Unknown ids: ESME_RINVMSGID, for a query and for a cancel.
  CHECK(queryBroadcast(c, "499")->status() == st::ESME_RINVMSGID);
  CHECK(cancelBroadcast(c, "12345")->status() == st::ESME_RINVMSGID);
  CHECK(cancelBroadcast(c, "")->status() == st::ESME_RINVMSGID);
  // A cancel is final: the second one fails, the other broadcast is untouched.
  CHECK(cancelBroadcast(c, "500")->status() == st::ESME_ROK);
  CHECK(cancelBroadcast(c, "500")->status() == st::ESME_RBCASTCANCELFAIL);
  r = queryBroadcast(c, "501");
  CHECK(r->status() == st::ESME_ROK);
  CHECK(messageId(r) == "501");
  CHECK(r->pdu.tlvs.integer(codec::tag::message_state) == 1u);
  // A broadcast_sm naming an earlier broadcast replaces it (same id); an unknown one is refused.
  codec::Pdu again = broadcastSm(c, "one, again");
  again.as<codec::BroadcastSmBody>().message_id = "501";
  r = call(c, again);
  CHECK(r->status() == st::ESME_ROK);
  CHECK(messageId(r) == "501");
  codec::Pdu unknown = broadcastSm(c, "?");
  unknown.as<codec::BroadcastSmBody>().message_id = "777";
  CHECK(call(c, unknown)->status() == st::ESME_RINVMSGID);
  // The broadcast book is not the message book: a submit_sm id is no broadcast.
  ReceivedPtr s = c.submit("447700900001", "447700900111", "sms", 0, kWaitMs);
  REQUIRE(s != nullptr);
  REQUIRE(s->status() == st::ESME_ROK);
  CHECK(queryBroadcast(c, messageId(s))->status() == st::ESME_RINVMSGID);

  // A v3.4 peer has no broadcast commands: generic_nack ESME_RINVCMDID (reference §7.2, §8.1).
  EsmeClient old;
  REQUIRE(old.connect("127.0.0.1", mc.port()));
  r = old.bind(CommandId::bind_transceiver, "gw", "pw", 0x34, kWaitMs);
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == st::ESME_ROK);
  codec::Pdu b34 = broadcastSm(old, "x");
  REQUIRE(old.send(b34));
  r = old.readUntil(CommandId::generic_nack, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == st::ESME_RINVCMDID);
  CHECK(r->seq() == b34.sequence_number);
}

TEST_CASE("a v3.3 customer: no TLV in submit_sm_resp, receipts or MO; data_sm is unknown") {
  // The carrier puts TLVs on everything: additional_status_info_text "ok" on responses,
  // receipted_message_id + message_state on receipts, source_network_type on MO.
  McsimProc mc({"--response-tlv", "0x001D:6F6B00", "--mo-tlv", "0x000E:01", "--mo-rate", "20",
                "--receipt-delay-ms", "20"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));

  // A v3.4 session of the same customer sees every one of those TLVs (the control).
  {
    EsmeClient c34;
    bindOk(c34, gw.port(), 0x34);
    ReceivedPtr r = c34.submit("447700900001", "447700900111", "v34", 1, kWaitMs);
    REQUIRE(r != nullptr);
    REQUIRE(r->status() == st::ESME_ROK);
    CHECK(r->pdu.tlvs.text(codec::tag::additional_status_info_text) == "ok");
    bool receipt = false, mo = false;
    for (int i = 0; i < 200 && !(receipt && mo); ++i) {
      ReceivedPtr d = c34.readUntil(CommandId::deliver_sm, kWaitMs);
      REQUIRE(d != nullptr);
      if (isReceipt(d)) {
        CHECK(d->pdu.tlvs.text(codec::tag::receipted_message_id) == messageId(r));
        CHECK(d->pdu.tlvs.integer(codec::tag::message_state) == 2u);
        receipt = true;
      } else {
        CHECK(d->pdu.tlvs.integer(codec::tag::source_network_type) == 1u);
        mo = true;
      }
      CHECK(c34.respond(*d));
    }
    REQUIRE(receipt);
    REQUIRE(mo);
  }

  EsmeClient c;
  bindOk(c, gw.port(), 0x33);
  ReceivedPtr r = c.submit("447700900001", "447700900222", "v33", 1, kWaitMs);
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == st::ESME_ROK);
  CHECK(!r->error);
  CHECK(r->pdu.tlvs.empty());
  const std::string gid = messageId(r);
  CHECK(gid.size() == 16);
  CHECK(r->bytes.size() == 16 + gid.size() + 1);  // header + message_id, nothing after it

  bool receipt = false;
  int mo = 0;
  for (int i = 0; i < 200 && !(receipt && mo >= 2); ++i) {
    ReceivedPtr d = c.readUntil(CommandId::deliver_sm, kWaitMs);
    REQUIRE(d != nullptr);
    REQUIRE_MESSAGE(!d->error, "undecodable deliver_sm");
    CHECK_MESSAGE(d->pdu.tlvs.empty(), "a v3.3 customer got " << d->pdu.tlvs.size() << " TLV(s)");
    if (isReceipt(d)) {
      // The id travels in the text only, and it is the gateway's.
      codec::Receipt rcpt;
      REQUIRE(codec::parseReceipt(d->pdu.as<codec::SmBody>().short_message, rcpt));
      CHECK(rcpt.id == gid);
      CHECK(rcpt.stat == "DELIVRD");
      receipt = true;
    } else {
      ++mo;
    }
    CHECK(c.respond(*d));
  }
  CHECK(receipt);
  CHECK(mo >= 2);

  // data_sm does not exist in v3.3: an unknown command, generic_nack ESME_RINVCMDID, and the
  // session goes on.
  codec::Pdu ds(CommandId::data_sm, c.nextSeq());
  auto& db = ds.as<codec::DataSmBody>();
  db.source_addr = "447700900001";
  db.destination_addr = "447700900333";
  ds.tlvs.addBytes(codec::tag::message_payload, codec::asBytes("data"));
  REQUIRE(c.send(ds));
  ReceivedPtr nack = c.readUntil(CommandId::generic_nack, kWaitMs);
  REQUIRE(nack != nullptr);
  CHECK(nack->status() == st::ESME_RINVCMDID);
  CHECK(nack->seq() == ds.sequence_number);
  CHECK(nack->bytes.size() == 16);
  r = c.submit("447700900001", "447700900444", "still bound", 0, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == st::ESME_ROK);
  CHECK(r->pdu.tlvs.empty());

  c.close();
  const json summary = mc.stop();
  CHECK_FALSE(summary["pdus_in"].contains("data_sm"));  // it never reached the carrier
  CHECK(summary["pdus_in"]["submit_sm"]["total"] == 3);
}
