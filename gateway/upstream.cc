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
// UpstreamBind

UpstreamBind::UpstreamBind(Runtime& rt, BindHost& host, Upstream& up, uint32_t index, bool transmit,
                           bool receive)
    : rt_(rt), host_(host), up_(up), index_(index), transmit_(transmit), receive_(receive) {
  tps_.configureCarrier(up.cfg().tps_per_bind);
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
  // TLS: the carrier's certificate is checked against server_name (default: host), which is
  // also the SNI; the context resumes the session it last had with this carrier.
  const auto& c = up_.cfg();
  const auto& ctxs = rt_.tls().upstreams;
  const std::shared_ptr<net::TlsContext> ctx =
      up_.configIndex() < ctxs.size() ? ctxs[up_.configIndex()] : nullptr;
  if (c.tls.enabled && ctx == nullptr) {
    // (an upstream a reload removed): never fall back to plaintext for a TLS carrier.
    lost("no TLS context", UV_EPROTO);
    return;
  }
  if (ctx && !conn_->startTls(ctx, c.tls.server_name.empty() ? c.host : c.tls.server_name)) {
    log::error("tls_session_failed", "upstream", describe(), "reason",
               conn_->tls()->failureDetail());
    lost("TLS session failed", UV_EPROTO);
    return;
  }
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

const std::string& UpstreamBind::upstreamName() const {
  return up_.name();
}

uint32_t UpstreamBind::effectiveWindow() const {
  return std::min(eff_window_, up_.cfg().window);  // (a reload may have lowered the window)
}

bool UpstreamBind::ready(uint64_t now_ms) {
  return state_ == State::Bound && transmit_ && inflight_.size() < effectiveWindow() &&
         now_ms >= paused_until_ms_ && tps_.available(now_ms);
}

void UpstreamBind::flowControl(uint32_t status, const codec::Pdu& resp, uint64_t sent_ns,
                               uint64_t now_ms) {
  ++answers_since_shrink_;
  if (status == st::ESME_ROK) {
    pause_ms_ = 0;
    // A v5.0 carrier's own load (congestion_state): from 90 "slow down" (halve, at most once a
    // window of answers), 80-89 the optimum band (hold), below it grow as usual.
    if (auto cs =
            resp.tlvs.empty() ? std::nullopt : resp.tlvs.integer(codec::tag::congestion_state)) {
      if (*cs >= 90) {
        if (answers_since_shrink_ >= effectiveWindow()) {
          shrinkWindow("congestion_state", 0);
        }
        return;
      }
      if (*cs >= 80) {
        return;
      }
    }
    if (eff_window_ < up_.cfg().window && ++successes_ >= eff_window_) {
      ++eff_window_;  // additive increase: one per window of successes
      successes_ = 0;
    }
    return;
  }
  if (status == st::ESME_RTHROTTLED) {
    if (now_ms < paused_until_ms_) {
      return;  // the rest of a window sent before the pause: one pushback, not one per answer
    }
    const auto& tp = up_.cfg().throttle_pause;
    pause_ms_ = pause_ms_ == 0 ? ms(tp.initial) : std::min(pause_ms_ * 2, ms(tp.max));
    paused_until_ms_ = now_ms + pause_ms_;
    if (auto* m = up_.metrics()) {
      m->pauses->inc();
    }
    uint64_t suppressed = 0;
    if (rt_.flowLogBudget().allow(now_ms, suppressed)) {
      log::warn("upstream_throttled", "upstream", describe(), "pause_ms", pause_ms_, "suppressed",
                suppressed);
    }
  } else if (status == st::ESME_RMSGQFUL) {
    shrinkWindow("ESME_RMSGQFUL", sent_ns);
  }
}

void UpstreamBind::shrinkWindow(const char* why, uint64_t sent_ns) {
  if (sent_ns != 0 && sent_ns < last_shrink_ns_) {
    return;  // sent before the last halving: part of the same pushback
  }
  last_shrink_ns_ = rt_.loop().cachedNs();
  const uint32_t before = effectiveWindow();
  answers_since_shrink_ = 0;
  eff_window_ = std::max<uint32_t>(1, before / 2);  // multiplicative decrease
  successes_ = 0;
  if (auto* m = up_.metrics()) {
    m->window_shrinks->inc();
  }
  uint64_t suppressed = 0;
  if (rt_.flowLogBudget().allow(rt_.now(), suppressed)) {
    log::warn("upstream_window_shrunk", "upstream", describe(), "reason", why, "window",
              eff_window_, "suppressed", suppressed);
  }
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
    // A new bind starts with the whole window and no pause.
    eff_window_ = up_.cfg().window;
    successes_ = 0;
    answers_since_shrink_ = 1u << 30;
    pause_ms_ = 0;
    paused_until_ms_ = 0;
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
  if (info.kind == UpInFlight::Kind::Forward) {
    flowControl(id == CommandId::generic_nack ? st::ESME_RSYSERR : pdu.command_status, pdu,
                info.sent_ns, rt_.now());
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

void UpstreamBind::onSecured(net::Connection& c) {
  countTlsHandshake(rt_.metrics().registry(), rt_.tlsLog(), rt_.now(), "upstream", up_.name(),
                    c.peerAddress(), *c.tls(), true);
}

void UpstreamBind::onClosed(net::Connection& c, int status) {
  if (status == net::kStatusTlsHandshake && c.tls() != nullptr) {
    countTlsHandshake(rt_.metrics().registry(), rt_.tlsLog(), rt_.now(), "upstream", up_.name(),
                      c.peerAddress(), *c.tls(), false);
    lost("TLS handshake failed", UV_EPROTO);
    return;
  }
  lost("connection closed", status == net::kStatusTlsError ? UV_EPROTO : status);
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
      // The bind waits in the connection's output until the handshake is done.
      if (conn_ != nullptr && conn_->tls() != nullptr && !conn_->tls()->established() &&
          conn_->expireHandshake(ms(rt_.cfg().timers.tls_handshake))) {
        return;
      }
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
      shrinkWindow("timeout", info.sent_ns);
      host_.onUpstreamFailed(info, gwstatus::kUpstreamTimeout);
    }
  });
  // Dead: nothing at all received for request_timeout since the enquire_link went out (timed from
  // the send, not from the last PDU: that was enquire_link_interval ago already).
  if (enquire_seq_ != 0 && now - std::max(last_rx_ms_, enquire_sent_ms_) >= ms(c.request_timeout)) {
    lost("enquire_link unanswered", UV_ETIMEDOUT);
    return;
  }
  if (enquire_seq_ == 0 && now - last_rx_ms_ >= ms(c.enquire_link_interval)) {
    enquire_seq_ = inflight_.nextSeq();
    enquire_sent_ms_ = now;
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

}  // namespace smppgw
