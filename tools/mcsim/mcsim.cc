#include "tools/mcsim/mcsim.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>

#include "codec/charset.h"
#include "codec/command.h"
#include "codec/gsm7.h"
#include "codec/split.h"
#include "codec/status.h"
#include "tools/common/options.h"
#include "tools/common/pdu_util.h"
#include "tools/common/util.h"

namespace smppgw::mcsim {

using codec::CommandId;
namespace status = codec::status;

// ---- PduCounters ----

size_t PduCounters::slot(uint32_t command_id) {
  if ((command_id & 0x7FFFFE00u) != 0) {
    return 1024;
  }
  return ((command_id & 0x1FFu) << 1) | (command_id >> 31);
}

void PduCounters::add(uint32_t command_id, uint32_t st) {
  Entry& e = entries_[slot(command_id)];
  e.command_id = command_id;
  ++e.total;
  for (uint8_t i = 0; i < e.nstatus; ++i) {
    if (e.statuses[i].status == st) {
      ++e.statuses[i].count;
      return;
    }
  }
  if (e.nstatus < kMaxStatuses) {
    e.statuses[e.nstatus++] = StatusCount{st, 1};
    return;
  }
  // Too many distinct statuses: the extra slot collects the rest under 0xFFFFFFFF.
  e.statuses[kMaxStatuses].status = 0xFFFFFFFFu;
  ++e.statuses[kMaxStatuses].count;
  e.nstatus = kMaxStatuses + 1;
}

uint64_t PduCounters::total(uint32_t command_id) const {
  const Entry& e = entries_[slot(command_id)];
  return e.command_id == command_id ? e.total : 0;
}

uint64_t PduCounters::count(uint32_t command_id, uint32_t st) const {
  const Entry& e = entries_[slot(command_id)];
  for (uint8_t i = 0; i < e.nstatus && e.command_id == command_id; ++i) {
    if (e.statuses[i].status == st) {
      return e.statuses[i].count;
    }
  }
  return 0;
}

// ---- Session ----

Session::Session(McSim& s, uint32_t idx, uint64_t ser, uint32_t window)
    : sim(s), index(idx), serial(ser), inflight(static_cast<size_t>(window) * 2 + 8) {}

void Session::onPdu(net::Connection&, codec::Bytes pdu) {
  sim.handlePdu(*this, pdu);
}

void Session::onFramingError(net::Connection&, const codec::DecodeError& e) {
  sim.handleFramingError(*this, e);
}

void Session::onClosed(net::Connection&, int st) {
  sim.handleClosed(*this, st);
}

// ---- helpers ----

namespace {

// First (up to) 20 characters of a message as printable ASCII, for the receipt's text: field.
uint8_t extractText(uint8_t esm_class, uint8_t data_coding, codec::Bytes sm, char* out) {
  if ((esm_class & 0x40) != 0 && !sm.empty()) {
    const size_t udh = static_cast<size_t>(sm[0]) + 1;
    sm = udh <= sm.size() ? sm.subspan(udh) : codec::Bytes{};
  }
  uint8_t n = 0;
  const auto printable = [](uint32_t c) { return c >= 0x20 && c < 0x7F; };
  if (codec::textCodingOf(data_coding) == codec::TextCoding::Ucs2) {
    for (size_t i = 0; i + 1 < sm.size() && n < 20; i += 2) {
      const uint32_t c = (uint32_t{sm[i]} << 8) | sm[i + 1];
      out[n++] = printable(c) ? static_cast<char>(c) : '?';
    }
    return n;
  }
  for (size_t i = 0; i < sm.size() && n < 20; ++i) {
    out[n++] = printable(sm[i]) ? static_cast<char>(sm[i]) : '?';
  }
  return n;
}

uint8_t copyAddr(std::string_view a, char* out) {
  const size_t n = std::min<size_t>(a.size(), 20);
  std::memcpy(out, a.data(), n);
  return static_cast<uint8_t>(n);
}

std::string statusKey(uint32_t st) {
  std::string_view name = codec::statusName(st);
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", st);
  return buf;
}

std::string commandKey(uint32_t id) {
  std::string_view name = codec::commandName(static_cast<CommandId>(id));
  if (!name.empty()) {
    return std::string(name);
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", id);
  return buf;
}

}  // namespace

// ---- McSim ----

McSim::McSim(net::Loop& loop, Config config)
    : loop_(loop),
      cfg_(std::move(config)),
      rng_(cfg_.seed),
      job_timer_(loop, [this] { runDue(); }) {
  if (!cfg_.receipt_id_format_set) {
    cfg_.receipt_id_format = cfg_.id_format;
  }
  if (!cfg_.receipt_id_length_set) {
    cfg_.receipt_id_length = cfg_.id_length;
  }
  size_t cap = 16;
  while (cap < cfg_.remember) {
    cap <<= 1;
  }
  records_.resize(cap);
  records_mask_ = cap - 1;
  next_id_ = cfg_.id_start;

  double sum = 0;
  for (size_t i = 0; i < cfg_.state_weights.size(); ++i) {
    sum += cfg_.state_weights[i];
    cumulative_weights_[i] = sum;
  }
  if (sum <= 0) {
    cumulative_weights_.fill(1.0);  // all weight on DELIVERED below
    cumulative_weights_[0] = cumulative_weights_[1] = 0;
    sum = 1;
  }
  for (double& w : cumulative_weights_) {
    w /= sum;
  }

  std::string err;
  tools::NumberRange::parse(cfg_.mo_from, mo_from_, err);
  tools::NumberRange::parse(cfg_.mo_to, mo_to_, err);
  // MO text: GSM 03.38 if it can be, UCS2 otherwise; cut to one SMS.
  if (codec::isGsm7Encodable(cfg_.mo_text)) {
    codec::utf8ToGsm7(cfg_.mo_text, mo_payload_);
    mo_data_coding_ = 0x00;
    if (mo_payload_.size() > 160) {
      mo_payload_.resize(160);
    }
  } else {
    codec::utf8ToUcs2(cfg_.mo_text, mo_payload_);
    mo_data_coding_ = 0x08;
    if (mo_payload_.size() > 140) {
      mo_payload_.resize(140);
    }
  }
  jobs_.reserve(1024);
  heap_.reserve(1024);
  wall_base_s_ = tools::unixNow();
  mono_base_ns_ = net::Loop::hrtimeNs();
}

McSim::~McSim() = default;

void McSim::log(const char* fmt, ...) const {
  if (cfg_.quiet) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  tools::vlogLine("smpp-mcsim", fmt, ap);
  va_end(ap);
}

bool McSim::start() {
  // The loop's cached clock dates from its creation; timers started below are relative to it.
  uv_update_time(loop_.raw());
  std::string host;
  uint16_t port = 0;
  sockaddr_storage addr{};
  if (!tools::splitHostPort(cfg_.listen, host, port) || !net::parseAddress(host, port, addr)) {
    std::fprintf(stderr, "smpp-mcsim: bad --listen address '%s' (numeric HOST:PORT)\n",
                 cfg_.listen.c_str());
    return false;
  }
  listener_ = std::make_unique<net::Listener>(loop_, [this](uv_stream_t* s) { onAccept(s); });
  if (int rc = listener_->listen(reinterpret_cast<sockaddr*>(&addr)); rc != 0) {
    std::fprintf(stderr, "smpp-mcsim: cannot listen on %s: %s\n", cfg_.listen.c_str(),
                 uv_strerror(rc));
    return false;
  }
  port_ = listener_->port();
  if (!cfg_.port_file.empty() && !tools::writePortFile(cfg_.port_file, port_)) {
    std::fprintf(stderr, "smpp-mcsim: cannot write port file %s\n", cfg_.port_file.c_str());
    return false;
  }
  started_ns_ = net::Loop::hrtimeNs();
  housekeeping_ = std::make_unique<net::Timer>(loop_, [this] { onHousekeeping(); });
  housekeeping_->start(1000, 1000);
  retry_timer_ = std::make_unique<net::Timer>(loop_, [this] { onRetryTick(); });
  retry_timer_->start(50, 50);
  if (cfg_.mo_rate > 0) {
    mo_timer_ = std::make_unique<net::Timer>(loop_, [this] { onMoTick(); });
    mo_last_ms_ = loop_.nowMs();
    mo_timer_->start(10, 10);
  }
  if (cfg_.duration_ms > 0) {
    duration_timer_ = std::make_unique<net::Timer>(loop_, [this] { shutdown(); });
    duration_timer_->start(cfg_.duration_ms);
  }
  log("listening on %s:%u (latency %s, receipts %s%s)", host.c_str(), port_,
      cfg_.latency.describe().c_str(), cfg_.receipt_delay.describe().c_str(),
      cfg_.receipt_first ? ", before the response" : "");
  return true;
}

void McSim::onAccept(uv_stream_t* server) {
  uint32_t idx = 0;
  if (!free_sessions_.empty()) {
    idx = free_sessions_.back();
    free_sessions_.pop_back();
  } else {
    idx = static_cast<uint32_t>(sessions_.size());
    sessions_.emplace_back();
  }
  auto s = std::make_unique<Session>(*this, idx, next_serial_++, cfg_.window);
  s->conn = net::Connection::create(loop_, s.get(), codec::kDefaultMaxCommandLength);
  s->opened_ns = net::Loop::hrtimeNs();
  if (s->conn->accept(server) != 0 || shutting_down_) {
    s->conn->abort();
    s->conn.reset();
    free_sessions_.push_back(idx);
    return;
  }
  ++connections_;
  log("connection from %s", s->conn->peerAddress().c_str());
  sessions_[idx] = std::move(s);
}

Session* McSim::session(uint32_t index, uint64_t serial) {
  if (index >= sessions_.size() || !sessions_[index] || sessions_[index]->serial != serial ||
      sessions_[index]->state == Session::State::Closed) {
    return nullptr;
  }
  return sessions_[index].get();
}

void McSim::sendHeaderOnly(Session& s, CommandId id, uint32_t st, uint32_t seq) {
  if (!writable(s)) {
    return;
  }
  codec::encodeHeaderOnly(s.conn->out(), id, st, seq);
  pdus_out_.add(static_cast<uint32_t>(id), st);
  s.conn->send();
}

void McSim::respond(Session& s, const codec::Pdu& req, uint32_t st) {
  if (codec::expectsResponse(req.command_id)) {
    sendHeaderOnly(s, codec::responseFor(req.command_id), st, req.sequence_number);
  }
}

void McSim::handlePdu(Session& s, codec::Bytes pdu) {
  const codec::Header h = codec::readHeader(pdu.data());
  pdus_in_.add(h.command_id, h.command_status);
  if (auto err = codec::decode(pdu, in_)) {
    if (err->respond) {
      sendHeaderOnly(s, err->response_id, err->status, err->sequence_number);
    }
    if (err->close_connection) {
      closeSession(s);
    }
    return;
  }
  const CommandId id = in_.command_id;
  const uint32_t seq = in_.sequence_number;
  if (codec::isBind(id)) {
    handleBind(s, in_);
    return;
  }
  switch (id) {
    case CommandId::enquire_link:
      sendHeaderOnly(s, CommandId::enquire_link_resp, 0, seq);
      return;
    case CommandId::deliver_sm_resp:
      handleDeliverResp(s, seq, in_.command_status);
      return;
    case CommandId::generic_nack:
      handleDeliverResp(s, seq,
                        in_.command_status != 0 ? in_.command_status : status::ESME_RUNKNOWNERR);
      return;
    case CommandId::unbind:
      handleUnbind(s, in_);
      return;
    case CommandId::unbind_resp:
      if (s.state == Session::State::Unbinding) {
        log("session %s unbound", s.account != nullptr ? s.account->system_id.c_str() : "?");
        closeSession(s);
      }
      return;
    default:
      break;
  }
  if (codec::isResponse(id)) {
    return;  // a response to nothing we sent: dropped (reference §7.2)
  }
  if (id == CommandId::outbind || id == CommandId::alert_notification) {
    return;  // never answered
  }
  if (!s.bound()) {
    respond(s, in_, status::ESME_RINVBNDSTS);
    return;
  }
  switch (id) {
    case CommandId::submit_sm:
    case CommandId::data_sm:
    case CommandId::submit_multi:
      if (!s.canTransmit()) {
        respond(s, in_, status::ESME_RINVBNDSTS);
        return;
      }
      handleMessage(s, in_);
      return;
    case CommandId::query_sm:
    case CommandId::cancel_sm:
    case CommandId::replace_sm:
      if (!s.canTransmit()) {
        respond(s, in_, status::ESME_RINVBNDSTS);
        return;
      }
      if (id == CommandId::query_sm) {
        handleQuery(s, in_);
      } else if (id == CommandId::cancel_sm) {
        handleCancel(s, in_);
      } else {
        handleReplace(s, in_);
      }
      return;
    case CommandId::broadcast_sm:
    case CommandId::query_broadcast_sm:
    case CommandId::cancel_broadcast_sm:
      if (s.version < 0x50) {
        // Not a command of the peer's version: unknown to it (reference §7.2, §8.1).
        sendHeaderOnly(s, CommandId::generic_nack, status::ESME_RINVCMDID, seq);
        return;
      }
      if (!s.canTransmit()) {
        respond(s, in_, status::ESME_RINVBNDSTS);
        return;
      }
      if (id == CommandId::broadcast_sm) {
        handleBroadcast(s, in_);
      } else if (id == CommandId::query_broadcast_sm) {
        handleQueryBroadcast(s, in_);
      } else {
        handleCancelBroadcast(s, in_);
      }
      return;
    case CommandId::deliver_sm:
      respond(s, in_, status::ESME_RINVBNDSTS);  // MC->ESME only
      return;
    default:
      respond(s, in_, status::ESME_RINVCMDID);
      return;
  }
}

void McSim::handleFramingError(Session& s, const codec::DecodeError& e) {
  ++framing_errors_;
  pdus_in_.add(e.command_id, 0);
  if (e.respond) {
    sendHeaderOnly(s, e.response_id, e.status, e.sequence_number);
  }
  log("framing error from %s: closing", s.conn ? s.conn->peerAddress().c_str() : "?");
  closeSession(s);
}

void McSim::handleClosed(Session& s, int st) {
  log("connection %s closed (%s)",
      s.account != nullptr ? s.account->system_id.c_str() : "(unbound)",
      st == UV_EOF ? "by peer" : uv_strerror(st));
  dropSession(s);
}

void McSim::closeSession(Session& s) {
  if (s.conn && !s.conn->closing()) {
    s.conn->closeAfterFlush();
  }
  dropSession(s);
}

void McSim::dropSession(Session& s) {
  if (s.state == Session::State::Closed) {
    return;
  }
  const bool was_receiver = true;  // erase() below is a no-op for a session never listed
  s.state = Session::State::Closed;
  ++closed_;
  if (was_receiver) {
    std::erase(all_receivers_, s.index);
    if (s.account != nullptr) {
      std::erase(s.account->receivers, s.index);
    }
  }
  requeue(s);
  const uint32_t idx = s.index;
  const uint64_t serial = s.serial;
  // Freed after this iteration: the session may be deep in its own callback right now.
  loop_.defer([this, idx, serial] {
    if (idx < sessions_.size() && sessions_[idx] && sessions_[idx]->serial == serial) {
      sessions_[idx].reset();
      free_sessions_.push_back(idx);
    }
    maybeFinish();
  });
}

// Deliveries that were in flight or queued on a session that has gone are retried on another
// receiver of the account (or parked until one binds), like a real MC does.
void McSim::requeue(Session& s) {
  std::vector<Delivery> moved;
  s.inflight.forEach([&](auto& slot) {
    if (slot.payload.kind != Delivery::Kind::Unbind) {
      // Sent and never answered: the peer left (or was left) holding it.
      ++(slot.payload.kind == Delivery::Kind::Mo ? mo_unanswered_at_close_
                                                 : receipts_unanswered_at_close_);
      moved.push_back(slot.payload);
    }
    s.inflight.release(&slot);
  });
  queued_ -= s.queue.size();
  for (Delivery& d : s.queue) {
    moved.push_back(d);
  }
  s.queue.clear();
  for (Delivery& d : moved) {
    if (d.kind == Delivery::Kind::Mo) {
      ++mo_failed_;
      continue;
    }
    ++receipts_retried_;
    deliver(std::move(d), s.account, nullptr);
  }
}

void McSim::handleBind(Session& s, const codec::Pdu& pdu) {
  const auto& b = pdu.as<codec::BindBody>();
  const CommandId resp = codec::responseFor(pdu.command_id);
  if (s.state != Session::State::Open) {
    ++binds_failed_;
    sendHeaderOnly(s, resp, s.bound() ? status::ESME_RALYBND : status::ESME_RINVBNDSTS,
                   pdu.sequence_number);
    return;
  }
  uint32_t st = 0;
  if (!cfg_.required_system_id.empty() && b.system_id != cfg_.required_system_id) {
    st = status::ESME_RINVSYSID;
  } else if (cfg_.password_set && b.password != cfg_.required_password) {
    st = status::ESME_RINVPASWD;
  } else if (!cfg_.accounts.empty()) {
    auto it = std::find_if(cfg_.accounts.begin(), cfg_.accounts.end(),
                           [&](const auto& a) { return a.first == b.system_id; });
    if (it == cfg_.accounts.end()) {
      st = status::ESME_RINVSYSID;
    } else if (it->second != b.password) {
      st = status::ESME_RINVPASWD;
    }
  }
  if (st != 0) {
    ++binds_failed_;
    log("bind refused for '%.*s' (%s)", static_cast<int>(b.system_id.size()), b.system_id.data(),
        std::string(codec::statusName(st)).c_str());
    sendHeaderOnly(s, resp, st, pdu.sequence_number);
    return;
  }
  s.version = b.interface_version;
  switch (pdu.command_id) {
    case CommandId::bind_transmitter:
      s.state = Session::State::BoundTx;
      ++bind_tx_;
      break;
    case CommandId::bind_receiver:
      s.state = Session::State::BoundRx;
      ++bind_rx_;
      break;
    default:
      s.state = Session::State::BoundTrx;
      ++bind_trx_;
      break;
  }
  ++binds_ok_;
  auto it = accounts_.find(b.system_id);
  if (it == accounts_.end()) {
    auto acc = std::make_unique<Account>();
    acc->system_id = std::string(b.system_id);
    it = accounts_.emplace(acc->system_id, std::move(acc)).first;
  }
  s.account = it->second.get();

  codec::Pdu r(resp, pdu.sequence_number);
  r.as<codec::BindRespBody>().system_id = cfg_.mc_system_id;
  if (s.version >= 0x34) {
    // The lower of the two versions (reference §8.1): mcsim speaks v5.0 (the broadcast family).
    r.tlvs.addU8(codec::tag::sc_interface_version, s.version >= 0x50 ? 0x50 : 0x34);
  }
  codec::encode(tools::nonNullStrings(r), s.conn->out(), codec::EncodeOptions{s.version});
  pdus_out_.add(static_cast<uint32_t>(resp), 0);
  s.conn->send();
  log("bound %s '%s' (interface_version 0x%02X) from %s",
      std::string(codec::commandName(pdu.command_id)).c_str(), s.account->system_id.c_str(),
      s.version, s.conn->peerAddress().c_str());

  if (s.canReceive()) {
    s.account->receivers.push_back(s.index);
    all_receivers_.push_back(s.index);
    // Deliveries parked while nobody could receive them.
    auto& pending = s.account->pending;
    queued_ -= pending.size();
    while (!pending.empty()) {
      Delivery d = pending.front();
      pending.pop_front();
      enqueueOn(s, std::move(d));
    }
  }
}

uint8_t McSim::pickFinalState() {
  const double u = rng_.uniform();
  for (size_t i = 0; i < cumulative_weights_.size(); ++i) {
    if (u < cumulative_weights_[i]) {
      return static_cast<uint8_t>(i);
    }
  }
  return 2;
}

bool McSim::receiptWanted(uint8_t rd, uint8_t final_state) const {
  switch (rd & 0x03) {
    case 1:
      return true;
    case 2:
      return final_state != 2;  // on failure only
    case 3:
      return final_state == 2;  // on success only (v5.0)
    default:
      return false;
  }
}

void McSim::handleMessage(Session& s, const codec::Pdu& pdu) {
  const CommandId resp = codec::responseFor(pdu.command_id);
  const uint32_t seq = pdu.sequence_number;
  const uint64_t now_ns = net::Loop::hrtimeNs();
  const uint64_t lat_us = cfg_.latency.sampleUs(rng_);

  uint32_t st = 0;
  const double u = rng_.uniform();
  if (u < cfg_.error_rate) {
    st = cfg_.error_status;
    ++errors_;
  } else if (u < cfg_.error_rate + cfg_.throttle_rate) {
    st = cfg_.throttle_status;
    ++throttled_;
  }
  if (st != 0) {
    if (lat_us == 0) {
      writeMessageResponse(s, static_cast<uint32_t>(resp), seq, st, false, 0);
    } else {
      Job j;
      j.kind = Job::Kind::Response;
      j.session_index = s.index;
      j.session_serial = s.serial;
      j.response_id = static_cast<uint32_t>(resp);
      j.seq = seq;
      j.status = st;
      schedule(now_ns + lat_us * 1000, std::move(j));
    }
    return;
  }

  const uint64_t id = next_id_++;
  ++accepted_;
  const uint8_t final_state = pickFinalState();
  const uint64_t rdelay_us = cfg_.receipt_first ? 0 : cfg_.receipt_delay.sampleUs(rng_);
  const uint64_t resp_ns = now_ns + lat_us * 1000;
  const uint64_t done_ns = resp_ns + rdelay_us * 1000 + 1;  // after the response, always
  Record& rec = records_[(id - cfg_.id_start) & records_mask_];
  rec = Record{};
  rec.id = id;
  rec.valid = true;
  rec.done_ns = done_ns;
  rec.submit_unix = unixAt(now_ns);
  rec.done_unix = unixAt(done_ns);
  rec.state = final_state;
  rec.err = final_state == 2 ? 0 : 1;

  // What the receipt(s) need from the request.
  uint8_t rd = 0;
  uint8_t esm = 0;
  uint8_t dc = 0;
  uint8_t src_ton = 0, src_npi = 0;
  std::string_view src;
  codec::Bytes sm;
  const codec::SubmitMultiBody* multi = nullptr;
  std::string_view dst;
  uint8_t dst_ton = 0, dst_npi = 0;
  if (const auto* b = pdu.tryAs<codec::SmBody>()) {
    rd = b->registered_delivery;
    esm = b->esm_class;
    dc = b->data_coding;
    src_ton = b->source_addr_ton;
    src_npi = b->source_addr_npi;
    src = b->source_addr;
    dst_ton = b->dest_addr_ton;
    dst_npi = b->dest_addr_npi;
    dst = b->destination_addr;
    sm = b->short_message;
  } else if (const auto* d = pdu.tryAs<codec::DataSmBody>()) {
    rd = d->registered_delivery;
    esm = d->esm_class;
    dc = d->data_coding;
    src_ton = d->source_addr_ton;
    src_npi = d->source_addr_npi;
    src = d->source_addr;
    dst_ton = d->dest_addr_ton;
    dst_npi = d->dest_addr_npi;
    dst = d->destination_addr;
  } else if ((multi = pdu.tryAs<codec::SubmitMultiBody>()) != nullptr) {
    rd = multi->registered_delivery;
    esm = multi->esm_class;
    dc = multi->data_coding;
    src_ton = multi->source_addr_ton;
    src_npi = multi->source_addr_npi;
    src = multi->source_addr;
    sm = multi->short_message;
  }
  if (sm.empty()) {
    if (auto payload = pdu.tlvs.bytes(codec::tag::message_payload)) {
      sm = *payload;
    }
  }
  const bool want = receiptWanted(rd, final_state);

  auto makeReceipt = [&](std::string_view to, uint8_t to_ton, uint8_t to_npi) {
    Delivery d;
    d.kind = Delivery::Kind::Receipt;
    // A receipt travels back: from the original destination to the original source.
    d.src_ton = to_ton;
    d.src_npi = to_npi;
    d.src_len = copyAddr(to, d.src);
    d.dst_ton = src_ton;
    d.dst_npi = src_npi;
    d.dst_len = copyAddr(src, d.dst);
    d.text_len = extractText(esm, dc, sm, d.text);
    d.state = final_state;
    d.err = rec.err;
    d.msg_id = id;
    d.submit_unix = rec.submit_unix;
    d.done_unix = rec.done_unix;
    return d;
  };

  if (multi == nullptr && want && cfg_.receipt_first) {
    Delivery d = makeReceipt(dst, dst_ton, dst_npi);
    if (lat_us == 0) {
      deliver(std::move(d), s.account, &s);
      writeMessageResponse(s, static_cast<uint32_t>(resp), seq, 0, true, id);
    } else {
      Job j;
      j.kind = Job::Kind::Response;
      j.receipt_before = true;
      j.has_id = true;
      j.session_index = s.index;
      j.session_serial = s.serial;
      j.response_id = static_cast<uint32_t>(resp);
      j.seq = seq;
      j.msg_id = id;
      j.account = s.account;
      j.delivery = d;
      schedule(resp_ns, std::move(j));
    }
    return;
  }

  if (lat_us == 0) {
    writeMessageResponse(s, static_cast<uint32_t>(resp), seq, 0, true, id);
  } else {
    Job j;
    j.kind = Job::Kind::Response;
    j.has_id = true;
    j.session_index = s.index;
    j.session_serial = s.serial;
    j.response_id = static_cast<uint32_t>(resp);
    j.seq = seq;
    j.msg_id = id;
    schedule(resp_ns, std::move(j));
  }
  if (!want) {
    return;
  }
  auto emit = [&](Delivery&& d) {
    if (lat_us == 0 && rdelay_us == 0) {
      deliver(std::move(d), s.account, &s);
      return;
    }
    Job j;
    j.kind = Job::Kind::Receipt;
    j.session_index = s.index;
    j.session_serial = s.serial;
    j.msg_id = id;
    j.account = s.account;
    j.delivery = d;
    schedule(done_ns, std::move(j));
  };
  if (multi != nullptr) {
    for (const codec::DestAddress& da : multi->dest_addresses) {
      if (da.dest_flag == 1) {
        emit(makeReceipt(da.address, da.dest_addr_ton, da.dest_addr_npi));
      }
    }
    return;
  }
  emit(makeReceipt(dst, dst_ton, dst_npi));
}

std::string_view McSim::formatId(uint64_t id, IdFormat fmt, uint32_t width, char* buf) const {
  // buf holds at least 72 bytes; width is at most 64.
  codec::IdDigits digits =
      fmt == IdFormat::Hex ? codec::formatHexId(id, true, 0) : codec::formatDecimalId(id);
  const std::string_view v = digits.view();
  size_t pad = width > v.size() ? width - v.size() : 0;
  std::memset(buf, '0', pad);
  std::memcpy(buf + pad, v.data(), v.size());
  return {buf, pad + v.size()};
}

bool McSim::parseIdText(std::string_view text, IdFormat fmt, uint64_t& out) const {
  auto v = fmt == IdFormat::Hex ? codec::parseHexId(text) : codec::parseDecimalId(text);
  if (!v) {
    return false;
  }
  out = *v;
  return true;
}

McSim::Record* McSim::findRecord(std::string_view text) {
  for (IdFormat fmt : {cfg_.id_format, cfg_.receipt_id_format}) {
    uint64_t id = 0;
    if (!parseIdText(text, fmt, id) || id < cfg_.id_start || id >= next_id_) {
      continue;
    }
    Record& r = records_[(id - cfg_.id_start) & records_mask_];
    if (r.valid && r.id == id) {
      return &r;
    }
  }
  return nullptr;
}

void McSim::writeMessageResponse(Session& s, uint32_t response_id, uint32_t seq, uint32_t st,
                                 bool has_id, uint64_t msg_id) {
  if (!writable(s)) {
    ++responses_dropped_;
    return;
  }
  codec::Buffer& out = s.conn->out();
  if (st != 0 || !has_id) {
    // v3.4 §4.4.2: an error response carries no body.
    codec::encodeHeaderOnly(out, static_cast<CommandId>(response_id), st, seq);
  } else {
    char buf[72];
    const std::string_view idv = formatId(msg_id, cfg_.id_format, cfg_.id_length, buf);
    const bool multi = response_id == static_cast<uint32_t>(CommandId::submit_multi_resp);
    size_t tlv_len = 0;
    if (s.version >= 0x34) {
      for (const ExtraTlv& t : cfg_.response_tlvs) {
        tlv_len += 4 + t.value.size();
      }
    }
    const auto len =
        static_cast<uint32_t>(codec::kHeaderSize + idv.size() + 1 + (multi ? 1 : 0) + tlv_len);
    uint8_t* p = out.grow(len);
    codec::store32(p, len);
    codec::store32(p + 4, response_id);
    codec::store32(p + 8, 0);
    codec::store32(p + 12, seq);
    std::memcpy(p + 16, idv.data(), idv.size());
    p[16 + idv.size()] = 0;
    if (multi) {
      p[17 + idv.size()] = 0;  // no_unsuccess
    }
    if (tlv_len != 0) {
      uint8_t* t = p + 17 + idv.size() + (multi ? 1 : 0);
      for (const ExtraTlv& x : cfg_.response_tlvs) {
        codec::store16(t, x.tag);
        codec::store16(t + 2, static_cast<uint16_t>(x.value.size()));
        std::memcpy(t + 4, x.value.data(), x.value.size());
        t += 4 + x.value.size();
      }
    }
  }
  pdus_out_.add(response_id, st);
  s.conn->send();
}

void McSim::deliver(Delivery&& d, Account* account, Session* preferred) {
  if (preferred != nullptr && preferred->canReceive() && writable(*preferred)) {
    enqueueOn(*preferred, std::move(d));
    return;
  }
  if (account != nullptr) {
    while (!account->receivers.empty()) {
      const size_t i = account->rr++ % account->receivers.size();
      Session* s = sessions_[account->receivers[i]].get();
      if (s != nullptr && s->canReceive() && writable(*s)) {
        enqueueOn(*s, std::move(d));
        return;
      }
      account->receivers.erase(account->receivers.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (account == nullptr || queued_ >= cfg_.max_queued) {
    ++(d.kind == Delivery::Kind::Mo ? mo_dropped_ : receipts_dropped_);
    return;
  }
  account->pending.push_back(d);
  ++queued_;
}

void McSim::enqueueOn(Session& s, Delivery&& d) {
  if (s.queue.empty() && s.inflight.size() < cfg_.window) {
    sendDeliverSm(s, d);
    return;
  }
  if (queued_ >= cfg_.max_queued) {
    ++(d.kind == Delivery::Kind::Mo ? mo_dropped_ : receipts_dropped_);
    return;
  }
  s.queue.push_back(d);
  ++queued_;
}

void McSim::pump(Session& s) {
  if (!s.canReceive()) {
    return;  // draining at shutdown: what is queued stays queued
  }
  while (!s.queue.empty() && s.inflight.size() < cfg_.window && writable(s)) {
    Delivery d = s.queue.front();
    s.queue.pop_front();
    --queued_;
    sendDeliverSm(s, d);
  }
}

void McSim::formatDate10(int64_t unix_s, char* out) {
  const int64_t minute = unix_s / 60;
  if (minute != date_cache_unix_) {
    const time_t t = static_cast<time_t>(unix_s);
    tm tmv{};
    gmtime_r(&t, &tmv);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d", tmv.tm_year % 100, tmv.tm_mon + 1,
                  tmv.tm_mday, tmv.tm_hour, tmv.tm_min);
    std::memcpy(date_cache_, buf, 10);
    date_cache_unix_ = minute;
  }
  std::memcpy(out, date_cache_, 10);
}

void McSim::sendDeliverSm(Session& s, Delivery& d) {
  auto* slot = s.inflight.allocate();
  if (slot == nullptr || !writable(s)) {
    ++(d.kind == Delivery::Kind::Mo ? mo_dropped_ : receipts_dropped_);
    return;
  }
  ++d.attempts;
  slot->sent_ns = net::Loop::hrtimeNs();
  slot->payload = d;
  codec::Pdu& p = out_pdu_;
  p = codec::Pdu(CommandId::deliver_sm, slot->seq);
  auto& b = p.as<codec::SmBody>();
  b.source_addr_ton = d.src_ton;
  b.source_addr_npi = d.src_npi;
  b.source_addr = {d.src, d.src_len};
  b.dest_addr_ton = d.dst_ton;
  b.dest_addr_npi = d.dst_npi;
  b.destination_addr = {d.dst, d.dst_len};
  char idbuf[72];
  char submit_date[10];
  char done_date[10];
  char err[4];
  if (d.kind == Delivery::Kind::Receipt) {
    const std::string_view idv =
        formatId(d.msg_id, cfg_.receipt_id_format, cfg_.receipt_id_length, idbuf);
    formatDate10(d.submit_unix, submit_date);
    formatDate10(d.done_unix, done_date);
    std::snprintf(err, sizeof err, "%03u", static_cast<unsigned>(d.err % 1000));
    codec::Receipt r;
    r.id = idv;
    r.sub = "001";
    r.dlvrd = d.state == 2 ? "001" : "000";
    r.submit_date = {submit_date, 10};
    r.done_date = {done_date, 10};
    r.stat = codec::statWord(static_cast<codec::MessageState>(d.state));
    r.err = {err, 3};
    r.text = {d.text, d.text_len};
    text_.clear();
    codec::formatReceipt(r, text_);
    b.esm_class = 0x04;
    b.data_coding = 0x00;
    b.short_message = codec::asBytes(text_);
    p.tlvs.addCString(codec::tag::receipted_message_id, idv);
    p.tlvs.addU8(codec::tag::message_state, d.state);
    ++receipts_sent_;
  } else {
    b.esm_class = 0x00;
    b.data_coding = mo_data_coding_;
    b.short_message = codec::Bytes(mo_payload_.data(), mo_payload_.size());
    for (const ExtraTlv& t : cfg_.mo_tlvs) {
      p.tlvs.addBytes(t.tag, codec::Bytes(t.value.data(), t.value.size()));
    }
    ++mo_sent_;
  }
  // A v3.3 peer never sees a TLV (the encoder drops them for interface_version < 0x34).
  codec::encode(tools::nonNullStrings(p), s.conn->out(), codec::EncodeOptions{s.version});
  pdus_out_.add(static_cast<uint32_t>(CommandId::deliver_sm), 0);
  s.conn->send();
}

void McSim::handleDeliverResp(Session& s, uint32_t seq, uint32_t st) {
  auto* slot = s.inflight.find(seq);
  if (slot == nullptr) {
    return;
  }
  const Delivery::Kind kind = slot->payload.kind;
  if (st == status::ESME_RX_T_APPN && kind != Delivery::Kind::Unbind &&
      cfg_.retry_temporary_ms > 0 && slot->payload.attempts + 1 < cfg_.max_attempts) {
    // Temporary: the ESME cannot take it now; send it again later.
    Delivery d = slot->payload;
    ++d.attempts;
    ++(kind == Delivery::Kind::Mo ? mo_retried_ : receipts_retried_);
    retries_.push_back({loop_.nowMs() + cfg_.retry_temporary_ms, s.account, d});
  }
  s.inflight.release(slot);
  if (kind == Delivery::Kind::Unbind) {
    closeSession(s);  // a generic_nack to our unbind: the session is over anyway
    return;
  }
  if (kind == Delivery::Kind::Mo) {
    ++(st == 0 ? mo_acked_ : mo_failed_);
  } else {
    ++(st == 0 ? receipts_acked_ : receipts_failed_);
  }
  if (s.state == Session::State::Draining && s.inflight.size() == 0) {
    sendUnbind(s);
    return;
  }
  if (s.state == Session::State::PeerUnbound && s.inflight.size() == 0) {
    closeSession(s);
    return;
  }
  pump(s);
}

void McSim::handleUnbind(Session& s, const codec::Pdu& pdu) {
  sendHeaderOnly(s, CommandId::unbind_resp, 0, pdu.sequence_number);
  log("unbind from '%s'", s.account != nullptr ? s.account->system_id.c_str() : "(unbound)");
  if (s.inflight.size() == 0) {
    closeSession(s);
    return;
  }
  // deliver_sm we sent before reading the unbind are answered after it: wait for those answers
  // (the peer closes after our unbind_resp), at most unbind_timeout.
  s.state = Session::State::PeerUnbound;
  std::erase(all_receivers_, s.index);
  if (s.account != nullptr) {
    std::erase(s.account->receivers, s.index);
  }
  lingering_.push_back({s.index, s.serial, loop_.nowMs() + cfg_.unbind_timeout_ms});
}

void McSim::handleQuery(Session& s, const codec::Pdu& pdu) {
  const auto& q = pdu.as<codec::QuerySmBody>();
  Record* r = findRecord(q.message_id);
  if (r == nullptr) {
    journal(CommandId::query_sm, q.message_id, status::ESME_RINVMSGID);
    sendHeaderOnly(s, CommandId::query_sm_resp, status::ESME_RINVMSGID, pdu.sequence_number);
    return;
  }
  journal(CommandId::query_sm, q.message_id, status::ESME_ROK);
  const uint64_t now_ns = net::Loop::hrtimeNs();
  uint8_t state = 1;  // ENROUTE
  int64_t final_unix = -1;
  if (r->cancelled) {
    state = 4;  // DELETED
    final_unix = r->done_unix;
  } else if (now_ns >= r->done_ns) {
    state = r->state;
    final_unix = r->done_unix;
  }
  char final_date[64] = {};
  if (final_unix >= 0) {
    const time_t t = static_cast<time_t>(final_unix);
    tm tmv{};
    gmtime_r(&t, &tmv);
    // SMPP absolute time YYMMDDhhmmsstnnp, in UTC.
    std::snprintf(final_date, sizeof final_date, "%02d%02d%02d%02d%02d%02d000+", tmv.tm_year % 100,
                  tmv.tm_mon + 1, tmv.tm_mday, tmv.tm_hour, tmv.tm_min, tmv.tm_sec);
  }
  codec::Pdu resp(CommandId::query_sm_resp, pdu.sequence_number);
  auto& b = resp.as<codec::QuerySmRespBody>();
  b.message_id = q.message_id;
  b.final_date = final_unix >= 0 ? std::string_view(final_date, 16) : std::string_view();
  b.message_state = state;
  b.error_code = state == 1 || state == 2 ? 0 : r->err;
  codec::encode(tools::nonNullStrings(resp), s.conn->out(), codec::EncodeOptions{s.version});
  pdus_out_.add(static_cast<uint32_t>(CommandId::query_sm_resp), 0);
  s.conn->send();
}

void McSim::handleCancel(Session& s, const codec::Pdu& pdu) {
  const auto& c = pdu.as<codec::CancelSmBody>();
  if (c.message_id.empty()) {
    // Cancelling by source/destination is not simulated.
    journal(CommandId::cancel_sm, c.message_id, status::ESME_RCANCELFAIL);
    sendHeaderOnly(s, CommandId::cancel_sm_resp, status::ESME_RCANCELFAIL, pdu.sequence_number);
    return;
  }
  Record* r = findRecord(c.message_id);
  uint32_t st = 0;
  const uint64_t now_ns = net::Loop::hrtimeNs();
  if (r == nullptr) {
    st = status::ESME_RINVMSGID;
  } else if (r->cancelled || now_ns >= r->done_ns) {
    st = status::ESME_RCANCELFAIL;  // already final
  } else {
    r->cancelled = true;
    r->done_ns = now_ns;
    r->done_unix = unixAt(now_ns);
  }
  journal(CommandId::cancel_sm, c.message_id, st);
  sendHeaderOnly(s, CommandId::cancel_sm_resp, st, pdu.sequence_number);
}

void McSim::handleReplace(Session& s, const codec::Pdu& pdu) {
  const auto& rp = pdu.as<codec::ReplaceSmBody>();
  Record* r = findRecord(rp.message_id);
  uint32_t st = 0;
  if (r == nullptr) {
    st = status::ESME_RINVMSGID;
  } else if (r->cancelled || net::Loop::hrtimeNs() >= r->done_ns) {
    st = status::ESME_RREPLACEFAIL;
  } else {
    r->replaced = true;
  }
  journal(CommandId::replace_sm, rp.message_id, st);
  sendHeaderOnly(s, CommandId::replace_sm_resp, st, pdu.sequence_number);
}

// broadcast_sm: every accepted broadcast gets an id from the message id counter and a place in
// the book until it is cancelled or forgotten. A message_id in the request replaces (keeps) the
// broadcast it names; an unknown one is refused.
void McSim::handleBroadcast(Session& s, const codec::Pdu& pdu) {
  const auto& b = pdu.as<codec::BroadcastSmBody>();
  uint64_t id = 0;
  uint32_t st = status::ESME_ROK;
  if (!b.message_id.empty()) {
    auto it = broadcasts_.end();
    for (IdFormat fmt : {cfg_.id_format, cfg_.receipt_id_format}) {
      if (parseIdText(b.message_id, fmt, id) && (it = broadcasts_.find(id)) != broadcasts_.end()) {
        break;
      }
    }
    if (it == broadcasts_.end()) {
      st = status::ESME_RINVMSGID;
    } else if (it->second.cancelled) {
      st = status::ESME_RBCASTFAIL;
    }
  } else {
    id = next_id_++;
  }
  if (st == status::ESME_ROK) {
    Broadcast& bc = broadcasts_[id];
    bc.areas.clear();
    for (const codec::Tlv& t : pdu.tlvs) {
      if (t.tag == codec::tag::broadcast_area_identifier) {
        const codec::Bytes v = t.value();
        bc.areas.emplace_back(v.begin(), v.end());
      }
    }
    while (broadcasts_.size() > cfg_.remember) {
      broadcasts_.erase(broadcasts_.begin());  // the oldest id
    }
    ++accepted_;
  }
  char buf[72];
  journal(CommandId::broadcast_sm,
          st == status::ESME_ROK ? formatId(id, cfg_.id_format, cfg_.id_length, buf) : b.message_id,
          st);
  writeMessageResponse(s, static_cast<uint32_t>(CommandId::broadcast_sm_resp), pdu.sequence_number,
                       st, st == status::ESME_ROK, id);
}

McSim::Broadcast* McSim::findBroadcast(std::string_view text) {
  for (IdFormat fmt : {cfg_.id_format, cfg_.receipt_id_format}) {
    uint64_t id = 0;
    if (!parseIdText(text, fmt, id)) {
      continue;
    }
    if (auto it = broadcasts_.find(id); it != broadcasts_.end()) {
      return &it->second;
    }
  }
  return nullptr;
}

// query_broadcast_sm: ENROUTE while active, DELETED once cancelled; the areas it was sent to,
// each fully served (broadcast_area_success 100).
void McSim::handleQueryBroadcast(Session& s, const codec::Pdu& pdu) {
  const auto& q = pdu.as<codec::QuerySmBody>();
  Broadcast* bc = findBroadcast(q.message_id);
  if (bc == nullptr) {
    journal(CommandId::query_broadcast_sm, q.message_id, status::ESME_RINVMSGID);
    sendHeaderOnly(s, CommandId::query_broadcast_sm_resp, status::ESME_RINVMSGID,
                   pdu.sequence_number);
    return;
  }
  journal(CommandId::query_broadcast_sm, q.message_id, status::ESME_ROK);
  codec::Pdu resp(CommandId::query_broadcast_sm_resp, pdu.sequence_number);
  resp.as<codec::MessageIdBody>().message_id = q.message_id;
  resp.tlvs.addU8(codec::tag::message_state, bc->cancelled ? 4 : 1);  // DELETED : ENROUTE
  for (const auto& area : bc->areas) {
    resp.tlvs.addBytes(codec::tag::broadcast_area_identifier,
                       codec::Bytes(area.data(), area.size()));
  }
  resp.tlvs.addU8(codec::tag::broadcast_area_success, 100);
  if (auto ref = pdu.tlvs.integer(codec::tag::user_message_reference)) {
    resp.tlvs.addU16(codec::tag::user_message_reference, static_cast<uint16_t>(*ref));
  }
  codec::encode(tools::nonNullStrings(resp), s.conn->out(), codec::EncodeOptions{s.version});
  pdus_out_.add(static_cast<uint32_t>(CommandId::query_broadcast_sm_resp), 0);
  s.conn->send();
}

// cancel_broadcast_sm: an unknown id gives ESME_RINVMSGID (as for cancel_sm); a broadcast
// already cancelled gives ESME_RBCASTCANCELFAIL.
void McSim::handleCancelBroadcast(Session& s, const codec::Pdu& pdu) {
  const auto& c = pdu.as<codec::CancelBroadcastSmBody>();
  Broadcast* bc = c.message_id.empty() ? nullptr : findBroadcast(c.message_id);
  uint32_t st = status::ESME_ROK;
  if (bc == nullptr) {
    st = status::ESME_RINVMSGID;
  } else if (bc->cancelled) {
    st = status::ESME_RBCASTCANCELFAIL;
  } else {
    bc->cancelled = true;
    bc->cancelled_unix = unixAt(net::Loop::hrtimeNs());
  }
  journal(CommandId::cancel_broadcast_sm, c.message_id, st);
  sendHeaderOnly(s, CommandId::cancel_broadcast_sm_resp, st, pdu.sequence_number);
}

void McSim::journal(CommandId id, std::string_view message_id, uint32_t st) {
  if (operations_.size() >= kMaxOperations) {
    operations_.pop_front();
  }
  operations_.push_back(Operation{static_cast<uint32_t>(id), std::string(message_id), st});
}

// ---- delayed work ----

void McSim::schedule(uint64_t due_ns, Job&& job) {
  uint32_t idx = 0;
  if (!free_jobs_.empty()) {
    idx = free_jobs_.back();
    free_jobs_.pop_back();
    jobs_[idx] = std::move(job);
  } else {
    idx = static_cast<uint32_t>(jobs_.size());
    jobs_.push_back(std::move(job));
  }
  heap_.emplace_back(due_ns, idx);
  std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
  armTimer();
}

void McSim::armTimer() {
  if (heap_.empty()) {
    job_timer_.disarm();
    return;
  }
  // Deadlines rounded up to 100 µs: one timer re-arm serves every job due in that slice.
  constexpr uint64_t kSlice = 100000;
  job_timer_.armNoLaterThan((heap_.front().first + kSlice - 1) / kSlice * kSlice);
}

void McSim::runDue() {
  const uint64_t now = net::Loop::hrtimeNs();
  while (!heap_.empty() && heap_.front().first <= now + 50000) {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    const uint32_t idx = heap_.back().second;
    heap_.pop_back();
    Job job = jobs_[idx];
    free_jobs_.push_back(idx);
    runJob(job);
  }
  armTimer();
}

void McSim::runJob(Job& job) {
  Session* s = session(job.session_index, job.session_serial);
  if (job.kind == Job::Kind::Response) {
    if (job.receipt_before) {
      deliver(std::move(job.delivery), job.account, s);
    }
    if (s == nullptr) {
      ++responses_dropped_;
      return;
    }
    writeMessageResponse(*s, job.response_id, job.seq, job.status, job.has_id, job.msg_id);
    return;
  }
  const Record& r = records_[(job.msg_id - cfg_.id_start) & records_mask_];
  if (r.valid && r.id == job.msg_id && r.cancelled) {
    ++receipts_cancelled_;
    return;
  }
  deliver(std::move(job.delivery), job.account, s);
}

// ---- timers ----

void McSim::onMoTick() {
  const uint64_t now = loop_.nowMs();
  mo_credit_ += cfg_.mo_rate * static_cast<double>(now - mo_last_ms_) / 1000.0;
  mo_last_ms_ = now;
  // No burst after an idle spell: at most 100 ms worth of credit.
  mo_credit_ = std::min(mo_credit_, cfg_.mo_rate * 0.1 + 1.0);
  while (mo_credit_ >= 1.0 && !all_receivers_.empty() &&
         (cfg_.mo_count == 0 || mo_generated_ < cfg_.mo_count)) {
    const size_t i = mo_rr_++ % all_receivers_.size();
    Session* s = sessions_[all_receivers_[i]].get();
    if (s == nullptr || !s->canReceive() || !writable(*s)) {
      all_receivers_.erase(all_receivers_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    mo_credit_ -= 1.0;
    Delivery d;
    d.kind = Delivery::Kind::Mo;
    d.src_ton = 1;
    d.src_npi = 1;
    d.src_len = static_cast<uint8_t>(std::min(mo_from_.width, 20u));
    tools::NumberRange::format(rng_.between(mo_from_.lo, mo_from_.hi), d.src_len, d.src);
    d.dst_len = static_cast<uint8_t>(std::min(mo_to_.width, 20u));
    tools::NumberRange::format(rng_.between(mo_to_.lo, mo_to_.hi), d.dst_len, d.dst);
    ++mo_generated_;
    enqueueOn(*s, std::move(d));
  }
}

void McSim::onRetryTick() {
  const uint64_t now = loop_.nowMs();
  std::erase_if(lingering_, [&](const Lingering& l) {
    if (l.until_ms > now) {
      return false;
    }
    if (l.index < sessions_.size() && sessions_[l.index] &&
        sessions_[l.index]->serial == l.serial &&
        sessions_[l.index]->state == Session::State::PeerUnbound) {
      closeSession(*sessions_[l.index]);
    }
    return true;
  });
  while (!retries_.empty() && retries_.front().due_ms <= now) {
    Retry r = std::move(retries_.front());
    retries_.pop_front();
    deliver(std::move(r.d), r.account, nullptr);
  }
}

void McSim::onHousekeeping() {
  const uint64_t now = net::Loop::hrtimeNs();
  const uint64_t timeout_ns = cfg_.deliver_timeout_ms * 1000000ull;
  for (auto& sp : sessions_) {
    if (!sp || sp->state == Session::State::Closed) {
      continue;
    }
    Session& s = *sp;
    while (auto* slot = s.inflight.oldest()) {
      if (now - slot->sent_ns < timeout_ns) {
        break;
      }
      Delivery d = slot->payload;
      s.inflight.release(slot);
      if (d.kind == Delivery::Kind::Unbind) {
        continue;
      }
      if (d.kind == Delivery::Kind::Mo) {
        ++mo_failed_;
        continue;
      }
      ++receipts_failed_;
      if (d.attempts < 3) {  // unanswered receipts are retried, as an MC would
        ++receipts_retried_;
        deliver(std::move(d), s.account, &s);
      }
    }
    if (s.state == Session::State::Draining && s.inflight.size() == 0) {
      sendUnbind(s);
      continue;
    }
    pump(s);
  }
}

// ---- shutdown ----

void McSim::shutdown() {
  if (shutting_down_) {
    finishShutdown();
    return;
  }
  shutting_down_ = true;
  log("shutting down: unbinding %zu session(s)",
      static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                        [](const auto& s) { return s && s->bound(); })));
  if (listener_) {
    listener_->close();
  }
  mo_timer_.reset();
  for (auto& sp : sessions_) {
    if (!sp || sp->state == Session::State::Closed) {
      continue;
    }
    Session& s = *sp;
    if (!s.bound() || !writable(s)) {
      closeSession(s);
      continue;
    }
    // Nothing new is routed to it from now on; what is in flight is answered before the unbind.
    std::erase(all_receivers_, s.index);
    if (s.account != nullptr) {
      std::erase(s.account->receivers, s.index);
    }
    s.state = Session::State::Draining;
    if (s.inflight.size() == 0) {
      sendUnbind(s);
    }
  }
  unbind_timer_ = std::make_unique<net::Timer>(loop_, [this] { finishShutdown(); });
  unbind_timer_->start(cfg_.unbind_timeout_ms);
  loop_.defer([this] { maybeFinish(); });
}

void McSim::sendUnbind(Session& s) {
  auto* slot = s.inflight.allocate();
  if (slot == nullptr || !writable(s)) {
    closeSession(s);
    return;
  }
  slot->payload = Delivery{};
  slot->payload.kind = Delivery::Kind::Unbind;
  slot->sent_ns = net::Loop::hrtimeNs();
  codec::encodeHeaderOnly(s.conn->out(), CommandId::unbind, 0, slot->seq);
  pdus_out_.add(static_cast<uint32_t>(CommandId::unbind), 0);
  s.conn->send();
  s.state = Session::State::Unbinding;
}

void McSim::maybeFinish() {
  if (!shutting_down_ || finished_) {
    return;
  }
  for (const auto& s : sessions_) {
    if (s && s->state != Session::State::Closed) {
      return;
    }
  }
  finishShutdown();
}

void McSim::finishShutdown() {
  if (finished_) {
    return;
  }
  finished_ = true;
  shutting_down_ = true;
  for (auto& sp : sessions_) {
    if (sp && sp->state != Session::State::Closed) {
      if (sp->conn) {
        sp->conn->abort();
      }
      dropSession(*sp);
    }
  }
  if (listener_) {
    listener_->close();
  }
  job_timer_.disarm();
  loop_.stop();
}

// ---- summary ----

std::string McSim::summaryJson() const {
  using nlohmann::ordered_json;
  ordered_json j;
  j["tool"] = "smpp-mcsim";
  j["port"] = port_;
  j["uptime_s"] = static_cast<double>(net::Loop::hrtimeNs() - started_ns_) / 1e9;
  j["connections"] = connections_;
  j["binds"] = {{"ok", binds_ok_},
                {"failed", binds_failed_},
                {"transmitter", bind_tx_},
                {"receiver", bind_rx_},
                {"transceiver", bind_trx_}};
  auto counters = [](const PduCounters& c) {
    ordered_json out = ordered_json::object();
    c.forEach([&](uint32_t id, uint64_t total, const auto& statuses, uint8_t n) {
      ordered_json e;
      e["total"] = total;
      ordered_json by = ordered_json::object();
      for (uint8_t i = 0; i < n; ++i) {
        by[statuses[i].status == 0xFFFFFFFFu ? std::string("other")
                                             : statusKey(statuses[i].status)] = statuses[i].count;
      }
      e["status"] = by;
      out[commandKey(id)] = e;
    });
    return out;
  };
  j["pdus_in"] = counters(pdus_in_);
  j["pdus_out"] = counters(pdus_out_);
  j["messages"] = {{"accepted", accepted_},
                   {"errors_injected", errors_},
                   {"throttled", throttled_},
                   {"responses_dropped", responses_dropped_}};
  j["receipts"] = {{"sent", receipts_sent_},
                   {"acked", receipts_acked_},
                   {"failed", receipts_failed_},
                   {"retried", receipts_retried_},
                   {"dropped", receipts_dropped_},
                   {"cancelled", receipts_cancelled_},
                   {"unanswered_at_close", receipts_unanswered_at_close_},
                   {"queued", queued_}};
  j["mo"] = {{"generated", mo_generated_},
             {"sent", mo_sent_},
             {"acked", mo_acked_},
             {"failed", mo_failed_},
             {"retried", mo_retried_},
             {"dropped", mo_dropped_},
             {"unanswered_at_close", mo_unanswered_at_close_}};
  ordered_json ops = ordered_json::array();
  for (const Operation& o : operations_) {
    ops.push_back({{"command", commandKey(o.command_id)},
                   {"message_id", o.message_id},
                   {"status", statusKey(o.status)}});
  }
  j["operations"] = ops;
  j["broadcasts"] = broadcasts_.size();
  j["framing_errors"] = framing_errors_;
  const net::LoopStats& ls = loop_.stats();
  j["loop"] = {{"reads", ls.reads},
               {"writes", ls.writes},
               {"iterations", ls.iterations},
               {"bytes_in", ls.bytes_in},
               {"bytes_out", ls.bytes_out}};
  const tools::CpuTimes cpu = tools::processCpu();
  j["cpu"] = {{"user_s", cpu.user_s}, {"sys_s", cpu.sys_s}};
  return j.dump();
}

}  // namespace smppgw::mcsim
