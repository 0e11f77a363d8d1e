// The gateway as a real process on 127.0.0.1, between real carriers (smpp-mcsim processes) and
// test clients: binds, submits, receipts, MO, routing and failover, query/cancel by gateway id,
// timeouts, windows, bad bytes, unbind and graceful shutdown. Every wait is bounded and waits for
// an event (a port file, a PDU, a close, an exit).

#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/json/pdu_json.h"
#include "codec/receipt.h"
#include "codec/status.h"
#include "config/password.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"
#include "tests/vectors.h"

using namespace std::chrono_literals;
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

void bindOk(EsmeClient& c, uint16_t port, CommandId bind = CommandId::bind_transceiver,
            const std::string& id = "acme", const std::string& pw = "secret",
            uint8_t version = 0x34) {
  REQUIRE(c.connect("127.0.0.1", port));
  ReceivedPtr r = c.bind(bind, id, pw, version, kWaitMs);
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

// Reads PDUs until a deliver_sm arrives (answering enquire_links on the way).
ReceivedPtr nextDeliver(EsmeClient& c, int timeout_ms = kWaitMs) {
  return c.readUntil(CommandId::deliver_sm, timeout_ms);
}

}  // namespace

TEST_CASE("bind matrix: credentials, bind types, max binds, already bound, hashed password") {
  McsimProc mc;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["customers"].push_back({{"system_id", "txonly"},
                              {"password", "pw2"},
                              {"bind_types", {"transmitter"}},
                              {"max_binds", 1}});
  // A real PBKDF2 hash (few iterations to keep the test quick): verified on the thread pool.
  cfg["customers"].push_back(
      {{"system_id", "hashed"}, {"password", smppgw::config::hashPassword("s3cret!", 1000)}});
  GatewayProc gw(cfg);

  SUBCASE("good credentials, every bind type, with sc_interface_version") {
    for (CommandId bind :
         {CommandId::bind_transmitter, CommandId::bind_receiver, CommandId::bind_transceiver}) {
      EsmeClient c;
      REQUIRE(c.connect("127.0.0.1", gw.port()));
      ReceivedPtr r = c.bind(bind, "acme", "secret", 0x34, kWaitMs);
      REQUIRE(r != nullptr);
      CHECK(r->id() == codec::responseFor(bind));
      CHECK(r->status() == st::ESME_ROK);
      CHECK(r->pdu.as<codec::BindRespBody>().system_id == "smppgw-test");
      CHECK(r->pdu.tlvs.integer(codec::tag::sc_interface_version) == 0x34u);
    }
  }
  SUBCASE("a v3.3 peer gets no TLV, a v5.0 peer gets 0x50") {
    EsmeClient c33, c50;
    REQUIRE(c33.connect("127.0.0.1", gw.port()));
    ReceivedPtr r = c33.bind(CommandId::bind_transceiver, "acme", "secret", 0x33, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_ROK);
    CHECK(r->pdu.tlvs.empty());
    REQUIRE(c50.connect("127.0.0.1", gw.port()));
    r = c50.bind(CommandId::bind_transceiver, "acme", "secret", 0x50, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->pdu.tlvs.integer(codec::tag::sc_interface_version) == 0x50u);
  }
  SUBCASE("unknown system_id, wrong password, bind type not allowed") {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    ReceivedPtr r = c.bind(CommandId::bind_transceiver, "nobody", "x", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_RINVSYSID);
    // The session stays open in OPEN: a corrected bind succeeds on the same connection.
    r = c.bind(CommandId::bind_transceiver, "acme", "wrong", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_RINVPASWD);
    r = c.bind(CommandId::bind_receiver, "txonly", "pw2", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_RBINDFAIL);
    r = c.bind(CommandId::bind_transceiver, "acme", "secret", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_ROK);
  }
  SUBCASE("max_binds reached gives ESME_RALYBND; a second bind on a bound session too") {
    EsmeClient a, b;
    bindOk(a, gw.port(), CommandId::bind_transmitter, "txonly", "pw2");
    REQUIRE(b.connect("127.0.0.1", gw.port()));
    ReceivedPtr r = b.bind(CommandId::bind_transmitter, "txonly", "pw2", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_RALYBND);
    r = a.bind(CommandId::bind_transmitter, "txonly", "pw2", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_RALYBND);
    // Closing the first bind frees the slot.
    a.close();
    ReceivedPtr again;
    for (int i = 0; i < 50 && (again == nullptr || again->status() != st::ESME_ROK); ++i) {
      EsmeClient c;
      REQUIRE(c.connect("127.0.0.1", gw.port()));
      again = c.bind(CommandId::bind_transmitter, "txonly", "pw2", 0x34, kWaitMs);
      REQUIRE(again != nullptr);
      if (again->status() == st::ESME_ROK) {
        break;
      }
      CHECK(again->status() == st::ESME_RALYBND);  // the close may not be seen yet
    }
    CHECK(again->status() == st::ESME_ROK);
  }
  SUBCASE("a hashed password verifies (and a wrong one does not)") {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    ReceivedPtr r = c.bind(CommandId::bind_transceiver, "hashed", "wrong", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_RINVPASWD);
    r = c.bind(CommandId::bind_transceiver, "hashed", "s3cret!", 0x34, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_ROK);
  }
}

TEST_CASE("session cases of the shared vectors, against the real listener") {
  McsimProc mc;
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  json doc = smppgw::test::loadVectors("pdus.json");
  std::map<std::string, std::string> hex_by_name;
  for (const json& c : doc["cases"]) {
    hex_by_name[c["name"]] = c["hex"];
  }
  size_t checked = 0;
  for (const json& sc : doc["session_cases"]) {
    const std::string name = sc["name"];
    CAPTURE(name);
    if (sc["receiver"] != "MC") {
      // deliver_sm_to_transmitter is about an ESME receiving: the gateway's upstream side
      // (covered by the MC-side test below).
      continue;
    }
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    const std::string state = sc["session_state"];
    if (state == "BOUND_RX") {
      REQUIRE(c.bind(CommandId::bind_receiver, "acme", "secret", 0x34, kWaitMs)->status() == 0);
    } else if (state == "BOUND_TX") {
      REQUIRE(c.bind(CommandId::bind_transmitter, "acme", "secret", 0x34, kWaitMs)->status() == 0);
    } else if (state == "BOUND_TRX") {
      REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret", 0x34, kWaitMs)->status() == 0);
    } else {
      REQUIRE(state == "OPEN");
    }
    std::string bytes;
    REQUIRE(codec::parseHex(hex_by_name.at(sc["pdu_case"]), bytes));
    codec::Header h = codec::readHeader(reinterpret_cast<const uint8_t*>(bytes.data()));
    REQUIRE(c.sendRaw(bytes.data(), bytes.size()));
    auto expected = codec::commandFromName(sc["response"].get<std::string>());
    REQUIRE(expected.has_value());
    ReceivedPtr r = c.readUntil(*expected, kWaitMs);
    REQUIRE(r != nullptr);
    CHECK(codec::hex32(r->status()) == sc["command_status"].get<std::string>());
    CHECK(r->seq() == h.sequence_number);
    ++checked;
  }
  CHECK(checked == 5);
}

TEST_CASE("submit -> carrier -> gateway id; the receipt comes back rewritten to that id") {
  // The carrier answers with decimal ids and sends receipts with the same ids in hex: the
  // upstream's id normalisation must still match them.
  McsimProc mc({"--id-format", "dec", "--receipt-id-format", "hex", "--receipt-delay-ms", "50"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["upstreams"][0]["message_id"] = {{"response", "decimal"}, {"receipt", "hex"}};
  GatewayProc gw(cfg);
  EsmeClient c;
  bindOk(c, gw.port());
  ReceivedPtr resp = c.submit("447700900001", "447700900999", "hello receipt", 1, kWaitMs);
  REQUIRE(resp != nullptr);
  REQUIRE(resp->status() == st::ESME_ROK);
  const std::string gid = messageId(resp);
  CHECK(gid.size() == 16);  // the gateway's hex id, not the carrier's
  ReceivedPtr dlr = nextDeliver(c);
  REQUIRE(dlr != nullptr);
  const auto& sm = dlr->pdu.as<codec::SmBody>();
  CHECK((sm.esm_class & 0x3C) == 0x04);
  CHECK(dlr->pdu.tlvs.text(codec::tag::receipted_message_id) == gid);
  codec::Receipt rcpt;
  REQUIRE(codec::parseReceipt(sm.short_message, rcpt));
  CHECK(rcpt.id == gid);
  CHECK(rcpt.stat == "DELIVRD");
  // The receipt goes to the sender the customer used, from the number it sent to.
  CHECK(sm.destination_addr == "447700900001");
  CHECK(sm.source_addr == "447700900999");
  CHECK(c.respond(*dlr));

  // query_sm by the gateway id reaches the carrier and comes back with the gateway id.
  codec::Pdu q(CommandId::query_sm, c.nextSeq());
  q.as<codec::QuerySmBody>().message_id = gid;
  q.as<codec::QuerySmBody>().source_addr = "447700900001";
  REQUIRE(c.send(q));
  ReceivedPtr qr = c.readUntil(CommandId::query_sm_resp, kWaitMs);
  REQUIRE(qr != nullptr);
  CHECK(qr->status() == st::ESME_ROK);
  CHECK(messageId(qr) == gid);
  // An id the gateway never gave out.
  q.sequence_number = c.nextSeq();
  q.as<codec::QuerySmBody>().message_id = "00000000000000ff";
  REQUIRE(c.send(q));
  qr = c.readUntil(CommandId::query_sm_resp, kWaitMs);
  REQUIRE(qr != nullptr);
  CHECK(qr->status() == st::ESME_RINVMSGID);
  // cancel_sm by gateway id.
  codec::Pdu cx(CommandId::cancel_sm, c.nextSeq());
  cx.as<codec::CancelSmBody>().message_id = gid;
  cx.as<codec::CancelSmBody>().source_addr = "447700900001";
  cx.as<codec::CancelSmBody>().destination_addr = "447700900999";
  REQUIRE(c.send(cx));
  ReceivedPtr cr = c.readUntil(CommandId::cancel_sm_resp, kWaitMs);
  REQUIRE(cr != nullptr);
  CHECK(cr->seq() == cx.sequence_number);
}

TEST_CASE("receipts reach the right customer among several; ids are private per customer") {
  McsimProc mc({"--receipt-delay-ms", "20"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["customers"].push_back({{"system_id", "beta"},
                              {"password", "b"},
                              {"window", 50},
                              {"message_id", {{"format", "decimal"}, {"length", 20}}}});
  GatewayProc gw(cfg);
  EsmeClient a, b;
  bindOk(a, gw.port());
  bindOk(b, gw.port(), CommandId::bind_transceiver, "beta", "b");
  std::set<std::string> ids_a, ids_b;
  for (int i = 0; i < 20; ++i) {
    ReceivedPtr r =
        (i % 2 == 0 ? a : b).submit("4477001", "44770020" + std::to_string(i), "m", 1, kWaitMs);
    REQUIRE(r != nullptr);
    REQUIRE(r->status() == st::ESME_ROK);
    (i % 2 == 0 ? ids_a : ids_b).insert(messageId(r));
  }
  for (const std::string& id : ids_b) {
    CHECK(id.size() == 20);  // beta's format: decimal, 20 digits
  }
  for (auto [client, ids] : {std::pair{&a, &ids_a}, std::pair{&b, &ids_b}}) {
    std::set<std::string> got;
    while (got.size() < ids->size()) {
      ReceivedPtr d = nextDeliver(*client);
      REQUIRE(d != nullptr);
      std::string id(d->pdu.tlvs.text(codec::tag::receipted_message_id).value_or(""));
      CHECK_MESSAGE(ids->count(id) == 1, "receipt " << id << " is not this customer's");
      got.insert(id);
      client->respond(*d);
    }
  }
  // Beta cannot query acme's message.
  codec::Pdu q(CommandId::query_sm, b.nextSeq());
  q.as<codec::QuerySmBody>().message_id = *ids_a.begin();
  REQUIRE(b.send(q));
  ReceivedPtr qr = b.readUntil(CommandId::query_sm_resp, kWaitMs);
  REQUIRE(qr != nullptr);
  CHECK(qr->status() == st::ESME_RINVMSGID);
}

TEST_CASE("a receipt goes to the session that submitted; a transmitter's to a receiver") {
  McsimProc mc({"--receipt-delay-ms", "5"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  // Three TRX sessions and one TX of the same customer; a round robin would spread receipts.
  std::vector<std::unique_ptr<EsmeClient>> trx;
  for (int i = 0; i < 3; ++i) {
    trx.push_back(std::make_unique<EsmeClient>());
    bindOk(*trx.back(), gw.port());
  }
  EsmeClient tx;
  bindOk(tx, gw.port(), CommandId::bind_transmitter);
  std::vector<std::set<std::string>> sent(trx.size());
  std::set<std::string> sent_tx;
  for (int round = 0; round < 4; ++round) {
    for (size_t i = 0; i < trx.size(); ++i) {
      ReceivedPtr r = trx[i]->submit("4477001", "4477002", "m", 1, kWaitMs);
      REQUIRE(r != nullptr);
      REQUIRE(r->status() == st::ESME_ROK);
      sent[i].insert(messageId(r));
    }
    ReceivedPtr r = tx.submit("4477001", "4477002", "t", 1, kWaitMs);
    REQUIRE(r != nullptr);
    REQUIRE(r->status() == st::ESME_ROK);
    sent_tx.insert(messageId(r));
  }
  // Each TRX gets exactly its own receipts, plus some of the transmitter's.
  std::set<std::string> tx_seen;
  for (size_t i = 0; i < trx.size(); ++i) {
    std::set<std::string> own;
    while (own.size() < sent[i].size()) {
      ReceivedPtr d = nextDeliver(*trx[i]);
      REQUIRE_MESSAGE(d != nullptr, "session " << i << " got " << own.size() << " receipts");
      std::string id(d->pdu.tlvs.text(codec::tag::receipted_message_id).value_or(""));
      trx[i]->respond(*d);
      if (sent_tx.count(id) != 0) {
        tx_seen.insert(id);
        continue;
      }
      CHECK_MESSAGE(sent[i].count(id) == 1, "session " << i << " got another session's " << id);
      own.insert(id);
    }
  }
  // The transmitter's receipts all arrive, at the receivers.
  for (int k = 0; k < 60 && tx_seen.size() < sent_tx.size(); ++k) {
    EsmeClient& c = *trx[static_cast<size_t>(k) % trx.size()];
    ReceivedPtr d = c.read(200);  // bounded: 60 reads of at most 200 ms
    if (d != nullptr && d->id() == CommandId::deliver_sm) {
      c.respond(*d);
      tx_seen.insert(std::string(d->pdu.tlvs.text(codec::tag::receipted_message_id).value_or("")));
    }
  }
  CHECK(tx_seen == sent_tx);
}

TEST_CASE("a receipt that overtakes its submit_sm_resp is held, then delivered after it") {
  McsimProc mc({"--receipt-before-response"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  EsmeClient c;
  bindOk(c, gw.port());
  static const std::string kText = "early receipt";
  for (int i = 0; i < 10; ++i) {
    codec::Pdu p(CommandId::submit_sm, c.nextSeq());
    auto& b = p.as<codec::SmBody>();
    b.source_addr = "4477001";
    b.destination_addr = "4477002";
    b.registered_delivery = 1;
    b.short_message = codec::asBytes(kText);
    REQUIRE(c.send(p, 0x34));
    // The customer must learn the id (submit_sm_resp) before it sees a receipt for it.
    ReceivedPtr first = c.read(kWaitMs);
    REQUIRE(first != nullptr);
    REQUIRE_MESSAGE(first->id() == CommandId::submit_sm_resp,
                    "got " << static_cast<uint32_t>(first->id()) << " before the response");
    REQUIRE(first->status() == st::ESME_ROK);
    ReceivedPtr d = nextDeliver(c);
    REQUIRE(d != nullptr);
    CHECK(d->pdu.tlvs.text(codec::tag::receipted_message_id).value_or("") == messageId(first));
    c.respond(*d);
  }
}

TEST_CASE("routing by destination prefix to two carriers, and failover when one dies") {
  McsimProc uk, de;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"uk", uk.port()}, {"de", de.port()}});
  cfg["groups"] = json::array(
      {{{"name", "g-uk"},
        {"strategy", "failover"},
        {"members",
         {{{"upstream", "uk"}, {"priority", 1}}, {{"upstream", "de"}, {"priority", 2}}}}},
       {{"name", "g-de"}, {"members", {{{"upstream", "de"}}}}}});
  cfg["routes"] = json::array({{{"name", "de"},
                                {"match", {{"destination_prefixes", {"49"}}}},
                                {"action", {{"group", "g-de"}}}},
                               {{"name", "rest"}, {"action", {{"group", "g-uk"}}}}});
  GatewayProc gw(cfg);
  EsmeClient c;
  bindOk(c, gw.port());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c.submit("4477001", "4477009000" + std::to_string(i), "to uk", 0, kWaitMs)->status() ==
            st::ESME_ROK);
    REQUIRE(c.submit("4477001", "4930100000" + std::to_string(i), "to de", 0, kWaitMs)->status() ==
            st::ESME_ROK);
  }
  // The UK carrier dies: its traffic fails over to the second member.
  json uk_summary = uk.stop();
  CHECK(uk_summary["pdus_in"]["submit_sm"]["total"] == 5);
  bool failed_over = false;
  for (int i = 0; i < 100 && !failed_over; ++i) {
    ReceivedPtr r = c.submit("4477001", "447700900777", "after failover", 0, kWaitMs);
    REQUIRE(r != nullptr);
    failed_over = r->status() == st::ESME_ROK;
    if (!failed_over) {
      // Until the gateway has seen the close: the request fails with a defined status.
      CHECK((r->status() == st::ESME_RSYSERR || r->status() == st::ESME_RTHROTTLED));
    }
  }
  CHECK(failed_over);
  json de_summary = de.stop();
  CHECK(de_summary["pdus_in"]["submit_sm"]["total"].get<int>() >= 6);
}

TEST_CASE("MO messages from the carrier reach the customer by mo_routes") {
  McsimProc mc({"--mo-rate", "50", "--mo-count", "5", "--mo-to", "12345", "--mo-text", "STOP"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  EsmeClient c;
  bindOk(c, gw.port(), CommandId::bind_receiver);
  for (int i = 0; i < 5; ++i) {
    ReceivedPtr d = nextDeliver(c);
    REQUIRE(d != nullptr);
    const auto& sm = d->pdu.as<codec::SmBody>();
    CHECK((sm.esm_class & 0x3C) == 0);
    CHECK(sm.destination_addr == "12345");
    CHECK(codec::asString(sm.short_message) == "STOP");
    c.respond(*d);
  }
  json s = mc.stop();
  CHECK(s["mo"]["acked"] == 5);
}

TEST_CASE("upstream timeout, window overflow, and refusal statuses") {
  McsimProc slow({"--latency", "3s"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"slow", slow.port()}});
  cfg["upstreams"][0]["request_timeout"] = "300ms";
  cfg["customers"][0]["window"] = 2;
  GatewayProc gw(cfg);
  EsmeClient c;
  bindOk(c, gw.port());
  // Three submits at once with a window of two: the third is refused at once.
  std::vector<uint32_t> seqs;
  for (int i = 0; i < 3; ++i) {
    codec::Pdu p(CommandId::submit_sm, c.nextSeq());
    p.as<codec::SmBody>().destination_addr = "447700900123";
    REQUIRE(c.send(p));
    seqs.push_back(p.sequence_number);
  }
  std::map<uint32_t, uint32_t> status_by_seq;
  while (status_by_seq.size() < 3) {
    ReceivedPtr r = c.readUntil(CommandId::submit_sm_resp, kWaitMs);
    REQUIRE(r != nullptr);
    status_by_seq[r->seq()] = r->status();
  }
  CHECK(status_by_seq[seqs[2]] == st::ESME_RTHROTTLED);
  // The carrier never answers in time: the first two fail with ESME_RSYSERR (outcome unknown).
  CHECK(status_by_seq[seqs[0]] == st::ESME_RSYSERR);
  CHECK(status_by_seq[seqs[1]] == st::ESME_RSYSERR);
}

TEST_CASE("no carrier bound: ESME_RTHROTTLED, never a hang") {
  // An upstream that refuses connections (nothing listens on the port of a stopped mcsim).
  uint16_t dead_port;
  {
    McsimProc tmp;
    dead_port = tmp.port();
  }
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"dead", dead_port}}),
                 /*wait_for_upstreams=*/false);
  EsmeClient c;
  bindOk(c, gw.port());
  ReceivedPtr r = c.submit("4477001", "4477002", "nowhere to go", 0, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == st::ESME_RTHROTTLED);
}

TEST_CASE("garbage on one socket: generic_nack and close, other sessions unharmed") {
  McsimProc mc;
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  EsmeClient good, bad;
  bindOk(good, gw.port());
  bindOk(bad, gw.port());
  const uint8_t garbage[] = {0x00, 0x00, 0x00, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00,
                             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0xff, 0xff};
  REQUIRE(bad.sendRaw(garbage, sizeof garbage));
  ReceivedPtr nack = bad.readUntil(CommandId::generic_nack, kWaitMs);
  REQUIRE(nack != nullptr);
  CHECK(nack->status() == st::ESME_RINVCMDLEN);
  CHECK(nack->seq() == 0x2a);
  CHECK(bad.waitClosed(kWaitMs));
  // An unknown command id with a sane length: nack, and the session goes on.
  uint8_t unknown[16] = {0, 0, 0, 16, 0, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 7};
  REQUIRE(good.sendRaw(unknown, sizeof unknown));
  nack = good.readUntil(CommandId::generic_nack, kWaitMs);
  REQUIRE(nack != nullptr);
  CHECK(nack->status() == st::ESME_RINVCMDID);
  ReceivedPtr r = good.submit("4477001", "4477002", "still fine", 0, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == st::ESME_ROK);
  // A malformed body: the command's own response with the field's status.
  codec::Pdu p(CommandId::submit_sm, good.nextSeq());
  p.as<codec::SmBody>().source_addr = "0123456789012345678901234";  // > 20 characters
  REQUIRE(good.send(p));
  r = good.readUntil(CommandId::submit_sm_resp, kWaitMs);
  REQUIRE(r != nullptr);
  CHECK(r->status() == st::ESME_RINVSRCADR);
}

TEST_CASE("unbind from the customer is answered once its requests are answered") {
  McsimProc mc({"--latency", "200ms"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  EsmeClient c;
  bindOk(c, gw.port());
  codec::Pdu p(CommandId::submit_sm, c.nextSeq());
  p.as<codec::SmBody>().destination_addr = "447700900123";
  REQUIRE(c.send(p));
  codec::Pdu u(CommandId::unbind, c.nextSeq());
  REQUIRE(c.send(u));
  ReceivedPtr first = c.read(kWaitMs);
  REQUIRE(first != nullptr);
  CHECK(first->id() == CommandId::submit_sm_resp);  // the pending answer comes first
  CHECK(first->status() == st::ESME_ROK);
  ReceivedPtr ur = c.readUntil(CommandId::unbind_resp, kWaitMs);
  REQUIRE(ur != nullptr);
  CHECK(ur->seq() == u.sequence_number);
  CHECK(c.waitClosed(kWaitMs));
}

TEST_CASE("graceful shutdown with traffic in flight: every request answered, then unbind") {
  McsimProc mc({"--latency", "300ms"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  EsmeClient c;
  bindOk(c, gw.port());
  std::set<uint32_t> pending;
  for (int i = 0; i < 20; ++i) {
    codec::Pdu p(CommandId::submit_sm, c.nextSeq());
    p.as<codec::SmBody>().destination_addr = "447700900123";
    REQUIRE(c.send(p));
    pending.insert(p.sequence_number);
  }
  // The gateway handles a connection's PDUs in order: once this enquire_link is answered, all
  // twenty submits are with the carrier (300 ms latency), i.e. in flight.
  codec::Pdu el(CommandId::enquire_link, c.nextSeq());
  REQUIRE(c.send(el));
  REQUIRE(c.readUntil(CommandId::enquire_link_resp, kWaitMs) != nullptr);
  REQUIRE(gw.proc().signal(SIGTERM));
  bool unbound = false;
  while (!pending.empty() || !unbound) {
    ReceivedPtr r = c.read(kWaitMs);
    REQUIRE_MESSAGE(r != nullptr, pending.size() << " requests unanswered");
    if (r->id() == CommandId::submit_sm_resp) {
      CHECK(r->status() == st::ESME_ROK);
      pending.erase(r->seq());
    } else if (r->id() == CommandId::unbind) {
      CHECK(pending.empty());  // unbind only after every answer
      // Shutdown has begun: a submit that crosses the gateway's unbind (sent before we answer
      // it) gets "retry later" (docs/architecture.md: gateway shutting down, ESME_RTHROTTLED)...
      codec::Pdu late(CommandId::submit_sm, c.nextSeq());
      late.as<codec::SmBody>().destination_addr = "447700900123";
      REQUIRE(c.send(late));
      ReceivedPtr lr = c.readUntil(CommandId::submit_sm_resp, kWaitMs);
      REQUIRE(lr != nullptr);
      CHECK(lr->seq() == late.sequence_number);
      CHECK(lr->status() == st::ESME_RTHROTTLED);
      // ... and a new connection is refused: the listeners closed before the unbind was sent.
      EsmeClient newcomer;
      CHECK_FALSE(newcomer.connect("127.0.0.1", gw.port(), kWaitMs));
      REQUIRE(c.respond(*r));
      unbound = true;
    }
  }
  CHECK(c.waitClosed(kWaitMs));  // our unbind_resp ends the session
  REQUIRE(gw.proc().wait(10s));
  CHECK(gw.proc().exitCode() == 0);
}

TEST_CASE("smpp-bench through the gateway: 2,000 submits, every receipt matched") {
  McsimProc mc({"--receipt-delay-ms", "10"});
  GatewayProc gw(smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}}));
  auto run = smppgw::testsupport::runBench(
      gw.port(), {"--system-id", "acme", "--password", "secret", "--count", "2000", "--receipts",
                  "--sessions", "2", "--window", "10", "--mix", "realistic"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(run.report["responses"] == run.report["submitted"]);
  CHECK(run.report["receipts"]["missing"] == 0);
  CHECK(run.report["receipts"]["unmatched"] == 0);
  CHECK(run.report["receipts"]["matched"] == run.report["receipts"]["expected"]);
}

TEST_CASE("smppgw decode: JSON per PDU; a bad PDU prints the answer and exits 1") {
  smppgw::testsupport::ChildProcess p;
  REQUIRE(p.start(smppgw::testsupport::binaryPath("gateway/smppgw"),
                  {"decode",
                   "0x0000002a 00000002 00000000 00000001 736d7070636c69656e7431 00 "
                   "70617373776f726400 00 34 00 00 00"}));
  REQUIRE(p.wait(10s));
  CHECK(p.exitCode() == 0);
  json j = json::parse(p.out());
  CHECK(j["command"] == "bind_transmitter");
  CHECK(j["system_id"] == "smppclient1");
  CHECK(j["interface_version"] == 0x34);

  smppgw::testsupport::ChildProcess bad;
  REQUIRE(bad.start(smppgw::testsupport::binaryPath("gateway/smppgw"),
                    {"decode", "000000100000009900000000000000cb"}));
  REQUIRE(bad.wait(10s));
  CHECK(bad.exitCode() == 1);
  json e = json::parse(bad.out());
  CHECK(e["error"] == "unknown_command_id");
  CHECK(e["response"]["command"] == "generic_nack");
  CHECK(e["response"]["status_name"] == "ESME_RINVCMDID");
}

TEST_CASE("SIGHUP reload: new customers and routes apply live; a bad file changes nothing") {
  McsimProc mc;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  GatewayProc gw(cfg);
  auto rewrite = [&](const json& j) {
    std::ofstream f(gw.configPath(), std::ios::trunc);
    f << j.dump(2);
  };
  EsmeClient acme;
  bindOk(acme, gw.port());
  {
    EsmeClient beta;
    REQUIRE(beta.connect("127.0.0.1", gw.port()));
    CHECK(beta.bind(CommandId::bind_transceiver, "beta", "b", 0x34, kWaitMs)->status() ==
          st::ESME_RINVSYSID);
  }
  // 1. A new customer and a reject route for one prefix.
  cfg["customers"].push_back({{"system_id", "beta"}, {"password", "b"}});
  cfg["routes"] = json::array({{{"name", "blocked"},
                                {"match", {{"destination_prefixes", {"999"}}}},
                                {"action", {{"reject", "ESME_RINVDSTADR"}}}},
                               {{"name", "all"}, {"action", {{"group", "main"}}}}});
  rewrite(cfg);
  REQUIRE(gw.proc().signal(SIGHUP));
  REQUIRE_MESSAGE(gw.waitForLog("event=reload_ok", 1), gw.proc().err());
  EsmeClient beta;
  bindOk(beta, gw.port(), CommandId::bind_transceiver, "beta", "b");
  // The session bound before the reload uses the new routes at once.
  CHECK(acme.submit("4477001", "9991234", "blocked now", 0, kWaitMs)->status() ==
        st::ESME_RINVDSTADR);
  CHECK(acme.submit("4477001", "4477002", "still fine", 0, kWaitMs)->status() == st::ESME_ROK);

  // 2. A broken file: every error logged, the running config stays.
  {
    std::ofstream f(gw.configPath(), std::ios::trunc);
    f << R"({"listeners": [], "routes": [{"action": {"group": "nope"}}]})";
  }
  REQUIRE(gw.proc().signal(SIGHUP));
  REQUIRE_MESSAGE(gw.waitForLog("event=reload_failed", 1), gw.proc().err());
  CHECK(gw.proc().err().find("event=reload_error") != std::string::npos);
  CHECK(beta.submit("4477001", "4477002", "old config serves", 0, kWaitMs)->status() ==
        st::ESME_ROK);

  // 3. A listener change cannot apply live: refused as a whole.
  json moved = cfg;
  moved["listeners"][0]["port"] = 1;
  rewrite(moved);
  REQUIRE(gw.proc().signal(SIGHUP));
  REQUIRE_MESSAGE(gw.waitForLog("event=reload_refused", 1), gw.proc().err());
  CHECK(acme.submit("4477001", "9991234", "rules unchanged", 0, kWaitMs)->status() ==
        st::ESME_RINVDSTADR);

  // 4. Removing a customer unbinds its sessions cleanly.
  cfg["customers"].erase(cfg["customers"].begin() + 1);  // beta
  rewrite(cfg);
  REQUIRE(gw.proc().signal(SIGHUP));
  REQUIRE_MESSAGE(gw.waitForLog("event=reload_ok", 2), gw.proc().err());
  ReceivedPtr u = beta.readUntil(CommandId::unbind, kWaitMs);
  REQUIRE(u != nullptr);
  beta.respond(*u);
  CHECK(beta.waitClosed(kWaitMs));
  CHECK(acme.submit("4477001", "4477002", "acme unaffected", 0, kWaitMs)->status() == st::ESME_ROK);
}
