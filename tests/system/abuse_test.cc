// The SMPP port under abuse: each test runs one attack against a real gateway (real PBKDF2
// password hashes, a real carrier in smpp-mcsim) from its own loopback addresses (127.0.0.2 and
// up) while a well-behaved customer on 127.0.0.1 submits flat out in a thread of its own. Each
// asserts what the attack gets (slowed down, blocked, closed, counted) and that every one of the
// customer's messages is answered; the customer's throughput during the attack against just
// before is reported (a ratio, not an assertion: targets live in benchmarks), and printed in the
// test's output as `abuse_ratio name=... ratio=...`.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "codec/bytes.h"
#include "codec/encode.h"
#include "config/password.h"
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
namespace st = smppgw::codec::status;

namespace {

using Clock = std::chrono::steady_clock;

// Real hashes at the default cost (~76 ms a check): the attacks cost what they cost in production.
const std::string& hashOf(const std::string& password) {
  static const std::string acme = smppgw::config::hashPassword("acmepw01");
  static const std::string beta = smppgw::config::hashPassword("betapw01");
  return password == "acmepw01" ? acme : beta;
}

json abuseConfig(uint16_t mc_port) {
  json cfg = smppgw::testsupport::baseGatewayConfig({{"mc", mc_port}});
  cfg["gateway"]["allow_plain_passwords"] = false;
  cfg["customers"] = json::array(
      {{{"system_id", "acme"}, {"password", hashOf("acmepw01")}, {"window", 50}, {"max_binds", 8}},
       {{"system_id", "beta"}, {"password", hashOf("betapw01")}, {"max_binds", 32}},
       {{"system_id", "gamma"}, {"password", hashOf("betapw01")}, {"max_binds", 8}}});
  cfg["metrics"] = {{"enabled", true}, {"address", "127.0.0.1"}, {"port", 0}};
  cfg["auth"] = {{"max_failures", 5},
                 {"failure_window", "1m"},
                 {"block", "1m"},
                 {"failure_delay", "200ms"},
                 {"max_attempts_per_connection", 3}};
  cfg["timers"]["response"] = "30s";
  return cfg;
}

double metric(uint16_t port, const std::string& series) {
  return smppgw::testsupport::metricSample(
      smppgw::test::httpGet("127.0.0.1", port, "/metrics").body, series);
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

// The well-behaved customer: binds as acme from 127.0.0.1 and keeps kWindow submits outstanding
// until stopped, recording when each response came.
class GoodCustomer {
 public:
  static constexpr int kWindow = 10;

  bool start(uint16_t port) {
    if (!c_.connect("127.0.0.1", port)) {
      return false;
    }
    auto b = c_.bind(CommandId::bind_transceiver, "acme", "acmepw01");
    if (b == nullptr || b->status() != 0) {
      return false;
    }
    thread_ = std::thread([this] { run(); });
    return true;
  }

  // Stops sending, waits for the responses still due, and joins.
  void stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  ~GoodCustomer() { stop(); }

  // Responses per second between two instants.
  double rate(Clock::time_point from, Clock::time_point to) {
    std::lock_guard<std::mutex> g(mu_);
    size_t n = 0;
    for (auto t : times_) {
      n += t >= from && t < to ? 1 : 0;
    }
    const double s = std::chrono::duration<double>(to - from).count();
    return s > 0 ? static_cast<double>(n) / s : 0;
  }

  int sent() const { return sent_; }
  int answered() const { return answered_; }
  int accepted() const { return accepted_; }
  bool broken() const { return broken_; }

 private:
  void run() {
    const auto deadline = Clock::now() + 120s;  // bounds the thread whatever the test does
    while (!broken_ && Clock::now() < deadline && (!stop_ || answered_ < sent_)) {
      while (!stop_ && sent_ - answered_ < kWindow) {
        smppgw::codec::Pdu p(CommandId::submit_sm, c_.nextSeq());
        auto& b = p.as<smppgw::codec::SmBody>();
        b.source_addr = "12345";
        b.dest_addr_ton = 1;
        b.dest_addr_npi = 1;
        dst_ = "44770090" + std::to_string(10000 + sent_ % 80000);
        b.destination_addr = dst_;  // a view: dst_ outlives the send
        b.short_message = smppgw::codec::asBytes(std::string_view("hello"));
        if (!c_.send(p)) {
          broken_ = true;
          return;
        }
        ++sent_;
      }
      ReceivedPtr r = c_.read(1000);
      if (r == nullptr) {
        broken_ = c_.peerClosed();
        continue;
      }
      if (r->id() == CommandId::submit_sm_resp) {
        ++answered_;
        accepted_ += r->status() == 0 ? 1 : 0;
        std::lock_guard<std::mutex> g(mu_);
        times_.push_back(Clock::now());
      } else if (r->id() == CommandId::enquire_link || r->id() == CommandId::deliver_sm) {
        c_.respond(*r);
      }
    }
  }

  EsmeClient c_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::atomic<int> answered_{0};
  std::atomic<int> accepted_{0};
  std::atomic<bool> broken_{false};
  std::mutex mu_;
  std::vector<Clock::time_point> times_;
  std::string dst_;
};

// Runs `attack` while `good` submits; reports the throughput ratio (during / the second before)
// and checks that every message of the good customer was answered and accepted.
template <class Attack>
void underAttack(const char* name, GoodCustomer& good, Attack&& attack) {
  std::this_thread::sleep_for(1500ms);  // the baseline: a steady flow (measured, not awaited)
  const auto before_from = Clock::now() - 1000ms;
  const auto start = Clock::now();
  attack();
  const auto end = Clock::now();
  good.stop();
  const double before = good.rate(before_from, start);
  const double during = good.rate(start, end);
  const double ratio = before > 0 ? during / before : 0;
  MESSAGE("abuse_ratio name="
          << std::string(name) << " before=" << static_cast<long>(before)
          << "/s during=" << static_cast<long>(during) << "/s ratio=" << ratio << " attack_ms="
          << std::chrono::duration_cast<std::chrono::milliseconds>(end - start).count());
  std::printf("abuse_ratio name=%s ratio=%.2f before=%.0f/s during=%.0f/s\n", name, ratio, before,
              during);
  CHECK_FALSE(good.broken());
  CHECK(good.sent() > 0);
  CHECK(good.answered() == good.sent());
  CHECK(good.accepted() == good.sent());
}

ReceivedPtr bindFrom(EsmeClient& c, const std::string& local, uint16_t port,
                     const std::string& system_id, const std::string& password) {
  c.setLocalAddress(local);
  if (!c.connect("127.0.0.1", port)) {
    return nullptr;
  }
  return c.bind(CommandId::bind_transmitter, system_id, password, 0x34, 3000);
}

// The time a fresh bind (a password never verified before: a full check) takes.
long freshBindMs(uint16_t port, const std::string& local, uint32_t* status,
                 const std::string& system_id = "beta") {
  EsmeClient c;
  const auto t0 = Clock::now();
  auto r = bindFrom(c, local, port, system_id, "betapw01");
  *status = r == nullptr ? 0xFFFFFFFFu : r->status();
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

// A connected, non-blocking TCP socket from `local` (fd, or -1).
int rawConnect(const std::string& local, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, local.c_str(), &a.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// How many of `fds` the peer closed (EOF or reset) within `timeout`.
size_t closedByPeer(std::vector<int>& fds, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<bool> closed(fds.size(), false);
  size_t n = 0;
  while (Clock::now() < deadline && n < fds.size()) {
    std::vector<pollfd> p;
    std::vector<size_t> idx;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!closed[i]) {
        p.push_back({fds[i], POLLIN, 0});
        idx.push_back(i);
      }
    }
    if (::poll(p.data(), p.size(), 100) <= 0) {
      continue;
    }
    for (size_t k = 0; k < p.size(); ++k) {
      if (p[k].revents == 0) {
        continue;
      }
      char buf[512];
      ssize_t r = ::recv(p[k].fd, buf, sizeof buf, MSG_DONTWAIT);
      if (r <= 0 && !(r < 0 && errno == EAGAIN)) {
        closed[idx[k]] = true;
        ++n;
      }
    }
  }
  return n;
}

struct Fds {
  std::vector<int> v;
  ~Fds() {
    for (int fd : v) {
      ::close(fd);
    }
  }
};

void raiseOwnDescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

TEST_CASE("500 wrong passwords from one address: 5 are checked, then the address is blocked") {
  McsimProc mc;
  GatewayProc gw(abuseConfig(mc.port()));
  const uint16_t mport = gw.metricsPort();
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  int invalid_password = 0, bind_fail = 0, refused_at_connect = 0, attempts = 0;
  long fresh_ms = -1;
  uint32_t fresh_status = 0;
  underAttack("bad_passwords", good, [&] {
    const auto deadline = Clock::now() + 30s;
    while (attempts < 500 && Clock::now() < deadline) {
      EsmeClient c;
      auto r = bindFrom(c, "127.0.0.2", gw.port(), "acme", "bad" + std::to_string(attempts));
      ++attempts;
      if (r == nullptr) {
        ++refused_at_connect;  // closed before an answer: the address is blocked
      } else if (r->status() == st::ESME_RINVPASWD) {
        ++invalid_password;
      } else if (r->status() == st::ESME_RBINDFAIL) {
        ++bind_fail;
      }
      if (attempts == 250) {
        fresh_ms = freshBindMs(gw.port(), "127.0.0.1", &fresh_status);
      }
    }
  });
  CHECK(attempts == 500);
  // max_failures (5) answers after a full check; everything after, refused without one.
  CHECK(invalid_password == 5);
  CHECK(refused_at_connect + bind_fail == 495);
  CHECK(refused_at_connect > 400);
  CHECK(fresh_status == st::ESME_ROK);  // another address binds meanwhile
  MESSAGE("fresh bind from another address during the attack: " << fresh_ms << " ms");
  CHECK(metric(mport, "smppgw_auth_blocks_total") == 1);
  CHECK(metric(mport, "smppgw_refusals_total{customer=\"acme\",reason=\"auth\"}") == 5);
  CHECK(metric(mport,
               "smppgw_customer_bind_attempts_total{listener=\"test\",customer=\"acme\","
               "bind_type=\"transmitter\",result=\"failed\"}") >= 5);
  CHECK(metric(mport,
               "smppgw_customer_bind_attempts_total{listener=\"test\",customer=\"acme\","
               "bind_type=\"transceiver\",result=\"ok\"}") == 1);
  CHECK(metric(mport, "smppgw_connections_refused_total{listener=\"test\",reason=\"blocked\"}") ==
        refused_at_connect);
  // A gauge published once a second: waited for, bounded.
  double blocked = -1;
  for (const auto until = Clock::now() + 3s; Clock::now() < until;) {
    if ((blocked = metric(mport, "smppgw_auth_blocked_sources")) == 1) {
      break;
    }
    std::this_thread::sleep_for(20ms);  // bounded poll of the metrics endpoint
  }
  CHECK(blocked == 1);
  // Refused connections are logged a few lines a second, with a count of the rest.
  CHECK(count(gw.proc().err(), "event=connection_refused") < 100);
}

TEST_CASE("a customer's 20 binds reconnecting at once share one password check") {
  McsimProc mc;
  GatewayProc gw(abuseConfig(mc.port()));
  std::vector<std::unique_ptr<EsmeClient>> clients;
  for (int i = 0; i < 20; ++i) {  // 20 binds in the kernel's queues before the first is read
    auto c = std::make_unique<EsmeClient>();
    REQUIRE(c->connect("127.0.0.1", gw.port()));
    smppgw::codec::Pdu p(CommandId::bind_transmitter, c->nextSeq());
    auto& b = p.as<smppgw::codec::BindBody>();
    b.system_id = "beta";
    b.password = "betapw01";
    b.interface_version = 0x34;
    REQUIRE(c->send(p));
    clients.push_back(std::move(c));
  }
  for (auto& c : clients) {
    auto r = c->read(5000);
    REQUIRE(r != nullptr);
    CHECK(r->status() == st::ESME_ROK);
  }
  // One check, or a few if the first finished before every bind was read; never 20.
  const double checks = metric(gw.metricsPort(), "smppgw_password_checks_total{result=\"ok\"}");
  MESSAGE(checks << " password checks for 20 binds");
  CHECK(checks >= 1);
  CHECK(checks <= 3);
}

TEST_CASE("unknown system_id: as slow as a wrong password, and a distinct status by default") {
  McsimProc mc;
  json cfg = abuseConfig(mc.port());
  cfg["auth"]["failure_delay"] = "0ms";
  GatewayProc gw(cfg);
  auto timed = [&](const std::string& local, const std::string& id, uint32_t* status) {
    EsmeClient c;
    const auto t0 = Clock::now();
    auto r = bindFrom(c, local, gw.port(), id, "notpass");
    *status = r == nullptr ? 0xFFFFFFFFu : r->status();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
  uint32_t unknown_status = 0, wrong_status = 0;
  double unknown_ms = 0, wrong_ms = 0;
  for (int i = 0; i < 3; ++i) {  // 3 of each: under max_failures (5) from each address
    unknown_ms += timed("127.0.0.3", "nobody-" + std::to_string(i), &unknown_status);
    wrong_ms += timed("127.0.0.4", "acme", &wrong_status);
  }
  CHECK(unknown_status == st::ESME_RINVSYSID);
  CHECK(wrong_status == st::ESME_RINVPASWD);
  MESSAGE("unknown system_id " << unknown_ms / 3 << " ms, wrong password " << wrong_ms / 3
                               << " ms (mean of 3)");
  // Both pay a full PBKDF2 (tens of milliseconds); before, an unknown id was answered in 0.2 ms.
  CHECK(unknown_ms / 3 > 0.5 * (wrong_ms / 3));
  // (customer="" is left out of the exposition: Prometheus reads an empty label as absent.)
  CHECK(metric(gw.metricsPort(), "smppgw_refusals_total{reason=\"auth\"}") == 3);
}

TEST_CASE("distinct_statuses false: an unknown system_id and a wrong password look the same") {
  McsimProc mc;
  json cfg = abuseConfig(mc.port());
  cfg["auth"]["distinct_statuses"] = false;
  cfg["auth"]["failure_delay"] = "0ms";
  GatewayProc gw(cfg);
  EsmeClient a, b;
  auto unknown = bindFrom(a, "127.0.0.3", gw.port(), "nobody", "x");
  auto wrong = bindFrom(b, "127.0.0.3", gw.port(), "acme", "x");
  REQUIRE(unknown);
  REQUIRE(wrong);
  CHECK(unknown->status() == st::ESME_RBINDFAIL);
  CHECK(wrong->status() == st::ESME_RBINDFAIL);
}

TEST_CASE("100 wrong binds pipelined on one connection: 3 answered, late, then it is closed") {
  McsimProc mc;
  GatewayProc gw(abuseConfig(mc.port()));
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  std::vector<long> answered_ms;
  bool closed = false;
  underAttack("pipelined_binds", good, [&] {
    EsmeClient c;
    c.setLocalAddress("127.0.0.5");
    REQUIRE(c.connect("127.0.0.1", gw.port()));
    // 100 binds in one write (about 4 KB).
    smppgw::codec::Buffer all;
    for (int i = 0; i < 100; ++i) {
      smppgw::codec::Pdu bind(CommandId::bind_transmitter, c.nextSeq());
      auto& b = bind.as<smppgw::codec::BindBody>();
      b.system_id = "acme";
      b.password = "guess";
      b.interface_version = 0x34;
      smppgw::codec::encode(bind, all, {0x34});
    }
    const auto t0 = Clock::now();
    REQUIRE(c.sendRaw(all.data(), all.size()));
    for (int i = 0; i < 100; ++i) {
      auto r = c.read(3000);
      if (r == nullptr) {
        break;
      }
      CHECK(r->id() == CommandId::bind_transmitter_resp);
      CHECK(r->status() == st::ESME_RINVPASWD);
      answered_ms.push_back(static_cast<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
    }
    closed = c.peerClosed() || c.waitClosed(3000);
  });
  CHECK(answered_ms.size() == 3);  // auth.max_attempts_per_connection
  CHECK(closed);
  // Each answer waited auth.failure_delay (200 ms) after its check: a lower bound only.
  for (size_t i = 0; i < answered_ms.size(); ++i) {
    CHECK(answered_ms[i] >= static_cast<long>(200 * (i + 1)));
  }
  CHECK(metric(gw.metricsPort(), "smppgw_refusals_total{customer=\"acme\",reason=\"auth\"}") == 3);
}

TEST_CASE("20 attackers from 20 addresses: blocked after 5 failures each; a fresh bind gets in") {
  McsimProc mc;
  GatewayProc gw(abuseConfig(mc.port()));
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  uint32_t status_before = 0;
  const long before_ms = freshBindMs(gw.port(), "127.0.0.1", &status_before);
  REQUIRE(status_before == st::ESME_ROK);
  std::atomic<int> checked{0};
  long during_ms = -1;
  uint32_t status_during = 0;
  underAttack("parallel_attackers", good, [&] {
    std::vector<std::thread> attackers;
    for (int a = 0; a < 20; ++a) {
      attackers.emplace_back([&, a] {
        const std::string local = "127.0.1." + std::to_string(10 + a);
        const auto deadline = Clock::now() + 20s;
        for (int i = 0; i < 40 && Clock::now() < deadline; ++i) {
          EsmeClient c;
          auto r = bindFrom(c, local, gw.port(), "acme", "guess");
          if (r != nullptr && r->status() == st::ESME_RINVPASWD) {
            ++checked;
          }
        }
      });
    }
    // Measured while the attack runs: once the first guess has been checked and refused.
    for (const auto until = Clock::now() + 10s; checked.load() == 0 && Clock::now() < until;) {
      std::this_thread::sleep_for(1ms);  // bounded poll of the attackers' counter
    }
    during_ms = freshBindMs(gw.port(), "127.0.0.1", &status_during, "gamma");
    for (auto& t : attackers) {
      t.join();
    }
  });
  CHECK(status_during == st::ESME_ROK);
  CHECK(checked.load() <= 20 * 5);  // no address got more than max_failures checks
  CHECK(metric(gw.metricsPort(), "smppgw_auth_blocks_total") == 20);
  MESSAGE("fresh bind: " << before_ms << " ms before, " << during_ms << " ms during the attack");
  std::printf("abuse_fresh_bind before_ms=%ld during_ms=%ld\n", before_ms, during_ms);
}

TEST_CASE("1,000 connections from one address: 50 stay, the rest are closed, others still bind") {
  raiseOwnDescriptorLimit();
  McsimProc mc;
  json cfg = abuseConfig(mc.port());
  cfg["limits"]["max_connections_per_source"] = 50;
  GatewayProc gw(cfg);
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  Fds fds;
  size_t closed = 0;
  uint32_t fresh_status = 0;
  underAttack("connection_flood", good, [&] {
    for (int i = 0; i < 1000; ++i) {
      int fd = rawConnect("127.0.0.6", gw.port());
      if (fd >= 0) {
        fds.v.push_back(fd);
      }
    }
    closed = closedByPeer(fds.v, 3s);
    freshBindMs(gw.port(), "127.0.0.1", &fresh_status);
  });
  CHECK(fds.v.size() == 1000);
  CHECK(closed == 950);
  CHECK(fresh_status == st::ESME_ROK);
  CHECK(metric(gw.metricsPort(),
               "smppgw_connections_refused_total{listener=\"test\",reason=\"per_source\"}") == 950);
  CHECK(count(gw.proc().err(), "event=connection_refused") < 100);
}

TEST_CASE("slow-loris: 200 connections that never finish a PDU are closed at session_init") {
  McsimProc mc;
  json cfg = abuseConfig(mc.port());
  cfg["timers"]["session_init"] = "1s";
  cfg["limits"]["max_connections_per_source"] = 500;
  GatewayProc gw(cfg);
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  Fds fds;
  size_t closed = 0;
  underAttack("slow_loris", good, [&] {
    for (int i = 0; i < 200; ++i) {
      int fd = rawConnect("127.0.0.7", gw.port());
      if (fd >= 0) {
        const uint8_t part[3] = {0, 0, 0};  // the start of a command_length, and nothing more
        CHECK(::send(fd, part, sizeof part, MSG_NOSIGNAL) == 3);
        fds.v.push_back(fd);
      }
    }
    closed = closedByPeer(fds.v, 5s);
  });
  CHECK(fds.v.size() == 200);
  CHECK(closed == 200);
}

TEST_CASE("oversized command_length: answered generic_nack and closed, for a second on end") {
  McsimProc mc;
  GatewayProc gw(abuseConfig(mc.port()));
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  int nacked = 0, closed = 0, sent = 0;
  underAttack("oversized_pdu", good, [&] {
    // For a second at least (a throughput needs time to measure), at most 20,000 times.
    const auto until = Clock::now() + 1s;
    for (int i = 0; i < 20000 && (i < 200 || Clock::now() < until); ++i) {
      ++sent;
      EsmeClient c;
      c.setLocalAddress("127.0.0.8");
      REQUIRE(c.connect("127.0.0.1", gw.port()));
      // command_length 16 MiB (over limits.max_pdu_size), bind_transmitter, seq i+1.
      const uint8_t head[16] = {0x01, 0x00, 0x00, 0x00, 0, 0, 0, 0x02,
                                0,    0,    0,    0,    0, 0, 0, static_cast<uint8_t>(i % 250 + 1)};
      REQUIRE(c.sendRaw(head, sizeof head));
      auto r = c.read(2000);
      nacked +=
          r != nullptr && r->id() == CommandId::generic_nack && r->status() == st::ESME_RINVCMDLEN
              ? 1
              : 0;
      closed += c.peerClosed() || c.waitClosed(2000) ? 1 : 0;
    }
  });
  CHECK(sent >= 200);
  CHECK(nacked == sent);
  CHECK(closed == sent);
}

TEST_CASE("out of descriptors: connections beyond the budget are refused, /metrics answers") {
  McsimProc mc;
  json cfg = abuseConfig(mc.port());
  cfg["limits"]["max_connections_per_source"] = 1000;
  // 256 descriptors: 128 kept back (carrier binds, the metrics port, files), so about 120
  // customer connections.
  GatewayProc gw(cfg, true, {"/usr/bin/prlimit", "--nofile=256:256", "--"});
  CHECK(gw.proc().err().find("event=descriptor_limit") != std::string::npos);
  GoodCustomer good;
  REQUIRE(good.start(gw.port()));
  Fds fds;
  int metrics_ok = 0;
  underAttack("descriptor_flood", good, [&] {
    for (int i = 0; i < 400; ++i) {
      int fd = rawConnect("127.0.0.9", gw.port());
      if (fd >= 0) {
        fds.v.push_back(fd);
      }
      if (i % 100 == 99) {
        metrics_ok +=
            smppgw::test::httpGet("127.0.0.1", gw.metricsPort(), "/metrics").status == 200 ? 1 : 0;
      }
    }
    closedByPeer(fds.v, 1s);
  });
  CHECK(metrics_ok == 4);
  const double refused =
      metric(gw.metricsPort(),
             "smppgw_connections_refused_total{listener=\"test\",reason=\"max_connections\"}");
  CHECK(refused >= 250);
  MESSAGE("refused " << refused << " of 400 connections");
  // The process never ran out: nothing was refused for want of a descriptor.
  CHECK(metric(gw.metricsPort(),
               "smppgw_connections_refused_total{listener=\"test\",reason=\"no_descriptors\"}") <=
        0);
}
