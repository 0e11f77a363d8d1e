#include "tests/support/peers.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <csignal>
#include <fstream>

using namespace std::chrono_literals;
using nlohmann::json;

namespace smppgw::testsupport {

std::string binaryPath(const std::string& relative) {
  return SMPPGW_BINARY_DIR "/" + relative;
}

McsimProc::McsimProc(std::vector<std::string> args) : port_file_(tempPath("mcsim-port")) {
  // --duration: a simulator orphaned by a crashed test still exits by itself.
  args.insert(args.begin(), {"--listen", "127.0.0.1:0", "--port-file", port_file_, "--quiet",
                             "--duration", "300s"});
  std::string error;
  REQUIRE_MESSAGE(proc_.start(binaryPath("tools/mcsim/smpp-mcsim"), args, &error), error);
  auto p = proc_.waitForPortFile(port_file_, 10s);
  REQUIRE_MESSAGE(p.has_value(), "smpp-mcsim did not start: " << proc_.err());
  port_ = *p;
}

McsimProc::~McsimProc() {
  proc_.stop(2s);
  ::unlink(port_file_.c_str());
}

json McsimProc::stop() {
  REQUIRE(proc_.signal(SIGTERM));
  REQUIRE_MESSAGE(proc_.wait(10s), "smpp-mcsim did not exit on SIGTERM");
  std::string out = proc_.out();
  while (!out.empty() && out.back() == '\n') {
    out.pop_back();
  }
  const size_t nl = out.rfind('\n');
  return json::parse(nl == std::string::npos ? out : out.substr(nl + 1), nullptr, false);
}

GatewayProc::GatewayProc(const json& config, bool wait_for_upstreams,
                         const std::vector<std::string>& wrapper)
    : config_path_(tempPath("smppgw-config") + ".json"), port_file_(tempPath("smppgw-port")) {
  {
    std::ofstream f(config_path_);
    f << config.dump(2);
  }
  std::string error;
  std::vector<std::string> args = {"run", "-c", config_path_, "--port-file", port_file_};
  std::string path = binaryPath("gateway/smppgw");
  if (!wrapper.empty()) {
    args.insert(args.begin(), path);
    args.insert(args.begin(), wrapper.begin() + 1, wrapper.end());
    path = wrapper[0];
  }
  REQUIRE_MESSAGE(proc_.start(path, args, &error), error);
  auto p = proc_.waitForPortFile(port_file_, 10s);
  REQUIRE_MESSAGE(p.has_value(), "smppgw did not start: " << proc_.err());
  port_ = *p;
  if (wait_for_upstreams && config.contains("upstreams")) {
    size_t binds = 0;
    for (const json& u : config["upstreams"]) {
      binds += u.value("binds", 1u) + u.value("receiver_binds", 0u);
    }
    REQUIRE_MESSAGE(waitForLog("event=upstream_bound", binds),
                    "upstream binds did not come up: " << proc_.err());
  }
}

bool GatewayProc::waitForLog(const std::string& needle, size_t count,
                             std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const std::string log = proc_.err();
    size_t n = 0;
    for (size_t pos = log.find(needle); pos != std::string::npos;
         pos = log.find(needle, pos + needle.size())) {
      ++n;
    }
    if (n >= count) {
      return true;
    }
    if (!proc_.running() || std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    // Bounded polling of the child's log file for the event line.
    ::usleep(2000);
  }
}

GatewayProc::~GatewayProc() {
  proc_.stop(5s);
  ::unlink(port_file_.c_str());
  ::unlink(config_path_.c_str());
}

int GatewayProc::stop(std::chrono::milliseconds timeout) {
  if (!proc_.signal(SIGTERM)) {
    return proc_.exited() ? proc_.exitCode() : -1;
  }
  if (!proc_.wait(timeout)) {
    return -1;
  }
  return proc_.exitCode();
}

BenchResult runBench(uint16_t port, std::vector<std::string> args) {
  args.insert(args.begin(),
              {"--connect", "127.0.0.1:" + std::to_string(port), "--json", "--quiet"});
  ChildProcess b;
  std::string error;
  REQUIRE_MESSAGE(b.start(binaryPath("tools/bench/smpp-bench"), args, &error), error);
  REQUIRE_MESSAGE(b.wait(120s), "smpp-bench did not finish");
  BenchResult r;
  r.exit_code = b.exitCode();
  r.err = b.err();
  const std::string out = b.out();
  REQUIRE_MESSAGE(!out.empty(), "no report; stderr: " << r.err);
  r.report = json::parse(out, nullptr, false);
  return r;
}

uint16_t GatewayProc::metricsPort() const {
  std::ifstream f(port_file_);
  std::string a, b;
  std::getline(f, a);
  std::getline(f, b);
  return static_cast<uint16_t>(std::stoul(b));
}

double metricSample(const std::string& body, const std::string& series) {
  size_t pos = body.find("\n" + series + " ");
  if (pos == std::string::npos) {
    return -1;
  }
  pos += series.size() + 2;
  return std::stod(body.substr(pos, body.find('\n', pos) - pos));
}

json baseGatewayConfig(const std::vector<std::pair<std::string, uint16_t>>& upstreams) {
  json c;
  c["gateway"] = {{"allow_plain_passwords", true}, {"system_id", "smppgw-test"}};
  c["listeners"] = json::array({{{"name", "test"}, {"address", "127.0.0.1"}, {"port", 0}}});
  c["customers"] = json::array(
      {{{"system_id", "acme"}, {"password", "secret"}, {"window", 50}, {"max_binds", 4}}});
  json ups = json::array();
  json members = json::array();
  uint32_t prio = 1;
  for (const auto& [name, port] : upstreams) {
    ups.push_back({{"name", name},
                   {"host", "127.0.0.1"},
                   {"port", port},
                   {"system_id", "gw"},
                   {"password", "pw"},
                   {"binds", 1},
                   {"window", 50},
                   // One customer: it may hold the whole carrier window of deliveries.
                   {"customer_delivery_share", 1000},
                   {"request_timeout", "2s"},
                   {"connect_timeout", "1s"},
                   {"reconnect", {{"initial", "100ms"}, {"max", "500ms"}}}});
    members.push_back({{"upstream", name}, {"priority", prio++}});
  }
  c["upstreams"] = ups;
  c["groups"] = json::array({{{"name", "main"}, {"strategy", "failover"}, {"members", members}}});
  c["routes"] = json::array({{{"name", "all"}, {"action", {{"group", "main"}}}}});
  c["mo_routes"] = json::array({{{"name", "mo"}, {"action", {{"customer", "acme"}}}}});
  c["timers"] = {{"response", "3s"}, {"unbind", "1s"}, {"shutdown_grace", "10s"}};
  c["metrics"] = {{"enabled", false}};
  return c;
}

}  // namespace smppgw::testsupport
