#pragma once
// What every part of the gateway shares: the loop and its clock, the configuration in force, the
// metrics and a random source. Owned by Gateway, which swaps the configuration on a reload; the
// parts (sessions, binds, the delivery queues, the id mapper) read it here instead of reaching
// into Gateway.

#include <cstdint>
#include <memory>
#include <random>
#include <utility>

#include "config/model.h"
#include "gateway/gw_metrics.h"
#include "gateway/tls_contexts.h"
#include "net/loop.h"

namespace smppgw {

// A configured duration in the loop clock's unit.
inline uint64_t ms(config::Duration d) {
  return static_cast<uint64_t>(d.count());
}

// At most kPerSecond lines a second of one kind; allow() says how many were dropped since the
// last line it allowed.
class LogBudget {
 public:
  static constexpr uint32_t kPerSecond = 10;
  bool allow(uint64_t now_ms, uint64_t& suppressed) {
    if (now_ms - window_ms_ >= 1000) {
      window_ms_ = now_ms;
      used_ = 0;
    }
    if (used_ >= kPerSecond) {
      ++dropped_;
      return false;
    }
    ++used_;
    suppressed = dropped_;
    dropped_ = 0;
    return true;
  }

 private:
  uint64_t window_ms_ = 0;
  uint32_t used_ = 0;
  uint64_t dropped_ = 0;
};

class Runtime {
 public:
  Runtime(net::Loop& loop, std::shared_ptr<const config::Config> config,
          metrics::Registry& registry)
      : loop_(loop), config_(std::move(config)), metrics_(registry), rng_(std::random_device{}()) {}
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  net::Loop& loop() { return loop_; }
  // The loop's clock in milliseconds (a manual clock in tests).
  uint64_t now() const { return loop_.nowMs(); }
  const config::Config& cfg() const { return *config_; }
  const std::shared_ptr<const config::Config>& config() const { return config_; }
  void setConfig(std::shared_ptr<const config::Config> c) { config_ = std::move(c); }
  GatewayMetrics& metrics() { return metrics_; }
  // The TLS contexts of the configuration in force (swapped with it; open connections keep
  // theirs).
  const TlsContexts& tls() const { return tls_; }
  void setTls(TlsContexts t) { tls_ = std::move(t); }
  TlsLogLimiter& tlsLog() { return tls_log_; }
  std::mt19937& rng() { return rng_; }
  // Lines about peers that fail before saying who they are (PROXY header failures).
  LogBudget& proxyLogBudget() { return proxy_log_; }
  // Refused binds and refused connections: anyone can cause them at will.
  LogBudget& bindLogBudget() { return bind_log_; }
  LogBudget& connectionLogBudget() { return connection_log_; }
  // Carrier pushback (throttles, shrunk windows, retries): one line per event would be a flood.
  LogBudget& flowLogBudget() { return flow_log_; }

 private:
  net::Loop& loop_;
  std::shared_ptr<const config::Config> config_;
  GatewayMetrics metrics_;
  std::mt19937 rng_;
  LogBudget proxy_log_;
  LogBudget bind_log_;
  LogBudget connection_log_;
  LogBudget flow_log_;
  TlsContexts tls_;
  TlsLogLimiter tls_log_;
};

}  // namespace smppgw
