// Gauges published on every tick: sessions, windows, queues, binds, store, loop counters.

#include "gateway/gateway.h"

#include <array>

#include "gateway/gateway_internal.h"
#include "gateway/log.h"

namespace smppgw {

void Gateway::publishGauges() {
  using GF = metrics::GaugeFamily;
  using CF = metrics::CounterFamily;
  auto& reg = rt_.metrics().registry();
  const net::LoopStats& ls = loop_.stats();
  reg.counter(CF::LoopReads).add(ls.reads - published_loop_.reads);
  reg.counter(CF::LoopWrites).add(ls.writes - published_loop_.writes);
  reg.counter(CF::LoopIterations).add(ls.iterations - published_loop_.iterations);
  reg.counter(CF::LoopReceivedBytes).add(ls.bytes_in - published_loop_.bytes_in);
  reg.counter(CF::LoopSentBytes).add(ls.bytes_out - published_loop_.bytes_out);
  published_loop_ = ls;
  reg.gauge(GF::StoreMappings).set(static_cast<int64_t>(ids_.mappings().size()));
  reg.gauge(GF::StoreMappingBytes).set(static_cast<int64_t>(ids_.mappings().bytes()));
  const store::MappingStats& ms = ids_.mappings().stats();
  reg.counter(CF::StoreMappingsRemoved, {"expired"}).add(ms.expired - published_store_.expired);
  reg.counter(CF::StoreMappingsRemoved, {"evicted"}).add(ms.evicted - published_store_.evicted);
  published_store_ = ms;
  publishStoreGauges();

  // Sessions by (listener, customer, state, bind type); every gauge seen before is reset first so
  // a combination that emptied reads 0.
  for (auto& [g, n] : session_counts_) {
    n = 0;
  }
  std::vector<int64_t> outstanding(customers_.size(), 0);
  std::vector<int64_t> limit(customers_.size(), 0);
  sessions_.forEach([&](const DownstreamSession& session) {
    const DownstreamSession* s = &session;
    if (s->state() == DownstreamSession::State::Authenticating) {
      return;
    }
    const bool bound = s->customer().valid();
    std::string_view customer = bound ? state(s->customer()).system_id : std::string_view();
    const char* state = s->state() == DownstreamSession::State::Open    ? "open"
                        : s->state() == DownstreamSession::State::Bound ? "bound"
                                                                        : "unbinding";
    std::string_view bt =
        bound ? metrics::kBindTypeLabels[static_cast<size_t>(s->bindType())] : std::string_view();
    const std::string& listener = cfg().listeners[s->listener()].name;
    std::string key =
        listener + '\x1f' + std::string(customer) + '\x1f' + state + '\x1f' + std::string(bt);
    metrics::Gauge& g = session_gauges_.get(key, [&](const std::string&) -> metrics::Gauge& {
      metrics::Gauge& created = reg.gauge(GF::Sessions, {listener, customer, state, bt});
      session_counts_.emplace_back(&created, 0);
      return created;
    });
    for (auto& [gp, n] : session_counts_) {
      if (gp == &g) {
        ++n;
        break;
      }
    }
    if (bound) {
      outstanding[s->customer().value] += s->outstanding();
      limit[s->customer().value] += s->window();
    }
  });
  for (auto& [g, n] : session_counts_) {
    g->set(n);
  }
  for (size_t i = 0; i < customers_.size(); ++i) {
    if (GatewayMetrics::Customer* m = customers_[i].m) {
      const CustomerRt id(static_cast<uint32_t>(i));
      if (outboxes_) {
        // Outbox: stored and not sent (memory and disk); sent and unanswered.
        const uint64_t out = outboxes_->inFlight(id);
        const uint64_t stored = outboxes_->stored(id);
        m->pending->set(static_cast<int64_t>(stored > out ? stored - out : 0));
        m->held->set(static_cast<int64_t>(out + outboxes_->handedThrough(id)));
      } else {
        m->pending->set(static_cast<int64_t>(deliveries_.waiting(id)));
        m->held->set(deliveries_.held(id));
      }
      m->inflight->set(outstanding[i]);
      m->inflight_limit->set(limit[i]);
    }
  }
  std::vector<int64_t> held(upstreams_.size(), 0);
  ids_.countHeld(held);
  for (auto& u : upstreams_) {
    if (GatewayMetrics::Upstream* m = u->metrics()) {
      std::array<int64_t, 5> states{};
      int64_t inflight = 0;
      int64_t windows = 0;
      int64_t effective = 0;
      int64_t paused = 0;
      const uint64_t t = now();
      for (const auto& b : u->binds()) {
        if (b->stopped() && b->state() == UpstreamBind::State::Idle) {
          continue;  // retired by a reload or shutdown
        }
        size_t k = b->state() == UpstreamBind::State::Idle        ? 0
                   : b->state() == UpstreamBind::State::Bound     ? 3
                   : b->state() == UpstreamBind::State::Binding   ? 2
                   : b->state() == UpstreamBind::State::Unbinding ? 4
                                                                  : 1;
        ++states[k];
        inflight += static_cast<int64_t>(b->inFlight());
        windows += u->cfg().window;
        if (b->bound()) {
          effective += b->effectiveWindow();
          paused += b->paused(t) ? 1 : 0;
        }
      }
      m->effective_window->set(effective);
      m->paused_binds->set(paused);
      for (size_t k = 0; k < states.size(); ++k) {
        m->binds[k]->set(states[k]);
      }
      m->queue_depth->set(static_cast<int64_t>(u->queueDepth()));
      m->receipts_held->set(held[u->id().value]);
      m->inflight->set(inflight);
      m->inflight_limit->set(windows);
    }
  }
  // Readiness: listeners up and every group that a route sends to has a bound member.
  std::string not_ready;
  for (size_t g = 0; g < cfg().groups.size(); ++g) {
    int64_t bound_members = 0;
    for (const auto& member : cfg().groups[g].members) {
      if (member.upstream < upstream_rt_.size() &&
          upstream(upstream_rt_[member.upstream])->available()) {
        ++bound_members;
      }
    }
    reg.gauge(GF::GroupMembersBound, {cfg().groups[g].name}).set(bound_members);
    reg.gauge(GF::QueueCapacity, {cfg().groups[g].name}).set(cfg().limits.max_queue_per_group);
    reg.gauge(GF::GroupQueueDepth, {cfg().groups[g].name})
        .set(g < group_queued_.size() ? static_cast<int64_t>(group_queued_[g]) : 0);
    if (bound_members == 0 && not_ready.empty()) {
      not_ready = "group " + cfg().groups[g].name + " has no bound member";
    }
  }
  if (listeners_.empty() && !cfg().listeners.empty()) {
    not_ready = "listeners not open";
  }
  if (shutting_down_) {
    not_ready = "shutting down";
  }
  if (readiness_) {
    readiness_(not_ready.empty(), not_ready);
  }
}

}  // namespace smppgw
