// Flow control under carrier pressure, end to end: a real gateway between a test customer and
// real smpp-mcsim carriers that refuse (ESME_RSYSERR on every message) or throttle (a spell of
// ESME_RTHROTTLED). What the customer must see: one answer per message, accepted once, receipts
// with the gateway ids it got; what the carrier must see: the parts of a long message in order.

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "codec/bytes.h"
#include "codec/pdu.h"
#include "tests/support/esme_client.h"
#include "tests/support/peers.h"
#include "tests/support/prometheus.h"

using nlohmann::json;
using smppgw::codec::CommandId;
using smppgw::testsupport::EsmeClient;
using smppgw::testsupport::GatewayProc;
using smppgw::testsupport::McsimProc;
using smppgw::testsupport::ReceivedPtr;

namespace {

constexpr int kWaitMs = 10000;

struct Outcome {
  std::map<uint32_t, uint32_t> status;         // by the customer's sequence number
  std::map<uint32_t, std::string> message_id;  // accepted ones
  std::vector<std::string> receipts;           // receipted_message_id of each receipt, in order
};

// Sends every PDU keeping `window` outstanding, answers what the gateway sends, and reads until
// every request is answered and `receipts` receipts arrived (bounded by kWaitMs of silence).
Outcome exchange(EsmeClient& c, std::vector<smppgw::codec::Pdu>& pdus, size_t window,
                 size_t receipts) {
  Outcome o;
  size_t next = 0;
  while (o.status.size() < pdus.size() || o.receipts.size() < receipts) {
    while (next < pdus.size() && next - o.status.size() < window) {
      REQUIRE(c.send(pdus[next++]));
    }
    ReceivedPtr r = c.read(kWaitMs);
    REQUIRE_MESSAGE(r != nullptr, o.status.size() << " of " << pdus.size() << " answered, "
                                                  << o.receipts.size() << " receipts");
    if (r->id() == CommandId::submit_sm_resp) {
      CHECK(o.status.count(r->seq()) == 0);  // one answer per request
      o.status[r->seq()] = r->status();
      if (r->status() == 0) {
        o.message_id[r->seq()] = std::string(r->pdu.as<smppgw::codec::MessageIdBody>().message_id);
      }
    } else if (r->id() == CommandId::deliver_sm) {
      o.receipts.emplace_back(
          r->pdu.tlvs.text(smppgw::codec::tag::receipted_message_id).value_or(""));
      REQUIRE(c.respond(*r));
    } else if (r->id() == CommandId::enquire_link) {
      REQUIRE(c.respond(*r));
    }
  }
  return o;
}

// Text kept alive for the PDUs' views.
struct Texts {
  std::vector<std::string> v;
  std::string_view add(std::string s) {
    v.push_back(std::move(s));
    return v.back();
  }
  Texts() { v.reserve(4096); }
};

smppgw::codec::Pdu submitPdu(EsmeClient& c, Texts& t, const std::string& dst, std::string_view text,
                             uint8_t esm_class = 0) {
  smppgw::codec::Pdu p(CommandId::submit_sm, c.nextSeq());
  auto& b = p.as<smppgw::codec::SmBody>();
  b.source_addr = "12345";
  b.dest_addr_ton = 1;
  b.dest_addr_npi = 1;
  b.destination_addr = t.add(dst);
  b.esm_class = esm_class;
  b.registered_delivery = 1;
  b.short_message = smppgw::codec::asBytes(text);
  return p;
}

void bindAcme(EsmeClient& c, const GatewayProc& gw) {
  REQUIRE(c.connect("127.0.0.1", gw.port()));
  auto r = c.bind(CommandId::bind_transceiver, "acme", "secret");
  REQUIRE(r != nullptr);
  REQUIRE(r->status() == 0);
}

double metric(const GatewayProc& gw, const std::string& series) {
  return smppgw::testsupport::metricSample(
      smppgw::test::httpGet("127.0.0.1", gw.metricsPort(), "/metrics").body, series);
}

}  // namespace

TEST_CASE("retry: member 1 refuses every message, member 2 takes each once; receipts match") {
  McsimProc mc1({"--error-rate", "1"});
  McsimProc mc2({"--receipt-delay-ms", "20"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc1", mc1.port()}, {"mc2", mc2.port()}});
  cfg["groups"][0]["max_attempts"] = 2;
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  EsmeClient c;
  bindAcme(c, gw);
  Texts t;
  std::vector<smppgw::codec::Pdu> pdus;
  for (int i = 0; i < 200; ++i) {
    pdus.push_back(submitPdu(c, t, "4477009" + std::to_string(10000 + i), "hello"));
  }
  Outcome o = exchange(c, pdus, 20, 200);
  std::set<std::string> ids;
  for (const auto& [seq, st] : o.status) {
    CHECK(st == 0);
    ids.insert(o.message_id[seq]);
  }
  CHECK(ids.size() == 200);  // a gateway id each, none shared
  std::multiset<std::string> got(o.receipts.begin(), o.receipts.end());
  for (const auto& id : ids) {
    CHECK_MESSAGE(got.count(id) == 1, "receipt for " << id);
  }
  CHECK(metric(gw, "smppgw_retries_total{upstream=\"mc1\",status=\"ESME_RSYSERR\"}") == 200);
  const json s2 = mc2.stop();
  const json s1 = mc1.stop();
  MESSAGE("mc1: " << s1.dump());
  CHECK(s2.dump().find("\"accepted\":200") != std::string::npos);
  CHECK(s1.dump().find("\"accepted\":0") != std::string::npos);
}

TEST_CASE("max_attempts 1: the carrier's refusal goes to the customer, nothing is retried") {
  McsimProc mc1({"--error-rate", "1"});
  McsimProc mc2;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc1", mc1.port()}, {"mc2", mc2.port()}});
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  EsmeClient c;
  bindAcme(c, gw);
  for (int i = 0; i < 20; ++i) {
    auto r = c.submit("12345", "447700910000", "hello");
    REQUIRE(r);
    CHECK(r->status() == 0x08);
  }
  CHECK(metric(gw, "smppgw_retries_total{upstream=\"mc1\",status=\"ESME_RSYSERR\"}") <= 0);
  CHECK(mc2.stop().dump().find("\"accepted\":0") != std::string::npos);
}

TEST_CASE(
    "a carrier throttling for 2 s: the bind pauses, every message is accepted, parts in "
    "order, every receipt matched") {
  McsimProc mc({"--throttle-after", "30", "--throttle-for", "2s", "--trace-submits",
                "--receipt-delay-ms", "20"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["groups"][0]["max_attempts"] = 6;  // one member: the "later" answers go to it again
  cfg["timers"]["response"] = "20s";
  cfg["upstreams"][0]["request_timeout"] = "20s";
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  EsmeClient c;
  bindAcme(c, gw);
  // 40 messages of 3 parts each (8-bit UDH reference = the message's number).
  Texts t;
  std::vector<smppgw::codec::Pdu> pdus;
  for (int m = 0; m < 40; ++m) {
    for (int part = 1; part <= 3; ++part) {
      std::string sm = {0x05, 0x00, 0x03, static_cast<char>(m), 0x03, static_cast<char>(part)};
      sm += "part " + std::to_string(part) + " of message " + std::to_string(m);
      pdus.push_back(submitPdu(c, t, "4477009" + std::to_string(20000 + m), t.add(sm), 0x40));
    }
  }
  Outcome o = exchange(c, pdus, 10, pdus.size());
  size_t accepted = 0;
  for (const auto& [seq, st] : o.status) {
    CHECK_MESSAGE(st == 0, "seq " << seq << " answered " << st);
    accepted += st == 0 ? 1 : 0;
  }
  CHECK(accepted == 120);
  std::set<std::string> ids;
  for (const auto& [seq, id] : o.message_id) {
    ids.insert(id);
  }
  std::multiset<std::string> got(o.receipts.begin(), o.receipts.end());
  for (const auto& id : ids) {
    CHECK_MESSAGE(got.count(id) == 1, "receipt for " << id);
  }
  CHECK(metric(gw, "smppgw_upstream_throttle_pauses_total{upstream=\"mc\"}") >= 1);
  CHECK(metric(gw, "smppgw_retries_total{upstream=\"mc\",status=\"ESME_RTHROTTLED\"}") >= 1);
  // The carrier took each message's parts in order (the throttled attempts aside).
  const json summary = mc.stop();
  std::map<int, std::vector<int>> taken;  // UDH reference -> parts in the order taken
  size_t throttled = 0;
  std::istringstream lines(mc.proc().err());
  for (std::string line; std::getline(lines, line);) {
    const size_t p = line.find("part=");
    if (line.rfind("submit ", 0) != 0 || p == std::string::npos) {
      continue;
    }
    if (line.find("status=0x00000000") == std::string::npos) {
      ++throttled;
      continue;
    }
    int ref = 0, seq = 0, total = 0;
    REQUIRE(std::sscanf(line.c_str() + p, "part=%d:%d/%d", &ref, &seq, &total) == 3);
    taken[ref].push_back(seq);
  }
  MESSAGE(throttled << " attempts throttled; mcsim: " << summary.dump());
  CHECK(throttled > 0);
  CHECK(taken.size() == 40);
  for (const auto& [ref, parts] : taken) {
    CHECK_MESSAGE(parts == std::vector<int>({1, 2, 3}), "message " << ref);
  }
}

namespace {

struct Paced {
  size_t sent = 0;
  std::map<uint32_t, size_t> by_status;                               // answers by status
  std::map<uint32_t, std::chrono::steady_clock::time_point> sent_at;  // by sequence number
  std::vector<double> latency_ms;                                     // of accepted ones
  double p99() {
    if (latency_ms.empty()) {
      return -1;
    }
    std::sort(latency_ms.begin(), latency_ms.end());
    return latency_ms[std::min(latency_ms.size() - 1, latency_ms.size() * 99 / 100)];
  }
  size_t answered() const {
    size_t n = 0;
    for (const auto& [st, k] : by_status) {
      n += k;
    }
    return n;
  }
};

// Offers `make(i)` at `per_second` for `seconds` (an open loop: the schedule, not the answers,
// sets the pace), then waits for every answer (bounded). Answers deliver_sm/enquire_link.
template <class Make>
Paced offer(EsmeClient& c, double per_second, double seconds, Make make) {
  using Clock = std::chrono::steady_clock;
  Paced p;
  const auto start = Clock::now();
  const size_t total = static_cast<size_t>(per_second * seconds);
  auto handle = [&](ReceivedPtr r) {
    if (r->id() == CommandId::submit_sm_resp) {
      ++p.by_status[r->status()];
      if (auto it = p.sent_at.find(r->seq()); it != p.sent_at.end() && r->status() == 0) {
        p.latency_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
      }
    } else if (r->id() == CommandId::deliver_sm || r->id() == CommandId::enquire_link) {
      c.respond(*r);
    }
  };
  while (p.sent < total) {
    const auto due = start + std::chrono::microseconds(static_cast<int64_t>(
                                 1e6 * static_cast<double>(p.sent) / per_second));
    if (Clock::now() >= due) {
      smppgw::codec::Pdu pdu = make(p.sent);
      p.sent_at[pdu.sequence_number] = Clock::now();
      REQUIRE(c.send(pdu));
      ++p.sent;
      continue;
    }
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now());
    if (ReceivedPtr r = c.read(static_cast<int>(std::max<int64_t>(0, wait.count())))) {
      handle(std::move(r));
    }
  }
  while (p.answered() < p.sent) {
    ReceivedPtr r = c.read(kWaitMs);
    REQUIRE_MESSAGE(r != nullptr, p.answered() << " of " << p.sent << " answered");
    handle(std::move(r));
  }
  return p;
}

}  // namespace

TEST_CASE("rate_limit: a customer above its rate gets ESME_RTHROTTLED for exactly the excess") {
  McsimProc mc;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  // A burst of 2: with 1, a token that comes due between two offers is lost at the cap.
  cfg["customers"][0]["rate_limit"] = {{"per_second", 100}, {"burst", 2}};
  cfg["customers"][0]["window"] = 1000;
  GatewayProc gw(cfg);
  EsmeClient c;
  bindAcme(c, gw);
  Texts t;
  Paced p = offer(c, 300, 10, [&](size_t i) {
    auto pdu = submitPdu(c, t, "4477009" + std::to_string(30000 + i % 1000), "hello");
    pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
    return pdu;
  });
  const size_t accepted = p.by_status[0];
  MESSAGE("accepted " << accepted << " of " << p.sent << " over 10 s at 100/s");
  CHECK(p.answered() == p.sent);
  CHECK(p.by_status[0] + p.by_status[0x58] == p.sent);  // accepted, or throttled: nothing else
  CHECK(accepted >= 950);                               // 100/s x 10 s, +-5 %
  CHECK(accepted <= 1050);
}

TEST_CASE("rate_limit.count segments / messages: 3-part messages cost 3 / 1") {
  for (const std::string count : {"segments", "messages"}) {
    CAPTURE(count);
    McsimProc mc;
    json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
    // 30 segments/s, or 10 messages/s: both 30 parts a second.
    cfg["customers"][0]["rate_limit"] = {
        {"per_second", count == "segments" ? 30 : 10}, {"burst", 2}, {"count", count}};
    cfg["customers"][0]["window"] = 1000;
    GatewayProc gw(cfg);
    EsmeClient c;
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    REQUIRE(c.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
    Texts t;
    // 60 parts/s offered (20 messages of 3 parts) for 5 s.
    Paced p = offer(c, 60, 5, [&](size_t i) {
      std::string sm = {
          0x05, 0x00, 0x03, static_cast<char>(i / 3), 0x03, static_cast<char>(i % 3 + 1)};
      sm += "part";
      auto pdu = submitPdu(c, t, "447700940000", t.add(sm), 0x40);
      pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
      return pdu;
    });
    MESSAGE(count << ": accepted " << p.by_status[0] << " of " << p.sent << " parts");
    CHECK(p.answered() == p.sent);
    CHECK(p.by_status[0] >= 140);  // 30 parts/s x 5 s, +-5 % (and the burst of one)
    CHECK(p.by_status[0] <= 160);
  }
}

TEST_CASE(
    "a carrier limited to 200/s per bind, 2 binds: customers offer 2,000/s, the carrier "
    "sees at most 400/s, every offer is answered") {
  McsimProc mc({"--tps-per-bind", "200"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["upstreams"][0]["binds"] = 2;
  cfg["upstreams"][0]["tps_per_bind"] = 200;  // the carrier's contract
  cfg["customers"][0]["window"] = 1000;
  cfg["timers"]["response"] = "1s";  // what waits longer in the queue is answered
  GatewayProc gw(cfg);
  EsmeClient a, b;
  for (EsmeClient* c : {&a, &b}) {
    REQUIRE(c->connect("127.0.0.1", gw.port()));
    REQUIRE(c->bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  }
  Texts t;
  Paced pa, pb;
  std::thread other([&] {
    pb = offer(b, 1000, 3, [&](size_t i) {
      auto pdu = submitPdu(b, t, "4477009" + std::to_string(50000 + i % 1000), "b");
      pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
      return pdu;
    });
  });
  Texts ta;
  pa = offer(a, 1000, 3, [&](size_t i) {
    auto pdu = submitPdu(a, ta, "4477009" + std::to_string(60000 + i % 1000), "a");
    pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
    return pdu;
  });
  other.join();
  CHECK(pa.answered() == pa.sent);
  CHECK(pb.answered() == pb.sent);
  const json s = mc.stop();
  const double seen = s["pdus_in"]["submit_sm"]["total"].get<double>();
  const double uptime = s["uptime_s"].get<double>();
  MESSAGE("carrier saw " << seen << " submits in " << uptime << " s; a: " << pa.by_status[0]
                         << " accepted of " << pa.sent << ", b: " << pb.by_status[0] << " of "
                         << pb.sent);
  CHECK(s["messages"]["throttled"].get<double>() == 0);  // never over its limit
  // At most 400/s while the offer lasted (3 s, plus the second the queue drains in), plus the
  // gateway's burst of a tenth of a second per bind.
  CHECK(seen <= 400 * 4 + 40);
  CHECK(pa.by_status[0] + pb.by_status[0] == seen);
}

TEST_CASE("fair sharing: a customer offering 10x its share waits behind itself") {
  // One bind, window 4, a carrier answering in 10 ms (p99 20 ms): about 350 messages a second.
  McsimProc mc({"--latency", "lognormal:10ms:20ms"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["upstreams"][0]["window"] = 4;
  cfg["timers"]["response"] = "2s";  // what waits longer is answered ESME_RTHROTTLED
  cfg["customers"][0]["window"] = 1000;
  cfg["customers"].push_back(
      {{"system_id", "light"}, {"password", "secret"}, {"window", 1000}, {"max_binds", 4}});
  GatewayProc gw(cfg);
  EsmeClient heavy, light;
  REQUIRE(heavy.connect("127.0.0.1", gw.port()));
  REQUIRE(heavy.bind(CommandId::bind_transceiver, "acme", "secret")->status() == 0);
  REQUIRE(light.connect("127.0.0.1", gw.port()));
  REQUIRE(light.bind(CommandId::bind_transceiver, "light", "secret")->status() == 0);
  Texts th, tl;
  auto heavyPdu = [&](size_t i) {
    auto pdu = submitPdu(heavy, th, "4477009" + std::to_string(70000 + i % 1000), "h");
    pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
    return pdu;
  };
  auto lightPdu = [&](size_t i) {
    auto pdu = submitPdu(light, tl, "4477009" + std::to_string(80000 + i % 1000), "l");
    pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
    return pdu;
  };
  // The light customer alone, under its share (100/s): its latency unloaded.
  Paced alone = offer(light, 100, 2, lightPdu);
  REQUIRE(alone.by_status[0] == alone.sent);
  const double unloaded_p99 = alone.p99();
  // The same beside a heavy customer offering 2,000/s (five times the carrier's capacity).
  Paced h1, l1;
  {
    std::thread t([&] { h1 = offer(heavy, 2000, 3, heavyPdu); });
    l1 = offer(light, 100, 3, lightPdu);
    t.join();
  }
  const double loaded_p99 = l1.p99();
  MESSAGE("light p99: " << unloaded_p99 << " ms alone, " << loaded_p99
                        << " ms beside the heavy one; heavy accepted " << h1.by_status[0] << " of "
                        << h1.sent);
  CHECK(l1.by_status[0] == l1.sent);  // every light message accepted
  CHECK(h1.answered() == h1.sent);
  CHECK(loaded_p99 <= 2 * unloaded_p99);
  // Both over their share (light 1,000/s, heavy 2,000/s): each gets at least 45 %.
  Paced h2, l2;
  {
    std::thread t([&] { h2 = offer(heavy, 2000, 3, heavyPdu); });
    l2 = offer(light, 1000, 3, lightPdu);
    t.join();
  }
  const double total = static_cast<double>(h2.by_status[0] + l2.by_status[0]);
  MESSAGE("both backlogged: heavy " << h2.by_status[0] << ", light " << l2.by_status[0]
                                    << " accepted");
  CHECK(h2.answered() == h2.sent);
  CHECK(l2.answered() == l2.sent);
  CHECK(static_cast<double>(h2.by_status[0]) >= 0.45 * total);
  CHECK(static_cast<double>(l2.by_status[0]) >= 0.45 * total);
}

TEST_CASE("v5.0 customers get congestion_state: how full the gateway's queues for them are") {
  McsimProc mc({"--latency", "100ms"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["upstreams"][0]["window"] = 1;
  cfg["limits"] = {{"max_queue_per_group", 10}};
  GatewayProc gw(cfg);
  EsmeClient v5, v34;
  REQUIRE(v5.connect("127.0.0.1", gw.port()));
  REQUIRE(v5.bind(CommandId::bind_transceiver, "acme", "secret", 0x50)->status() == 0);
  REQUIRE(v34.connect("127.0.0.1", gw.port()));
  REQUIRE(v34.bind(CommandId::bind_transceiver, "acme", "secret", 0x34)->status() == 0);
  Texts t;
  // Eight at once: one goes to the carrier, seven wait (70 % of the group's queue).
  for (int i = 0; i < 8; ++i) {
    REQUIRE(v5.send(submitPdu(v5, t, "447700960000", "v5")));
  }
  std::vector<int> states;
  for (int i = 0; i < 8; ++i) {
    ReceivedPtr r = v5.readUntil(CommandId::submit_sm_resp, kWaitMs);
    REQUIRE(r != nullptr);
    REQUIRE(r->status() == 0);
    auto cs = r->pdu.tlvs.integer(smppgw::codec::tag::congestion_state);
    REQUIRE(cs.has_value());
    states.push_back(static_cast<int>(*cs));
  }
  MESSAGE("congestion_state of the eight responses: " << json(states).dump());
  CHECK(states.front() >= 50);  // answered with six or seven still queued
  CHECK(states.back() == 0);    // the last: nothing waits
  CHECK(std::is_sorted(states.rbegin(), states.rend()));
  // A v3.4 customer gets no v5.0 TLV.
  auto r = v34.submit("12345", "447700960001", "v34");
  REQUIRE(r);
  CHECK_FALSE(r->pdu.tlvs.has(smppgw::codec::tag::congestion_state));
}

TEST_CASE("retry: messages waiting for a carrier that loses every bind go to the next member") {
  // mc1 answers in 3 s with a window of 1: one message in flight, the rest wait in its queue.
  McsimProc mc1({"--latency", "3s"});
  McsimProc mc2;
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc1", mc1.port()}, {"mc2", mc2.port()}});
  cfg["upstreams"][0]["window"] = 1;
  cfg["upstreams"][0]["request_timeout"] = "10s";
  cfg["timers"]["response"] = "10s";
  cfg["groups"][0]["max_attempts"] = 2;
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  EsmeClient c;
  bindAcme(c, gw);
  Texts t;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(c.send(submitPdu(c, t, "447700970000", "queued")));
  }
  // All ten are with mc1 (one sent, nine queued) once its queue shows them.
  REQUIRE(gw.waitForLog("event=session_bound"));
  for (int k = 0; k < 200 && metric(gw, "smppgw_queue_depth{upstream=\"mc1\"}") != 9; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded poll of a gauge
  }
  REQUIRE(metric(gw, "smppgw_queue_depth{upstream=\"mc1\"}") == 9);
  REQUIRE(mc1.proc().signal(SIGKILL));
  std::map<uint32_t, size_t> by_status;
  for (int i = 0; i < 10; ++i) {
    ReceivedPtr r = c.readUntil(CommandId::submit_sm_resp, kWaitMs);
    REQUIRE(r != nullptr);
    ++by_status[r->status()];
  }
  // The one in flight may have reached mc1: its outcome is unknown (ESME_RSYSERR), never
  // retried. The nine queued never left the gateway: mc2 took them.
  CHECK(by_status[0x08] == 1);
  CHECK(by_status[0] == 9);
  CHECK(metric(gw, "smppgw_retries_total{upstream=\"mc1\",status=\"unsent\"}") == 9);
}

TEST_CASE(
    "a carrier that stops answering for 2 s: requests time out, the window halves, "
    "every message is answered once, and traffic resumes") {
  McsimProc mc({"--stall-after", "20", "--stall-for", "2s"});
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc.port()}});
  cfg["upstreams"][0]["request_timeout"] = "500ms";
  cfg["upstreams"][0]["window"] = 10;
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  GatewayProc gw(cfg);
  EsmeClient c;
  bindAcme(c, gw);
  Texts t;
  std::vector<smppgw::codec::Pdu> pdus;
  for (int i = 0; i < 200; ++i) {
    auto pdu = submitPdu(c, t, "4477009" + std::to_string(90000 + i), "s");
    pdu.as<smppgw::codec::SmBody>().registered_delivery = 0;
    pdus.push_back(pdu);
  }
  Outcome o = exchange(c, pdus, 10, 0);
  size_t ok = 0, unknown = 0;
  for (const auto& [seq, st] : o.status) {
    ok += st == 0 ? 1 : 0;
    unknown += st == 0x08 ? 1 : 0;
  }
  MESSAGE(ok << " accepted, " << unknown << " timed out (outcome unknown)");
  CHECK(o.status.size() == 200);
  CHECK(ok + unknown == 200);
  CHECK(unknown >= 1);
  CHECK(ok >= 150);  // after the silence the rest goes through
  CHECK(metric(gw, "smppgw_upstream_window_shrinks_total{upstream=\"mc\"}") >= 1);
}
