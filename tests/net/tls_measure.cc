// Not a test: measures TLS costs on one loop (one core), for docs and reviews.
//   tls_measure   -> memory per idle session, handshakes/s, plaintext vs TLS bulk throughput
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "net/connection.h"
#include "net/loop.h"
#include "net/tls.h"
#include "tests/support/pki.h"

using namespace smppgw;

namespace {

constexpr uint32_t kMaxPdu = 70000;

long rssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stol(line.substr(6));
    }
  }
  return 0;
}

template <class F>
void runUntil(net::Loop& loop, F done) {
  while (!done()) {
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
}

std::string makePdu(uint32_t len) {
  std::string p(len, 'x');
  p[0] = static_cast<char>(len >> 24);
  p[1] = static_cast<char>(len >> 16);
  p[2] = static_cast<char>(len >> 8);
  p[3] = static_cast<char>(len);
  return p;
}

struct Counter : net::ConnectionHandler {
  uint64_t pdus = 0, secured = 0, closed = 0;
  void onPdu(net::Connection&, codec::Bytes) override { ++pdus; }
  void onFramingError(net::Connection& c, const codec::DecodeError&) override { c.abort(); }
  void onSecured(net::Connection&) override { ++secured; }
  void onClosed(net::Connection&, int) override { ++closed; }
};

struct Bed {
  net::Loop loop;
  Counter sh, ch;
  std::shared_ptr<net::TlsContext> sctx, cctx;
  std::vector<net::Connection::Ptr> server, client;
  std::unique_ptr<net::Listener> listener;
  uint16_t port = 0;

  explicit Bed(bool tls, bool resume = true) {
    const auto& p = nettest::pki();
    std::string err;
    if (tls) {
      net::TlsOptions s;
      s.role = net::TlsOptions::Role::Server;
      s.cert_file = p.server_cert;
      s.key_file = p.server_key;
      sctx = net::TlsContext::create(s, err);
      net::TlsOptions c;
      c.role = net::TlsOptions::Role::Client;
      c.ca_file = p.ca;
      c.session_resumption = resume;
      cctx = net::TlsContext::create(c, err);
      if (!sctx || !cctx) {
        std::fprintf(stderr, "%s\n", err.c_str());
        std::exit(1);
      }
    }
    listener = std::make_unique<net::Listener>(loop, [this](uv_stream_t* st) {
      auto c = net::Connection::create(loop, &sh, kMaxPdu);
      if (c->accept(st) == 0) {
        if (sctx) {
          c->startTls(sctx);
        }
        server.push_back(std::move(c));
      }
    });
    sockaddr_storage ss{};
    net::parseAddress("127.0.0.1", 0, ss);
    listener->listen(reinterpret_cast<sockaddr*>(&ss));
    port = listener->port();
  }
  net::Connection& connect() {
    auto c = net::Connection::create(loop, &ch, kMaxPdu);
    if (cctx) {
      c->startTls(cctx, "localhost");
    }
    sockaddr_storage ss{};
    net::parseAddress("127.0.0.1", port, ss);
    c->connect(reinterpret_cast<sockaddr*>(&ss));
    client.push_back(std::move(c));
    return *client.back();
  }
  ~Bed() {
    client.clear();
    server.clear();
    listener.reset();
    for (int i = 0; i < 4; ++i) {
      uv_run(loop.raw(), UV_RUN_NOWAIT);
    }
  }
};

// N idle pairs, one PDU each way (so tickets and first records are behind them).
double idleKbPerConnection(bool tls, int n) {
  Bed b(tls);
  const std::string pdu = makePdu(64);
  // Warm up allocator and OpenSSL's lazily built tables with a few pairs first.
  for (int i = 0; i < 10; ++i) {
    b.connect();
  }
  runUntil(b.loop, [&] { return b.server.size() == 10; });
  const long before = rssKb();
  for (int i = 0; i < n; ++i) {
    b.connect();
    if (i % 50 == 49) {
      runUntil(b.loop, [&] { return b.server.size() == size_t(i) + 11; });
    }
  }
  runUntil(b.loop, [&] { return b.server.size() == size_t(n) + 10; });
  for (auto& c : b.client) {
    c->out().append(pdu.data(), pdu.size());
    c->send();
  }
  runUntil(b.loop, [&] { return b.sh.pdus >= uint64_t(n) + 10; });
  for (auto& c : b.server) {
    c->out().append(pdu.data(), pdu.size());
    c->send();
  }
  runUntil(b.loop, [&] { return b.ch.pdus >= uint64_t(n) + 10; });
  const long after = rssKb();
  return double(after - before) / (2.0 * n);  // both ends are on this loop
}

double handshakesPerSecond(bool resume, int total, int concurrency) {
  Bed b(true, resume);
  if (resume) {
    // One exchange first, so the client holds a ticket to resume with.
    b.connect();
    runUntil(b.loop, [&] { return b.sh.secured == 1; });
    const std::string pdu = makePdu(16);
    b.server[0]->out().append(pdu.data(), pdu.size());
    b.server[0]->send();
    runUntil(b.loop, [&] { return b.ch.pdus == 1; });
    b.client.clear();
    b.ch.secured = 0;
  }
  int started = 0;
  int reused = 0;
  const uint64_t t0 = net::Loop::hrtimeNs();
  while (b.ch.secured < uint64_t(total)) {
    while (started < total && started - int(b.ch.secured) < concurrency) {
      b.connect();
      ++started;
    }
    uv_run(b.loop.raw(), UV_RUN_ONCE);
    // Drop finished pairs so the loop stays small.
    for (auto& c : b.client) {
      if (c && c->tls()->established()) {
        reused += c->tls()->sessionReused();
        c.reset();
      }
    }
    std::erase(b.client, nullptr);
    if (b.server.size() > 256) {
      b.server.erase(b.server.begin(), b.server.begin() + 128);
    }
  }
  const double s = double(net::Loop::hrtimeNs() - t0) / 1e9;
  if (resume) {
    std::printf("  (resumed: %d of %d)\n", reused, total);
  }
  return total / s;
}

void throughput(bool tls, uint32_t pdu_len, uint64_t count) {
  Bed b(tls);
  net::Connection& c = b.connect();
  const std::string warm = makePdu(16);
  c.out().append(warm.data(), warm.size());
  c.send();
  runUntil(b.loop, [&] { return b.sh.pdus == 1; });
  const std::string pdu = makePdu(pdu_len);
  const uint64_t t0 = net::Loop::hrtimeNs();
  const uint64_t w0 = c.stats().writes;
  uint64_t sent = 0;
  while (b.sh.pdus < count + 1) {
    // Keep ~1 MB in flight, 500 PDUs per iteration.
    while (sent < count && sent - (b.sh.pdus - 1) < 4000 && c.pendingOutput() < (1 << 20)) {
      for (int i = 0; i < 500 && sent < count; ++i, ++sent) {
        c.out().append(pdu.data(), pdu.size());
      }
      c.send();
      break;
    }
    uv_run(b.loop.raw(), UV_RUN_ONCE);
  }
  const double s = double(net::Loop::hrtimeNs() - t0) / 1e9;
  std::printf("  %-9s %u-octet PDUs: %.0f PDUs/s, %.0f MB/s, %.2f PDUs per socket write\n",
              tls ? "TLS" : "plaintext", pdu_len, count / s, count * pdu_len / s / 1e6,
              double(count) / double(c.stats().writes - w0));
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  if (!nettest::pki().error.empty()) {
    std::fprintf(stderr, "%s\n", nettest::pki().error.c_str());
    return 1;
  }
  std::printf("idle memory per connection end (%d pairs, VmRSS delta / %d):\n", n, 2 * n);
  std::printf("  plaintext: %.1f KB\n", idleKbPerConnection(false, n));
  std::printf("  TLS:       %.1f KB\n", idleKbPerConnection(true, n));
  std::printf("handshakes/s on one core (client and server both on this loop, P-256, TLS 1.3):\n");
  std::printf("  full:    %.0f\n", handshakesPerSecond(false, 2000, 32));
  std::printf("bulk one way, one connection:\n");
  throughput(false, 200, 2'000'000);
  throughput(true, 200, 2'000'000);
  throughput(false, 4000, 200'000);
  throughput(true, 4000, 200'000);
  return 0;
}
