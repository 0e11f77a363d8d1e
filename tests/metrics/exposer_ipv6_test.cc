// The metrics port on the IPv6 loopback. A CTest entry of its own (metrics_exposer_ipv6): on a
// host where ::1 cannot be bound it exits 77, which CTest reports as skipped, never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "metrics/exposer.h"
#include "metrics/registry.h"

namespace m = smppgw::metrics;

namespace {

constexpr int kSkip = 77;  // SKIP_RETURN_CODE in tests/metrics/CMakeLists.txt

sockaddr_in6 loopback6(uint16_t port) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(port);
  a.sin6_addr = in6addr_loopback;
  return a;
}

// Whether this host can bind [::1]:0 at all; the reason if not.
bool ipv6LoopbackAvailable(std::string& reason) {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    reason = std::string("socket(AF_INET6): ") + std::strerror(errno);
    return false;
  }
  const sockaddr_in6 a = loopback6(0);
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
  if (!ok) {
    reason = std::string("bind [::1]:0: ") + std::strerror(errno);
  }
  ::close(fd);
  return ok;
}

// One request over IPv6; everything the server sends until it closes (5 s at most).
std::string get6(uint16_t port, const std::string& target) {
  const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const sockaddr_in6 a = loopback6(port);
  std::string out;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: [::1]\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) {
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("the metrics port serves on the IPv6 loopback") {
  m::Registry reg;
  m::ExposerOptions o;
  o.address = "::1";
  o.port = 0;
  std::string error;
  auto ex = m::Exposer::start(reg, o, error);
  REQUIRE_MESSAGE(ex != nullptr, error);
  REQUIRE(ex->port() != 0);
  const std::string r = get6(ex->port(), "/healthz");
  CHECK(r.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(r.ends_with("\r\n\r\nok\n"));
  CHECK(get6(ex->port(), "/metrics").starts_with("HTTP/1.1 200 OK\r\n"));
}

int main(int argc, char** argv) {
  std::string reason;
  if (!ipv6LoopbackAvailable(reason)) {
    std::printf("SKIP: no IPv6 loopback on this host (%s)\n", reason.c_str());
    return kSkip;
  }
  doctest::Context context(argc, argv);
  return context.run() == 0 ? 0 : 1;
}
