#include "tools/bench/bench.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "codec/command.h"
#include "codec/encode.h"
#include "codec/status.h"
#include "tools/common/options.h"
#include "tools/common/pdu_util.h"
#include "tools/common/util.h"

namespace smppgw::bench {

using codec::CommandId;
namespace status = codec::status;

namespace {

constexpr uint64_t kMs = 1000000ull;  // ns per ms
constexpr uint64_t kUnbindTimeoutMs = 2000;

std::string statusKey(uint32_t st) {
  std::string_view name = codec::statusName(st);
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", st);
  return buf;
}

double us(uint64_t ns) {
  return static_cast<double>(ns) / 1000.0;
}

}  // namespace

// ---- BenchSession ----

BenchSession::BenchSession(Bench& b, uint32_t idx, Role r, size_t ring)
    : bench(b), index(idx), role(r), inflight(ring) {}

void BenchSession::onPdu(net::Connection&, codec::Bytes pdu) {
  bench.handlePdu(*this, pdu);
}
void BenchSession::onFramingError(net::Connection&, const codec::DecodeError& e) {
  bench.handleFramingError(*this, e);
}
void BenchSession::onConnected(net::Connection&, int st) {
  bench.handleConnected(*this, st);
}
void BenchSession::onSecured(net::Connection&) {
  bench.handleSecured(*this);
}
void BenchSession::onClosed(net::Connection&, int st) {
  bench.handleClosed(*this, st);
}

// ---- Bench ----

Bench::Bench(net::Loop& loop, Config config)
    : loop_(loop),
      cfg_(std::move(config)),
      rng_(cfg_.seed),
      pacer_(loop, [this] { pumpOpen(net::Loop::hrtimeNs()); }),
      pending_receipts_(4096),
      early_receipts_(256) {}

Bench::~Bench() = default;

void Bench::log(const char* fmt, ...) const {
  if (cfg_.quiet) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  tools::vlogLine("smpp-bench", fmt, ap);
  va_end(ap);
}

bool Bench::start(std::string& error) {
  std::string host;
  uint16_t port = 0;
  if (!tools::splitHostPort(cfg_.connect, host, port) || port == 0 ||
      !net::parseAddress(host, port, addr_)) {
    error = "--connect needs a numeric HOST:PORT";
    return false;
  }
  tools::NumberRange src;
  tools::NumberRange dst;
  if (!tools::NumberRange::parse(cfg_.source, src, error) ||
      !tools::NumberRange::parse(cfg_.dest, dst, error)) {
    return false;
  }
  if (cfg_.tls) {
    net::TlsOptions o;
    o.role = net::TlsOptions::Role::Client;
    o.ca_file = cfg_.tls_ca;
    o.cert_file = cfg_.tls_cert;
    o.key_file = cfg_.tls_key;
    if (o.cert_file.empty() != o.key_file.empty()) {
      error = "--tls-cert and --tls-key go together";
      return false;
    }
    std::string why;
    tls_ctx_ = net::TlsContext::create(o, why);
    if (tls_ctx_ == nullptr) {
      error = "TLS: " + why;
      return false;
    }
    tls_server_name_ = cfg_.tls_server_name.empty() ? host : cfg_.tls_server_name;
  }
  rd_ = cfg_.receipts ? 1 : 0;
  if (!factory_.build(cfg_.mix, src, dst, rd_, cfg_.seed, error)) {
    return false;
  }
  const size_t ring = static_cast<size_t>(cfg_.window) * 2 + 64;
  auto add = [&](BenchSession::Role role) {
    auto s =
        std::make_unique<BenchSession>(*this, static_cast<uint32_t>(sessions_.size()), role, ring);
    s->conn = net::Connection::create(loop_, s.get(), codec::kDefaultMaxCommandLength);
    sessions_.push_back(std::move(s));
  };
  for (uint32_t i = 0; i < cfg_.sessions; ++i) {
    add(cfg_.transmitter ? BenchSession::Role::Transmitter : BenchSession::Role::Transceiver);
  }
  if (cfg_.transmitter && cfg_.receipts) {
    for (uint32_t i = 0; i < cfg_.sessions; ++i) {
      add(BenchSession::Role::Receiver);
    }
  }
  start_ns_ = net::Loop::hrtimeNs();
  for (auto& s : sessions_) {
    if (tls_ctx_ != nullptr && !s->conn->startTls(tls_ctx_, tls_server_name_)) {
      error = "TLS: " + (s->conn->tls() != nullptr ? s->conn->tls()->failureDetail()
                                                   : std::string("cannot start a session"));
      return false;
    }
    s->connect_ns = net::Loop::hrtimeNs();
    if (int rc = s->conn->connect(reinterpret_cast<sockaddr*>(&addr_)); rc != 0) {
      error = std::string("connect: ") + uv_strerror(rc);
      return false;
    }
  }
  if (cfg_.rate > 0) {
    mean_gap_ns_ = 1e9 / cfg_.rate;
  }
  // The loop's cached clock dates from its creation; timers started below are relative to it.
  uv_update_time(loop_.raw());
  tick_ = std::make_unique<net::Timer>(loop_, [this] { onTick(); });
  tick_->start(100, 100);
  if (cfg_.progress && !cfg_.quiet) {
    progress_ = std::make_unique<net::Timer>(loop_, [this] { onProgress(); });
    progress_->start(1000, 1000);
  }
  char what[96];
  if (cfg_.rate > 0) {
    std::snprintf(what, sizeof what, "open loop %.0f msg/s", cfg_.rate);
  } else {
    std::snprintf(what, sizeof what, "closed loop, window %u", cfg_.window);
  }
  char until[64];
  if (cfg_.count != 0) {
    std::snprintf(until, sizeof until, "%llu submits", static_cast<unsigned long long>(cfg_.count));
  } else {
    std::snprintf(until, sizeof until, "%.1f s", static_cast<double>(cfg_.duration_ms) / 1000.0);
  }
  log("%u session(s) to %s%s, %s, mix %s%s, %s", cfg_.sessions, cfg_.connect.c_str(),
      cfg_.tls ? " over TLS" : "", what, std::string(mixName(cfg_.mix)).c_str(),
      cfg_.receipts ? ", receipts" : "", until);
  return true;
}

bool Bench::anySessionAlive() const {
  return std::any_of(sessions_.begin(), sessions_.end(),
                     [](const auto& s) { return s->state != BenchSession::State::Closed; });
}

void Bench::writeOut(BenchSession& s) {
  if (cfg_.one_pdu_per_write) {
    // Each PDU its own write(2), as many real ESMEs do. send() is never used in this mode, so the
    // loop holds no flush entry for the connection (flushScheduled() is the write-now path).
    s.conn->flushScheduled();
  } else {
    s.conn->send();
  }
}

void Bench::handleConnected(BenchSession& s, int st) {
  if (st != 0) {
    ++connect_failed_;
    log("connect to %s failed: %s", cfg_.connect.c_str(), uv_strerror(st));
    closeSession(s);
    checkDone(net::Loop::hrtimeNs());
    return;
  }
  if (tls_ctx_ != nullptr) {
    s.state = BenchSession::State::Handshaking;  // the bind waits for onSecured
    return;
  }
  sendBind(s);
}

void Bench::handleSecured(BenchSession& s) {
  const net::TlsSession* t = s.conn->tls();
  ++tls_handshakes_;
  if (t->sessionReused()) {
    ++tls_resumed_;
  }
  if (tls_version_.empty()) {
    tls_version_ = t->version();
    tls_cipher_ = t->cipher();
  }
  handshake_hist_.record(net::Loop::hrtimeNs() - s.connect_ns);
  sendBind(s);
}

void Bench::sendBind(BenchSession& s) {
  auto* slot = s.inflight.allocate();
  const uint64_t now = net::Loop::hrtimeNs();
  slot->payload = BenchSession::Req{BenchSession::Req::Kind::Bind, false, now};
  slot->sent_ns = now;
  CommandId id = CommandId::bind_transceiver;
  if (s.role == BenchSession::Role::Transmitter) {
    id = CommandId::bind_transmitter;
  } else if (s.role == BenchSession::Role::Receiver) {
    id = CommandId::bind_receiver;
  }
  codec::Pdu p(id, slot->seq);
  auto& b = p.as<codec::BindBody>();
  b.system_id = cfg_.system_id;
  b.password = cfg_.password;
  b.system_type = cfg_.system_type;
  b.interface_version = cfg_.interface_version;
  codec::encode(tools::nonNullStrings(p), s.conn->out());
  s.state = BenchSession::State::Binding;
  writeOut(s);
}

void Bench::sendUnbind(BenchSession& s) {
  auto* slot = s.inflight.allocate();
  if (slot == nullptr) {
    closeSession(s);
    return;
  }
  const uint64_t now = net::Loop::hrtimeNs();
  slot->payload = BenchSession::Req{BenchSession::Req::Kind::Unbind, false, now};
  slot->sent_ns = now;
  codec::encodeHeaderOnly(s.conn->out(), CommandId::unbind, 0, slot->seq);
  s.state = BenchSession::State::Unbinding;
  writeOut(s);
}

void Bench::sendEnquireLink(BenchSession& s, uint64_t now) {
  auto* slot = s.inflight.allocate();
  s.last_enquire_ns = now;
  if (slot == nullptr) {
    return;
  }
  slot->payload = BenchSession::Req{BenchSession::Req::Kind::Enquire, false, now};
  slot->sent_ns = now;
  codec::encodeHeaderOnly(s.conn->out(), CommandId::enquire_link, 0, slot->seq);
  ++enquire_links_;
  writeOut(s);
}

void Bench::handlePdu(BenchSession& s, codec::Bytes pdu) {
  const codec::Header h = codec::readHeader(pdu.data());
  const uint64_t now = net::Loop::hrtimeNs();
  if ((h.command_id & codec::kResponseBit) != 0) {
    handleResponse(s, h, pdu, now);
  } else {
    handleRequest(s, h, pdu, now);
  }
}

void Bench::countStatus(uint32_t st) {
  for (StatusCount& c : statuses_) {
    if (c.status == st) {
      ++c.count;
      return;
    }
  }
  statuses_.push_back(StatusCount{st, 1});  // a new status: once per status, not per PDU
}

bool Bench::normalize(std::string_view id, codec::IdFormat fmt, codec::MessageIdKey& key) const {
  codec::IdKeyOptions o;
  o.treat_as = fmt;
  return codec::normalizeMessageId(id, o, key);
}

void Bench::handleResponse(BenchSession& s, const codec::Header& h, codec::Bytes pdu,
                           uint64_t now) {
  auto* slot = s.inflight.find(h.sequence_number);
  if (slot == nullptr) {
    ++unexpected_;
    return;
  }
  const BenchSession::Req r = slot->payload;
  s.inflight.release(slot);
  const bool nack = h.command_id == static_cast<uint32_t>(CommandId::generic_nack);
  switch (r.kind) {
    case BenchSession::Req::Kind::Bind:
      if (nack || h.command_status != 0) {
        ++binds_failed_;
        log("bind refused: %s", statusKey(h.command_status).c_str());
        closeSession(s);
        checkDone(now);
        return;
      }
      ++binds_ok_;
      s.state = BenchSession::State::Bound;
      s.last_enquire_ns = now;
      if (!started_sending_ && s.role != BenchSession::Role::Receiver && !finishing_) {
        started_sending_ = true;
        sending_ = true;
        first_send_ns_ = now;
        last_response_ns_ = now;
        last_progress_ns_ = now;
        next_due_ns_ = now;
        if (cfg_.duration_ms > 0) {
          duration_timer_ = std::make_unique<net::Timer>(loop_, [this] {
            stopSending("duration reached");
            checkDone(net::Loop::hrtimeNs());
          });
          duration_timer_->start(cfg_.duration_ms);
        }
      }
      pump(s, now);
      return;
    case BenchSession::Req::Kind::Enquire:
      return;
    case BenchSession::Req::Kind::Unbind:
      closeSession(s);
      checkDone(now);
      return;
    case BenchSession::Req::Kind::Submit:
      break;
  }
  --s.submits_outstanding;
  ++responses_;
  last_response_ns_ = now;
  const uint32_t st = h.command_status;
  if (nack) {
    ++generic_nacks_;
  }
  countStatus(st);
  const uint64_t lat = now > r.sched_ns ? now - r.sched_ns : 0;
  submit_hist_.record(lat);
  interval_hist_.record(lat);
  if (st == 0 && !nack) {
    ++responses_ok_;
    if (r.wants_receipt) {
      ++receipts_expected_;
      std::string_view id;
      if (pdu.size() > codec::kHeaderSize) {
        const char* b = reinterpret_cast<const char*>(pdu.data()) + codec::kHeaderSize;
        id = std::string_view(b, strnlen(b, pdu.size() - codec::kHeaderSize));
      }
      codec::MessageIdKey key;
      if (!normalize(id, cfg_.response_id_format, key)) {
        ++receipts_missing_;  // no usable id: its receipt cannot be matched
      } else {
        uint64_t arrived = 0;
        if (early_receipts_.take(key.view(), &arrived)) {
          ++receipts_matched_;
          receipt_hist_.record(arrived > r.sched_ns ? arrived - r.sched_ns : 0);
        } else {
          pending_receipts_.put(key.view(), PendingReceipt{r.sched_ns});
        }
      }
    }
  }
  pump(s, now);
  if (!sending_) {
    checkDone(now);
  }
}

void Bench::handleRequest(BenchSession& s, const codec::Header& h, codec::Bytes pdu, uint64_t now) {
  codec::Buffer& out = s.conn->out();
  switch (static_cast<CommandId>(h.command_id)) {
    case CommandId::deliver_sm:
    case CommandId::data_sm: {
      ++deliver_sm_received_;
      const CommandId resp = codec::responseFor(static_cast<CommandId>(h.command_id));
      if (auto err = codec::decode(pdu, in_)) {
        if (err->respond) {
          codec::encodeHeaderOnly(out, err->response_id, err->status, h.sequence_number);
          writeOut(s);
        }
        return;
      }
      // deliver_sm_resp / data_sm_resp with a NULL message_id.
      uint8_t* p = out.grow(codec::kHeaderSize + 1);
      codec::store32(p, codec::kHeaderSize + 1);
      codec::store32(p + 4, static_cast<uint32_t>(resp));
      codec::store32(p + 8, 0);
      codec::store32(p + 12, h.sequence_number);
      p[16] = 0;
      writeOut(s);
      uint8_t esm = 0;
      codec::Bytes text;
      if (const auto* b = in_.tryAs<codec::SmBody>()) {
        esm = b->esm_class;
        text = b->short_message;
      } else if (const auto* d = in_.tryAs<codec::DataSmBody>()) {
        esm = d->esm_class;
      }
      if ((esm & 0x3C) == 0x04) {
        std::string_view id;
        if (auto tlv = in_.tlvs.text(codec::tag::receipted_message_id)) {
          id = *tlv;
        } else {
          if (text.empty()) {
            if (auto payload = in_.tlvs.bytes(codec::tag::message_payload)) {
              text = *payload;
            }
          }
          if (codec::parseReceipt(text, receipt_)) {
            id = receipt_.id;
          }
        }
        handleReceipt(id, now);
        if (!sending_) {
          checkDone(now);
        }
      } else if ((esm & 0x3C) == 0x20) {
        ++receipts_intermediate_;
      } else {
        ++mo_received_;
      }
      return;
    }
    case CommandId::enquire_link:
      codec::encodeHeaderOnly(out, CommandId::enquire_link_resp, 0, h.sequence_number);
      writeOut(s);
      return;
    case CommandId::unbind:
      codec::encodeHeaderOnly(out, CommandId::unbind_resp, 0, h.sequence_number);
      writeOut(s);
      log("the peer unbound session %u", s.index);
      closeSession(s);
      checkDone(now);
      return;
    case CommandId::outbind:
    case CommandId::alert_notification:
      return;
    default:
      if (codec::expectsResponse(static_cast<CommandId>(h.command_id)) &&
          codec::isKnownCommand(h.command_id)) {
        codec::encodeHeaderOnly(out, codec::responseFor(static_cast<CommandId>(h.command_id)),
                                status::ESME_RINVBNDSTS, h.sequence_number);
      } else {
        codec::encodeHeaderOnly(out, CommandId::generic_nack, status::ESME_RINVCMDID,
                                h.sequence_number);
      }
      writeOut(s);
      return;
  }
}

void Bench::handleReceipt(std::string_view id, uint64_t now) {
  codec::MessageIdKey key;
  if (!normalize(id, cfg_.receipt_id_format, key)) {
    ++receipts_unknown_;
    return;
  }
  PendingReceipt p;
  if (pending_receipts_.take(key.view(), &p)) {
    ++receipts_matched_;
    receipt_hist_.record(now > p.sched_ns ? now - p.sched_ns : 0);
    return;
  }
  // A digits-only id is read as decimal; an MC that answers in decimal but reports receipts in
  // hex (reference §9.4) needs the other reading.
  codec::MessageIdKey alt;
  if (cfg_.receipt_id_format == codec::IdFormat::Auto && normalize(id, codec::IdFormat::Hex, alt) &&
      pending_receipts_.take(alt.view(), &p)) {
    ++receipts_matched_;
    receipt_hist_.record(now > p.sched_ns ? now - p.sched_ns : 0);
    return;
  }
  if (cfg_.receipts && !finishing_) {
    early_receipts_.put(key.view(), now);  // before its submit_sm_resp, or not ours at all
  } else {
    ++receipts_unknown_;
  }
}

size_t Bench::budgetParts() const {
  if (cfg_.count == 0) {
    return SIZE_MAX;
  }
  return cfg_.count > submitted_ ? static_cast<size_t>(cfg_.count - submitted_) : 0;
}

bool Bench::sendOne(BenchSession& s, uint64_t new_sched, uint64_t now) {
  const MessageShape* shape = s.parts_shape;
  size_t part = 0;
  uint64_t sched = new_sched;
  uint64_t src = 0;
  uint64_t dst = 0;
  uint16_t ref = 0;
  bool started = false;
  if (shape != nullptr) {
    part = s.parts_next++;
    sched = s.parts_sched_ns;
    src = s.parts_src;
    dst = s.parts_dst;
    ref = s.parts_ref;
    if (s.parts_next >= shape->parts.size()) {
      s.parts_shape = nullptr;
    }
  } else {
    shape = &factory_.pick(rng_, budgetParts());
    src = rng_.between(factory_.source().lo, factory_.source().hi);
    dst = rng_.between(factory_.dest().lo, factory_.dest().hi);
    ref = static_cast<uint16_t>(messages_ & 0xFF);
    ++messages_;
    started = true;
    if (shape->parts.size() > 1) {
      s.parts_shape = shape;
      s.parts_next = 1;
      s.parts_sched_ns = sched;
      s.parts_src = src;
      s.parts_dst = dst;
      s.parts_ref = ref;
    }
  }
  auto* slot = s.inflight.allocate();
  if (slot == nullptr) {
    s.parts_shape = nullptr;
    return started;
  }
  slot->payload = BenchSession::Req{BenchSession::Req::Kind::Submit, rd_ != 0, sched};
  slot->sent_ns = now;
  factory_.write(*shape, part, slot->seq, src, dst, ref, s.conn->out());
  ++submitted_;
  ++s.submits_outstanding;
  if (cfg_.rate > 0) {
    send_lag_hist_.record(now > sched ? now - sched : 0);
  }
  writeOut(s);
  if (cfg_.count != 0 && submitted_ >= cfg_.count) {
    stopSending("count reached");
  }
  return started;
}

void Bench::pumpParts(BenchSession& s, uint64_t now) {
  while (s.parts_shape != nullptr && s.submits_outstanding < cfg_.window && s.canSubmit()) {
    sendOne(s, 0, now);
  }
}

void Bench::pumpClosed(BenchSession& s, uint64_t now) {
  while (s.submits_outstanding < cfg_.window && s.canSubmit() &&
         (s.parts_shape != nullptr || budgetLeft())) {
    sendOne(s, now, now);
  }
}

void Bench::pumpOpen(uint64_t now) {
  if (!sending_) {
    return;
  }
  const size_t n = sessions_.size();
  while (budgetLeft() && next_due_ns_ <= now) {
    BenchSession* target = nullptr;
    for (size_t k = 0; k < n; ++k) {
      BenchSession& c = *sessions_[rr_++ % n];
      if (c.canSubmit() && c.parts_shape == nullptr && c.submits_outstanding < cfg_.window) {
        target = &c;
        break;
      }
    }
    if (target == nullptr) {
      // Every window is full: the schedule waits, and the wait is part of the measured latency.
      return;
    }
    sendOne(*target, next_due_ns_, now);
    next_due_ns_ += static_cast<uint64_t>(std::llround(rng_.exponential(mean_gap_ns_))) + 1;
  }
  if (budgetLeft()) {
    pacer_.armNoLaterThan(next_due_ns_);
  }
}

void Bench::pump(BenchSession& s, uint64_t now) {
  if (!s.canSubmit()) {
    return;
  }
  if (cfg_.rate > 0) {
    pumpParts(s, now);
    pumpOpen(now);
  } else {
    pumpClosed(s, now);
  }
}

void Bench::stopSending(const char* why) {
  if (!sending_) {
    return;
  }
  sending_ = false;
  stop_reason_ = why;
  stop_sending_ns_ = net::Loop::hrtimeNs();
  pacer_.disarm();
  if (duration_timer_) {
    duration_timer_->stop();
  }
  for (auto& s : sessions_) {
    s->parts_shape = nullptr;  // the rest of a long message is not started after the stop
  }
}

void Bench::closeSession(BenchSession& s) {
  if (s.state == BenchSession::State::Closed) {
    return;
  }
  s.state = BenchSession::State::Closed;
  s.parts_shape = nullptr;
  if (s.submits_outstanding > 0) {
    timeouts_ += s.submits_outstanding;  // unanswered: they never will be now
    s.submits_outstanding = 0;
  }
  if (s.conn && !s.conn->closing()) {
    s.conn->closeAfterFlush();
  }
  if (finishing_ && !anySessionAlive() && !done_) {
    done_ = true;
    loop_.stop();
  }
}

void Bench::handleFramingError(BenchSession& s, const codec::DecodeError& e) {
  log("framing error from the peer (%s): closing session %u",
      std::string(codec::decodeErrorKindName(e.kind)).c_str(), s.index);
  if (e.respond) {
    codec::encodeHeaderOnly(s.conn->out(), e.response_id, e.status, e.sequence_number);
    writeOut(s);
  }
  ++sessions_lost_;
  closeSession(s);
  checkDone(net::Loop::hrtimeNs());
}

void Bench::handleClosed(BenchSession& s, int st) {
  if (st == net::kStatusTlsHandshake && s.conn->tls() != nullptr) {
    const net::TlsSession* t = s.conn->tls();
    ++tls_failed_;
    if (tls_failure_.empty()) {
      tls_failure_ = net::toString(t->failure());
    }
    log("session %u: TLS handshake with %s (%s) failed: %s: %s", s.index, cfg_.connect.c_str(),
        tls_server_name_.c_str(), net::toString(t->failure()), t->failureDetail().c_str());
    closeSession(s);
    checkDone(net::Loop::hrtimeNs());
    return;
  }
  if (s.state != BenchSession::State::Closed && s.state != BenchSession::State::Unbinding &&
      !finishing_) {
    ++sessions_lost_;
    log("session %u closed by the peer (%s)", s.index, st == UV_EOF ? "EOF" : uv_strerror(st));
  }
  closeSession(s);
  checkDone(net::Loop::hrtimeNs());
}

void Bench::checkDone(uint64_t now) {
  if (finishing_) {
    return;
  }
  if (!started_sending_) {
    if (!anySessionAlive()) {
      finish();
    }
    return;
  }
  const bool can_send =
      std::any_of(sessions_.begin(), sessions_.end(), [](const auto& s) { return s->canSubmit(); });
  if (sending_) {
    if (can_send) {
      return;
    }
    stopSending("no session left to send on");
  }
  uint64_t outstanding = 0;
  for (const auto& s : sessions_) {
    outstanding += s->submits_outstanding;
  }
  if (outstanding > 0) {
    return;
  }
  if (cfg_.receipts && !pending_receipts_.empty() && anySessionAlive()) {
    if (!draining_receipts_) {
      draining_receipts_ = true;
      receipts_deadline_ns_ = now + cfg_.receipt_timeout_ms * kMs;
      if (pending_receipts_.size() > 0) {
        log("all %llu submits answered; waiting up to %.1f s for %zu receipt(s)",
            static_cast<unsigned long long>(responses_), cfg_.receipt_timeout_ms / 1000.0,
            pending_receipts_.size());
      }
    }
    if (now < receipts_deadline_ns_) {
      return;
    }
  }
  finish();
}

void Bench::finish() {
  if (finishing_) {
    return;
  }
  stopSending(stop_reason_.empty() ? "finished" : stop_reason_.c_str());
  finishing_ = true;
  end_ns_ = net::Loop::hrtimeNs();
  receipts_missing_ += pending_receipts_.size();
  receipts_unknown_ += early_receipts_.size();
  for (auto& s : sessions_) {
    if (s->state == BenchSession::State::Bound) {
      sendUnbind(*s);
    } else if (s->state != BenchSession::State::Unbinding) {
      closeSession(*s);
    }
  }
  if (!anySessionAlive()) {
    done_ = true;
    loop_.stop();
    return;
  }
  finish_timer_ = std::make_unique<net::Timer>(loop_, [this] {
    for (auto& s : sessions_) {
      if (s->state != BenchSession::State::Closed) {
        s->state = BenchSession::State::Closed;
        s->conn->abort();
      }
    }
    done_ = true;
    loop_.stop();
  });
  finish_timer_->start(kUnbindTimeoutMs);
}

void Bench::interrupt() {
  if (finishing_) {
    for (auto& s : sessions_) {
      if (s->state != BenchSession::State::Closed) {
        s->state = BenchSession::State::Closed;
        s->conn->abort();
      }
    }
    done_ = true;
    loop_.stop();
    return;
  }
  if (sending_ || !started_sending_) {
    log("interrupted: draining (again to stop at once)");
    if (!started_sending_) {
      finish();
      return;
    }
    stopSending("interrupted");
    checkDone(net::Loop::hrtimeNs());
    return;
  }
  finish();
}

void Bench::onTick() {
  const uint64_t now = net::Loop::hrtimeNs();
  const uint64_t resp_timeout = cfg_.response_timeout_ms * kMs;
  for (auto& sp : sessions_) {
    BenchSession& s = *sp;
    if (s.state == BenchSession::State::Closed || s.state == BenchSession::State::Connecting) {
      continue;
    }
    if (s.state == BenchSession::State::Handshaking) {
      s.conn->expireHandshake(cfg_.bind_timeout_ms);  // on expiry: handleClosed, from inside
      continue;
    }
    while (auto* slot = s.inflight.oldest()) {
      const auto kind = slot->payload.kind;
      uint64_t limit = resp_timeout;
      if (kind == BenchSession::Req::Kind::Bind) {
        limit = cfg_.bind_timeout_ms * kMs;
      } else if (kind == BenchSession::Req::Kind::Unbind) {
        limit = kUnbindTimeoutMs * kMs;
      }
      if (now - slot->sent_ns < limit) {
        break;
      }
      s.inflight.release(slot);
      if (kind == BenchSession::Req::Kind::Submit) {
        ++timeouts_;
        --s.submits_outstanding;
      } else if (kind == BenchSession::Req::Kind::Bind) {
        ++binds_failed_;
        log("session %u: no bind response in %.1f s", s.index, cfg_.bind_timeout_ms / 1000.0);
        closeSession(s);
        break;
      } else if (kind == BenchSession::Req::Kind::Unbind) {
        closeSession(s);
        break;
      }
    }
    if (s.state == BenchSession::State::Bound && cfg_.enquire_link_ms > 0 &&
        now - s.last_enquire_ns >= cfg_.enquire_link_ms * kMs) {
      sendEnquireLink(s, now);
    }
    pump(s, now);
  }
  // A peer that stopped answering altogether: stop offering more load and drain.
  if (sending_ && now - last_response_ns_ > resp_timeout) {
    uint64_t outstanding = 0;
    for (const auto& s : sessions_) {
      outstanding += s->submits_outstanding;
    }
    if (outstanding > 0) {
      log("no response for %.1f s: stopping", cfg_.response_timeout_ms / 1000.0);
      stopSending("peer stalled");
    }
  }
  if (!sending_) {
    checkDone(now);
  }
}

void Bench::onProgress() {
  if (!started_sending_ || finishing_) {
    return;
  }
  const uint64_t now = net::Loop::hrtimeNs();
  const double dt = static_cast<double>(now - last_progress_ns_) / 1e9;
  const double rate = dt > 0 ? static_cast<double>(responses_ - last_progress_responses_) / dt : 0;
  uint64_t outstanding = 0;
  for (const auto& s : sessions_) {
    outstanding += s->submits_outstanding;
  }
  std::fprintf(stderr,
               "[%6.1fs] sent %llu  answered %llu  %.0f/s  outstanding %llu  p50 %.0fus  p99 "
               "%.0fus  errors %llu  timeouts %llu  receipts %llu/%llu\n",
               static_cast<double>(now - first_send_ns_) / 1e9,
               static_cast<unsigned long long>(submitted_),
               static_cast<unsigned long long>(responses_), rate,
               static_cast<unsigned long long>(outstanding), us(interval_hist_.quantile(0.5)),
               us(interval_hist_.quantile(0.99)),
               static_cast<unsigned long long>(responses_ - responses_ok_),
               static_cast<unsigned long long>(timeouts_),
               static_cast<unsigned long long>(receipts_matched_),
               static_cast<unsigned long long>(receipts_expected_));
  interval_hist_.reset();
  last_progress_ns_ = now;
  last_progress_responses_ = responses_;
}

int Bench::exitCode() const {
  if (tls_failed_ > 0) {
    return 3;
  }
  if (binds_ok_ == 0 || binds_failed_ > 0 || connect_failed_ > 0) {
    return 1;
  }
  if (timeouts_ > 0 || responses_ != submitted_) {
    return 1;
  }
  if (cfg_.count != 0 && submitted_ < cfg_.count) {
    return 1;
  }
  if (cfg_.receipts && (receipts_missing_ > 0 || receipts_matched_ < receipts_expected_)) {
    return 1;
  }
  return 0;
}

std::string Bench::reportJson() const {
  using nlohmann::ordered_json;
  const uint64_t end = last_response_ns_ > first_send_ns_ ? last_response_ns_ : end_ns_;
  const double elapsed = started_sending_ && end > first_send_ns_
                             ? static_cast<double>(end - first_send_ns_) / 1e9
                             : 0.0;
  auto pct = [](const tools::LatencyHistogram& h, double scale) {
    return ordered_json{{"count", h.count()},
                        {"min", static_cast<double>(h.min()) / scale},
                        {"mean", h.mean() / scale},
                        {"p50", static_cast<double>(h.quantile(0.50)) / scale},
                        {"p90", static_cast<double>(h.quantile(0.90)) / scale},
                        {"p99", static_cast<double>(h.quantile(0.99)) / scale},
                        {"p99.9", static_cast<double>(h.quantile(0.999)) / scale},
                        {"max", static_cast<double>(h.max()) / scale}};
  };
  ordered_json j;
  j["tool"] = "smpp-bench";
  j["config"] = {{"connect", cfg_.connect},
                 {"tls", cfg_.tls},
                 {"sessions", cfg_.sessions},
                 {"bind", cfg_.transmitter ? "transmitter" : "transceiver"},
                 {"mode", cfg_.rate > 0 ? "open" : "closed"},
                 {"rate", cfg_.rate},
                 {"window", cfg_.window},
                 {"count", cfg_.count},
                 {"duration_s", cfg_.duration_ms / 1000.0},
                 {"mix", std::string(mixName(cfg_.mix))},
                 {"receipts", cfg_.receipts},
                 {"one_pdu_per_write", cfg_.one_pdu_per_write},
                 {"mean_pdu_bytes", factory_.meanPduBytes()}};
  j["elapsed_s"] = elapsed;
  j["submitted"] = submitted_;
  j["messages"] = messages_;
  j["responses"] = responses_;
  j["responses_ok"] = responses_ok_;
  j["throughput_per_s"] = elapsed > 0 ? static_cast<double>(responses_) / elapsed : 0.0;
  j["ok_per_s"] = elapsed > 0 ? static_cast<double>(responses_ok_) / elapsed : 0.0;
  j["latency_us"] = pct(submit_hist_, 1000.0);
  if (cfg_.rate > 0) {
    // How late sends left against their schedule: the generator's own share of the latency
    // (a full window, a busy loop, timer wake-up).
    j["send_lag_us"] = pct(send_lag_hist_, 1000.0);
  }
  // Little's law: with C sessions of window W, throughput <= C*W / mean latency.
  j["window_bound_per_s"] = submit_hist_.mean() > 0 ? static_cast<double>(cfg_.sessions) *
                                                          cfg_.window / (submit_hist_.mean() / 1e9)
                                                    : 0.0;
  ordered_json st = ordered_json::object();
  for (const StatusCount& c : statuses_) {
    st[statusKey(c.status)] = c.count;
  }
  j["statuses"] = st;
  j["timeouts"] = timeouts_;
  j["generic_nack"] = generic_nacks_;
  j["unexpected_responses"] = unexpected_;
  j["receipts"] = {
      {"expected", receipts_expected_},         {"matched", receipts_matched_},
      {"unmatched", receipts_unknown_},         {"missing", receipts_missing_},
      {"intermediate", receipts_intermediate_}, {"latency_ms", pct(receipt_hist_, 1e6)}};
  j["deliver_sm_received"] = deliver_sm_received_;
  j["mo_received"] = mo_received_;
  j["binds"] = {{"ok", binds_ok_},
                {"failed", binds_failed_},
                {"connect_failed", connect_failed_},
                {"lost", sessions_lost_}};
  if (cfg_.tls) {
    j["tls"] = {{"server_name", tls_server_name_}, {"version", tls_version_},
                {"cipher", tls_cipher_},           {"handshakes", tls_handshakes_},
                {"resumed", tls_resumed_},         {"failed", tls_failed_},
                {"failure", tls_failure_},         {"handshake_ms", pct(handshake_hist_, 1e6)}};
  }
  const net::LoopStats& ls = loop_.stats();
  j["loop"] = {{"reads", ls.reads},
               {"writes", ls.writes},
               {"iterations", ls.iterations},
               {"bytes_in", ls.bytes_in},
               {"bytes_out", ls.bytes_out}};
  const tools::CpuTimes cpu = tools::processCpu();
  j["cpu"] = {
      {"user_s", cpu.user_s},
      {"sys_s", cpu.sys_s},
      {"us_per_submit",
       responses_ > 0 ? (cpu.user_s + cpu.sys_s) * 1e6 / static_cast<double>(responses_) : 0.0}};
  j["stop_reason"] = stop_reason_;
  j["exit_code"] = exitCode();
  return j.dump();
}

std::string Bench::reportText() const {
  const auto j = nlohmann::json::parse(reportJson());
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  const auto& c = j["config"];
  add("smpp-bench: %s, %u session(s) x window %u, %s loop%s, mix %s%s\n", cfg_.connect.c_str(),
      cfg_.sessions, cfg_.window, cfg_.rate > 0 ? "open" : "closed",
      cfg_.rate > 0 ? (" at " + std::to_string(static_cast<uint64_t>(cfg_.rate)) + " msg/s").c_str()
                    : "",
      std::string(mixName(cfg_.mix)).c_str(), cfg_.receipts ? ", receipts" : "");
  (void)c;
  if (cfg_.tls) {
    add("  tls: %s %s, %llu handshake(s) (%llu resumed, mean %.2f ms), %llu failed%s%s\n",
        tls_version_.empty() ? "-" : tls_version_.c_str(),
        tls_cipher_.empty() ? "-" : tls_cipher_.c_str(),
        static_cast<unsigned long long>(tls_handshakes_),
        static_cast<unsigned long long>(tls_resumed_), handshake_hist_.mean() / 1e6,
        static_cast<unsigned long long>(tls_failed_), tls_failure_.empty() ? "" : ": ",
        tls_failure_.c_str());
  }
  add("  finished in %.3f s (%s)\n", j["elapsed_s"].get<double>(), stop_reason_.c_str());
  add("  submit_sm: %llu sent (%llu messages), %llu answered, %llu ok, %llu timeouts\n",
      static_cast<unsigned long long>(submitted_), static_cast<unsigned long long>(messages_),
      static_cast<unsigned long long>(responses_), static_cast<unsigned long long>(responses_ok_),
      static_cast<unsigned long long>(timeouts_));
  add("  throughput: %.0f submit_sm/s (%.0f ok/s)\n", j["throughput_per_s"].get<double>(),
      j["ok_per_s"].get<double>());
  const auto& l = j["latency_us"];
  add("  submit latency (us): p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
      l["p50"].get<double>(), l["p90"].get<double>(), l["p99"].get<double>(),
      l["p99.9"].get<double>(), l["max"].get<double>(), l["mean"].get<double>());
  out += "  statuses:";
  for (auto it = j["statuses"].begin(); it != j["statuses"].end(); ++it) {
    add(" %s=%llu", it.key().c_str(), static_cast<unsigned long long>(it.value().get<uint64_t>()));
  }
  out += "\n";
  if (cfg_.receipts || deliver_sm_received_ > 0) {
    const auto& r = j["receipts"];
    add("  receipts: %llu expected, %llu matched, %llu unmatched, %llu missing\n",
        static_cast<unsigned long long>(receipts_expected_),
        static_cast<unsigned long long>(receipts_matched_),
        static_cast<unsigned long long>(receipts_unknown_),
        static_cast<unsigned long long>(receipts_missing_));
    const auto& rl = r["latency_ms"];
    add("  receipt round trip (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
        rl["p50"].get<double>(), rl["p90"].get<double>(), rl["p99"].get<double>(),
        rl["p99.9"].get<double>(), rl["max"].get<double>());
  }
  if (mo_received_ > 0) {
    add("  MO received: %llu\n", static_cast<unsigned long long>(mo_received_));
  }
  const auto& lp = j["loop"];
  add("  loop: %llu reads, %llu writes, %llu iterations; cpu %.2f s user + %.2f s sys (%.2f "
      "us/submit)\n",
      static_cast<unsigned long long>(lp["reads"].get<uint64_t>()),
      static_cast<unsigned long long>(lp["writes"].get<uint64_t>()),
      static_cast<unsigned long long>(lp["iterations"].get<uint64_t>()),
      j["cpu"]["user_s"].get<double>(), j["cpu"]["sys_s"].get<double>(),
      j["cpu"]["us_per_submit"].get<double>());
  add("  exit code %d\n", exitCode());
  return out;
}

}  // namespace smppgw::bench
