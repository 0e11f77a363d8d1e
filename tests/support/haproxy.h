#pragma once
// HAProxy as a real PROXY protocol sender for tests: a TCP frontend on a loopback port that
// forwards every connection to the test's server with a v1 or v2 header in front. The config is
// written to a temporary file; haproxy runs in the foreground (-db: no daemon, no master; no stats
// socket, no logs) as a child of the test, and is killed by its PID.

#include <cstdint>
#include <string>

#include "tests/support/process.h"

namespace smppgw::testsupport {

// The haproxy binary ($SMPPGW_HAPROXY, else the first haproxy on $PATH or in /usr/sbin), or ""
// when it is not installed (the tests then exit 77: skipped).
std::string haproxyPath();

struct HaproxyOptions {
  enum class Send { V1, V2, V2Crc32c };  // send-proxy, send-proxy-v2, ... proxy-v2-options crc32c
  Send send = Send::V2;
  std::string frontend_host = "127.0.0.1";  // or "::1"
  std::string server_host = "127.0.0.1";
  uint16_t server_port = 0;
};

class HaproxyProcess {
 public:
  HaproxyProcess() = default;
  ~HaproxyProcess();
  HaproxyProcess(const HaproxyProcess&) = delete;
  HaproxyProcess& operator=(const HaproxyProcess&) = delete;

  // Picks a free frontend port, writes the config, starts haproxy and returns once the frontend
  // is listening (10 s at most). haproxy needs a concrete port, which another process may take
  // between our probe and its bind: it is then retried on a new port, a few times. False with
  // `error` (and haproxy's stderr) otherwise.
  bool start(const HaproxyOptions& options, std::string* error);
  uint16_t port() const { return port_; }
  const std::string& configPath() const { return config_path_; }
  ChildProcess& proc() { return proc_; }
  // SIGTERM, then SIGKILL if it lingers; the process is reaped.
  void stop();

 private:
  ChildProcess proc_;
  std::string config_path_;
  uint16_t port_ = 0;
};

}  // namespace smppgw::testsupport
