// Work that cannot progress must not block the carrier bind for everyone else: receipts that no
// mapping can ever match (sent for messages accepted before a crash) are answered at once, so new
// traffic's receipts keep flowing through the same carrier window; and a customer that cannot take
// its deliveries now (no receiver, a receiver that does not read) gets them answered
// ESME_RX_T_APPN to the carrier instead of holding the carrier's deliver_sm window for everyone.

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "codec/bytes.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/process.h"
#include "tests/support/prometheus.h"

using namespace std::chrono_literals;
using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::ReceivedPtr;

namespace {

using Clock = std::chrono::steady_clock;

long long msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void submitN(EsmeClient& c, int n) {
  for (int i = 0; i < n; ++i) {
    auto r = c.submit("12345", "4477009" + std::to_string(10000 + i), "hello", 1);
    REQUIRE(r);
    REQUIRE(r->status() == 0);
  }
}

// The sum of every sample of family `name` whose labels contain each of `labels` (e.g.
// `customer="B"`), whatever their order; -1 when no such series is exposed.
double metricSum(const std::string& body, const std::string& name,
                 const std::vector<std::string>& labels) {
  double sum = 0;
  bool found = false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find('\n', pos);
    if (eol == std::string::npos) {
      eol = body.size();
    }
    const std::string_view line(body.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.substr(0, name.size() + 1) != name + "{") {
      continue;
    }
    const size_t close = line.find("} ");
    if (close == std::string_view::npos) {
      continue;
    }
    const std::string_view set = line.substr(0, close);
    if (!std::all_of(labels.begin(), labels.end(),
                     [&](const std::string& l) { return set.find(l) != std::string_view::npos; })) {
      continue;
    }
    sum += std::stod(std::string(line.substr(close + 2)));
    found = true;
  }
  return found ? sum : -1;
}

// Polls the gateway's metrics (a 100 ms publisher) until `pred` holds or `timeout` runs out; the
// last value seen.
double waitMetric(uint16_t port, const std::string& name, const std::vector<std::string>& labels,
                  const std::function<bool(double)>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  double v = -1;
  for (;;) {
    v = metricSum(smppgw::test::httpGet("127.0.0.1", port, "/metrics").body, name, labels);
    if (pred(v) || Clock::now() >= deadline) {
      return v;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of the publisher
  }
}

double metricNow(uint16_t port, const std::string& name, const std::vector<std::string>& labels) {
  return waitMetric(
      port, name, labels, [](double) { return true; }, 0ms);
}

size_t logCount(const std::string& log, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = log.find(needle); pos != std::string::npos;
       pos = log.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

json customerEntry(const std::string& system_id, int window) {
  return {{"system_id", system_id}, {"password", "secret"}, {"window", window}, {"max_binds", 4}};
}

// The base config with metrics on, these extra customers (system_id, window) and MO routed by
// destination prefix to customers (prefix, system_id); anything else to "acme".
json isolationConfig(uint16_t mc_port, const std::vector<std::pair<std::string, int>>& customers,
                     const std::vector<std::pair<std::string, std::string>>& mo_routes) {
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc_port}});
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  // The default request timeout (the base config's 3 s would let a held delivery go after 3 s and
  // hide a carrier window held for that long).
  cfg["timers"]["response"] = "30s";
  // The default share (half the upstream window of 50): several customers share this bind.
  cfg["upstreams"][0].erase("customer_delivery_share");
  for (const auto& [id, window] : customers) {
    cfg["customers"].push_back(customerEntry(id, window));
  }
  json routes = json::array();
  for (const auto& [prefix, id] : mo_routes) {
    routes.push_back({{"name", "mo-" + id},
                      {"match", {{"destination_prefixes", json::array({prefix})}}},
                      {"action", {{"customer", id}}}});
  }
  routes.push_back({{"name", "mo-rest"}, {"action", {{"customer", "acme"}}}});
  cfg["mo_routes"] = routes;
  return cfg;
}

// A healthy customer: one transceiver that submits `n` messages asking for receipts, with up to
// kWindow outstanding, and answers every deliver_sm the moment it reads it.
class Sender {
 public:
  static constexpr int kWindow = 40;  // below the customer's window of 50

  Sender(std::string system_id, int n, std::string dst_prefix)
      : system_id_(std::move(system_id)), dst_prefix_(std::move(dst_prefix)), n_(n) {}

  bool start(uint16_t port) {
    if (!c_.connect("127.0.0.1", port)) {
      return false;
    }
    auto b = c_.bind(CommandId::bind_transceiver, system_id_, "secret");
    return b != nullptr && b->status() == 0;
  }

  // Sends what the window allows, then handles what arrives within `timeout_ms` (and whatever
  // else is already there).
  void step(int timeout_ms) {
    static const std::string kText = "hello";
    while (!broken_ && sent_ < n_ && sent_ - responses_ < kWindow) {
      const std::string dst = dst_prefix_ + std::to_string(100000 + sent_);
      smppgw::codec::Pdu p(CommandId::submit_sm, c_.nextSeq());
      auto& b = p.as<smppgw::codec::SmBody>();
      b.source_addr_ton = 1;
      b.source_addr_npi = 1;
      b.source_addr = "12345";
      b.dest_addr_ton = 1;
      b.dest_addr_npi = 1;
      b.destination_addr = dst;
      b.registered_delivery = 1;
      b.short_message = smppgw::codec::asBytes(kText);
      if (!c_.send(p)) {
        broken_ = true;
        return;
      }
      ++sent_;
    }
    for (int k = 0; k < 256; ++k) {
      ReceivedPtr r = c_.read(k == 0 ? timeout_ms : 0);
      if (r == nullptr) {
        broken_ = broken_ || c_.peerClosed();
        return;
      }
      switch (r->id()) {
        case CommandId::submit_sm_resp:
          ++responses_;
          accepted_ += r->status() == 0 ? 1 : 0;
          last_response_ = Clock::now();
          break;
        case CommandId::deliver_sm:
          c_.respond(*r);
          ++receipts_;
          last_receipt_ = Clock::now();
          break;
        case CommandId::enquire_link:
          c_.respond(*r);
          break;
        default:
          break;
      }
    }
  }

  bool submitted() const { return responses_ == n_; }
  bool done() const { return responses_ == n_ && receipts_ >= n_; }
  bool broken() const { return broken_; }
  const std::string& name() const { return system_id_; }
  int n() const { return n_; }
  int responses() const { return responses_; }
  int accepted() const { return accepted_; }
  int receipts() const { return receipts_; }
  Clock::time_point lastResponse() const { return last_response_; }
  // How long after the last submit_sm_resp the last receipt came (0 if before it, -1: none).
  long long receiptLagMs() const {
    if (receipts_ == 0) {
      return -1;
    }
    return std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(last_receipt_ - last_response_)
               .count());
  }

 private:
  EsmeClient c_;
  std::string system_id_;
  std::string dst_prefix_;
  int n_;
  int sent_ = 0, responses_ = 0, accepted_ = 0, receipts_ = 0;
  bool broken_ = false;
  Clock::time_point last_response_{};
  Clock::time_point last_receipt_{};
};

// Drives the senders in turn until each has all its responses and receipts, or `grace` has passed
// since the last response of all, or `limit` since the start.
void drive(const std::vector<Sender*>& senders, std::chrono::milliseconds grace,
           std::chrono::milliseconds limit) {
  const auto start = Clock::now();
  const int wait_ms = senders.size() == 1 ? 10 : 2;
  for (;;) {
    bool done = true;
    bool submitted = true;
    bool broken = false;
    Clock::time_point last{};
    for (Sender* s : senders) {
      s->step(wait_ms);
      done = done && s->done();
      submitted = submitted && s->submitted();
      broken = broken || s->broken();
      last = std::max(last, s->lastResponse());
    }
    if (done || broken || Clock::now() - start > limit ||
        (submitted && Clock::now() - last > grace)) {
      return;
    }
  }
}

// All `n` accepted, all `n` receipts, the last within 5 s of the last submit_sm_resp.
void checkAllReceipts(const Sender& s) {
  MESSAGE(s.name(), ": ", s.responses(), " responses (", s.accepted(), " ok), ", s.receipts(),
          " receipts of ", s.n(), ", the last ", s.receiptLagMs(), " ms after the last response");
  CHECK(!s.broken());
  CHECK(s.accepted() == s.n());
  CHECK(s.receipts() == s.n());
  CHECK(s.receiptLagMs() >= 0);
  CHECK(s.receiptLagMs() < 5000);
}

// A receiver bound as `system_id` that never reads: a small receive buffer (and MSS) so the
// gateway's writes to it stall within a few KiB.
std::unique_ptr<EsmeClient> stalledReceiver(uint16_t port, const std::string& system_id,
                                            int maxseg = 0) {
  auto c = std::make_unique<EsmeClient>();
  c->setReceiveBuffer(4096);
  c->setMaxSegment(maxseg);
  REQUIRE(c->connect("127.0.0.1", port));
  auto b = c->bind(CommandId::bind_receiver, system_id, "secret");
  REQUIRE(b);
  REQUIRE(b->status() == 0);
  return c;
}

constexpr uint64_t kMiB = 1024 * 1024;

// A gateway on `cfg` has `n` messages accepted by the carrier, then is killed (kill -9): the
// carrier's receipts for them will match nothing in the next gateway.
void acceptThenCrash(const json& cfg, int n) {
  auto first = std::make_unique<GatewayProc>(cfg);
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", first->port()));
  auto b = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(b);
  REQUIRE(b->status() == 0);
  submitN(c, n);
  first->proc().signal(SIGKILL);
  REQUIRE(first->proc().wait(5s));
}

}  // namespace

TEST_CASE("orphan receipts after kill -9 and restart are answered at once; new receipts flow") {
  // Receipts 1.5 s after each response, a carrier window of 64 deliveries.
  McsimProc mc({"--receipt-delay-ms", "1500", "--window", "64"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  // The default request timeout: an orphan held that long would block the window for 30 s.
  cfg["upstreams"][0]["request_timeout"] = "30s";
  cfg["timers"]["response"] = "30s";
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};

  constexpr int kOrphans = 300;
  acceptThenCrash(cfg, kOrphans);  // their receipts are due in 1.5 s

  GatewayProc gw(cfg);  // a new process: no mappings for the 300 messages above
  const uint16_t mport = gw.metricsPort();
  EsmeClient c;
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  auto b = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(b);
  REQUIRE(b->status() == 0);
  constexpr int kNew = 300;
  submitN(c, kNew);
  const auto lastResponse = std::chrono::steady_clock::now();
  int receipts = 0;
  while (receipts < kNew && std::chrono::steady_clock::now() - lastResponse < 15s) {
    auto r = c.read(500);
    if (r && r->id() == CommandId::deliver_sm) {
      c.respond(*r);
      ++receipts;
    }
  }
  const auto took = std::chrono::steady_clock::now() - lastResponse;
  MESSAGE("new receipts: ", receipts, " of ", kNew, " in ",
          std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms");
  CHECK(receipts == kNew);
  // Within 5 s of the last response (their own delay is 1.5 s).
  CHECK(took < 5s);

  // Every orphan was answered to the carrier and counted.
  double unmatched = -1;
  for (int i = 0; i < 250; ++i) {
    auto body = smppgw::test::httpGet("127.0.0.1", mport, "/metrics").body;
    unmatched = smppgw::testsupport::metricSample(
        body, R"(smppgw_receipts_total{upstream="mc",result="unmatched"})");
    if (unmatched >= kOrphans) {
      break;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of the 100 ms publisher
  }
  CHECK(unmatched == kOrphans);
  // One rate-limited log line a second, not one per receipt.
  const size_t lines = logCount(gw.proc().err(), "event=receipts_unmatched");
  CHECK(lines >= 1);
  CHECK(lines < 20);
  auto summary = mc.stop();
  CHECK(summary["receipts"]["sent"] == kOrphans + kNew);
}

TEST_CASE("a receiver that never reads does not hold up another customer's receipts") {
  // MO for B (destinations 5550xxx) at 300/s and A's receipts share one carrier bind whose
  // deliver_sm window is 64.
  // A delivery bounced with ESME_RX_T_APPN comes back 200 ms later (carriers differ).
  McsimProc mc({"--retry-temporary", "200ms", "--receipt-delay-ms", "20", "--window", "64",
                "--mo-rate", "300", "--mo-to", "5550000-5550999"});
  GatewayProc gw(isolationConfig(mc.port(), {{"B", 50}}, {{"5550", "B"}}));
  const uint16_t mport = gw.metricsPort();
  const auto rss_before = smppgw::testsupport::residentBytes(gw.proc().pid());
  REQUIRE(rss_before.has_value());

  auto b = stalledReceiver(gw.port(), "B");
  // Before A starts, B has been offered a whole carrier window of MO (which, held, would leave no
  // room for anything else on the bind).
  CHECK(waitMetric(
            mport, "smppgw_mo_messages_total", {R"(customer="B")"},
            [](double v) { return v >= 64; }, 5s) >= 64);

  Sender a("acme", 1000, "4477009");
  REQUIRE(a.start(gw.port()));
  drive({&a}, 5s, 20s);
  checkAllReceipts(a);

  const double deferred = waitMetric(
      mport, "smppgw_deliveries_deferred_total", {R"(customer="B")"},
      [](double v) { return v > 0; }, 2s);
  MESSAGE("deliveries deferred for B: ", deferred);
  CHECK(deferred > 0);
  const auto rss_after = smppgw::testsupport::residentBytes(gw.proc().pid());
  REQUIRE(rss_after.has_value());
  MESSAGE("gateway VmRSS: ", *rss_before / 1024, " KiB before, ", *rss_after / 1024, " KiB after");
  CHECK(*rss_after <= *rss_before + 64 * kMiB);
  auto summary = mc.stop();
  MESSAGE("mcsim mo: ", summary["mo"].dump());
  CHECK(summary["mo"]["failed"].get<uint64_t>() > 0);
}

TEST_CASE("a customer with no receiver bound does not hold up another customer's receipts") {
  // A delivery bounced with ESME_RX_T_APPN comes back 200 ms later (carriers differ).
  McsimProc mc({"--retry-temporary", "200ms", "--receipt-delay-ms", "20", "--window", "64",
                "--mo-rate", "300", "--mo-to", "5550000-5550999"});
  GatewayProc gw(isolationConfig(mc.port(), {{"B", 50}}, {{"5550", "B"}}));
  const uint16_t mport = gw.metricsPort();
  // B never binds; a whole carrier window of its MO has arrived before A starts.
  CHECK(waitMetric(
            mport, "smppgw_mo_messages_total", {R"(customer="B")"},
            [](double v) { return v >= 64; }, 5s) >= 64);

  Sender a("acme", 1000, "4477009");
  REQUIRE(a.start(gw.port()));
  drive({&a}, 5s, 20s);
  checkAllReceipts(a);

  const double deferred = waitMetric(
      mport, "smppgw_deliveries_deferred_total", {R"(customer="B")", R"(reason="no_receiver")"},
      [](double v) { return v > 0; }, 2s);
  MESSAGE("deliveries deferred for B (no_receiver): ", deferred);
  CHECK(deferred > 0);
  // A is alone on the bind (B holds nothing) and keeps answering: its bursts borrow the room.
  MESSAGE("acme deferred (share_full): ",
          metricSum(smppgw::test::httpGet("127.0.0.1", mport, "/metrics").body,
                    "smppgw_deliveries_deferred_total",
                    {R"(customer="acme")", R"(reason="share_full")"}));
  auto summary = mc.stop();
  MESSAGE("mcsim mo: ", summary["mo"].dump());
  CHECK(summary["mo"]["failed"].get<uint64_t>() > 0);
}

TEST_CASE(
    "two healthy customers get all their receipts beside one that does not read and one "
    "that is absent") {
  // MO to 5550xxx goes to B1 (bound, never reads), to 5551xxx to B2 (never binds).
  // A delivery bounced with ESME_RX_T_APPN comes back 200 ms later (carriers differ).
  McsimProc mc({"--retry-temporary", "200ms", "--receipt-delay-ms", "20", "--window", "64",
                "--mo-rate", "300", "--mo-to", "5550000-5551999"});
  GatewayProc gw(isolationConfig(mc.port(), {{"A1", 50}, {"A2", 50}, {"B1", 50}, {"B2", 50}},
                                 {{"5550", "B1"}, {"5551", "B2"}}));
  const uint16_t mport = gw.metricsPort();
  auto b1 = stalledReceiver(gw.port(), "B1");
  // B1 and B2 together (customer="B1" and "B2") have been offered a whole carrier window.
  CHECK(waitMetric(
            mport, "smppgw_mo_messages_total", {R"(customer="B)"}, [](double v) { return v >= 64; },
            5s) >= 64);

  Sender a1("A1", 500, "4477001");
  Sender a2("A2", 500, "4477002");
  REQUIRE(a1.start(gw.port()));
  REQUIRE(a2.start(gw.port()));
  drive({&a1, &a2}, 5s, 20s);
  checkAllReceipts(a1);
  checkAllReceipts(a2);

  const double deferred_b1 = waitMetric(
      mport, "smppgw_deliveries_deferred_total", {R"(customer="B1")"},
      [](double v) { return v > 0; }, 2s);
  const double deferred_b2 = metricNow(mport, "smppgw_deliveries_deferred_total",
                                       {R"(customer="B2")", R"(reason="no_receiver")"});
  MESSAGE("deferred: B1 ", deferred_b1, ", B2 (no_receiver) ", deferred_b2);
  CHECK(deferred_b1 > 0);
  CHECK(deferred_b2 > 0);
}

TEST_CASE("routing.receipt_unmatched_status: orphan receipts after kill -9 are answered with it") {
  McsimProc mc({"--receipt-delay-ms", "1500", "--window", "64"});
  json cfg = isolationConfig(mc.port(), {}, {});
  cfg["routing"]["receipt_unmatched_status"] = "ESME_RX_T_APPN";

  constexpr int kOrphans = 300;
  acceptThenCrash(cfg, kOrphans);  // their receipts are due in 1.5 s

  // A new process with nothing in flight to the carrier: no receipt can match anything.
  GatewayProc gw(cfg);
  const uint16_t mport = gw.metricsPort();
  const double unmatched = waitMetric(
      mport, "smppgw_receipts_unmatched_total", {R"(upstream="mc")", R"(reason="not_in_flight")"},
      [](double v) { return v >= kOrphans; }, 10s);
  MESSAGE("receipts unmatched (not_in_flight): ", unmatched);
  CHECK(unmatched == kOrphans);
  CHECK(metricNow(mport, "smppgw_receipts_total", {R"(upstream="mc")", R"(result="unmatched")"}) ==
        kOrphans);

  // Receipts that do match still go to the customer and are answered ESME_ROK.
  Sender a("acme", 50, "4477009");
  REQUIRE(a.start(gw.port()));
  drive({&a}, 5s, 15s);
  checkAllReceipts(a);

  auto summary = mc.stop();
  MESSAGE("mcsim receipts: ", summary["receipts"].dump());
  // Each orphan was answered ESME_RX_T_APPN: failed at the MC (which keeps it), not acknowledged.
  CHECK(summary["receipts"]["failed"].get<uint64_t>() >= kOrphans);
  CHECK(summary["receipts"]["acked"].get<uint64_t>() == 50);
  CHECK(summary["receipts"]["sent"].get<uint64_t>() >= kOrphans + 50);
}

TEST_CASE("a session whose unread output passes limits.max_session_output is closed") {
  // 160-character MO at 5000/s, up to 5000 (about 1 MiB) in flight from the carrier, all for B;
  // each sent once (no retries of those B cannot take). The kernel's send buffer towards B grows
  // with the connection's congestion window, which depends on timing: with 1000 in flight it
  // once absorbed nearly all of them and B was never closed.
  const std::string text =
      "This is a long mobile-originated message that fills most of one SMS so that a customer "
      "which never reads its socket builds up unread output quickly; it ends here.";
  McsimProc mc({"--window", "5000", "--mo-rate", "5000", "--mo-count", "20000", "--max-attempts",
                "1", "--mo-to", "5550000-5550999", "--mo-text", text, "--receipt-delay-ms", "20"});
  json cfg = isolationConfig(mc.port(), {{"B", 5000}}, {{"5550", "B"}});
  cfg["upstreams"][0]["window"] = 1000;
  cfg["upstreams"][0]["customer_delivery_share"] = 5000;
  cfg["limits"]["max_session_output"] = 65536;
  // Not reading by timeout would stop its deliveries before its output grows: later than this test.
  cfg["timers"]["delivery_response"] = "30s";
  GatewayProc gw(cfg);
  const uint16_t mport = gw.metricsPort();

  // A small receive buffer and MSS: the gateway's kernel send buffer stays about 100 KiB, so the
  // rest of what B does not read waits in the gateway's own output.
  auto b = stalledReceiver(gw.port(), "B", 256);
  const auto bound_at = Clock::now();
  CHECK(gw.waitForLog("event=session_not_reading", 1, 15s));
  MESSAGE("B closed for not reading after ", msSince(bound_at), " ms");
  CHECK(waitMetric(
            mport, "smppgw_sessions_not_reading_total", {R"(customer="B")"},
            [](double v) { return v >= 1; }, 2s) >= 1);
  CHECK(b->waitClosed(5000));

  // The gateway keeps serving A.
  Sender a("acme", 200, "4477009");
  REQUIRE(a.start(gw.port()));
  drive({&a}, 5s, 15s);
  checkAllReceipts(a);
}

TEST_CASE("SIGTERM while MO flows: every deliver_sm the carrier sent is answered before exit") {
  McsimProc mc({"--window", "64", "--mo-rate", "200", "--mo-to", "5550000-5550999"});
  GatewayProc gw(isolationConfig(mc.port(), {{"B", 50}}, {{"5550", "B"}}));

  // B reads everything and answers each deliver_sm about 50 ms after it arrived.
  EsmeClient b;
  REQUIRE(b.connect("127.0.0.1", gw.port()));
  auto bound = b.bind(CommandId::bind_receiver, "B", "secret");
  REQUIRE(bound);
  REQUIRE(bound->status() == 0);
  std::atomic<int> received{0};
  std::atomic<int> answered{0};
  std::atomic<bool> unbound{false};
  std::thread reader([&] {
    std::deque<std::pair<Clock::time_point, ReceivedPtr>> due;
    const auto deadline = Clock::now() + 20s;
    while (Clock::now() < deadline && !b.peerClosed()) {
      int wait_ms = 20;
      if (!due.empty()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(due.front().first - Clock::now())
                .count();
        wait_ms = static_cast<int>(std::clamp<long long>(left, 0, 20));
      }
      if (ReceivedPtr r = b.read(wait_ms)) {
        if (r->id() == CommandId::deliver_sm) {
          ++received;
          due.emplace_back(Clock::now() + 50ms, std::move(r));
        } else if (r->id() == CommandId::unbind) {
          unbound = true;
          b.respond(*r);
        } else if (r->id() == CommandId::enquire_link) {
          b.respond(*r);
        }
      }
      while (!due.empty() && due.front().first <= Clock::now()) {
        b.respond(*due.front().second);
        ++answered;
        due.pop_front();
      }
    }
  });
  const auto start = Clock::now();
  while (received < 100 && Clock::now() - start < 5s) {
    std::this_thread::sleep_for(5ms);  // bounded wait for MO to be flowing to B
  }
  const int before = received;
  const int rc = gw.stop(15s);
  reader.join();
  MESSAGE("B received ", received.load(), " (", before, " before SIGTERM), answered ",
          answered.load(), ", unbound by the gateway: ", unbound.load());
  CHECK(before >= 100);
  CHECK(rc == 0);

  auto summary = mc.stop();
  MESSAGE("mcsim mo: ", summary["mo"].dump());
  CHECK(summary["mo"]["sent"].get<uint64_t>() > 0);
  CHECK(summary["mo"]["unanswered_at_close"].get<uint64_t>() == 0);
  CHECK(summary["receipts"]["unanswered_at_close"].get<uint64_t>() == 0);
  CHECK(summary["mo"]["acked"].get<uint64_t>() + summary["mo"]["failed"].get<uint64_t>() ==
        summary["mo"]["sent"].get<uint64_t>());
}
