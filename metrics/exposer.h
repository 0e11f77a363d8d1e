#pragma once
// The metrics port: a minimal HTTP/1.1 server on its OWN thread and its own private libuv loop
// (never the gateway's loop), serving
//   GET /metrics  200, the registry in text format 0.0.4 (path configurable: config metrics.path)
//   GET /healthz  200 "ok": the process is serving
//   GET /readyz   200 "ready" once the gateway called setReady(), else 503 and a one-line reason
// Anything else: 404; a method other than GET: 405; a request whose head exceeds
// max_request_bytes: 431 and the connection is closed. One request per connection
// (Connection: close), a bounded number of connections, an idle timeout for silent clients.
//
// prometheus-cpp's own Exposer (civetweb) cannot answer 503 on a custom path, hence this.
// Scraping reads the registry under each family's mutex (registry.h) and never touches the
// gateway's loop or its data.

#include <cstdint>
#include <memory>
#include <string>

namespace smppgw::metrics {

class Registry;

struct ExposerOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 9775;               // 0: any free port (see Exposer::port())
  std::string metrics_path = "/metrics";
  size_t max_request_bytes = 8192;   // request line + headers
  size_t max_connections = 64;       // more are accepted and closed at once
  uint64_t idle_timeout_ms = 10000;  // a connection that has not sent a full request by then
};

class Exposer {
  struct Key {};  // only start() constructs

 public:
  // Binds and listens on the caller's thread (so a bad address or a port in use is reported
  // here, in `error`), then starts the server thread. nullptr on failure.
  static std::unique_ptr<Exposer> start(const Registry& registry, ExposerOptions options,
                                        std::string& error);
  // Stops accepting, closes every connection and joins the thread.
  ~Exposer();
  Exposer(const Exposer&) = delete;
  Exposer& operator=(const Exposer&) = delete;

  // The bound port (the one the kernel chose when options.port was 0).
  uint16_t port() const;

  // Readiness, as /readyz reports it. Starts not ready ("starting"). Any thread; rare.
  void setReady();
  void setNotReady(std::string reason);  // one line; newlines are replaced
  bool ready() const;

  class Impl;
  Exposer(Key, std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace smppgw::metrics
