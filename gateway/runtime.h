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

 private:
  net::Loop& loop_;
  std::shared_ptr<const config::Config> config_;
  GatewayMetrics metrics_;
  std::mt19937 rng_;
  TlsContexts tls_;
  TlsLogLimiter tls_log_;
};

}  // namespace smppgw
