// An upstream: its binds (started, reconfigured, stopped together), the bounded queue of requests
// waiting for a bind with room, and the pick of a bind for each request.

#include "gateway/upstream.h"

#include <cassert>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "codec/encode.h"
#include "gateway/log.h"

namespace smppgw {

using codec::CommandId;
namespace st = codec::status;

// ---------------------------------------------------------------------------------------------
// Upstream

Upstream::Upstream(Runtime& rt, BindHost& host, UpstreamRt id, const config::Upstream& cfg)
    : rt_(rt), host_(host), id_(id), cfg_(&cfg), name_(cfg.name) {
  total_tps_.configureCarrier(cfg.tps_total);
  bool trx = cfg.bind_mode == config::BindMode::Transceiver;
  for (uint32_t i = 0; i < std::max<uint32_t>(cfg.binds, 1); ++i) {
    binds_.push_back(std::make_unique<UpstreamBind>(rt, host, *this, i, true, trx));
  }
  if (!trx) {
    for (uint32_t i = 0; i < cfg.receiver_binds; ++i) {
      auto index = static_cast<uint32_t>(binds_.size());
      binds_.push_back(std::make_unique<UpstreamBind>(rt, host, *this, index, false, true));
    }
  }
}

Upstream::~Upstream() = default;

namespace {
bool sameConnection(const config::Upstream& a, const config::Upstream& b) {
  return a.host == b.host && a.port == b.port && a.system_id == b.system_id &&
         a.password == b.password && a.system_type == b.system_type &&
         a.interface_version == b.interface_version && a.bind_mode == b.bind_mode &&
         a.address_range == b.address_range && a.tls.enabled == b.tls.enabled;
}
}  // namespace

void Upstream::reconfigure(const config::Upstream& c) {
  const bool reconnect = !sameConnection(*cfg_, c);
  const bool trx = c.bind_mode == config::BindMode::Transceiver;
  const uint32_t want_tx = std::max<uint32_t>(c.binds, 1);
  const uint32_t want_rx = trx ? 0 : c.receiver_binds;
  cfg_ = &c;
  total_tps_.configureCarrier(c.tps_total);
  uint32_t have_tx = 0;
  uint32_t have_rx = 0;
  for (auto& b : binds_) {
    if (b->stopped()) {
      continue;
    }
    b->setTps(c.tps_per_bind);
    // Binds beyond the new counts wind down; the rest reconnect if their settings changed.
    bool keep = b->transmits() ? have_tx++ < want_tx : have_rx++ < want_rx;
    if (!keep) {
      b->stop(true);
    } else if (reconnect) {
      b->recycle();
    }
  }
  const uint64_t now = rt_.now();
  for (; have_tx < want_tx; ++have_tx) {
    binds_.push_back(std::make_unique<UpstreamBind>(
        rt_, host_, *this, static_cast<uint32_t>(binds_.size()), true, trx));
    binds_.back()->start(now);
  }
  for (; have_rx < want_rx; ++have_rx) {
    binds_.push_back(std::make_unique<UpstreamBind>(
        rt_, host_, *this, static_cast<uint32_t>(binds_.size()), false, true));
    binds_.back()->start(now);
  }
}

std::mt19937& Upstream::rng() {
  return rt_.rng();
}

bool Upstream::available() const {
  for (const auto& b : binds_) {
    if (b->bound() && b->transmits()) {
      return true;
    }
  }
  return false;
}

size_t Upstream::boundBinds() const {
  return static_cast<size_t>(
      std::count_if(binds_.begin(), binds_.end(), [](const auto& b) { return b->bound(); }));
}

size_t Upstream::outstanding() const {
  size_t n = queue_.size();
  for (const auto& b : binds_) {
    n += b->inFlight();
  }
  return n;
}

bool Upstream::canSendNow(uint64_t now_ms) {
  if (!queue_.empty() || !total_tps_.available(now_ms)) {
    return false;
  }
  return std::any_of(binds_.begin(), binds_.end(), [&](const auto& b) { return b->ready(now_ms); });
}

void Upstream::remapQueuedGroups(const std::vector<uint32_t>& map, std::vector<uint32_t>& counts) {
  queue_.forEach([&](QueuedRequest& q) {
    q.info.group = q.info.group < map.size() ? map[q.info.group] : config::kNoId;
    if (q.info.group < counts.size()) {
      ++counts[q.info.group];
    }
  });
}

QueuedRequest Upstream::popQueued() {
  QueuedRequest q = queue_.pop();
  host_.groupQueueChanged(q.info.group, -1);
  return q;
}

UpstreamBind* Upstream::pickReady(uint64_t now_ms) {
  if (!total_tps_.available(now_ms)) {
    return nullptr;
  }
  // Round robin over binds with room, so load spreads evenly.
  const size_t n = binds_.size();
  for (size_t k = 0; k < n; ++k) {
    UpstreamBind* b = binds_[(rr_ + k) % n].get();
    if (b->ready(now_ms)) {
      rr_ = static_cast<uint32_t>((rr_ + k + 1) % n);
      return b;
    }
  }
  return nullptr;
}

bool Upstream::submit(codec::Bytes pdu, const UpInFlight& info, uint64_t now_ms) {
  if (queue_.empty()) {
    // A customer session keeps to one bind while that bind has room: the requests of one read
    // then leave in one write, and their responses come back in one read (round robin would
    // fan every read out over all binds: a syscall per bind). Others take the overflow.
    UpstreamBind* b = nullptr;
    if (const size_t n = binds_.size();
        n != 0 && info.origin.valid() && total_tps_.available(now_ms)) {
      UpstreamBind* pref = binds_[info.origin.index % n].get();
      if (pref->ready(now_ms)) {
        b = pref;
      }
    }
    if (b == nullptr) {
      b = pickReady(now_ms);
    }
    if (b != nullptr) {
      total_tps_.tryTake(now_ms);
      b->sendRequest(pdu, info);
      return true;
    }
  }
  if (host_.groupQueueFull(info.group)) {
    return false;
  }
  QueuedRequest q;
  q.pdu.append(pdu);
  q.info = info;
  q.queued_ms = now_ms;
  queue_.push(std::move(q), host_.queueWeight(info.customer));
  host_.groupQueueChanged(info.group, +1);
  drain(now_ms);  // keeps FIFO order; moves at once if a bind has room
  return true;
}

void Upstream::drain(uint64_t now_ms) {
  while (!queue_.empty()) {
    UpstreamBind* b = pickReady(now_ms);
    if (b == nullptr) {
      return;
    }
    QueuedRequest q = popQueued();
    if (m_ != nullptr) {
      m_->queue_wait->observe(static_cast<double>(now_ms - q.queued_ms) / 1000.0);
    }
    total_tps_.tryTake(now_ms);
    b->sendRequest(q.pdu.view(), q.info);
  }
}

void Upstream::tick(uint64_t now_ms) {
  for (auto& b : binds_) {
    b->tick(now_ms);
  }
  // Requests that waited a whole response timeout for a bind are refused (retry later).
  const uint64_t max_wait = ms(rt_.cfg().timers.response);
  expireQueued([&](const QueuedRequest& q) { return now_ms - q.queued_ms >= max_wait; },
               BindHost::QueueFailure::Expired);
  if (!available()) {
    // No bind to drain to: nothing queued should wait for one that may never come back.
    const uint64_t wait = ms(cfg_->connect_timeout);
    expireQueued([&](const QueuedRequest& q) { return now_ms - q.queued_ms >= wait; },
                 BindHost::QueueFailure::NoBind);
  }
  drain(now_ms);
}

template <class Expired>
void Upstream::expireQueued(Expired expired, BindHost::QueueFailure why) {
  queue_.expire(expired, [&](QueuedRequest& q) {
    host_.groupQueueChanged(q.info.group, -1);
    host_.onQueuedFailed(*this, q.info, why);
  });
}

void Upstream::start(uint64_t now_ms) {
  for (auto& b : binds_) {
    b->start(now_ms);
  }
}

void Upstream::stop(bool graceful) {
  expireQueued([](const QueuedRequest&) { return true; }, BindHost::QueueFailure::ShuttingDown);
  for (auto& b : binds_) {
    b->stop(graceful);
  }
}

void UpstreamBind::transition(State to) {
  using S = State;
  bool ok = false;
  switch (state_) {
    case S::Idle:
      ok = to == S::Resolving || to == S::Idle;  // Idle: lost() on a bind already down
      break;
    case S::Resolving:
      ok = to == S::Connecting || to == S::Idle;
      break;
    case S::Connecting:
      ok = to == S::Binding || to == S::Idle;
      break;
    case S::Binding:
      ok = to == S::Bound || to == S::Idle;
      break;
    case S::Bound:
      ok = to == S::Unbinding || to == S::Idle;
      break;
    case S::Unbinding:
      ok = to == S::Idle;
      break;
  }
  if (!ok) {
    log::error("internal_error", "what", "upstream_bind_state", "from", static_cast<int>(state_),
               "to", static_cast<int>(to), "upstream", describe());
    rt_.metrics()
        .registry()
        .counter(metrics::CounterFamily::InternalErrors, {"upstream_bind_state"})
        .inc();
    assert(ok && "upstream bind: state change not allowed");
  }
  state_ = to;
}

}  // namespace smppgw
