#include "gateway/gw_metrics.h"

#include <cstdio>

#include "codec/status.h"

namespace smppgw {

namespace mf = metrics;
using CF = metrics::CounterFamily;
using GF = metrics::GaugeFamily;
using HF = metrics::HistogramFamily;

std::string statusLabel(uint32_t status) {
  std::string_view n = codec::statusName(status);
  if (!n.empty()) {
    return std::string(n);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", status);
  return buf;
}

namespace {
std::string_view commandLabel(codec::CommandId id) {
  std::string_view n = codec::commandName(id);
  return n.empty() ? std::string_view("unknown") : n;
}
}  // namespace

GatewayMetrics::Customer& GatewayMetrics::customer(CustomerRt id, std::string_view system_id) {
  const uint32_t rt = id.value;
  if (rt >= customers_.size()) {
    customers_.resize(rt + 1);
  }
  if (!customers_[rt]) {
    auto c = std::make_unique<Customer>();
    c->name = std::string(system_id);
    std::string_view n = c->name;
    for (size_t i = 0; i < c->refusals.size(); ++i) {
      c->refusals[i] = &r_.counter(CF::Refusals, {n, mf::kRefusalReasonLabels[i]});
    }
    for (size_t i = 0; i < c->deliveries.size(); ++i) {
      c->deliveries[i] = &r_.counter(CF::Deliveries, {n, mf::kDeliveryResultLabels[i]});
    }
    for (size_t i = 0; i < c->deferred.size(); ++i) {
      c->deferred[i] = &r_.counter(CF::DeliveriesDeferred, {n, mf::kDeferReasonLabels[i]});
    }
    c->not_reading = &r_.counter(CF::SessionsNotReading, {n});
    c->held = &r_.gauge(GF::DeliveriesHeld, {n});
    c->decode_errors = &r_.counter(CF::DecodeErrors, {"customer", n, ""});
    c->latency = &r_.histogram(HF::SubmitLatency, {n});
    c->pending = &r_.gauge(GF::DeliveriesPending, {n});
    c->inflight = &r_.gauge(GF::Inflight, {"customer", n, ""});
    c->inflight_limit = &r_.gauge(GF::InflightLimit, {"customer", n, ""});
    customers_[rt] = std::move(c);
  }
  return *customers_[rt];
}

GatewayMetrics::Upstream& GatewayMetrics::upstream(UpstreamRt id, std::string_view name) {
  const uint32_t rt = id.value;
  if (rt >= upstreams_.size()) {
    upstreams_.resize(rt + 1);
  }
  if (!upstreams_[rt]) {
    auto u = std::make_unique<Upstream>();
    u->name = std::string(name);
    std::string_view n = u->name;
    u->round_trip = &r_.histogram(HF::UpstreamRoundTrip, {n});
    u->queue_wait = &r_.histogram(HF::QueueWait, {n});
    u->timeouts = &r_.counter(CF::UpstreamTimeouts, {n});
    u->lost = &r_.counter(CF::UpstreamRequestsLost, {n});
    u->late = &r_.counter(CF::UpstreamLateResponses, {n});
    u->orphans = &r_.counter(CF::OrphanResponses, {n});
    u->losses = &r_.counter(CF::UpstreamConnectionLosses, {n});
    u->bind_ok = &r_.counter(CF::UpstreamBindAttempts, {n, "ok"});
    u->bind_failed = &r_.counter(CF::UpstreamBindAttempts, {n, "failed"});
    u->decode_errors = &r_.counter(CF::DecodeErrors, {"upstream", "", n});
    for (size_t i = 0; i < u->binds.size(); ++i) {
      u->binds[i] = &r_.gauge(GF::UpstreamBinds, {n, mf::kUpstreamBindStateLabels[i]});
    }
    u->queue_depth = &r_.gauge(GF::QueueDepth, {n});
    u->receipts_held = &r_.gauge(GF::ReceiptsHeld, {n});
    for (size_t i = 0; i < u->unmatched.size(); ++i) {
      u->unmatched[i] = &r_.counter(CF::ReceiptsUnmatched, {n, mf::kUnmatchedReasonLabels[i]});
    }
    u->inflight = &r_.gauge(GF::Inflight, {"upstream", "", n});
    u->inflight_limit = &r_.gauge(GF::InflightLimit, {"upstream", "", n});
    u->pauses = &r_.counter(CF::UpstreamThrottlePauses, {n});
    u->window_shrinks = &r_.counter(CF::UpstreamWindowShrinks, {n});
    u->effective_window = &r_.gauge(GF::UpstreamEffectiveWindow, {n});
    u->paused_binds = &r_.gauge(GF::UpstreamPausedBinds, {n});
    upstreams_[rt] = std::move(u);
  }
  return *upstreams_[rt];
}

void GatewayMetrics::customerPdu(Customer& c, bool in, codec::CommandId id) {
  auto& memo = in ? c.pdus_in : c.pdus_out;
  const CF family = in ? CF::PdusReceived : CF::PdusSent;
  memo.get(static_cast<uint32_t>(id),
           [&](uint32_t) -> Counter& {
             return r_.counter(family, {"customer", c.name, "", commandLabel(id)});
           })
      .inc();
}

void GatewayMetrics::customerResponse(Customer& c, codec::CommandId id, uint32_t status) {
  customerPdu(c, false, id);
  c.responses
      .get((uint64_t{static_cast<uint32_t>(id)} << 32) | status,
           [&](uint64_t) -> Counter& {
             return r_.counter(CF::Responses,
                               {"customer", c.name, "", commandLabel(id), statusLabel(status)});
           })
      .inc();
}

void GatewayMetrics::upstreamPdu(Upstream& u, bool in, codec::CommandId id) {
  auto& memo = in ? u.pdus_in : u.pdus_out;
  const CF family = in ? CF::PdusReceived : CF::PdusSent;
  memo.get(static_cast<uint32_t>(id),
           [&](uint32_t) -> Counter& {
             return r_.counter(family, {"upstream", "", u.name, commandLabel(id)});
           })
      .inc();
}

void GatewayMetrics::upstreamResponse(Upstream& u, codec::CommandId id, uint32_t status) {
  upstreamPdu(u, true, id);
  u.responses
      .get((uint64_t{static_cast<uint32_t>(id)} << 32) | status,
           [&](uint64_t) -> Counter& {
             return r_.counter(CF::Responses,
                               {"upstream", "", u.name, commandLabel(id), statusLabel(status)});
           })
      .inc();
}

std::pair<std::string_view, std::string_view> GatewayMetrics::names(UpstreamRt upstream,
                                                                    CustomerRt customer) const {
  const uint32_t up = upstream.value;
  const uint32_t cust = customer.value;
  std::string_view un;  // (not a ternary with "": that would build a temporary std::string)
  std::string_view cn;
  if (up < upstreams_.size() && upstreams_[up]) {
    un = upstreams_[up]->name;
  }
  if (cust < customers_.size() && customers_[cust]) {
    cn = customers_[cust]->name;
  }
  return {un, cn};
}

GatewayMetrics::Counter& GatewayMetrics::receipts(UpstreamRt upstream, CustomerRt customer,
                                                  std::string_view result) {
  const uint32_t up = upstream.value;
  const uint32_t cust = customer.value;
  size_t ri = 0;
  while (ri < mf::kReceiptResultLabels.size() && mf::kReceiptResultLabels[ri] != result) {
    ++ri;
  }
  uint64_t key = (uint64_t{up} << 40) | (uint64_t{cust & 0xFFFFFFu} << 8) | ri;
  return receipts_.get(key, [&](uint64_t) -> Counter& {
    auto [un, cn] = names(upstream, customer);
    return r_.counter(CF::Receipts, {un, cn, result});
  });
}

GatewayMetrics::Counter& GatewayMetrics::mo(UpstreamRt upstream, CustomerRt customer,
                                            std::string_view result) {
  const uint32_t up = upstream.value;
  const uint32_t cust = customer.value;
  uint64_t key =
      (uint64_t{up} << 40) | (uint64_t{cust & 0xFFFFFFu} << 8) | (result == "routed" ? 0u : 1u);
  return mo_.get(key, [&](uint64_t) -> Counter& {
    auto [un, cn] = names(upstream, customer);
    return r_.counter(CF::MoMessages, {un, cn, result});
  });
}

GatewayMetrics::Counter& GatewayMetrics::bindAttempt(std::string_view listener,
                                                     std::string_view customer,
                                                     std::string_view bind_type, bool ok) {
  return r_.counter(CF::CustomerBindAttempts,
                    {listener, customer, bind_type, ok ? "ok" : "failed"});
}

GatewayMetrics::Counter& GatewayMetrics::proxyHeaderFailure(std::string_view listener,
                                                            std::string_view reason) {
  return r_.counter(CF::ProxyHeaderFailures, {listener, reason});
}

GatewayMetrics::Counter& GatewayMetrics::retry(std::string_view upstream, std::string_view status) {
  return r_.counter(CF::Retries, {upstream, status});
}

GatewayMetrics::Counter& GatewayMetrics::connectionRefused(std::string_view listener,
                                                           std::string_view reason) {
  return r_.counter(CF::ConnectionsRefused, {listener, reason});
}

GatewayMetrics::Counter& GatewayMetrics::refusal(std::string_view customer,
                                                 metrics::RefusalReason reason) {
  return r_.counter(CF::Refusals, {customer, mf::label(reason)});
}

GatewayMetrics::Counter& GatewayMetrics::authBlocks() {
  return r_.counter(CF::AuthBlocks);
}

GatewayMetrics::Gauge& GatewayMetrics::authBlockedSources() {
  return r_.gauge(GF::AuthBlockedSources);
}

GatewayMetrics::Counter& GatewayMetrics::passwordChecksDone(bool ok) {
  return r_.counter(CF::PasswordChecksDone, {ok ? "ok" : "failed"});
}

GatewayMetrics::Gauge& GatewayMetrics::passwordChecks(bool running) {
  return r_.gauge(GF::PasswordChecks, {running ? "running" : "waiting"});
}

GatewayMetrics::Counter& GatewayMetrics::connection(std::string_view listener, bool accepted) {
  return r_.counter(CF::Connections, {listener, accepted ? "accepted" : "refused"});
}

}  // namespace smppgw
