#include "tests/support/haproxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace smppgw::testsupport {

namespace {

using Clock = std::chrono::steady_clock;

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

bool isV6(const std::string& host) {
  return host.find(':') != std::string::npos;
}

// "127.0.0.1:P" / "[::1]:P", as haproxy's bind and server lines take them.
std::string hostPort(const std::string& host, uint16_t port) {
  return (isV6(host) ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// A port the kernel just handed out for `host` and that is free again: binding port 0 and
// closing. Someone may take it before haproxy binds; start() retries then.
uint16_t freePort(const std::string& host) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (isV6(host)) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) {
      return 0;
    }
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return 0;
    }
    len = sizeof(sockaddr_in);
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return 0;
  }
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  }
  ::close(fd);
  return port;
}

// Whether the kernel lists a TCP socket listening on `port` (/proc/net/tcp and tcp6: state 0A).
// Read instead of connecting, since a probe connection would be forwarded to the test's server.
bool listening(uint16_t port) {
  char want[8];
  std::snprintf(want, sizeof(want), ":%04X", port);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream f(table);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      if (state == "0A" && local.size() > 5 && local.ends_with(want)) {
        return true;
      }
    }
  }
  return false;
}

std::string config(const HaproxyOptions& o, uint16_t port) {
  std::string send = "send-proxy-v2";
  if (o.send == HaproxyOptions::Send::V1) {
    send = "send-proxy";
  } else if (o.send == HaproxyOptions::Send::V2Crc32c) {
    send = "send-proxy-v2 proxy-v2-options crc32c";
  }
  // One thread (the machine is shared); timeouts so no connection can hang the test.
  return "global\n"
         "    maxconn 64\n"
         "    nbthread 1\n"
         "defaults\n"
         "    mode tcp\n"
         "    timeout connect 5s\n"
         "    timeout client 30s\n"
         "    timeout server 30s\n"
         "frontend fe\n"
         "    bind " +
         hostPort(o.frontend_host, port) +
         "\n"
         "    default_backend be\n"
         "backend be\n"
         "    server s1 " +
         hostPort(o.server_host, o.server_port) + " " + send + "\n";
}

}  // namespace

std::string haproxyPath() {
  if (const char* env = std::getenv("SMPPGW_HAPROXY"); env != nullptr && *env != '\0') {
    return executable(env) ? env : "";
  }
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/sbin:/usr/local/sbin";  // Debian installs it in sbin, not always on a user's PATH
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (!dir.empty() && executable(dir + "/haproxy")) {
      return dir + "/haproxy";
    }
  }
  return "";
}

HaproxyProcess::~HaproxyProcess() {
  stop();
  if (!config_path_.empty()) {
    std::remove(config_path_.c_str());
  }
}

bool HaproxyProcess::start(const HaproxyOptions& options, std::string* error) {
  const std::string bin = haproxyPath();
  if (bin.empty()) {
    *error = "haproxy is not installed";
    return false;
  }
  constexpr int kAttempts = 5;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    const uint16_t port = freePort(options.frontend_host);
    if (port == 0) {
      *error = "no free port on " + options.frontend_host;
      return false;
    }
    if (config_path_.empty()) {
      config_path_ = tempPath("haproxy") + ".cfg";
    }
    std::ofstream(config_path_) << config(options, port);
    proc_ = ChildProcess();
    if (!proc_.start(bin, {"-f", config_path_, "-db"}, error)) {
      return false;
    }
    // Ready when its frontend listens; an exit first means it could not start (or bind).
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline && !listening(port)) {
      // Returns at once if haproxy exits; otherwise the next look is 5 ms away.
      if (proc_.wait(std::chrono::milliseconds(5))) {
        break;
      }
    }
    if (proc_.running() && listening(port)) {
      port_ = port;
      return true;
    }
    const std::string err = proc_.err();
    proc_.stop(std::chrono::milliseconds(2000));
    const bool bind_failed =
        err.find("annot bind") != std::string::npos || err.find("in use") != std::string::npos;
    if (!bind_failed || attempt == kAttempts) {
      *error = "haproxy did not start (attempt " + std::to_string(attempt) + "): " + err;
      return false;
    }
  }
  return false;
}

void HaproxyProcess::stop() {
  if (proc_.started()) {
    proc_.stop(std::chrono::milliseconds(3000));
  }
}

}  // namespace smppgw::testsupport
