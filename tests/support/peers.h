#pragma once
// Real peers for system tests, each a child process on 127.0.0.1 with an ephemeral port read from
// its port file: smpp-mcsim (the carrier), smppgw (the gateway under test, from a JSON config the
// test writes) and smpp-bench runs (JSON report). Every wait is bounded.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace smppgw::testsupport {

std::string binaryPath(const std::string& relative);  // under the build tree

class McsimProc {
 public:
  explicit McsimProc(std::vector<std::string> args = {});
  ~McsimProc();
  uint16_t port() const { return port_; }
  ChildProcess& proc() { return proc_; }
  // SIGTERM, wait for the exit, and return its JSON summary (the last stdout line).
  nlohmann::json stop();

 private:
  ChildProcess proc_;
  std::string port_file_;
  uint16_t port_ = 0;
};

class GatewayProc {
 public:
  // Writes `config` to a temporary file and runs `smppgw run -c FILE` on it. Unless told not to,
  // returns once every configured upstream bind is bound (its log says so).
  // `wrapper`: a command that runs it (e.g. {"prlimit", "--nofile=256:256", "--"}), same pid.
  explicit GatewayProc(const nlohmann::json& config, bool wait_for_upstreams = true,
                       const std::vector<std::string>& wrapper = {});
  // Waits until the gateway's log (stderr) holds `needle` `count` times; false on timeout/exit.
  bool waitForLog(const std::string& needle, size_t count = 1,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~GatewayProc();
  uint16_t port() const { return port_; }
  ChildProcess& proc() { return proc_; }
  const std::string& configPath() const { return config_path_; }
  const std::string& portFile() const { return port_file_; }
  // The metrics port: the second line of the port file (metrics enabled on port 0).
  uint16_t metricsPort() const;
  // Graceful stop: SIGTERM and wait; returns the exit code (-1 on timeout).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));

 private:
  ChildProcess proc_;
  std::string config_path_;
  std::string port_file_;
  uint16_t port_ = 0;
};

struct BenchResult {
  int exit_code = -1;
  nlohmann::json report;
  std::string err;
};
BenchResult runBench(uint16_t port, std::vector<std::string> args);

// The value of one series in a Prometheus exposition ("name{labels} value"), or -1.
double metricSample(const std::string& body, const std::string& series);

// A gateway config with one listener on port 0, plain-text test passwords allowed, short timers,
// one upstream per (name, port) pair in one failover group, and a catch-all route.
nlohmann::json baseGatewayConfig(const std::vector<std::pair<std::string, uint16_t>>& upstreams);

}  // namespace smppgw::testsupport
