#pragma once
// Test support: a real Prometheus server (Debian's `prometheus`, installed by
// deploy/install-deps.sh --test) started on 127.0.0.1 with a generated config that scrapes the
// given targets every second, plus a small blocking HTTP client to talk to it (and to smppgw's
// metrics port).
//
//   auto prom = PrometheusServer::start({.targets = {"127.0.0.1:" + std::to_string(port)}}, err);
//   auto v = prom->waitFor("smppgw_pdus_received_total", [](double v) { return v >= 1000; }, 30s);
//
// The server listens on 127.0.0.1:0 (the kernel picks the port; it is read back from the
// server's "Listening on" log line), keeps its TSDB in a private temporary directory, and is
// stopped by its PID (SIGTERM, then SIGKILL after a bounded wait) when the object goes away. It
// never touches any other process.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smppgw::test {

struct HttpResponse {
  int status = 0;       // 0: no response (error says why)
  std::string headers;  // the raw header block, status line excluded
  std::string body;
  std::string error;

  // The value of a header (case-insensitive name), or "" if absent.
  std::string header(std::string_view name) const;
};

// One GET with Connection: close, bounded by `timeout` (connect, send and every read).
HttpResponse httpGet(const std::string& host, uint16_t port, const std::string& target,
                     std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Percent-encodes everything but unreserved characters (RFC 3986), for query strings.
std::string urlEncode(std::string_view s);

class PrometheusServer {
  struct Key {};  // only start() constructs

 public:
  struct Options {
    std::vector<std::string> targets;  // host:port, scraped as job "smppgw"
    std::string metrics_path = "/metrics";
    std::string scrape_interval = "1s";
    std::string binary = "prometheus";  // looked up in PATH
    std::chrono::milliseconds start_timeout = std::chrono::seconds(30);
  };

  // Starts the server and waits until /-/ready answers 200. nullptr (and `error`, with the
  // server's log) on failure or timeout.
  static std::unique_ptr<PrometheusServer> start(Options options, std::string& error);
  explicit PrometheusServer(Key) {}
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Instant query through /api/v1/query. The value of the first sample (or of a scalar);
  // nullopt when the result is empty or the query failed (then `error`, if given, says why).
  std::optional<double> query(const std::string& promql, std::string* error = nullptr) const;

  // Polls query() every 200 ms until pred(value) holds; the last value seen (or nullopt) when
  // `timeout` runs out first.
  std::optional<double> waitFor(const std::string& promql, const std::function<bool(double)>& pred,
                                std::chrono::milliseconds timeout) const;

  // What the server has logged so far (for failure messages).
  std::string log() const;

  // Stops the server now (SIGTERM, bounded wait, then SIGKILL). Idempotent.
  void stop();

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::filesystem::path dir_;  // config, log and TSDB; removed on destruction
};

}  // namespace smppgw::test
