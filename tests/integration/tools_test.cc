// smpp-mcsim and smpp-bench as real processes on 127.0.0.1 ephemeral ports, checked through
// smpp-bench's JSON report, smpp-mcsim's JSON summary and the exact PDUs a blocking test client
// sees. Every wait is bounded and waits for an event (a port file, a PDU, an exit).

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "codec/command.h"
#include "codec/pdu.h"
#include "codec/receipt.h"
#include "codec/status.h"
#include "codec/tlv.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"
#include "tools/common/histogram.h"
#include "tools/common/id_map.h"
#include "tools/common/inflight.h"
#include "tools/common/random.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::BenchResult;
using smppgw::testsupport::ChildProcess;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::ReceivedPtr;
using smppgw::testsupport::runBench;
namespace codec = smppgw::codec;
namespace status = smppgw::codec::status;

namespace {

const std::string kMcsim = SMPPGW_BINARY_DIR "/tools/mcsim/smpp-mcsim";
const std::string kBench = SMPPGW_BINARY_DIR "/tools/bench/smpp-bench";
constexpr int kPduTimeoutMs = 3000;

uint64_t statusCount(const json& statuses, const std::string& name) {
  return statuses.contains(name) ? statuses[name].get<uint64_t>() : 0;
}

std::string bodyId(const ReceivedPtr& r) {
  if (const auto* b = r->pdu.tryAs<codec::MessageIdBody>()) {
    return std::string(b->message_id);
  }
  if (const auto* m = r->pdu.tryAs<codec::SubmitMultiRespBody>()) {
    return std::string(m->message_id);
  }
  return {};
}

ReceivedPtr connectAndBind(EsmeClient& c, uint16_t port,
                           CommandId bind = CommandId::bind_transceiver, uint8_t version = 0x34) {
  REQUIRE(c.connect("127.0.0.1", port));
  ReceivedPtr r = c.bind(bind, "tester", "pw", version, kPduTimeoutMs);
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == 0);
  return r;
}

codec::Pdu makeRequest(CommandId id, uint32_t seq) {
  return codec::Pdu(id, seq);
}

}  // namespace

TEST_CASE("bench -> mcsim: 1,000 submits with receipts, every one answered and matched") {
  McsimProc mc;
  BenchResult run =
      runBench(mc.port(), {"--count", "1000", "--receipts", "--sessions", "2", "--window", "10"});
  const json& r = run.report;
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(r["submitted"] == 1000);
  CHECK(r["responses"] == 1000);
  CHECK(statusCount(r["statuses"], "ESME_ROK") == 1000);
  CHECK(r["timeouts"] == 0);
  CHECK(r["receipts"]["expected"] == 1000);
  CHECK(r["receipts"]["matched"] == 1000);
  CHECK(r["receipts"]["missing"] == 0);
  CHECK(r["receipts"]["unmatched"] == 0);
  CHECK(r["latency_us"]["p50"].get<double>() > 0);
  CHECK(r["latency_us"]["p99"].get<double>() >= r["latency_us"]["p50"].get<double>());
  CHECK(r["binds"]["ok"] == 2);

  const json s = mc.stop();
  CHECK(s["binds"]["transceiver"] == 2);
  CHECK(s["pdus_in"]["submit_sm"]["total"] == 1000);
  CHECK(s["pdus_out"]["submit_sm_resp"]["status"]["ESME_ROK"] == 1000);
  CHECK(s["receipts"]["sent"] == 1000);
  CHECK(s["receipts"]["acked"] == 1000);
  CHECK(s["pdus_in"]["unbind"]["total"] == 2);  // the bench unbinds when done
}

TEST_CASE("mcsim sends exact bind_resp, submit_sm_resp and receipt PDUs") {
  McsimProc mc;
  EsmeClient c;
  ReceivedPtr bind = connectAndBind(c, mc.port());
  CHECK(bind->id() == CommandId::bind_transceiver_resp);
  CHECK(bind->pdu.as<codec::BindRespBody>().system_id == "mcsim");
  REQUIRE(bind->pdu.tlvs.integer(codec::tag::sc_interface_version).has_value());
  CHECK(*bind->pdu.tlvs.integer(codec::tag::sc_interface_version) == 0x34);

  const std::string text = "Hello from the integration test, longer than 20";
  ReceivedPtr resp = c.submit("447700900001", "447800000002", text, 1);
  REQUIRE(resp != nullptr);
  CHECK(resp->status() == 0);
  CHECK(resp->seq() == 2);
  const std::string id = bodyId(resp);
  REQUIRE(!id.empty());
  CHECK(id.find_first_not_of("0123456789") == std::string::npos);

  ReceivedPtr dlr = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
  REQUIRE(dlr != nullptr);
  REQUIRE_FALSE(dlr->error.has_value());
  const auto& b = dlr->pdu.as<codec::SmBody>();
  CHECK((b.esm_class & 0x3C) == 0x04);
  CHECK(b.source_addr == "447800000002");  // swapped: from the handset back to the sender
  CHECK(b.destination_addr == "447700900001");
  codec::Receipt receipt;
  REQUIRE(codec::parseReceipt(b.short_message, receipt));
  CHECK(receipt.id == id);
  CHECK(receipt.stat == "DELIVRD");
  CHECK(receipt.sub == "001");
  CHECK(receipt.dlvrd == "001");
  CHECK(receipt.err == "000");
  CHECK(receipt.text == text.substr(0, 20));
  codec::ReceiptDate d;
  CHECK(codec::parseReceiptDate(receipt.submit_date, d));
  CHECK(codec::parseReceiptDate(receipt.done_date, d));
  REQUIRE(dlr->pdu.tlvs.text(codec::tag::receipted_message_id).has_value());
  CHECK(*dlr->pdu.tlvs.text(codec::tag::receipted_message_id) == id);
  CHECK(dlr->pdu.tlvs.integer(codec::tag::message_state) == 2u);
  REQUIRE(c.respond(*dlr));

  // The message is final now: query_sm says DELIVERED with a final date.
  codec::Pdu q(CommandId::query_sm, c.nextSeq());
  q.as<codec::QuerySmBody>().message_id = id;
  REQUIRE(c.send(q));
  ReceivedPtr qr = c.readUntil(CommandId::query_sm_resp, kPduTimeoutMs);
  REQUIRE(qr != nullptr);
  CHECK(qr->status() == 0);
  CHECK(qr->pdu.as<codec::QuerySmRespBody>().message_state == 2);
  CHECK(qr->pdu.as<codec::QuerySmRespBody>().final_date.size() == 16);

  const uint32_t seq = c.nextSeq();
  REQUIRE(c.send(makeRequest(CommandId::enquire_link, seq)));
  ReceivedPtr el = c.readUntil(CommandId::enquire_link_resp, kPduTimeoutMs);
  REQUIRE(el != nullptr);
  CHECK(el->seq() == seq);

  REQUIRE(c.send(makeRequest(CommandId::unbind, c.nextSeq())));
  ReceivedPtr ub = c.readUntil(CommandId::unbind_resp, kPduTimeoutMs);
  REQUIRE(ub != nullptr);
  CHECK(ub->status() == 0);
  CHECK(c.waitClosed(kPduTimeoutMs));

  const json s = mc.stop();
  CHECK(s["receipts"]["acked"] == 1);
  CHECK(s["pdus_out"]["query_sm_resp"]["total"] == 1);
}

TEST_CASE("a v3.3 peer never receives a TLV: the receipt id is in the text only") {
  McsimProc mc;
  EsmeClient c;
  ReceivedPtr bind = connectAndBind(c, mc.port(), CommandId::bind_transceiver, 0x33);
  CHECK(bind->pdu.tlvs.empty());
  ReceivedPtr resp = c.submit("1111", "2222", "v33 message", 1);
  REQUIRE(resp != nullptr);
  ReceivedPtr dlr = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
  REQUIRE(dlr != nullptr);
  CHECK(dlr->pdu.tlvs.empty());
  codec::Receipt receipt;
  REQUIRE(codec::parseReceipt(dlr->pdu.as<codec::SmBody>().short_message, receipt));
  CHECK(receipt.id == bodyId(resp));
  c.respond(*dlr);
}

TEST_CASE("credentials, bind states and wrong-state requests") {
  McsimProc mc({"--account", "alice:pw1", "--account", "bob:pw2"});
  {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", mc.port()));
    // A submit before binding: ESME_RINVBNDSTS on the submit_sm_resp.
    ReceivedPtr early = c.submit("1", "2", "too early");
    REQUIRE(early != nullptr);
    CHECK(early->status() == status::ESME_RINVBNDSTS);
    ReceivedPtr r = c.bind(CommandId::bind_transmitter, "mallory", "pw1");
    REQUIRE(r != nullptr);
    CHECK(r->status() == status::ESME_RINVSYSID);
    r = c.bind(CommandId::bind_transmitter, "alice", "wrong");
    REQUIRE(r != nullptr);
    CHECK(r->status() == status::ESME_RINVPASWD);
    r = c.bind(CommandId::bind_transmitter, "alice", "pw1");
    REQUIRE(r != nullptr);
    CHECK(r->status() == 0);
    r = c.bind(CommandId::bind_transmitter, "alice", "pw1");
    REQUIRE(r != nullptr);
    CHECK(r->status() == status::ESME_RALYBND);
  }
  {
    // A receiver may not submit.
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", mc.port()));
    REQUIRE(c.bind(CommandId::bind_receiver, "bob", "pw2")->status() == 0);
    ReceivedPtr r = c.submit("1", "2", "rx cannot submit");
    REQUIRE(r != nullptr);
    CHECK(r->status() == status::ESME_RINVBNDSTS);
  }
  const json s = mc.stop();
  CHECK(s["binds"]["ok"] == 2);
  CHECK(s["binds"]["failed"] == 3);

  // The single-customer form (as deploy/demo.sh uses it).
  McsimProc single({"--system-id", "smppgw", "--password", "mcsim", "--mc-system-id", "carrier"});
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", single.port()));
  CHECK(c.bind(CommandId::bind_transceiver, "smppgw", "nope")->status() == status::ESME_RINVPASWD);
  CHECK(c.bind(CommandId::bind_transceiver, "other", "mcsim")->status() == status::ESME_RINVSYSID);
  ReceivedPtr ok = c.bind(CommandId::bind_transceiver, "smppgw", "mcsim");
  REQUIRE(ok != nullptr);
  CHECK(ok->status() == 0);
  CHECK(ok->pdu.as<codec::BindRespBody>().system_id == "carrier");
}

TEST_CASE("error and throttle injection show up in the statuses") {
  McsimProc mc({"--error-rate", "0.1", "--error-status", "ESME_RSUBMITFAIL", "--throttle-rate",
                "0.2", "--seed", "7"});
  BenchResult run = runBench(mc.port(), {"--count", "2000", "--window", "20"});
  const json& r = run.report;
  CHECK_MESSAGE(run.exit_code == 0, run.err);  // every submit was answered, errors or not
  CHECK(r["responses"] == 2000);
  const uint64_t ok = statusCount(r["statuses"], "ESME_ROK");
  const uint64_t failed = statusCount(r["statuses"], "ESME_RSUBMITFAIL");
  const uint64_t throttled = statusCount(r["statuses"], "ESME_RTHROTTLED");
  CHECK(ok + failed + throttled == 2000);
  CHECK(failed > 100);  // expected 200
  CHECK(failed < 320);
  CHECK(throttled > 280);  // expected 400
  CHECK(throttled < 540);
  const json s = mc.stop();
  CHECK(s["pdus_out"]["submit_sm_resp"]["status"]["ESME_RTHROTTLED"] == throttled);
  CHECK(s["messages"]["throttled"] == throttled);
  CHECK(s["messages"]["errors_injected"] == failed);
}

TEST_CASE("receipt-before-response: the receipt arrives first and the bench still matches it") {
  McsimProc mc({"--receipt-before-response"});
  {
    EsmeClient c;
    connectAndBind(c, mc.port());
    codec::Pdu p(CommandId::submit_sm, c.nextSeq());
    auto& b = p.as<codec::SmBody>();
    b.source_addr = "123";
    b.destination_addr = "456";
    b.registered_delivery = 1;
    b.short_message = codec::asBytes("receipt first");
    REQUIRE(c.send(p));
    ReceivedPtr first = c.read(kPduTimeoutMs);
    ReceivedPtr second = c.read(kPduTimeoutMs);
    REQUIRE(first != nullptr);
    REQUIRE(second != nullptr);
    CHECK(first->id() == CommandId::deliver_sm);
    CHECK(second->id() == CommandId::submit_sm_resp);
    CHECK(first->pdu.tlvs.text(codec::tag::receipted_message_id) == bodyId(second));
    c.respond(*first);
  }
  BenchResult run = runBench(mc.port(), {"--count", "500", "--receipts"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(run.report["receipts"]["matched"] == 500);
  CHECK(run.report["receipts"]["missing"] == 0);
}

TEST_CASE("decimal responses with hex receipts: ids are normalised and matched") {
  // 4096 is "1000" in hex: digits only, so the bench must try the hex reading.
  McsimProc mc({"--id-format", "dec", "--id-length", "10", "--receipt-id-format", "hex",
                "--id-start", "4096"});
  {
    EsmeClient c;
    connectAndBind(c, mc.port());
    ReceivedPtr resp = c.submit("1", "2", "id formats", 1);
    REQUIRE(resp != nullptr);
    CHECK(bodyId(resp) == "0000004096");
    ReceivedPtr dlr = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
    REQUIRE(dlr != nullptr);
    codec::Receipt receipt;
    REQUIRE(codec::parseReceipt(dlr->pdu.as<codec::SmBody>().short_message, receipt));
    CHECK(receipt.id == "0000001000");
    CHECK(dlr->pdu.tlvs.text(codec::tag::receipted_message_id) == "0000001000");
    c.respond(*dlr);
  }
  BenchResult run = runBench(mc.port(), {"--count", "300", "--receipts"});
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(run.report["receipts"]["matched"] == 300);
}

TEST_CASE("MO messages at a rate reach a bound receiver") {
  McsimProc mc({"--mo-rate", "200", "--mo-from", "447700900100-447700900199", "--mo-to", "5555",
                "--mo-text", "MO hello"});
  EsmeClient c;
  connectAndBind(c, mc.port(), CommandId::bind_receiver);
  for (int i = 0; i < 5; ++i) {
    ReceivedPtr mo = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
    REQUIRE(mo != nullptr);
    const auto& b = mo->pdu.as<codec::SmBody>();
    CHECK(b.esm_class == 0);
    CHECK(b.source_addr.size() == 12);
    CHECK(b.source_addr.substr(0, 10) == "4477009001");
    CHECK(b.destination_addr == "5555");
    CHECK(codec::asString(b.short_message) == "MO hello");
    REQUIRE(c.respond(*mo));
  }
  const json s = mc.stop();
  CHECK(s["mo"]["acked"].get<uint64_t>() >= 5);
}

TEST_CASE("query_sm, cancel_sm and replace_sm") {
  McsimProc mc({"--receipt-delay", "60s"});
  EsmeClient c;
  connectAndBind(c, mc.port());
  ReceivedPtr resp = c.submit("1", "2", "to be cancelled", 1);
  REQUIRE(resp != nullptr);
  const std::string id = bodyId(resp);

  auto query = [&](const std::string& qid) {
    codec::Pdu q(CommandId::query_sm, c.nextSeq());
    q.as<codec::QuerySmBody>().message_id = qid;
    REQUIRE(c.send(q));
    ReceivedPtr r = c.readUntil(CommandId::query_sm_resp, kPduTimeoutMs);
    REQUIRE(r != nullptr);
    return r;
  };
  auto cancel = [&](const std::string& cid) {
    codec::Pdu p(CommandId::cancel_sm, c.nextSeq());
    p.as<codec::CancelSmBody>().message_id = cid;
    REQUIRE(c.send(p));
    ReceivedPtr r = c.readUntil(CommandId::cancel_sm_resp, kPduTimeoutMs);
    REQUIRE(r != nullptr);
    return r->status();
  };
  auto replace = [&](const std::string& rid) {
    codec::Pdu p(CommandId::replace_sm, c.nextSeq());
    p.as<codec::ReplaceSmBody>().message_id = rid;
    p.as<codec::ReplaceSmBody>().short_message = codec::asBytes("replaced text");
    REQUIRE(c.send(p));
    ReceivedPtr r = c.readUntil(CommandId::replace_sm_resp, kPduTimeoutMs);
    REQUIRE(r != nullptr);
    return r->status();
  };

  ReceivedPtr q = query(id);
  CHECK(q->status() == 0);
  CHECK(q->pdu.as<codec::QuerySmRespBody>().message_id == id);
  CHECK(q->pdu.as<codec::QuerySmRespBody>().message_state == 1);  // ENROUTE
  CHECK(q->pdu.as<codec::QuerySmRespBody>().final_date.empty());

  CHECK(replace(id) == 0);
  CHECK(cancel(id) == 0);
  q = query(id);
  CHECK(q->pdu.as<codec::QuerySmRespBody>().message_state == 4);  // DELETED
  CHECK(q->pdu.as<codec::QuerySmRespBody>().final_date.size() == 16);
  CHECK(cancel(id) == status::ESME_RCANCELFAIL);
  CHECK(replace(id) == status::ESME_RREPLACEFAIL);

  CHECK(cancel("987654321") == status::ESME_RINVMSGID);
  CHECK(replace("987654321") == status::ESME_RINVMSGID);
  CHECK(query("987654321")->status() == status::ESME_RINVMSGID);
}

TEST_CASE("data_sm and submit_multi are answered with ids and receipts") {
  McsimProc mc;
  EsmeClient c;
  connectAndBind(c, mc.port());
  codec::Pdu d(CommandId::data_sm, c.nextSeq());
  auto& db = d.as<codec::DataSmBody>();
  db.source_addr = "111";
  db.destination_addr = "222";
  db.registered_delivery = 1;
  d.tlvs.addBytes(codec::tag::message_payload, codec::asBytes("payload text"));
  REQUIRE(c.send(d));
  ReceivedPtr dr = c.readUntil(CommandId::data_sm_resp, kPduTimeoutMs);
  REQUIRE(dr != nullptr);
  CHECK(dr->status() == 0);
  CHECK(!bodyId(dr).empty());
  ReceivedPtr dlr = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
  REQUIRE(dlr != nullptr);
  codec::Receipt receipt;
  REQUIRE(codec::parseReceipt(dlr->pdu.as<codec::SmBody>().short_message, receipt));
  CHECK(receipt.text == "payload text");
  c.respond(*dlr);

  codec::Pdu m(CommandId::submit_multi, c.nextSeq());
  auto& mb = m.as<codec::SubmitMultiBody>();
  mb.source_addr = "333";
  mb.dest_addresses.push_back(codec::DestAddress{1, 1, 1, "444"});
  mb.dest_addresses.push_back(codec::DestAddress{1, 1, 1, "555"});
  mb.registered_delivery = 1;
  mb.short_message = codec::asBytes("to two");
  REQUIRE(c.send(m));
  ReceivedPtr mr = c.readUntil(CommandId::submit_multi_resp, kPduTimeoutMs);
  REQUIRE(mr != nullptr);
  CHECK(mr->status() == 0);
  CHECK(mr->pdu.as<codec::SubmitMultiRespBody>().unsuccess_smes.empty());
  for (const char* from : {"444", "555"}) {
    ReceivedPtr r = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
    REQUIRE(r != nullptr);
    CHECK(r->pdu.as<codec::SmBody>().source_addr == from);
    c.respond(*r);
  }
}

TEST_CASE("garbage bytes get generic_nack and a close; an unknown command id only a nack") {
  McsimProc mc;
  {
    EsmeClient c;
    connectAndBind(c, mc.port());
    // A plausible length with an unknown command id: nacked, the session goes on.
    const uint8_t unknown[16] = {0, 0, 0, 16, 0, 0, 0x01, 0x7F, 0, 0, 0, 0, 0, 0, 0, 9};
    REQUIRE(c.sendRaw(unknown, sizeof unknown));
    ReceivedPtr nack = c.readUntil(CommandId::generic_nack, kPduTimeoutMs);
    REQUIRE(nack != nullptr);
    CHECK(nack->status() == status::ESME_RINVCMDID);
    CHECK(nack->seq() == 9);
    const uint32_t seq = c.nextSeq();
    REQUIRE(c.send(makeRequest(CommandId::enquire_link, seq)));
    REQUIRE(c.readUntil(CommandId::enquire_link_resp, kPduTimeoutMs) != nullptr);
  }
  {
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", mc.port()));
    const std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(c.sendRaw(garbage.data(), garbage.size()));
    ReceivedPtr nack = c.readUntil(CommandId::generic_nack, kPduTimeoutMs);
    REQUIRE(nack != nullptr);
    CHECK(nack->status() == status::ESME_RINVCMDLEN);
    CHECK(c.waitClosed(kPduTimeoutMs));
  }
  const json s = mc.stop();
  CHECK(s["framing_errors"] == 1);
}

TEST_CASE("SIGTERM: mcsim unbinds its sessions and prints its JSON summary") {
  McsimProc mc;
  EsmeClient c;
  connectAndBind(c, mc.port());
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.submit("10", "20", "before shutdown") != nullptr);
  }
  REQUIRE(mc.proc().signal(SIGTERM));
  ReceivedPtr unbind = c.readUntil(CommandId::unbind, kPduTimeoutMs);
  REQUIRE(unbind != nullptr);
  REQUIRE(c.respond(*unbind));
  CHECK(c.waitClosed(kPduTimeoutMs));
  REQUIRE(mc.proc().wait(10s));
  CHECK(mc.proc().exitCode() == 0);
  const json s = json::parse(mc.proc().out());
  CHECK(s["tool"] == "smpp-mcsim");
  CHECK(s["binds"]["ok"] == 1);
  CHECK(s["pdus_in"]["submit_sm"]["total"] == 3);
  CHECK(s["pdus_out"]["unbind"]["total"] == 1);
  CHECK(s["pdus_in"]["unbind_resp"]["total"] == 1);
}

TEST_CASE("bench mixes: long (UDH, 3 parts), ucs2, transmitter + receiver, one PDU per write") {
  McsimProc mc;
  BenchResult lng = runBench(mc.port(), {"--mix", "long", "--count", "300", "--receipts"});
  CHECK_MESSAGE(lng.exit_code == 0, lng.err);
  CHECK(lng.report["messages"] == 100);
  CHECK(lng.report["receipts"]["matched"] == 300);
  BenchResult ucs2 = runBench(mc.port(), {"--mix", "ucs2", "--count", "200"});
  CHECK_MESSAGE(ucs2.exit_code == 0, ucs2.err);
  BenchResult tx = runBench(mc.port(), {"--bind", "tx", "--sessions", "2", "--receipts", "--count",
                                        "400", "--one-pdu-per-write", "--mix", "realistic"});
  CHECK_MESSAGE(tx.exit_code == 0, tx.err);
  CHECK(tx.report["receipts"]["matched"] == 400);
  CHECK(tx.report["binds"]["ok"] == 4);
  // Every PDU written on its own: at least one write per submit_sm.
  CHECK(tx.report["loop"]["writes"].get<uint64_t>() >= 400);
  const json s = mc.stop();
  CHECK(s["binds"]["transmitter"] == 2);
  CHECK(s["binds"]["receiver"] == 2);
  CHECK(s["pdus_in"]["submit_sm"]["status"]["ESME_ROK"] == 900);
}

TEST_CASE("open loop at a rate, with lognormal MC latency, for a fixed duration") {
  McsimProc mc({"--latency", "lognormal:2ms:8ms"});
  BenchResult run = runBench(mc.port(), {"--rate", "1000", "--duration", "1s", "--window", "50"});
  const json& r = run.report;
  CHECK_MESSAGE(run.exit_code == 0, run.err);
  CHECK(r["config"]["mode"] == "open");
  CHECK(r["submitted"].get<uint64_t>() > 600);  // ~1000 expected
  CHECK(r["submitted"].get<uint64_t>() < 1500);
  CHECK(r["responses"] == r["submitted"]);
  CHECK(r["latency_us"]["p50"].get<double>() > 1500);  // the simulated 2 ms median
  CHECK(r["stop_reason"] == "duration reached");
}

TEST_CASE("unanswered submits are timeouts and make the bench exit 1") {
  McsimProc mc({"--latency", "5s"});
  BenchResult run = runBench(mc.port(), {"--count", "5", "--response-timeout", "300ms"});
  CHECK(run.exit_code == 1);
  CHECK(run.report["timeouts"] == 5);
  CHECK(run.report["responses"] == 0);
}

TEST_CASE("usage errors exit 2 and --help documents the options") {
  for (const auto& [tool, args, code] :
       std::vector<std::tuple<std::string, std::vector<std::string>, int>>{
           {kBench, {}, 2},
           {kBench, {"--connect", "127.0.0.1:1", "--mix", "nonsense"}, 2},
           {kMcsim, {"--bogus"}, 2},
           {kMcsim, {"--latency", "lognormal:5ms"}, 2},
           {kBench, {"--help"}, 0},
           {kMcsim, {"--help"}, 0}}) {
    ChildProcess p;
    REQUIRE(p.start(tool, args));
    REQUIRE(p.wait(10s));
    CHECK(p.exitCode() == code);
    if (code == 0) {
      const std::string help = p.out();
      for (const char* opt : {"--help", "--duration", "--window"}) {
        CHECK(help.find(opt) != std::string::npos);
      }
    }
  }
}

// The building blocks the two tools rest on (no processes needed).
TEST_CASE("tools/common: latency histogram, id map, in-flight ring, delay specs") {
  smppgw::tools::LatencyHistogram h;
  for (uint64_t v = 1; v <= 100000; ++v) {
    h.record(v * 1000);  // 1 us .. 100 ms in ns
  }
  CHECK(h.count() == 100000);
  CHECK(h.min() == 1000);
  CHECK(h.max() == 100000000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double exact = q * 100000 * 1000;
    const double got = static_cast<double>(h.quantile(q));
    CHECK(std::abs(got - exact) / exact < 0.016);  // log-linear, 64 sub-buckets: < 1.6 %
  }
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 1000ull, 123456789ull, ~0ull >> 1}) {
    const size_t i = smppgw::tools::LatencyHistogram::index(v);
    REQUIRE(i < smppgw::tools::LatencyHistogram::kBuckets);
    CHECK(smppgw::tools::LatencyHistogram::bucketLow(i) <= v);
    CHECK(v - smppgw::tools::LatencyHistogram::bucketLow(i) <
          smppgw::tools::LatencyHistogram::bucketWidth(i));
  }

  smppgw::tools::FlatIdMap<uint64_t> m(16);
  for (uint64_t i = 0; i < 5000; ++i) {
    REQUIRE(m.put('#' + std::to_string(i), i));
  }
  CHECK(m.size() == 5000);
  for (uint64_t i = 0; i < 5000; i += 2) {
    uint64_t v = 0;
    REQUIRE(m.take('#' + std::to_string(i), &v));
    CHECK(v == i);
  }
  for (uint64_t i = 0; i < 5000; ++i) {
    CHECK((m.find('#' + std::to_string(i)) != nullptr) == (i % 2 == 1));
  }
  CHECK_FALSE(m.put("", 1));

  smppgw::tools::InflightRing<int> ring(4);  // 16 slots
  auto* stuck = ring.allocate();
  const uint32_t stuck_seq = stuck->seq;
  for (int i = 0; i < 40; ++i) {  // wraps the ring: the stuck slot's numbers are skipped
    auto* s = ring.allocate();
    REQUIRE(s != nullptr);
    CHECK((s->seq & 15) != (stuck_seq & 15));
    ring.release(s);
  }
  CHECK(ring.oldest() == stuck);
  CHECK(ring.find(stuck_seq) == stuck);

  smppgw::tools::DelaySpec d;
  std::string err;
  REQUIRE(smppgw::tools::DelaySpec::parse("lognormal:2ms:20ms", d, err));
  smppgw::tools::Rng rng(3);
  smppgw::tools::LatencyHistogram lh;
  for (int i = 0; i < 20000; ++i) {
    lh.record(d.sampleUs(rng));
  }
  CHECK(lh.quantile(0.5) > 1800);
  CHECK(lh.quantile(0.5) < 2200);
  CHECK(lh.quantile(0.99) > 16000);
  CHECK(lh.quantile(0.99) < 24000);
  CHECK_FALSE(smppgw::tools::DelaySpec::parse("lognormal:5ms", d, err));
}

TEST_CASE("SIGTERM: in-flight deliver_sm are answered before mcsim unbinds") {
  McsimProc mc({"--mo-rate", "100", "--mo-count", "1", "--unbind-timeout", "10s"});
  EsmeClient c;
  connectAndBind(c, mc.port(), CommandId::bind_receiver);
  ReceivedPtr mo = c.readUntil(CommandId::deliver_sm, kPduTimeoutMs);
  REQUIRE(mo != nullptr);
  REQUIRE(mc.proc().signal(SIGTERM));
  // While our response is outstanding, no unbind comes (a short, bounded look for one).
  CHECK(c.read(200) == nullptr);
  REQUIRE(c.respond(*mo));
  ReceivedPtr unbind = c.readUntil(CommandId::unbind, kPduTimeoutMs);
  REQUIRE(unbind != nullptr);
  REQUIRE(c.respond(*unbind));
  REQUIRE(mc.proc().wait(10s));
  const json s = json::parse(mc.proc().out());
  CHECK(s["mo"]["acked"] == 1);
  CHECK(s["mo"]["failed"] == 0);
}

TEST_CASE("deliver_sm still unanswered when a session closes are counted unanswered_at_close") {
  McsimProc mc({"--mo-rate", "100", "--mo-count", "3"});
  EsmeClient c;
  connectAndBind(c, mc.port(), CommandId::bind_receiver);
  std::vector<ReceivedPtr> mos;
  for (int i = 0; i < 3; ++i) {
    mos.push_back(c.readUntil(CommandId::deliver_sm, kPduTimeoutMs));
    REQUIRE(mos.back() != nullptr);
  }
  REQUIRE(c.respond(*mos[0]));  // one answered; two left unanswered as the session goes
  c.close();
  const json s = mc.stop();
  CHECK(s["mo"]["sent"] == 3);
  CHECK(s["mo"]["acked"] == 1);
  CHECK(s["mo"]["failed"] == 2);
  CHECK(s["mo"]["unanswered_at_close"] == 2);
  CHECK(s["receipts"]["unanswered_at_close"] == 0);
}
