#pragma once
// The gateway's view of metrics/: children resolved once per customer and per upstream (at bind
// or config time), so the data path only calls Counter::inc / Histogram::observe (no lock, no
// allocation, no syscall). Labels per PDU that vary (command, status) go through ChildMemo: the
// first sighting resolves, every later one is a short scan.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/command.h"
#include "gateway/types.h"
#include "metrics/registry.h"

namespace smppgw {

class GatewayMetrics {
 public:
  using Counter = metrics::Counter;
  using Gauge = metrics::Gauge;
  using Histogram = metrics::Histogram;

  struct Customer {
    std::string name;
    metrics::ChildMemo<uint32_t> pdus_in;    // by command id
    metrics::ChildMemo<uint32_t> pdus_out;   // by command id
    metrics::ChildMemo<uint64_t> responses;  // by (command id << 32 | status)
    std::array<Counter*, metrics::kRefusalReasonLabels.size()> refusals{};  // by RefusalReason
    std::array<Counter*, metrics::kDeliveryResultLabels.size()> deliveries{};
    std::array<Counter*, metrics::kDeferReasonLabels.size()> deferred{};
    Counter* not_reading = nullptr;
    Gauge* held = nullptr;
    Counter* decode_errors = nullptr;
    Histogram* latency = nullptr;
    Gauge* pending = nullptr;
    Gauge* inflight = nullptr;
    Gauge* inflight_limit = nullptr;
  };
  struct Upstream {
    std::string name;
    metrics::ChildMemo<uint32_t> pdus_in;
    metrics::ChildMemo<uint32_t> pdus_out;
    metrics::ChildMemo<uint64_t> responses;
    Histogram* round_trip = nullptr;
    Histogram* queue_wait = nullptr;
    Counter* timeouts = nullptr;
    Counter* lost = nullptr;
    Counter* late = nullptr;
    Counter* orphans = nullptr;
    Counter* losses = nullptr;
    Counter* bind_ok = nullptr;
    Counter* bind_failed = nullptr;
    Counter* decode_errors = nullptr;
    std::array<Gauge*, 5> binds{};  // by metrics::UpstreamBindState
    Gauge* queue_depth = nullptr;
    Gauge* receipts_held = nullptr;
    std::array<Counter*, metrics::kUnmatchedReasonLabels.size()> unmatched{};
    Gauge* inflight = nullptr;
    Gauge* inflight_limit = nullptr;
    Counter* pauses = nullptr;
    Counter* window_shrinks = nullptr;
    Gauge* effective_window = nullptr;
    Gauge* paused_binds = nullptr;
  };

  explicit GatewayMetrics(metrics::Registry& registry) : r_(registry) {}
  metrics::Registry& registry() { return r_; }

  // Resolves on first use (runtime ids are stable, so this happens once per customer/upstream).
  Customer& customer(CustomerRt id, std::string_view system_id);
  Upstream& upstream(UpstreamRt id, std::string_view name);
  // The upstream's children if resolved already, else nullptr.
  Upstream* upstreamIf(UpstreamRt id) {
    return id.value < upstreams_.size() ? upstreams_[id.value].get() : nullptr;
  }

  void customerPdu(Customer& c, bool in, codec::CommandId id);
  void customerResponse(Customer& c, codec::CommandId id, uint32_t status);
  void upstreamPdu(Upstream& u, bool in, codec::CommandId id);
  void upstreamResponse(Upstream& u, codec::CommandId id, uint32_t status);
  Counter& receipts(UpstreamRt upstream, CustomerRt customer, std::string_view result);
  Counter& mo(UpstreamRt upstream, CustomerRt customer, std::string_view result);

  // Customer-less refusals and binds (unknown system_id).
  Counter& bindAttempt(std::string_view listener, std::string_view customer,
                       std::string_view bind_type, bool ok);
  Counter& connection(std::string_view listener, bool accepted);
  Counter& proxyHeaderFailure(std::string_view listener, std::string_view reason);
  Counter& retry(std::string_view upstream, std::string_view status);
  Counter& connectionRefused(std::string_view listener, std::string_view reason);
  Counter& refusal(std::string_view customer, metrics::RefusalReason reason);
  Counter& authBlocks();
  Gauge& authBlockedSources();
  Gauge& passwordChecks(bool running);
  Counter& passwordChecksDone(bool ok);

 private:
  // The upstream's and customer's label values ("" for unknown: e.g. an unmatched receipt).
  std::pair<std::string_view, std::string_view> names(UpstreamRt upstream,
                                                      CustomerRt customer) const;
  metrics::Registry& r_;
  std::vector<std::unique_ptr<Customer>> customers_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  metrics::ChildMemo<uint64_t> receipts_;  // by (upstream, customer, result index)
  metrics::ChildMemo<uint64_t> mo_;
};

// "ESME_ROK", or "0x000004AB" for a status with no standard name.
std::string statusLabel(uint32_t status);

}  // namespace smppgw
