// The PROXY protocol reader behind a real HAProxy: a loopback server (net::Loop, net::Listener)
// reads the header of each connection with net::ProxyHeaderParser; a client connects through
// haproxy (send-proxy, send-proxy-v2, send-proxy-v2 with CRC32C) and sends SMPP at once. The
// parsed source must be the client's own address and port, the destination haproxy's frontend,
// and the SMPP must arrive intact after the header.
//
// Exits 77 (CTest: skipped) without haproxy; with --ipv6 it runs only the [::1] cases, and exits
// 77 where ::1 cannot be bound.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "net/connection.h"
#include "net/loop.h"
#include "net/proxy_protocol.h"
#include "tests/support/haproxy.h"

namespace net = smppgw::net;
using smppgw::testsupport::HaproxyOptions;
using smppgw::testsupport::HaproxyProcess;
using Status = net::ProxyHeaderParser::Status;

namespace {

constexpr int kSkip = 77;  // SKIP_RETURN_CODE in tests/net/CMakeLists.txt

// What the customer sends right after connecting: a bind_transmitter, then 200 enquire_links
// (more than one read's worth on the far side of haproxy, in whatever pieces it forwards).
std::vector<uint8_t> smppStream() {
  std::vector<uint8_t> s = {0x00, 0x00, 0x00, 0x1E, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
                            0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 'e',  's',  'm',  'e',
                            '1',  0x00, 'p',  'w',  0x00, 0x00, 0x34, 0x00, 0x00, 0x00};
  for (uint32_t seq = 2; seq < 202; ++seq) {
    const uint8_t enquire_link[12] = {0, 0, 0, 0x10, 0, 0, 0, 0x15, 0, 0, 0, 0};
    s.insert(s.end(), enquire_link, enquire_link + sizeof(enquire_link));
    for (int shift = 24; shift >= 0; shift -= 8) {
      s.push_back(static_cast<uint8_t>(seq >> shift));
    }
  }
  return s;
}

struct Run;

// One connection haproxy made to the server.
struct Peer {
  uv_tcp_t tcp{};
  Run* run = nullptr;
  net::ProxyHeaderParser parser;
  std::vector<uint8_t> payload;  // everything after the header
  uint8_t buf[4096] = {};
};

struct Client {
  uv_tcp_t tcp{};
  uv_connect_t connect{};
  uv_write_t write{};
  sockaddr_storage local{};
  int connect_status = 1;
};

struct Run {
  // Declared before the loop, so destroyed after it: their handles are closed by ~Loop.
  std::vector<std::unique_ptr<Peer>> peers;
  Client client;
  std::vector<uint8_t> sent = smppStream();
  std::unique_ptr<uv_timer_t> deadline = std::make_unique<uv_timer_t>();
  net::Loop loop;
  Peer* done = nullptr;  // the peer whose header parsed and whose payload is complete
  std::string failure;
  bool timed_out = false;
};

void onPeerRead(uv_stream_t* s, ssize_t nread, const uv_buf_t*) {
  auto* p = static_cast<Peer*>(s->data);
  Run& run = *p->run;
  if (nread < 0) {
    uv_read_stop(s);
    return;
  }
  std::span<const uint8_t> data(p->buf, static_cast<size_t>(nread));
  if (p->parser.status() == Status::NeedMore) {
    size_t used = 0;
    const Status st = p->parser.feed(data, used);
    if (st == Status::Error) {
      run.failure = std::string("PROXY header refused: ") + p->parser.error();
      run.loop.stop();
      return;
    }
    data = data.subspan(used);  // NeedMore: nothing left; Done: the first SMPP bytes
  }
  p->payload.insert(p->payload.end(), data.begin(), data.end());
  if (p->parser.status() == Status::Done && p->payload.size() >= run.sent.size()) {
    run.done = p;
    run.loop.stop();
  }
}

void onClientConnect(uv_connect_t* req, int status) {
  auto* run = static_cast<Run*>(req->data);
  run->client.connect_status = status;
  if (status != 0) {
    run->failure = std::string("connect to haproxy: ") + uv_strerror(status);
    run->loop.stop();
    return;
  }
  int len = sizeof(run->client.local);
  uv_tcp_getsockname(&run->client.tcp, reinterpret_cast<sockaddr*>(&run->client.local), &len);
  uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(run->sent.data()),
                           static_cast<unsigned>(run->sent.size()));
  uv_write(&run->client.write, reinterpret_cast<uv_stream_t*>(&run->client.tcp), &b, 1,
           [](uv_write_t*, int) {});
}

// One customer through haproxy; the header and payload the server saw.
void throughHaproxy(HaproxyOptions::Send send, const std::string& host) {
  Run run;
  net::Listener listener(run.loop, [&run](uv_stream_t* server) {
    auto p = std::make_unique<Peer>();
    p->run = &run;
    uv_tcp_init(run.loop.raw(), &p->tcp);
    p->tcp.data = p.get();
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&p->tcp)) == 0) {
      uv_read_start(
          reinterpret_cast<uv_stream_t*>(&p->tcp),
          [](uv_handle_t* h, size_t, uv_buf_t* b) {
            auto* peer = static_cast<Peer*>(h->data);
            *b = uv_buf_init(reinterpret_cast<char*>(peer->buf), sizeof(peer->buf));
          },
          &onPeerRead);
    }
    run.peers.push_back(std::move(p));
  });
  sockaddr_storage bind_addr{};
  REQUIRE(net::parseAddress(host, 0, bind_addr));
  REQUIRE(listener.listen(reinterpret_cast<sockaddr*>(&bind_addr)) == 0);

  HaproxyProcess haproxy;
  HaproxyOptions opts;
  opts.send = send;
  opts.frontend_host = host;
  opts.server_host = host;
  opts.server_port = listener.port();
  std::string error;
  REQUIRE_MESSAGE(haproxy.start(opts, &error), error);

  // Bounded: whatever happens, the loop stops within 10 s.
  uv_timer_init(run.loop.raw(), run.deadline.get());
  run.deadline->data = &run;
  uv_timer_start(
      run.deadline.get(),
      [](uv_timer_t* t) {
        auto* r = static_cast<Run*>(t->data);
        r->timed_out = true;
        r->loop.stop();
      },
      10000, 0);

  sockaddr_storage front{};
  REQUIRE(net::parseAddress(host, haproxy.port(), front));
  uv_tcp_init(run.loop.raw(), &run.client.tcp);
  run.client.connect.data = &run;
  REQUIRE(uv_tcp_connect(&run.client.connect, &run.client.tcp, reinterpret_cast<sockaddr*>(&front),
                         &onClientConnect) == 0);
  run.loop.run();

  {
    INFO("haproxy stderr: " << haproxy.proc().err());
    REQUIRE_MESSAGE(run.failure.empty(), run.failure);
    REQUIRE_FALSE(run.timed_out);
    REQUIRE(run.done != nullptr);
  }
  const net::ProxyHeader& h = run.done->parser.header();
  CHECK(h.version == (send == HaproxyOptions::Send::V1 ? 1 : 2));
  CHECK_FALSE(h.local);
  // The customer as the gateway will see it: the client's own address and port.
  CHECK(net::formatAddress(reinterpret_cast<const sockaddr*>(&h.source)) ==
        net::formatAddress(reinterpret_cast<const sockaddr*>(&run.client.local)));
  CHECK(net::formatAddress(reinterpret_cast<const sockaddr*>(&h.destination)) ==
        net::formatAddress(reinterpret_cast<const sockaddr*>(&front)));
  CHECK(run.done->payload == run.sent);
  MESSAGE("v" << int(h.version) << " header of " << h.length << " bytes, source "
              << net::formatAddress(reinterpret_cast<const sockaddr*>(&h.source)));
}

bool ipv6LoopbackAvailable() {
  sockaddr_storage ss{};
  net::parseAddress("::1", 0, ss);
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), sizeof(sockaddr_in6)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("haproxy send-proxy (v1) over IPv4") {
  throughHaproxy(HaproxyOptions::Send::V1, "127.0.0.1");
}

TEST_CASE("haproxy send-proxy-v2 over IPv4") {
  throughHaproxy(HaproxyOptions::Send::V2, "127.0.0.1");
}

TEST_CASE("haproxy send-proxy-v2 with a CRC32C TLV over IPv4") {
  throughHaproxy(HaproxyOptions::Send::V2Crc32c, "127.0.0.1");
}

TEST_CASE("IPv6: haproxy send-proxy (v1) over ::1") {
  throughHaproxy(HaproxyOptions::Send::V1, "::1");
}

TEST_CASE("IPv6: haproxy send-proxy-v2 over ::1") {
  throughHaproxy(HaproxyOptions::Send::V2, "::1");
}

int main(int argc, char** argv) {
  if (smppgw::testsupport::haproxyPath().empty()) {
    std::fprintf(stderr, "haproxy is not installed (deploy/install-deps.sh --test): skipped\n");
    return kSkip;
  }
  bool ipv6 = false;
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ipv6") == 0) {
      ipv6 = true;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (ipv6 && !ipv6LoopbackAvailable()) {
    std::fprintf(stderr, "::1 cannot be bound here: skipped\n");
    return kSkip;
  }
  doctest::Context ctx(static_cast<int>(args.size()), args.data());
  ctx.setOption(ipv6 ? "test-case" : "test-case-exclude", "IPv6:*");
  return ctx.run();
}
