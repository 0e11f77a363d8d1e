#include "gateway/downstream.h"

#include <cassert>

#include "codec/encode.h"
#include "gateway/log.h"

namespace smppgw {

using codec::CommandId;
namespace st = codec::status;

DownstreamSession::DownstreamSession(Runtime& rt, SessionHost& host, SessionRef ref,
                                     config::ListenerId listener, net::Connection::Ptr conn,
                                     uint64_t now_ms)
    : rt_(rt),
      host_(host),
      ref_(ref),
      listener_(listener),
      conn_(std::move(conn)),
      peer_(conn_->peerAddress()),
      opened_ms_(now_ms),
      last_rx_ms_(now_ms),
      last_activity_ms_(now_ms) {
  conn_->setHandler(this);
  conn_->setOutputLimit(rt_.cfg().limits.max_session_output);
}

DownstreamSession::~DownstreamSession() = default;

void DownstreamSession::onPdu(net::Connection&, codec::Bytes raw) {
  last_rx_ms_ = rt_.now();
  if (not_reading_) {
    not_reading_ = false;  // it reads again: deliveries may go to it
    log::info("receiver_reading_again", "peer", peer_, "system_id", system_id_);
    host_.onReceiverReadingChanged(*this);
  }
  if (auto err = codec::decode(raw, pdu_)) {
    if (m_ != nullptr) {
      m_->decode_errors->inc();
    }
    answerDecodeError(*err);
    return;
  }
  if (m_ != nullptr) {
    rt_.metrics().customerPdu(*m_, true, pdu_.command_id);
  }
  handle(pdu_, raw);
}

void DownstreamSession::onFramingError(net::Connection&, const codec::DecodeError& e) {
  answerDecodeError(e);
}

void DownstreamSession::onProxyHeader(net::Connection& c) {
  peer_ = c.peerAddress();
  log::debug("proxy_header", "peer", peer_, "proxy", c.proxyAddress());
  if (!host_.onPeerKnown(*this)) {
    close("refused for its source address");
  }
}

void DownstreamSession::onSecured(net::Connection& c) {
  countTlsHandshake(rt_.metrics().registry(), rt_.tlsLog(), rt_.now(), "listener",
                    rt_.cfg().listeners[listener_].name, peer_, *c.tls(), true);
}

void DownstreamSession::onClosed(net::Connection& c, int status) {
  if (state_ == State::Closed) {
    return;
  }
  if (status == net::kStatusProxyHeader) {
    const std::string& listener = rt_.cfg().listeners[listener_].name;
    rt_.metrics().proxyHeaderFailure(listener, net::proxyFailureName(c.proxyFailure())).inc();
    // An unauthenticated peer can repeat this at will: a few lines a second, the rest counted.
    uint64_t suppressed = 0;
    if (rt_.proxyLogBudget().allow(rt_.now(), suppressed)) {
      log::warn("proxy_header_failed", "listener", listener, "peer", peer_, "reason",
                net::proxyFailureName(c.proxyFailure()), "detail", c.proxyFailureDetail(),
                "suppressed", suppressed);
    }
  } else if (status == net::kStatusTlsHandshake && c.tls() != nullptr) {
    // Counted and logged (rate-limited) there: a scanner must not flood the log.
    countTlsHandshake(rt_.metrics().registry(), rt_.tlsLog(), rt_.now(), "listener",
                      rt_.cfg().listeners[listener_].name, peer_, *c.tls(), false);
  } else if (status == net::kStatusTlsError) {
    log::info("session_closed", "peer", peer_, "system_id", system_id_, "reason", "TLS error");
  } else if (status == UV_ENOBUFS) {
    // Our output to it passed limits.max_session_output: it is not reading.
    log::warn("session_not_reading", "peer", peer_, "system_id", system_id_, "limit",
              rt_.cfg().limits.max_session_output);
    if (m_ != nullptr) {
      m_->not_reading->inc();
    }
  } else {
    log::info("session_closed", "peer", peer_, "system_id", system_id_, "reason",
              status == UV_EOF ? "peer closed" : uv_strerror(status));
  }
  transition(State::Closed);
  failDeliveries(metrics::DeferReason::SessionClosed);
  host_.onSessionClosed(*this);
}

void DownstreamSession::answerDecodeError(const codec::DecodeError& e) {
  log::warn("bad_pdu", "peer", peer_, "system_id", system_id_, "error",
            codec::decodeErrorKindName(e.kind), "field", e.field, "command_id", e.command_id,
            "sequence_number", e.sequence_number);
  if (e.respond) {
    codec::encodeHeaderOnly(out(), e.response_id, e.status, e.sequence_number);
    send();
  }
  if (e.close_connection) {
    close("framing lost");
  }
}

void DownstreamSession::respondStatus(CommandId request, uint32_t seq, uint32_t status) {
  codec::encodeHeaderOnly(out(), codec::responseFor(request), status, seq);
  send();
  if (m_ != nullptr) {
    rt_.metrics().customerResponse(*m_, codec::responseFor(request), status);
  }
}

void DownstreamSession::requestAnswered() {
  if (outstanding_ > 0) {
    --outstanding_;
  }
  if (state_ == State::Unbinding) {
    maybeFinishUnbind();
  }
}

void DownstreamSession::handle(const codec::Pdu& pdu, codec::Bytes raw) {
  const CommandId id = pdu.command_id;
  if (codec::isResponse(id)) {
    handleResponse(pdu);
    return;
  }
  if (id != CommandId::enquire_link) {
    last_activity_ms_ = last_rx_ms_;
  }
  switch (id) {
    case CommandId::enquire_link:
      // Always answered at once, in any state, even with the window full (reference §7.6).
      respondStatus(id, pdu.sequence_number, st::ESME_ROK);
      return;
    case CommandId::bind_transmitter:
    case CommandId::bind_receiver:
    case CommandId::bind_transceiver:
      handleBind(pdu);
      return;
    case CommandId::unbind:
      if (state_ != State::Bound && state_ != State::Unbinding) {
        respondStatus(id, pdu.sequence_number, st::ESME_RINVBNDSTS);
        return;
      }
      // Answer once every request of theirs has been answered, so none is lost.
      peer_unbind_seq_ = pdu.sequence_number;
      if (state_ != State::Unbinding) {
        transition(State::Unbinding);
        unbind_started_ms_ = rt_.now();
      }
      maybeFinishUnbind();
      return;
    case CommandId::outbind:
    case CommandId::alert_notification:
      // Never answered (no response PDU exists); an ESME has no business sending them.
      log::warn("unexpected_pdu", "peer", peer_, "command", codec::commandName(id));
      return;
    default:
      break;
  }
  if (state_ != State::Bound) {
    // While we unbind (shutdown, customer removed), say "retry later", not "wrong state".
    const bool ours = state_ == State::Unbinding && peer_unbind_seq_ == 0;
    respondStatus(id, pdu.sequence_number, ours ? gwstatus::kShuttingDown : st::ESME_RINVBNDSTS);
    if (m_ != nullptr) {
      m_->refusals[static_cast<size_t>(ours ? metrics::RefusalReason::Shutdown
                                            : metrics::RefusalReason::State)]
          ->inc();
    }
    return;
  }
  if ((codec::isV50Only(id) && version_ < 0x50) || (id == CommandId::data_sm && version_ < 0x34)) {
    // A command the peer's version does not have (the v5.0 broadcast family, data_sm for v3.3)
    // is unknown to it: generic_nack ESME_RINVCMDID (reference §7.2), never a response PDU of a
    // later version (§8.1).
    codec::encodeHeaderOnly(out(), CommandId::generic_nack, st::ESME_RINVCMDID,
                            pdu.sequence_number);
    send();
    if (m_ != nullptr) {
      rt_.metrics().customerResponse(*m_, CommandId::generic_nack, st::ESME_RINVCMDID);
    }
    return;
  }
  switch (id) {
    case CommandId::submit_sm:
    case CommandId::submit_multi:
    case CommandId::query_sm:
    case CommandId::cancel_sm:
    case CommandId::replace_sm:
    case CommandId::broadcast_sm:
    case CommandId::query_broadcast_sm:
    case CommandId::cancel_broadcast_sm:
      if (!canTransmit()) {
        respondStatus(id, pdu.sequence_number, st::ESME_RINVBNDSTS);
        return;
      }
      break;
    case CommandId::data_sm:
      break;  // allowed on every bound session (v3.4 Table 2-1)
    default:
      // deliver_sm and anything else an MC sends: not for us to receive.
      respondStatus(id, pdu.sequence_number, st::ESME_RINVBNDSTS);
      return;
  }
  if (outstanding_ >= window_) {
    if (m_ != nullptr) {
      m_->refusals[static_cast<size_t>(metrics::RefusalReason::Window)]->inc();
    }
    respondStatus(id, pdu.sequence_number, gwstatus::kWindowFull);
    return;
  }
  ++outstanding_;  // freed by answerStatus / answer, now or when the carrier answers
  const MtResult r = id == CommandId::submit_sm || id == CommandId::data_sm ||
                             id == CommandId::submit_multi || id == CommandId::broadcast_sm
                         ? host_.onSubmit(*this, pdu, raw)
                         : host_.onById(*this, pdu);
  if (!r.pending) {
    answerStatus(id, pdu.sequence_number, r.status);
  }
}

void DownstreamSession::handleBind(const codec::Pdu& pdu) {
  if (state_ != State::Open) {
    respondStatus(pdu.command_id, pdu.sequence_number, st::ESME_RALYBND);
    return;
  }
  const auto& body = pdu.as<codec::BindBody>();
  system_id_ = std::string(body.system_id);
  // Each side uses the lower version (reference §8.1).
  version_ = body.interface_version >= 0x50 ? 0x50 : body.interface_version >= 0x34 ? 0x34 : 0x33;
  bind_type_ = pdu.command_id == CommandId::bind_transmitter ? config::BindType::Transmitter
               : pdu.command_id == CommandId::bind_receiver  ? config::BindType::Receiver
                                                             : config::BindType::Transceiver;
  transition(State::Authenticating);
  // Nothing else is read until the bind is decided (the password check runs off the loop).
  conn_->pauseReading();
  host_.authenticate(*this, pdu.command_id, pdu.sequence_number, body);
}

void DownstreamSession::bindSucceeded(CommandId bind, uint32_t seq, CustomerRt customer,
                                      uint32_t window, uint32_t delivery_window) {
  if (state_ != State::Authenticating) {
    return;
  }
  customer_ = customer;
  m_ = host_.customerMetrics(customer);
  window_ = window;
  delivery_window_ = delivery_window;
  transition(State::Bound);
  last_activity_ms_ = rt_.now();
  codec::Pdu resp(codec::responseFor(bind), seq, st::ESME_ROK);
  resp.as<codec::BindRespBody>().system_id = rt_.cfg().gateway.system_id;
  if (version_ >= 0x34) {
    resp.tlvs.addU8(codec::tag::sc_interface_version, version_);
  }
  codec::encode(resp, out(), {version_});
  send();
  conn_->resumeReading();
  log::info("session_bound", "peer", peer_, "system_id", system_id_, "bind",
            config::enumName(bind_type_), "version", version_);
  host_.onSessionBound(*this);
}

void DownstreamSession::bindFailed(CommandId bind, uint32_t seq, uint32_t status,
                                   bool auth_failure) {
  if (state_ != State::Authenticating || held_refusal_) {
    return;
  }
  if (auth_failure) {
    ++failed_binds_;
    if (const uint64_t delay = ms(rt_.cfg().auth.failure_delay); delay > 0) {
      held_refusal_ = HeldRefusal{bind, seq, status, rt_.now() + delay};  // tick() answers
      return;
    }
  }
  refuseBind(bind, seq, status, auth_failure);
}

void DownstreamSession::refuseBind(CommandId bind, uint32_t seq, uint32_t status,
                                   bool auth_failure) {
  transition(State::Open);
  uint64_t suppressed = 0;
  if (rt_.bindLogBudget().allow(rt_.now(), suppressed)) {
    log::warn("bind_refused", "peer", peer_, "system_id", system_id_, "status",
              codec::statusName(status), "suppressed", suppressed);
  }
  system_id_.clear();
  respondStatus(bind, seq, status);
  if (auth_failure && failed_binds_ >= rt_.cfg().auth.max_attempts_per_connection) {
    close("too many failed binds");
    return;
  }
  conn_->resumeReading();
}

void DownstreamSession::handleResponse(const codec::Pdu& pdu) {
  const CommandId id = pdu.command_id;
  if (id == CommandId::enquire_link_resp) {
    if (pdu.sequence_number == enquire_seq_) {
      enquire_seq_ = 0;
    }
    return;
  }
  if (id == CommandId::unbind_resp) {
    if (unbind_seq_ != 0 && pdu.sequence_number == unbind_seq_) {
      close("unbound");
    }
    return;
  }
  // deliver_sm_resp, data_sm_resp, or a generic_nack for one of our deliveries.
  Delivery d;
  if (!deliveries_.take(pdu.sequence_number, d)) {
    log::debug("unexpected_response", "peer", peer_, "command", codec::commandName(id),
               "sequence_number", pdu.sequence_number);
    return;
  }
  host_.onDeliveryAnswered(*this, d, pdu.command_status);
  if (state_ == State::Unbinding) {
    maybeFinishUnbind();
  }
}

uint32_t DownstreamSession::sendDelivery(codec::Bytes pdu, Delivery d) {
  uint32_t seq = deliveries_.nextSeq();
  size_t at = out().size();
  out().append(pdu);
  codec::patchSequence(out().mutableView().subspan(at), seq);
  send();
  if (m_ != nullptr) {
    rt_.metrics().customerPdu(*m_, false, d.command);
  }
  d.deadline_ms = rt_.now() + static_cast<uint64_t>(rt_.cfg().timers.delivery_response.count());
  deliveries_.insert(seq, d);
  return seq;
}

void DownstreamSession::failDeliveries(metrics::DeferReason reason) {
  deliveries_.drain([&](uint32_t, Delivery&& d) { host_.onDeliveryFailed(d, reason); });
}

void DownstreamSession::maybeFinishUnbind() {
  if (state_ != State::Unbinding || outstanding_ != 0) {
    return;
  }
  if (peer_unbind_seq_ != 0) {
    // Their unbind: answer it once their requests are answered; deliveries still out are
    // given back to the MC to retry later.
    failDeliveries(metrics::DeferReason::SessionClosed);
    codec::encodeHeaderOnly(out(), CommandId::unbind_resp, st::ESME_ROK, peer_unbind_seq_);
    send();
    close("unbind");
    return;
  }
  if (unbind_seq_ == 0 && deliveries_.empty()) {
    unbind_seq_ = deliveries_.nextSeq();
    codec::encodeHeaderOnly(out(), CommandId::unbind, 0, unbind_seq_);
    send();
  }
}

void DownstreamSession::unbind(const char* reason) {
  if (state_ == State::Closed) {
    return;
  }
  if (state_ != State::Bound) {
    close(reason);
    return;
  }
  log::info("session_unbinding", "peer", peer_, "system_id", system_id_, "reason", reason);
  transition(State::Unbinding);
  unbind_started_ms_ = rt_.now();
  // Reading goes on: responses still arrive, new requests are refused in this state.
  maybeFinishUnbind();
}

void DownstreamSession::close(const char* reason) {
  if (state_ == State::Closed) {
    return;
  }
  log::info("session_closed", "peer", peer_, "system_id", system_id_, "reason", reason);
  transition(State::Closed);
  failDeliveries(metrics::DeferReason::SessionClosed);
  conn_->closeAfterFlush();
  host_.onSessionClosed(*this);
}

void DownstreamSession::tick(uint64_t now) {
  const config::Timers& t = rt_.cfg().timers;
  switch (state_) {
    case State::Open:
      // The PROXY header comes before the bind: session_init bounds it too, counted apart.
      if (conn_->expireProxyHeader(ms(t.session_init))) {
        return;
      }
      // A handshake not done within timers.tls_handshake fails (onClosed from inside).
      if (conn_->tls() != nullptr && !conn_->tls()->established() &&
          conn_->expireHandshake(ms(t.tls_handshake))) {
        return;
      }
      if (now - opened_ms_ >= ms(t.session_init)) {
        close("no bind within session_init");
      }
      return;
    case State::Authenticating:
      if (held_refusal_ && now >= held_refusal_->due_ms) {
        const HeldRefusal r = *held_refusal_;
        held_refusal_.reset();
        refuseBind(r.bind, r.seq, r.status, true);
      }
      return;
    case State::Closed:
      return;
    case State::Unbinding:
      deliveries_.expire(now, [&](uint32_t, Delivery&& d) {
        host_.onDeliveryFailed(d, metrics::DeferReason::Timeout);
      });
      maybeFinishUnbind();
      if (now - unbind_started_ms_ >= ms(t.unbind) + ms(t.response)) {
        close("unbind timed out");
      }
      return;
    case State::Bound:
      break;
  }
  bool timed_out = false;
  deliveries_.expire(now, [&](uint32_t seq, Delivery&& d) {
    if (!timed_out) {
      log::warn("delivery_timeout", "peer", peer_, "system_id", system_id_, "sequence_number", seq);
    }
    timed_out = true;
    host_.onDeliveryFailed(d, metrics::DeferReason::Timeout);
  });
  if (timed_out && !not_reading_ && now - last_rx_ms_ >= ms(t.delivery_response)) {
    // Nothing read from it for as long as a delivery may wait: no new deliveries until it does.
    not_reading_ = true;
    log::warn("receiver_not_reading", "peer", peer_, "system_id", system_id_);
    host_.onReceiverReadingChanged(*this);
  }
  if (enquire_seq_ != 0 && now - enquire_sent_ms_ >= ms(t.response)) {
    close("enquire_link unanswered");
    return;
  }
  if (ms(t.inactivity) > 0 && now - last_activity_ms_ >= ms(t.inactivity)) {
    unbind("inactivity");
    return;
  }
  if (enquire_seq_ == 0 && now - last_rx_ms_ >= ms(t.enquire_link)) {
    enquire_seq_ = deliveries_.nextSeq();
    enquire_sent_ms_ = now;
    codec::encodeHeaderOnly(out(), CommandId::enquire_link, 0, enquire_seq_);
    send();
  }
}

void DownstreamSession::transition(State to) {
  using S = State;
  bool ok = false;
  switch (state_) {
    case S::Open:
      ok = to == S::Authenticating || to == S::Closed;
      break;
    case S::Authenticating:
      ok = to == S::Bound || to == S::Open || to == S::Closed;  // Open: the bind failed
      break;
    case S::Bound:
      ok = to == S::Unbinding || to == S::Closed;
      break;
    case S::Unbinding:
      ok = to == S::Closed;
      break;
    case S::Closed:
      break;
  }
  if (!ok) {
    log::error("internal_error", "what", "customer_session_state", "from", static_cast<int>(state_),
               "to", static_cast<int>(to), "peer", peer_);
    rt_.metrics()
        .registry()
        .counter(metrics::CounterFamily::InternalErrors, {"customer_session_state"})
        .inc();
    assert(ok && "customer session: state change not allowed");
  }
  state_ = to;
}

}  // namespace smppgw
