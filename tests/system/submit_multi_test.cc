// submit_multi through the gateway, between real carriers (smpp-mcsim processes routed by
// destination prefix) and a test client: each destination routed on its own and sent upstream as
// a submit_sm, one submit_multi_resp naming every refused destination with its status, and each
// destination's receipt addressed as its own and carrying the gateway id the customer got.

#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "codec/pdu.h"
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
constexpr const char* kSource = "4477001";

void bindOk(EsmeClient& c, uint16_t port) {
  REQUIRE(c.connect("127.0.0.1", port));
  ReceivedPtr r = c.bind(CommandId::bind_transceiver, "acme", "secret", 0x34, kWaitMs);
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == st::ESME_ROK);
}

struct Dest {
  uint8_t flag;
  std::string address;  // destination_addr, or a dl_name
};

// Sends a submit_multi (registered_delivery 1) and returns its sequence number.
uint32_t sendMulti(EsmeClient& c, const std::vector<Dest>& dests) {
  codec::Pdu p(CommandId::submit_multi, c.nextSeq());
  auto& b = p.as<codec::SubmitMultiBody>();
  b.source_addr_ton = 1;
  b.source_addr_npi = 1;
  b.source_addr = kSource;
  for (const Dest& d : dests) {
    codec::DestAddress a;
    a.dest_flag = d.flag;
    a.dest_addr_ton = d.flag == 1 ? 1 : 0;
    a.dest_addr_npi = d.flag == 1 ? 1 : 0;
    a.address = d.address;
    b.dest_addresses.push_back(a);
  }
  b.registered_delivery = 1;
  static const std::string text = "hello everyone";
  b.short_message = codec::Bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  REQUIRE(c.send(p, 0x34));
  return p.sequence_number;
}

// The next PDU must be the submit_multi_resp: the gateway writes no receipt of a submit_multi
// before the customer has its id.
ReceivedPtr readMultiResp(EsmeClient& c, uint32_t seq) {
  ReceivedPtr r = c.read(kWaitMs);
  REQUIRE(r != nullptr);
  REQUIRE_MESSAGE(
      r->id() == CommandId::submit_multi_resp,
      "expected submit_multi_resp first, got command 0x" << std::hex << uint32_t(r->id()));
  CHECK(r->seq() == seq);
  return r;
}

std::map<std::string, uint32_t> unsuccess(const ReceivedPtr& r) {
  std::map<std::string, uint32_t> out;
  for (const auto& u : r->pdu.as<codec::SubmitMultiRespBody>().unsuccess_smes) {
    out[std::string(u.destination_addr)] = u.error_status_code;
  }
  return out;
}

// Two carriers by prefix (44 -> uk, 49 -> de), a reject rule for 999, nothing for the rest.
json twoCarrierConfig(uint16_t uk, uint16_t de) {
  json cfg = smppgw::testsupport::baseGatewayConfig({{"uk", uk}, {"de", de}});
  cfg["groups"] = json::array({{{"name", "g-uk"}, {"members", {{{"upstream", "uk"}}}}},
                               {{"name", "g-de"}, {"members", {{{"upstream", "de"}}}}}});
  cfg["routes"] = json::array({{{"name", "blocked"},
                                {"match", {{"destination_prefixes", {"999"}}}},
                                {"action", {{"reject", "ESME_RINVDSTADR"}}}},
                               {{"name", "uk"},
                                {"match", {{"destination_prefixes", {"44"}}}},
                                {"action", {{"group", "g-uk"}}}},
                               {{"name", "de"},
                                {"match", {{"destination_prefixes", {"49"}}}},
                                {"action", {{"group", "g-de"}}}}});
  cfg["routing"] = {{"unroutable_status", "ESME_RINVDSTTON"}};  // told apart from the reject
  return cfg;
}

int submitsIn(const json& summary, const char* command) {
  return summary["pdus_in"].contains(command) ? summary["pdus_in"][command]["total"].get<int>() : 0;
}

}  // namespace

TEST_CASE(
    "submit_multi over two carriers: one response, refusals listed, a receipt per "
    "destination") {
  // The German carrier writes each receipt before its response (the gateway holds it).
  McsimProc uk, de({"--receipt-before-response"});
  GatewayProc gw(twoCarrierConfig(uk.port(), de.port()));
  EsmeClient c;
  bindOk(c, gw.port());

  const std::vector<std::string> delivered = {"447700900001", "4930100001", "447700900002"};
  const uint32_t seq = sendMulti(c, {{1, delivered[0]},
                                     {1, delivered[1]},
                                     {1, "99912345"},  // a reject rule
                                     {1, "3312345"},   // no route
                                     {1, delivered[2]}});
  ReceivedPtr r = readMultiResp(c, seq);
  CHECK(r->status() == st::ESME_ROK);
  const std::string gid(r->pdu.as<codec::SubmitMultiRespBody>().message_id);
  CHECK(gid.size() == 16);
  const auto refused = unsuccess(r);
  CHECK(refused.size() == 2);
  CHECK(refused.at("99912345") == st::ESME_RINVDSTADR);
  CHECK(refused.at("3312345") == st::ESME_RINVDSTTON);
  for (const auto& u : r->pdu.as<codec::SubmitMultiRespBody>().unsuccess_smes) {
    CHECK(u.dest_addr_ton == 1);  // as the customer sent them
    CHECK(u.dest_addr_npi == 1);
  }

  // One receipt per accepted destination: from that destination, to the customer's sender,
  // with the id the customer got.
  std::set<std::string> from;
  for (size_t i = 0; i < delivered.size(); ++i) {
    ReceivedPtr d = c.readUntil(CommandId::deliver_sm, kWaitMs);
    REQUIRE(d != nullptr);
    const auto& sm = d->pdu.as<codec::SmBody>();
    CHECK((sm.esm_class & 0x3C) == 0x04);
    CHECK(sm.destination_addr == kSource);
    from.insert(std::string(sm.source_addr));
    CHECK(d->pdu.tlvs.text(codec::tag::receipted_message_id).value_or("") == gid);
    CHECK(codec::asString(sm.short_message).find("id:" + gid) != std::string_view::npos);
    c.respond(*d);
  }
  CHECK(from == std::set<std::string>(delivered.begin(), delivered.end()));
  CHECK(c.read(300) == nullptr);  // nothing more: no receipt twice, none for refused ones

  // Each carrier got a submit_sm per destination routed to it, never a submit_multi.
  json uks = uk.stop();
  json des = de.stop();
  CHECK(submitsIn(uks, "submit_sm") == 2);
  CHECK(submitsIn(des, "submit_sm") == 1);
  CHECK(submitsIn(uks, "submit_multi") == 0);
  CHECK(submitsIn(des, "submit_multi") == 0);
}

TEST_CASE(
    "submit_multi: a carrier's refusal, a carrier's timeout and a distribution list are "
    "listed; all refused fails the PDU") {
  McsimProc ok, rejecting({"--error-rate", "1", "--error-status", "ESME_RMSGQFUL"}),
      slow({"--latency", "3s"});
  json cfg = smppgw::testsupport::baseGatewayConfig(
      {{"ok", ok.port()}, {"rejecting", rejecting.port()}, {"slow", slow.port()}});
  cfg["upstreams"][2]["request_timeout"] = "300ms";
  cfg["groups"] = json::array({{{"name", "g-ok"}, {"members", {{{"upstream", "ok"}}}}},
                               {{"name", "g-rej"}, {"members", {{{"upstream", "rejecting"}}}}},
                               {{"name", "g-slow"}, {"members", {{{"upstream", "slow"}}}}}});
  cfg["routes"] = json::array({{{"name", "rej"},
                                {"match", {{"destination_prefixes", {"49"}}}},
                                {"action", {{"group", "g-rej"}}}},
                               {{"name", "slow"},
                                {"match", {{"destination_prefixes", {"33"}}}},
                                {"action", {{"group", "g-slow"}}}}});
  // Everything else through the customer's default route.
  cfg["customers"][0]["default_route"] = {{"group", "g-ok"}};
  cfg["customers"][0]["window"] = 1;  // the submit_multi holds the one slot until answered
  GatewayProc gw(cfg);
  EsmeClient c;
  bindOk(c, gw.port());

  SUBCASE("some accepted: the others listed with the carrier's status, a timeout, the list") {
    const uint32_t seq =
        sendMulti(c, {{1, "447700900001"}, {1, "4930100001"}, {2, "friends"}, {1, "33612345678"}});
    ReceivedPtr r = readMultiResp(c, seq);
    CHECK(r->status() == st::ESME_ROK);
    const std::string gid(r->pdu.as<codec::SubmitMultiRespBody>().message_id);
    CHECK(!gid.empty());
    const auto refused = unsuccess(r);
    CHECK(refused.size() == 3);
    CHECK(refused.at("4930100001") == st::ESME_RMSGQFUL);  // the carrier's own status
    CHECK(refused.at("friends") == st::ESME_RCNTSUBDL);    // no upstream takes lists
    CHECK(refused.at("33612345678") == st::ESME_RSYSERR);  // timed out: outcome unknown
    ReceivedPtr d = c.readUntil(CommandId::deliver_sm, kWaitMs);
    REQUIRE(d != nullptr);
    CHECK(d->pdu.as<codec::SmBody>().source_addr == "447700900001");
    CHECK(d->pdu.tlvs.text(codec::tag::receipted_message_id).value_or("") == gid);
    c.respond(*d);
    // The window slot is free again.
    ReceivedPtr next = c.submit(kSource, "447700900009", "after", 0, kWaitMs);
    REQUIRE(next != nullptr);
    CHECK(next->status() == st::ESME_ROK);
  }
  SUBCASE("only a distribution list: the PDU fails with ESME_RCNTSUBDL, listed too") {
    const uint32_t seq = sendMulti(c, {{2, "friends"}});
    ReceivedPtr r = readMultiResp(c, seq);
    CHECK(r->status() == st::ESME_RCNTSUBDL);
    CHECK(r->pdu.as<codec::SubmitMultiRespBody>().message_id.empty());
    CHECK(unsuccess(r) == std::map<std::string, uint32_t>{{"friends", st::ESME_RCNTSUBDL}});
  }
  SUBCASE("every destination refused for different reasons: ESME_RSUBMITFAIL") {
    const uint32_t seq = sendMulti(c, {{1, "4930100001"}, {2, "friends"}});
    ReceivedPtr r = readMultiResp(c, seq);
    CHECK(r->status() == st::ESME_RSUBMITFAIL);
    CHECK(unsuccess(r) == std::map<std::string, uint32_t>{{"4930100001", st::ESME_RMSGQFUL},
                                                          {"friends", st::ESME_RCNTSUBDL}});
  }
}
