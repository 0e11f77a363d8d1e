// The durable store end to end: a real gateway (store.type: embedded, in a directory the test
// makes) between test customers and a real smpp-mcsim that sends receipts seconds later. The
// gateway is killed (-9) or stopped (SIGTERM) while receipts are still due and started again on
// the same store: every message a customer got a gateway id for must bring that customer exactly
// one receipt with that id (at-least-once: a receipt whose acknowledgement a kill cut off comes
// again, counted), and no receipt may reach another customer.

#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codec/bytes.h"
#include "codec/pdu.h"
#include "tests/support/esme_client.h"
#include "tests/support/metric_wait.h"
#include "tests/support/peers.h"
#include "tests/support/prometheus.h"

namespace fs = std::filesystem;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::metric;
using smppgw::testsupport::metricAtLeast;
using smppgw::testsupport::metricAtMost;
using smppgw::testsupport::ReceivedPtr;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("smppgw-store-sys-" + std::to_string(::getpid()) + "-" + std::to_string(next()++));
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& next() {
    static int n = 0;
    return n;
  }
};

json durableConfig(uint16_t mc_port, const fs::path& store) {
  json c = smppgw::testsupport::baseGatewayConfig({{"mc", mc_port}});
  c["customers"].push_back(
      {{"system_id", "beta"}, {"password", "secret2"}, {"window", 50}, {"max_binds", 4}});
  // The journal in the test's directory (a kill -9 leaves it behind; TempDir removes it).
  c["store"] = {{"type", "embedded"},
                {"path", (store / "db").string()},
                {"journal", (store / "journal").string()}};
  c["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  return c;
}

// What one customer saw across every gateway process.
struct Ledger {
  Ledger(std::string id, std::string pw) : system_id(std::move(id)), password(std::move(pw)) {}
  std::string system_id, password;
  std::set<std::string> answered;       // gateway ids from submit_sm_resp
  std::map<std::string, int> receipts;  // receipted_message_id -> times received
  uint64_t submitted = 0;

  size_t missing() const {
    size_t n = 0;
    for (const auto& id : answered) {
      n += receipts.count(id) == 0 ? 1 : 0;
    }
    return n;
  }
  int duplicates() const {
    int n = 0;
    for (const auto& [id, times] : receipts) {
      n += times - 1;
    }
    return n;
  }
};

// How many mappings a start read back from the store to index them
// (store_mappings_restored reindexed=N): those are in memory again, where the receipts
// redelivered after a restart find them.
long reindexed(GatewayProc& gw) {
  if (!gw.waitForLog("event=store_mappings_restored")) {
    return -1;
  }
  const std::string log = gw.proc().err();
  const std::string tag = "event=store_mappings_restored reindexed=";
  const size_t at = log.find(tag);
  return at == std::string::npos ? -1 : std::stol(log.substr(at + tag.size()));
}

bool bindTo(EsmeClient& c, uint16_t port, const Ledger& l) {
  if (!c.connect("127.0.0.1", port)) {
    return false;
  }
  auto r = c.bind(CommandId::bind_transceiver, l.system_id, l.password);
  return r != nullptr && r->status() == 0;
}

// Handles one PDU from the gateway; false if it was not one of ours to handle.
void take(EsmeClient& c, const ReceivedPtr& r, Ledger& l) {
  if (r->id() == CommandId::submit_sm_resp) {
    if (r->status() == 0) {
      l.answered.insert(std::string(r->pdu.as<smppgw::codec::MessageIdBody>().message_id));
    }
  } else if (r->id() == CommandId::deliver_sm) {
    ++l.receipts[std::string(
        r->pdu.tlvs.text(smppgw::codec::tag::receipted_message_id).value_or("?"))];
    c.respond(*r);
  } else if (r->id() == CommandId::enquire_link) {
    c.respond(*r);
  }
}

// Submits with up to `window` outstanding (registered_delivery=1) until `count` are sent and
// answered or the gateway goes away, taking receipts as they come.
void submitLoop(EsmeClient& c, Ledger& l, size_t count, size_t window,
                const std::atomic<bool>* stop = nullptr) {
  size_t sent = 0, answered = 0;
  while (answered < count) {
    if (stop != nullptr && stop->load()) {
      return;
    }
    while (sent < count && sent - answered < window) {
      smppgw::codec::Pdu p(CommandId::submit_sm, c.nextSeq());
      auto& b = p.as<smppgw::codec::SmBody>();
      b.source_addr = "12345";
      b.dest_addr_ton = 1;
      b.dest_addr_npi = 1;
      b.destination_addr = "4477001";
      b.registered_delivery = 1;
      b.short_message = smppgw::codec::asBytes("durable");
      if (!c.send(p)) {
        return;
      }
      ++sent;
      ++l.submitted;
    }
    ReceivedPtr r = c.read(5000);
    if (r == nullptr) {
      return;  // killed (EOF) or silent
    }
    answered += r->id() == CommandId::submit_sm_resp ? 1 : 0;
    take(c, r, l);
  }
}

// Reads receipts until every answered id of every ledger has one (bounded).
void collect(std::vector<EsmeClient*> clients, std::vector<Ledger*> ledgers, int bound_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(bound_ms);
  for (;;) {
    bool all = true;
    for (Ledger* l : ledgers) {
      all = all && l->missing() == 0;
    }
    if (all || std::chrono::steady_clock::now() > deadline) {
      return;
    }
    for (size_t i = 0; i < clients.size(); ++i) {
      while (ReceivedPtr r = clients[i]->read(20)) {
        take(*clients[i], r, *ledgers[i]);
      }
    }
  }
}

}  // namespace

TEST_CASE(
    "kill -9 at 5 random moments under load: every id answered gets its receipt, to its "
    "own customer") {
  // Receipts 1.5 s after each response: most of them are due after the kill that follows.
  McsimProc mc(
      {"--receipt-delay-ms", "1500", "--retry-temporary", "200ms", "--max-attempts", "1000"});
  TempDir dir;
  json cfg = durableConfig(mc.port(), dir.path);
  cfg["store"]["journal"] = "/dev/shm";  // the default: where production runs it
  Ledger acme{"acme", "secret"}, beta{"beta", "secret2"};
  std::mt19937 rng(20261205);
  int kills = 0;
  for (int round = 0; round < 5; ++round) {
    GatewayProc gw(cfg);
    EsmeClient ca, cb;
    REQUIRE(bindTo(ca, gw.port(), acme));
    REQUIRE(bindTo(cb, gw.port(), beta));
    std::atomic<bool> stop{false};
    std::thread ta([&] { submitLoop(ca, acme, 1'000'000, 20, &stop); });
    std::thread tb([&] { submitLoop(cb, beta, 1'000'000, 20, &stop); });
    // The random moment (not a synchronisation: any time under load will do).
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 600));
    REQUIRE(gw.proc().signal(SIGKILL));
    ++kills;
    stop = true;
    ta.join();
    tb.join();
    REQUIRE(gw.proc().wait(std::chrono::seconds(5)));
  }
  REQUIRE(acme.answered.size() > 500);
  REQUIRE(beta.answered.size() > 500);

  // Started once more on the same store: both customers bind and get what is still due.
  GatewayProc gw(cfg);
  EsmeClient ca, cb;
  REQUIRE(bindTo(ca, gw.port(), acme));
  REQUIRE(bindTo(cb, gw.port(), beta));
  collect({&ca, &cb}, {&acme, &beta}, 60'000);
  for (Ledger* l : {&acme, &beta}) {
    CAPTURE(l->system_id);
    CHECK(l->missing() == 0);
    // No receipt for an id this customer never got from... another customer's ids.
    const Ledger& other = l == &acme ? beta : acme;
    for (const auto& [id, times] : l->receipts) {
      CHECK_MESSAGE(other.answered.count(id) == 0,
                    "receipt " << id << " went to the wrong customer");
    }
    MESSAGE(l->system_id << ": " << l->submitted << " submitted, " << l->answered.size()
                         << " answered with an id, " << l->receipts.size() << " distinct receipts, "
                         << l->duplicates() << " again after a kill cut off their acknowledgement");
    // At-least-once: a duplicate only where a kill cut an acknowledgement off (at most the
    // deliveries in flight at each kill).
    CHECK(l->duplicates() <= kills * 100);
  }
  CHECK(reindexed(gw) > 0);
  // (What a kill leaves in the journal is written at the next start: the test below makes sure
  // there is some; here it depends on the moment.)
  const std::string log = gw.proc().err();
  const size_t at = log.find("journal=/dev/shm/");
  REQUIRE(at != std::string::npos);
  const fs::path journal = log.substr(at + 8, log.find(' ', at) - at - 8);
  CHECK(gw.stop() == 0);
  CHECK_FALSE(fs::exists(journal));  // a clean stop with everything written removes it
  fs::remove(journal);
}

TEST_CASE("SIGTERM with receipts still due, then a restart: no receipt is lost") {
  McsimProc mc(
      {"--receipt-delay-ms", "3000", "--retry-temporary", "200ms", "--max-attempts", "1000"});
  TempDir dir;
  const json cfg = durableConfig(mc.port(), dir.path);
  Ledger acme{"acme", "secret"};
  {
    GatewayProc gw(cfg);
    EsmeClient c;
    REQUIRE(bindTo(c, gw.port(), acme));
    submitLoop(c, acme, 3000, 50);
    REQUIRE(acme.answered.size() == 3000);
    // Counters are published on the gateway's 100 ms tick: wait for it (bounded).
    CHECK(metricAtLeast(gw, "smppgw_store_writes_total{result=\"ok\"}", 3000));
    CHECK(metric(gw, "smppgw_store_writes_total{result=\"failed\"}") == 0);
    // A deploy: most receipts are still 3 s away.
    c.close();
    CHECK(gw.stop() == 0);
  }
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(bindTo(c, gw.port(), acme));
  collect({&c}, {&acme}, 30'000);
  CHECK(acme.missing() == 0);
  CHECK(acme.duplicates() == 0);
  CHECK(reindexed(gw) > 0);
}

TEST_CASE(
    "an offline customer gets every receipt and MO once it binds, in order, across a "
    "restart; what it leaves unanswered comes again") {
  McsimProc mc({"--receipt-delay-ms", "20", "--mo-rate", "200", "--mo-count", "100", "--mo-from",
                "447700900000-447700900099"});
  TempDir dir;
  const json cfg = durableConfig(mc.port(), dir.path);
  std::vector<std::string> ids;  // in submission order
  {
    GatewayProc gw(cfg);
    // Submits over a transmitter: nobody can receive for acme during the whole run.
    EsmeClient tx;
    REQUIRE(tx.connect("127.0.0.1", gw.port()));
    REQUIRE(tx.bind(CommandId::bind_transmitter, "acme", "secret")->status() == 0);
    for (int i = 0; i < 300; ++i) {
      auto r = tx.submit("12345", "4477001", "offline " + std::to_string(i), 1);
      REQUIRE(r != nullptr);
      REQUIRE(r->status() == 0);
      ids.emplace_back(r->pdu.as<smppgw::codec::MessageIdBody>().message_id);
    }
    // Every receipt and MO is in acme's outbox, and the carrier has its ESME_ROK for each.
    CHECK(metricAtLeast(gw, "smppgw_deliveries_total{customer=\"acme\",result=\"stored\"}", 400));
    CHECK(metricAtLeast(gw, "smppgw_deliveries_pending{customer=\"acme\"}", 400));
    CHECK(gw.stop() == 0);
  }
  const nlohmann::json mcs = mc.stop();
  CHECK(mcs["receipts"]["acked"] == 300);
  CHECK(mcs["mo"]["acked"] == 100);

  // The carrier is gone too: what acme gets now comes from the store alone.
  GatewayProc gw(cfg, /*wait_for_upstreams=*/false);
  std::vector<std::string> receipts;  // receipted ids, in arrival order, answered
  size_t mo = 0;                      // answered (their numbers are random: not told apart)
  {
    // A receiver that takes 10 deliveries and leaves without answering them.
    EsmeClient rx;
    REQUIRE(rx.connect("127.0.0.1", gw.port()));
    REQUIRE(rx.bind(CommandId::bind_receiver, "acme", "secret")->status() == 0);
    for (int i = 0; i < 10; ++i) {
      REQUIRE(rx.readUntil(CommandId::deliver_sm, 5000) != nullptr);  // never answered
    }
  }
  EsmeClient rx;
  REQUIRE(rx.connect("127.0.0.1", gw.port()));
  REQUIRE(rx.bind(CommandId::bind_receiver, "acme", "secret")->status() == 0);
  size_t got = 0;
  while (got < 400) {
    ReceivedPtr r = rx.read(5000);
    REQUIRE_MESSAGE(r != nullptr, got << " of 400 deliveries");
    if (r->id() != CommandId::deliver_sm) {
      rx.respond(*r);
      continue;
    }
    ++got;
    const auto& sm = r->pdu.as<smppgw::codec::SmBody>();
    if ((sm.esm_class & 0x3C) == 0x04) {
      receipts.emplace_back(
          r->pdu.tlvs.text(smppgw::codec::tag::receipted_message_id).value_or(""));
    } else {
      ++mo;
    }
    REQUIRE(rx.respond(*r));
  }
  // Each once (the 10 left unanswered came again, answered this time), receipts in the order
  // the carrier sent them: the order of the submits.
  CHECK(receipts == ids);
  CHECK(mo == 100);
  CHECK(metricAtLeast(gw, "smppgw_deliveries_total{customer=\"acme\",result=\"acked\"}", 400));
  CHECK(metricAtLeast(gw, "smppgw_deliveries_total{customer=\"acme\",result=\"redelivered\"}", 10));
  // Acknowledged means gone: a new receiver gets nothing more.
  CHECK(metricAtLeast(gw, "smppgw_store_writes_total{result=\"ok\"}", 400));
  CHECK(metricAtMost(gw, "smppgw_deliveries_pending{customer=\"acme\"}", 0));
}

namespace {

json forwardConfig(uint16_t mc_port, const fs::path& store) {
  json c = durableConfig(mc_port, store);
  c["routing"] = {{"ack_mode", "store_and_forward"}};
  return c;
}

// Submits `n` messages (registered_delivery=1), each answered at once with a gateway id.
std::vector<std::string> submitAll(EsmeClient& c, int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    auto r = c.submit("12345", "4477001", "forward " + std::to_string(i), 1);
    REQUIRE(r != nullptr);
    REQUIRE(r->status() == 0);
    ids.emplace_back(r->pdu.as<smppgw::codec::MessageIdBody>().message_id);
  }
  return ids;
}

// Reads deliveries until `n` arrived (each answered); receipted id -> its receipt text.
std::map<std::string, std::vector<std::string>> readReceipts(EsmeClient& c, size_t n) {
  std::map<std::string, std::vector<std::string>> got;
  size_t count = 0;
  while (count < n) {
    ReceivedPtr r = c.read(10'000);
    REQUIRE_MESSAGE(r != nullptr, count << " of " << n << " receipts");
    if (r->id() != CommandId::deliver_sm) {
      c.respond(*r);
      continue;
    }
    const auto& sm = r->pdu.as<smppgw::codec::SmBody>();
    got[std::string(r->pdu.tlvs.text(smppgw::codec::tag::receipted_message_id).value_or(""))]
        .emplace_back(reinterpret_cast<const char*>(sm.short_message.data()),
                      sm.short_message.size());
    ++count;
    REQUIRE(c.respond(*r));
  }
  return got;
}

}  // namespace

TEST_CASE(
    "store_and_forward with the carrier down for 5 s: every message accepted at once, sent "
    "once when it is back, one final receipt each") {
  uint16_t port = 0;
  {
    McsimProc probe;  // a port of our own, free again once it stops
    port = probe.port();
  }
  TempDir dir;
  GatewayProc gw(forwardConfig(port, dir.path), /*wait_for_upstreams=*/false);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  const std::vector<std::string> ids = submitAll(c, 200);  // no carrier: answered anyway
  CHECK(metricAtLeast(gw, "smppgw_forward_queued{group=\"main\"}", 200));
  // The carrier is down for 5 s (the scenario, not a synchronisation), then comes back.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  McsimProc mc({"--listen", "127.0.0.1:" + std::to_string(port), "--receipt-delay-ms", "10"});
  const auto got = readReceipts(c, 200);
  for (const auto& id : ids) {
    REQUIRE(got.count(id) == 1);
    CHECK(got.at(id).size() == 1);
    CHECK(got.at(id)[0].find("stat:DELIVRD") != std::string::npos);
  }
  CHECK(
      metricAtLeast(gw, "smppgw_forward_messages_total{group=\"main\",result=\"delivered\"}", 200));
  CHECK(metricAtMost(gw, "smppgw_forward_queued{group=\"main\"}", 0));
  c.close();
  CHECK(gw.stop() == 0);
  const json s = mc.stop();
  CHECK(s["messages"]["accepted"] == 200);  // each once
}

TEST_CASE(
    "store_and_forward with a carrier that rejects: a REJECTD receipt with its error, "
    "for messages the customer had ids for") {
  McsimProc mc({"--error-rate", "1", "--error-status", "0x45"});  // ESME_RSUBMITFAIL: permanent
  TempDir dir;
  GatewayProc gw(forwardConfig(mc.port(), dir.path));
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  const std::vector<std::string> ids = submitAll(c, 50);
  const auto got = readReceipts(c, 50);
  for (const auto& id : ids) {
    REQUIRE(got.count(id) == 1);
    const std::string& text = got.at(id)[0];
    CHECK_MESSAGE(text.find("id:" + id) == 0, text);
    CHECK_MESSAGE(text.find("stat:REJECTD") != std::string::npos, text);
    CHECK_MESSAGE(text.find("err:069") != std::string::npos, text);
  }
  CHECK(metricAtLeast(gw, "smppgw_forward_messages_total{group=\"main\",result=\"rejected\"}", 50));
}

TEST_CASE("store_and_forward survives a kill -9 while the carrier is down") {
  uint16_t port = 0;
  {
    McsimProc probe;
    port = probe.port();
  }
  TempDir dir;
  const json cfg = forwardConfig(port, dir.path);
  std::vector<std::string> ids;
  {
    GatewayProc gw(cfg, false);
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
    ids = submitAll(c, 100);
    REQUIRE(gw.proc().signal(SIGKILL));
    REQUIRE(gw.proc().wait(std::chrono::seconds(5)));
  }
  McsimProc mc({"--listen", "127.0.0.1:" + std::to_string(port), "--receipt-delay-ms", "10"});
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  const auto got = readReceipts(c, 100);
  for (const auto& id : ids) {
    CHECK(got.count(id) == 1);
  }
  c.close();
  CHECK(gw.stop() == 0);
  CHECK(mc.stop()["messages"]["accepted"] == 100);
}

TEST_CASE(
    "store_and_forward: a queue longer than a lowered limits.max_queue_per_group is read back "
    "in parts after a restart, every message sent once") {
  uint16_t port = 0;
  {
    McsimProc probe;
    port = probe.port();
  }
  TempDir dir;
  json cfg = forwardConfig(port, dir.path);
  std::vector<std::string> ids;
  {
    GatewayProc gw(cfg, false);  // the carrier is down: everything stays queued
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
    ids = submitAll(c, 300);
    c.close();
    CHECK(gw.stop() == 0);
  }
  cfg["limits"]["max_queue_per_group"] = 100;
  McsimProc mc({"--listen", "127.0.0.1:" + std::to_string(port), "--receipt-delay-ms", "10"});
  GatewayProc gw(cfg);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  const auto got = readReceipts(c, 300);
  for (const auto& id : ids) {
    REQUIRE(got.count(id) == 1);
    CHECK(got.at(id).size() == 1);
  }
  CHECK(metricAtMost(gw, "smppgw_forward_queued{group=\"main\"}", 0));
  c.close();
  CHECK(gw.stop() == 0);
  CHECK(mc.stop()["messages"]["accepted"] == 300);
}

TEST_CASE("store.sync, store.batch_max and store.batch_delay act") {
  McsimProc mc;
  TempDir dir;
  json cfg = durableConfig(mc.port(), dir.path);
  cfg["store"]["sync"] = true;
  cfg["store"].erase("journal");  // (refused with sync: each batch is fsync'd before its answer)
  cfg["store"]["batch_max"] = 3;
  cfg["store"]["batch_delay"] = "200ms";  // a batch below batch_max waits this long
  GatewayProc gw(cfg);
  CHECK(gw.waitForLog("event=store_opened"));
  CHECK(gw.proc().err().find("sync=true") != std::string::npos);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transmitter, "acme", "secret")->status() == 0);
  // Alone, a submit's mapping waits batch_delay for company before it is written (a lower
  // bound: never flaky).
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.submit("12345", "4477001", "alone", 0, 5000);
  REQUIRE(r != nullptr);
  CHECK(r->status() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 >= std::chrono::milliseconds(200));
  // Thirty at once: no batch holds more than batch_max writes.
  for (int i = 0; i < 30; ++i) {
    smppgw::codec::Pdu p(CommandId::submit_sm, c.nextSeq());
    auto& b = p.as<smppgw::codec::SmBody>();
    b.source_addr = "12345";
    b.destination_addr = "4477001";
    b.short_message = smppgw::codec::asBytes("together");
    REQUIRE(c.send(p));
  }
  for (int i = 0; i < 30; ++i) {
    auto resp = c.readUntil(CommandId::submit_sm_resp, 5000);
    REQUIRE(resp != nullptr);
    CHECK(resp->status() == 0);
  }
  REQUIRE(metricAtLeast(gw, "smppgw_store_writes_total{result=\"ok\"}", 31));
  const double writes = metric(gw, "smppgw_store_writes_total{result=\"ok\"}");
  CHECK(metric(gw, "smppgw_store_batches_total") * 3 >= writes);
}

TEST_CASE(
    "the journal: submits answered from it are not lost when the process dies before the store "
    "has them") {
  // The disk "full" (store.min_free_bytes beyond any disk): the store refuses every commit, so
  // what was answered exists only in the journal when the gateway is killed.
  McsimProc mc({"--receipt-delay-ms", "2000", "--retry-temporary", "200ms"});
  TempDir dir;
  json cfg = durableConfig(mc.port(), dir.path);
  json full = cfg;
  full["store"]["min_free_bytes"] = uint64_t{1} << 49;  // 512 TiB
  std::set<std::string> answered;
  {
    GatewayProc gw(full);
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
    // Until the store says it cannot write: those before are answered (from the journal), the
    // rest refused (ESME_RSYSERR), none left unanswered.
    int refused = 0;
    for (int i = 0; i < 200 && refused == 0; ++i) {
      auto r = c.submit("12345", "4477001", "journal " + std::to_string(i), 1);
      REQUIRE(r != nullptr);
      if (r->status() == 0) {
        answered.insert(std::string(r->pdu.as<smppgw::codec::MessageIdBody>().message_id));
      } else {
        CHECK(r->status() == 0x08);
        ++refused;
      }
    }
    REQUIRE_FALSE(answered.empty());
    CHECK(refused == 1);
    CHECK(metric(gw, "smppgw_store_writes_total{result=\"ok\"}") <= 0);
    REQUIRE(gw.proc().signal(SIGKILL));
    REQUIRE(gw.proc().wait(std::chrono::seconds(5)));
  }
  // Room again: the next start writes what the journal holds before it serves.
  GatewayProc gw(cfg);
  REQUIRE(gw.waitForLog("event=store_opened"));
  CHECK(gw.proc().err().find("replayed=0 ") == std::string::npos);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  const auto got = readReceipts(c, answered.size());
  for (const auto& id : answered) {
    CHECK(got.count(id) == 1);
  }
  CHECK(reindexed(gw) > 0);
}

TEST_CASE(
    "carrier-id entries: written 10 s after acceptance for messages whose final receipt has not "
    "come, skipped for those whose has; the mark means a restart indexes nothing again") {
  // Half the receipts are ENROUTE (not final: more may come, the entry is needed).
  McsimProc mc({"--receipt-states", "ENROUTE=1,DELIVRD=1"});
  TempDir dir;
  const json cfg = durableConfig(mc.port(), dir.path);
  {
    GatewayProc gw(cfg);
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
    const std::vector<std::string> ids = submitAll(c, 200);
    const auto got = readReceipts(c, 200);
    size_t enroute = 0;
    for (const auto& id : ids) {
      REQUIRE(got.count(id) == 1);
      enroute += got.at(id)[0].find("stat:ENROUTE") != std::string::npos ? 1 : 0;
    }
    REQUIRE(enroute > 0);
    REQUIRE(enroute < 200);
    // Due 10 s after acceptance (a bound, not a synchronisation: the counters say when).
    CHECK(metricUntil(
        gw, "smppgw_store_index_total{result=\"written\"}",
        [&](double v) { return v == static_cast<double>(enroute); }, std::chrono::seconds(20)));
    CHECK(metricAtLeast(gw, "smppgw_store_index_total{result=\"skipped\"}",
                        static_cast<double>(200 - enroute)));
    c.close();
    CHECK(gw.stop() == 0);
  }
  GatewayProc gw(cfg);
  CHECK(reindexed(gw) == 0);
}

TEST_CASE("carrier-id entries written 10 s after acceptance find receipts after a restart") {
  // Receipts 13 s after acceptance: the entries are written at 10 s (no final receipt by then),
  // the gateway restarts at ~11 s with nothing to read back, and the receipts are looked up on
  // disk by carrier id.
  McsimProc mc({"--receipt-delay-ms", "13000", "--retry-temporary", "200ms"});
  TempDir dir;
  const json cfg = durableConfig(mc.port(), dir.path);
  std::vector<std::string> ids;
  {
    GatewayProc gw(cfg);
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
    ids = submitAll(c, 50);
    REQUIRE(metricUntil(
        gw, "smppgw_store_index_total{result=\"written\"}", [](double v) { return v >= 50; },
        std::chrono::seconds(12)));
    c.close();
    CHECK(gw.stop() == 0);
  }
  GatewayProc gw(cfg);
  CHECK(reindexed(gw) == 0);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  const auto got = readReceipts(c, ids.size());
  for (const auto& id : ids) {
    CHECK(got.count(id) == 1);
  }
  CHECK(metricAtLeast(gw, "smppgw_store_lookups_total{result=\"found\"}", 50));
}
