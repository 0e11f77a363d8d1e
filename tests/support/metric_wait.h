#pragma once
// A gateway's metrics as a test reads them: one sample, or a bounded wait for a sample to reach a
// value. Counters and gauges are published on the gateway's 100 ms tick, which has no event a
// test could await, so the wait polls (every 20 ms, at most `timeout`).

#include <chrono>
#include <string>
#include <thread>

#include "tests/support/peers.h"
#include "tests/support/prometheus.h"

namespace smppgw::testsupport {

// The sample's value, or -1 if the series is absent.
inline double metric(const GatewayProc& gw, const std::string& series) {
  return metricSample(test::httpGet("127.0.0.1", gw.metricsPort(), "/metrics").body, series);
}

// True once ok(value) holds; false if it still does not after `timeout`.
template <class Pred>
bool metricUntil(const GatewayProc& gw, const std::string& series, Pred ok,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ok(metric(gw, series))) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

inline bool metricAtLeast(const GatewayProc& gw, const std::string& series, double value) {
  return metricUntil(gw, series, [value](double v) { return v >= value; });
}
inline bool metricAtMost(const GatewayProc& gw, const std::string& series, double value) {
  return metricUntil(gw, series, [value](double v) { return v >= 0 && v <= value; });
}

}  // namespace smppgw::testsupport
