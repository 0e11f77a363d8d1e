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

namespace {
uint64_t ms(config::Duration d) {
  return static_cast<uint64_t>(d.count());
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// UpstreamBind

UpstreamBind::UpstreamBind(Runtime& rt, BindHost& host, Upstream& up, uint32_t index, bool transmit,
                           bool receive)
    : rt_(rt), host_(host), up_(up), index_(index), transmit_(transmit), receive_(receive) {
  tps_.configure(up.cfg().tps_per_bind, up.cfg().tps_per_bind);
}

UpstreamBind::~UpstreamBind() {
  if (resolving_ != nullptr) {
    resolving_->owner = nullptr;  // the callback frees it
  }
}

UpstreamRt UpstreamBind::upstreamId() const {
  return up_.id();
}
GatewayMetrics::Upstream* UpstreamBind::metrics() const {
  return up_.metrics();
}

std::string UpstreamBind::describe() const {
  return up_.name() + "#" + std::to_string(index_);
}

void UpstreamBind::start(uint64_t now_ms) {
  stopped_ = false;
  next_attempt_ms_ = now_ms;
  if (state_ == State::Idle) {
    connect();
  }
}

void UpstreamBind::connect() {
  transition(State::Resolving);
  state_since_ms_ = rt_.now();
  sockaddr_storage addr{};
  const auto& c = up_.cfg();
  if (net::parseAddress(c.host, c.port, addr)) {
    connectTo(reinterpret_cast<sockaddr*>(&addr));
    return;
  }
  // A host name: resolve on libuv's thread pool, never on the loop.
  auto job = std::make_unique<Resolve>();
  job->owner = this;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(c.port);
  int rc = uv_getaddrinfo(rt_.loop().raw(), &job->req, &UpstreamBind::onResolved, c.host.c_str(),
                          port.c_str(), &hints);
  if (rc != 0) {
    lost("resolve failed", rc);
    return;
  }
  resolving_ = job.release();  // reclaimed in onResolved
  resolving_->req.data = resolving_;
}

void UpstreamBind::onResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  std::unique_ptr<Resolve> job(static_cast<Resolve*>(req->data));
  UpstreamBind* self = job->owner;
  if (self == nullptr) {
    uv_freeaddrinfo(res);
    return;
  }
  self->resolving_ = nullptr;
  if (status != 0 || res == nullptr) {
    uv_freeaddrinfo(res);
    self->lost("resolve failed", status);
    return;
  }
  self->connectTo(res->ai_addr);
  uv_freeaddrinfo(res);
}

void UpstreamBind::connectTo(const sockaddr* addr) {
  transition(State::Connecting);
  state_since_ms_ = rt_.now();
  conn_ = net::Connection::create(rt_.loop(), this, rt_.cfg().limits.max_pdu_size);
  ++generation_;
  if (int rc = conn_->connect(addr); rc != 0) {
    lost("connect failed", rc);
  }
}

void UpstreamBind::onConnected(net::Connection&, int status) {
  if (status != 0) {
    lost("connect failed", status);
    return;
  }
  sendBind();
}

void UpstreamBind::sendBind() {
  const auto& c = up_.cfg();
  transition(State::Binding);
  state_since_ms_ = rt_.now();
  CommandId id = transmit_ && receive_ ? CommandId::bind_transceiver
                 : transmit_           ? CommandId::bind_transmitter
                                       : CommandId::bind_receiver;
  bind_seq_ = inflight_.nextSeq();
  codec::Pdu bind(id, bind_seq_);
  auto& b = bind.as<codec::BindBody>();
  b.system_id = c.system_id;
  b.password = c.password;
  b.system_type = c.system_type;
  b.interface_version = c.interface_version;
  b.address_range = receive_ ? std::string_view(c.address_range) : std::string_view();
  codec::encode(bind, conn_->out());
  conn_->send();
}

bool UpstreamBind::ready(uint64_t now_ms) {
  return state_ == State::Bound && transmit_ && inflight_.size() < up_.cfg().window &&
         tps_.available(now_ms);
}

void UpstreamBind::sendRequest(codec::Bytes pdu, const UpInFlight& info) {
  uint32_t seq = inflight_.nextSeq();
  codec::Buffer& out = conn_->out();
  size_t at = out.size();
  out.append(pdu);
  codec::patchSequence(out.mutableView().subspan(at), seq);
  conn_->send();
  uint64_t now = rt_.now();
  tps_.tryTake(now);
  if (auto* m = up_.metrics()) {
    rt_.metrics().upstreamPdu(*m, false, info.command);
  }
  UpInFlight& stored = inflight_.insert(seq, info);
  stored.deadline_ms = now + ms(up_.cfg().request_timeout);
  stored.sent_ns = rt_.loop().cachedNs();
}

void UpstreamBind::respond(CommandId request, uint32_t seq, uint32_t status) {
  codec::Pdu resp(codec::responseFor(request), seq, status);
  codec::encode(resp, conn_->out(), {peer_version_});  // deliver_sm_resp carries a NULL id
  conn_->send();
}

void UpstreamBind::onPdu(net::Connection&, codec::Bytes raw) {
  last_rx_ms_ = rt_.now();
  if (auto err = codec::decode(raw, pdu_)) {
    log::warn("upstream_bad_pdu", "upstream", describe(), "error",
              codec::decodeErrorKindName(err->kind), "field", err->field);
    if (err->respond) {
      codec::encodeHeaderOnly(conn_->out(), err->response_id, err->status, err->sequence_number);
      conn_->send();
    } else if (codec::isResponse(static_cast<CommandId>(err->command_id))) {
      // A response we cannot read still ends its request: fail it rather than wait it out.
      UpInFlight info;
      if (inflight_.take(err->sequence_number, info) && info.kind == UpInFlight::Kind::Forward) {
        host_.onUpstreamFailed(info, st::ESME_RSYSERR);
      }
    }
    if (err->close_connection) {
      lost("framing lost", UV_EPROTO);
    }
    return;
  }
  const CommandId id = pdu_.command_id;
  if (codec::isResponse(id)) {
    handleResponse(pdu_, raw);
    return;
  }
  switch (id) {
    case CommandId::enquire_link:
      respond(id, pdu_.sequence_number, st::ESME_ROK);
      return;
    case CommandId::deliver_sm:
    case CommandId::data_sm:
      if (state_ == State::Unbinding && receive_) {
        // Crossed our unbind: the MC keeps it and retries (on another bind, or after restart).
        respond(id, pdu_.sequence_number, gwstatus::kDeliveryLater);
        return;
      }
      if (state_ != State::Bound || !receive_) {
        respond(id, pdu_.sequence_number, st::ESME_RINVBNDSTS);
        return;
      }
      if (auto* m = up_.metrics()) {
        rt_.metrics().upstreamPdu(*m, true, id);
      }
      host_.onUpstreamDeliver(*this, pdu_, raw);
      return;
    case CommandId::unbind:
      respond(id, pdu_.sequence_number, st::ESME_ROK);
      lost("unbound by the MC", 0);
      return;
    case CommandId::alert_notification:
      return;  // no response exists; nothing to route it to yet
    default:
      respond(id, pdu_.sequence_number, st::ESME_RINVBNDSTS);
      return;
  }
}

void UpstreamBind::handleResponse(const codec::Pdu& pdu, codec::Bytes raw) {
  const CommandId id = pdu.command_id;
  if (state_ == State::Binding && pdu.sequence_number == bind_seq_ &&
      codec::isBind(codec::requestFor(id))) {
    if (pdu.command_status != st::ESME_ROK) {
      if (auto* m = up_.metrics()) {
        m->bind_failed->inc();
      }
      log::warn("upstream_bind_refused", "upstream", describe(), "status",
                codec::statusName(pdu.command_status));
      lost("bind refused", UV_ECONNREFUSED);
      return;
    }
    transition(State::Bound);
    state_since_ms_ = rt_.now();
    failures_ = 0;
    peer_version_ = up_.cfg().interface_version;
    if (auto v = pdu.tlvs.integer(codec::tag::sc_interface_version)) {
      peer_version_ = static_cast<uint8_t>(std::min<uint32_t>(*v, peer_version_));
    } else if (peer_version_ >= 0x34) {
      // No sc_interface_version: the MC may not support TLVs (reference §3.1); keep ours.
    }
    if (const auto* b = pdu.tryAs<codec::BindRespBody>()) {
      peer_system_id_ = std::string(b->system_id);
    }
    if (auto* m = up_.metrics()) {
      m->bind_ok->inc();
    }
    log::info("upstream_bound", "upstream", describe(), "peer", conn_->peerAddress(), "system_id",
              peer_system_id_);
    host_.onUpstreamReady(up_);
    return;
  }
  if (id == CommandId::enquire_link_resp && pdu.sequence_number == enquire_seq_) {
    enquire_seq_ = 0;
    return;
  }
  if (id == CommandId::unbind_resp && pdu.sequence_number == unbind_seq_) {
    unbind_seq_ = 0;
    lost("unbound", 0);
    return;
  }
  UpInFlight info;
  if (!inflight_.take(pdu.sequence_number, info)) {
    if (auto* m = up_.metrics()) {
      m->late->inc();
    }
    log::debug("upstream_late_response", "upstream", describe(), "sequence_number",
               pdu.sequence_number);
    return;
  }
  if (auto* m = up_.metrics()) {
    rt_.metrics().upstreamResponse(*m, id, pdu.command_status);
    if (info.kind == UpInFlight::Kind::Forward) {
      m->round_trip->observeNs(rt_.loop().cachedNs() - info.sent_ns);
    }
  }
  if (id == CommandId::generic_nack) {
    host_.onUpstreamFailed(info, pdu.command_status != 0 ? pdu.command_status : st::ESME_RSYSERR);
  } else {
    host_.onUpstreamResponse(*this, info, pdu, raw);
  }
  // A window slot is free: queued work can move.
  up_.drain(rt_.now());
}

void UpstreamBind::onFramingError(net::Connection&, const codec::DecodeError& e) {
  log::warn("upstream_framing_error", "upstream", describe(), "error",
            codec::decodeErrorKindName(e.kind));
  codec::encodeHeaderOnly(conn_->out(), e.response_id, e.status, e.sequence_number);
  lost("framing lost", UV_EPROTO);
}

void UpstreamBind::onClosed(net::Connection&, int status) {
  lost("connection closed", status);
}

void UpstreamBind::lost(const char* reason, int status) {
  bool was_bound = state_ == State::Bound || state_ == State::Unbinding;
  if (was_bound && (stopped_ || status == 0)) {
    log::info("upstream_closed", "upstream", describe(), "reason", reason);
  } else if (was_bound) {
    if (auto* m = up_.metrics()) {
      m->losses->inc();
    }
    log::warn("upstream_lost", "upstream", describe(), "reason", reason, "error",
              status != 0 ? uv_strerror(status) : "");
  } else if (state_ != State::Idle) {
    log::warn("upstream_connect_failed", "upstream", describe(), "reason", reason, "error",
              status != 0 ? uv_strerror(status) : "");
  }
  transition(State::Idle);
  conn_.reset();
  enquire_seq_ = unbind_seq_ = bind_seq_ = 0;
  // Everything in flight on this bind fails back at once with a defined status.
  inflight_.drain([&](uint32_t, UpInFlight&& info) {
    if (info.kind == UpInFlight::Kind::Forward) {
      if (auto* m = up_.metrics()) {
        m->lost->inc();
      }
      host_.onUpstreamFailed(info, gwstatus::kUpstreamLost);
    }
  });
  if (!stopped_) {
    scheduleReconnect();
  }
}

void UpstreamBind::scheduleReconnect() {
  const config::Reconnect& r = up_.cfg().reconnect;
  double delay = static_cast<double>(r.initial.count()) *
                 std::pow(r.multiplier, static_cast<double>(std::min<uint32_t>(failures_, 30)));
  delay = std::min(delay, static_cast<double>(r.max.count()));
  std::uniform_real_distribution<double> jitter(1.0 - r.jitter, 1.0 + r.jitter);
  delay *= jitter(rt_.rng());
  ++failures_;
  next_attempt_ms_ = rt_.now() + static_cast<uint64_t>(std::max(delay, 0.0));
}

void UpstreamBind::tick(uint64_t now) {
  const auto& c = up_.cfg();
  switch (state_) {
    case State::Idle:
      if (!stopped_ && now >= next_attempt_ms_) {
        connect();
      }
      return;
    case State::Resolving:
    case State::Connecting:
    case State::Binding:
      if (now - state_since_ms_ >= ms(c.connect_timeout)) {
        lost("connect/bind timed out", UV_ETIMEDOUT);
      }
      return;
    case State::Unbinding:
      if (now - state_since_ms_ >= ms(rt_.cfg().timers.unbind)) {
        stopped_ = true;
        lost("unbind timed out", UV_ETIMEDOUT);
      }
      return;
    case State::Bound:
      break;
  }
  inflight_.expire(now, [&](uint32_t seq, UpInFlight&& info) {
    if (info.kind == UpInFlight::Kind::Forward) {
      if (auto* m = up_.metrics()) {
        m->timeouts->inc();
      }
      log::warn("upstream_timeout", "upstream", describe(), "sequence_number", seq, "command",
                codec::commandName(info.command));
      host_.onUpstreamFailed(info, gwstatus::kUpstreamTimeout);
    }
  });
  if (enquire_seq_ != 0 && now - last_rx_ms_ >= ms(c.request_timeout)) {
    lost("enquire_link unanswered", UV_ETIMEDOUT);
    return;
  }
  if (enquire_seq_ == 0 && now - last_rx_ms_ >= ms(c.enquire_link_interval)) {
    enquire_seq_ = inflight_.nextSeq();
    codec::encodeHeaderOnly(conn_->out(), CommandId::enquire_link, 0, enquire_seq_);
    conn_->send();
  }
}

void UpstreamBind::recycle() {
  if (state_ == State::Bound) {
    stop(true);
    stopped_ = false;  // reconnect after the unbind completes (lost() schedules it)
    return;
  }
  if (state_ != State::Idle && state_ != State::Unbinding) {
    lost("settings changed", 0);  // half-way through connecting: start over with the new ones
  }
}

void UpstreamBind::stop(bool graceful) {
  stopped_ = true;
  if (state_ == State::Unbinding && graceful) {
    return;  // already waiting for unbind_resp
  }
  if (state_ == State::Bound && graceful) {
    transition(State::Unbinding);
    state_since_ms_ = rt_.now();
    unbind_seq_ = inflight_.nextSeq();
    codec::encodeHeaderOnly(conn_->out(), CommandId::unbind, 0, unbind_seq_);
    conn_->send();
    return;
  }
  if (state_ != State::Idle) {
    lost("stopped", 0);
  }
}

// ---------------------------------------------------------------------------------------------
// Upstream

Upstream::Upstream(Runtime& rt, BindHost& host, UpstreamRt id, const config::Upstream& cfg)
    : rt_(rt), host_(host), id_(id), cfg_(&cfg), name_(cfg.name) {
  total_tps_.configure(cfg.tps_total, cfg.tps_total);
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
  total_tps_.configure(c.tps_total, c.tps_total);
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
  for (auto& q : queue_) {
    q.info.group = q.info.group < map.size() ? map[q.info.group] : config::kNoId;
    if (q.info.group < counts.size()) {
      ++counts[q.info.group];
    }
  }
}

void Upstream::popQueued() {
  host_.groupQueueChanged(queue_.front().info.group, -1);
  queue_.pop_front();
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
  queue_.push_back(std::move(q));
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
    QueuedRequest q = std::move(queue_.front());
    if (m_ != nullptr) {
      m_->queue_wait->observe(static_cast<double>(now_ms - q.queued_ms) / 1000.0);
    }
    popQueued();
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
  while (!queue_.empty() && now_ms - queue_.front().queued_ms >= max_wait) {
    host_.onUpstreamFailed(queue_.front().info, gwstatus::kQueueExpired);
    popQueued();
  }
  if (!available()) {
    // No bind to drain to: nothing queued should wait for one that may never come back.
    while (!queue_.empty() && now_ms - queue_.front().queued_ms >= ms(cfg_->connect_timeout)) {
      host_.onUpstreamFailed(queue_.front().info, gwstatus::kNoUpstream);
      popQueued();
    }
  }
  drain(now_ms);
}

void Upstream::start(uint64_t now_ms) {
  for (auto& b : binds_) {
    b->start(now_ms);
  }
}

void Upstream::stop(bool graceful) {
  while (!queue_.empty()) {
    host_.onUpstreamFailed(queue_.front().info, gwstatus::kShuttingDown);
    popQueued();
  }
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
