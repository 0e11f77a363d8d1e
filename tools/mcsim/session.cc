#include "tools/mcsim/session.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "codec/command.h"
#include "codec/encode.h"
#include "codec/status.h"
#include "net/loop.h"
#include "tools/common/pdu_util.h"
#include "tools/mcsim/book.h"
#include "tools/mcsim/mcsim.h"
#include "tools/mcsim/messages.h"
#include "tools/mcsim/mo.h"
#include "tools/mcsim/summary.h"

namespace smppgw::mcsim {

using codec::CommandId;
namespace status = codec::status;

Session::Session(McSim& s, uint32_t idx, uint64_t ser, uint32_t window)
    : sim(s), index(idx), serial(ser), inflight(static_cast<size_t>(window) * 2 + 8) {}

// ---- requests in ----

void Session::onPdu(net::Connection&, codec::Bytes pdu) {
  const codec::Header h = codec::readHeader(pdu.data());
  sim.counters().pdus_in.add(h.command_id, h.command_status);
  codec::Pdu& in = sim.decodeTarget();
  if (auto err = codec::decode(pdu, in)) {
    if (err->respond) {
      sendHeaderOnly(err->response_id, err->status, err->sequence_number);
    }
    if (err->close_connection) {
      close();
    }
    return;
  }
  const CommandId id = in.command_id;
  const uint32_t seq = in.sequence_number;
  if (codec::isBind(id)) {
    handleBind(in);
    return;
  }
  switch (id) {
    case CommandId::enquire_link:
      sendHeaderOnly(CommandId::enquire_link_resp, 0, seq);
      return;
    case CommandId::deliver_sm_resp:
      handleDeliverResp(seq, in.command_status);
      return;
    case CommandId::generic_nack:
      handleDeliverResp(seq, in.command_status != 0 ? in.command_status : status::ESME_RUNKNOWNERR);
      return;
    case CommandId::unbind:
      handleUnbind(in);
      return;
    case CommandId::unbind_resp:
      if (state == State::Unbinding) {
        sim.log("session %s unbound", account != nullptr ? account->system_id.c_str() : "?");
        close();
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
  if (!bound()) {
    respond(in, status::ESME_RINVBNDSTS);
    return;
  }
  switch (id) {
    case CommandId::submit_sm:
    case CommandId::data_sm:
    case CommandId::submit_multi:
      if (!canTransmit()) {
        respond(in, status::ESME_RINVBNDSTS);
        return;
      }
      sim.messages().submit(*this, in);
      return;
    case CommandId::query_sm:
    case CommandId::cancel_sm:
    case CommandId::replace_sm:
      if (!canTransmit()) {
        respond(in, status::ESME_RINVBNDSTS);
        return;
      }
      if (id == CommandId::query_sm) {
        sim.book().query(*this, in);
      } else if (id == CommandId::cancel_sm) {
        sim.book().cancel(*this, in);
      } else {
        sim.book().replace(*this, in);
      }
      return;
    case CommandId::broadcast_sm:
    case CommandId::query_broadcast_sm:
    case CommandId::cancel_broadcast_sm:
      if (version < 0x50) {
        // Not a command of the peer's version: unknown to it (reference §7.2, §8.1).
        sendHeaderOnly(CommandId::generic_nack, status::ESME_RINVCMDID, seq);
        return;
      }
      if (!canTransmit()) {
        respond(in, status::ESME_RINVBNDSTS);
        return;
      }
      if (id == CommandId::broadcast_sm) {
        sim.book().broadcast(*this, in);
      } else if (id == CommandId::query_broadcast_sm) {
        sim.book().queryBroadcast(*this, in);
      } else {
        sim.book().cancelBroadcast(*this, in);
      }
      return;
    case CommandId::deliver_sm:
      respond(in, status::ESME_RINVBNDSTS);  // MC->ESME only
      return;
    default:
      respond(in, status::ESME_RINVCMDID);
      return;
  }
}

void Session::onFramingError(net::Connection&, const codec::DecodeError& e) {
  Counters& c = sim.counters();
  ++c.framing_errors;
  c.pdus_in.add(e.command_id, 0);
  if (e.respond) {
    sendHeaderOnly(e.response_id, e.status, e.sequence_number);
  }
  sim.log("framing error from %s: closing", conn ? conn->peerAddress().c_str() : "?");
  close();
}

void Session::onClosed(net::Connection& c, int st) {
  const std::string why = st == net::kStatusTlsHandshake && c.tls() != nullptr
                              ? std::string("TLS handshake failed: ") + toString(c.tls()->failure())
                          : st == net::kStatusTlsError ? std::string("TLS error")
                          : st == UV_EOF               ? std::string("by peer")
                                                       : std::string(uv_strerror(st));
  sim.log("connection %s closed (%s)",
          account != nullptr ? account->system_id.c_str() : "(unbound)", why.c_str());
  drop();
}

void Session::handleBind(const codec::Pdu& pdu) {
  const Config& cfg = sim.cfg();
  Counters& counters = sim.counters();
  const auto& b = pdu.as<codec::BindBody>();
  const CommandId resp = codec::responseFor(pdu.command_id);
  if (state != State::Open) {
    ++counters.binds_failed;
    sendHeaderOnly(resp, bound() ? status::ESME_RALYBND : status::ESME_RINVBNDSTS,
                   pdu.sequence_number);
    return;
  }
  uint32_t st = 0;
  if (!cfg.required_system_id.empty() && b.system_id != cfg.required_system_id) {
    st = status::ESME_RINVSYSID;
  } else if (cfg.password_set && b.password != cfg.required_password) {
    st = status::ESME_RINVPASWD;
  } else if (!cfg.accounts.empty()) {
    auto it = std::find_if(cfg.accounts.begin(), cfg.accounts.end(),
                           [&](const auto& a) { return a.first == b.system_id; });
    if (it == cfg.accounts.end()) {
      st = status::ESME_RINVSYSID;
    } else if (it->second != b.password) {
      st = status::ESME_RINVPASWD;
    }
  }
  if (st != 0) {
    ++counters.binds_failed;
    sim.log("bind refused for '%.*s' (%s)", static_cast<int>(b.system_id.size()),
            b.system_id.data(), std::string(codec::statusName(st)).c_str());
    sendHeaderOnly(resp, st, pdu.sequence_number);
    return;
  }
  version = b.interface_version;
  switch (pdu.command_id) {
    case CommandId::bind_transmitter:
      state = State::BoundTx;
      ++counters.bind_tx;
      break;
    case CommandId::bind_receiver:
      state = State::BoundRx;
      ++counters.bind_rx;
      break;
    default:
      state = State::BoundTrx;
      ++counters.bind_trx;
      break;
  }
  ++counters.binds_ok;
  account = &sim.account(b.system_id);

  codec::Pdu r(resp, pdu.sequence_number);
  r.as<codec::BindRespBody>().system_id = cfg.mc_system_id;
  if (version >= 0x34) {
    // The lower of the two versions (reference §8.1): mcsim speaks v5.0 (the broadcast family).
    r.tlvs.addU8(codec::tag::sc_interface_version, version >= 0x50 ? 0x50 : 0x34);
  }
  sendPdu(r);
  sim.log("bound %s '%s' (interface_version 0x%02X) from %s",
          std::string(codec::commandName(pdu.command_id)).c_str(), account->system_id.c_str(),
          version, conn->peerAddress().c_str());

  if (canReceive()) {
    account->receivers.push_back(index);
    sim.mo().addReceiver(index);
    // Deliveries parked while nobody could receive them.
    sim.deliveries().takePending(*this);
  }
}

void Session::handleDeliverResp(uint32_t seq, uint32_t st) {
  const auto kind = sim.deliveries().answered(*this, seq, st);
  if (!kind) {
    return;
  }
  if (*kind == Delivery::Kind::Unbind) {
    close();  // a generic_nack to our unbind: the session is over anyway
    return;
  }
  if (state == State::Draining && inflight.size() == 0) {
    sendUnbind();
    return;
  }
  if (state == State::PeerUnbound && inflight.size() == 0) {
    close();
    return;
  }
  sim.deliveries().pump(*this);
}

void Session::handleUnbind(const codec::Pdu& pdu) {
  sendHeaderOnly(CommandId::unbind_resp, 0, pdu.sequence_number);
  sim.log("unbind from '%s'", account != nullptr ? account->system_id.c_str() : "(unbound)");
  if (inflight.size() == 0) {
    close();
    return;
  }
  // deliver_sm we sent before reading the unbind are answered after it: wait for those answers
  // (the peer closes after our unbind_resp), at most unbind_timeout.
  state = State::PeerUnbound;
  stopReceiving();
  sim.linger(*this);
}

// ---- answers out ----

void Session::sendHeaderOnly(CommandId id, uint32_t st, uint32_t seq) {
  if (!writable()) {
    return;
  }
  codec::encodeHeaderOnly(conn->out(), id, st, seq);
  sim.counters().pdus_out.add(static_cast<uint32_t>(id), st);
  conn->send();
}

void Session::respond(const codec::Pdu& req, uint32_t st) {
  if (codec::expectsResponse(req.command_id)) {
    sendHeaderOnly(codec::responseFor(req.command_id), st, req.sequence_number);
  }
}

void Session::sendPdu(codec::Pdu& pdu) {
  codec::encode(tools::nonNullStrings(pdu), conn->out(), codec::EncodeOptions{version});
  sim.counters().pdus_out.add(static_cast<uint32_t>(pdu.command_id), 0);
  conn->send();
}

void Session::writeMessageResponse(uint32_t response_id, uint32_t seq, uint32_t st, bool has_id,
                                   uint64_t msg_id) {
  const Config& cfg = sim.cfg();
  Counters& counters = sim.counters();
  if (!writable()) {
    ++counters.responses_dropped;
    return;
  }
  codec::Buffer& out = conn->out();
  if (st != 0 || !has_id) {
    // v3.4 §4.4.2: an error response carries no body.
    codec::encodeHeaderOnly(out, static_cast<CommandId>(response_id), st, seq);
  } else {
    char buf[72];
    const std::string_view idv = MessageBook::formatId(msg_id, cfg.id_format, cfg.id_length, buf);
    const bool multi = response_id == static_cast<uint32_t>(CommandId::submit_multi_resp);
    size_t tlv_len = 0;
    if (version >= 0x34) {
      for (const ExtraTlv& t : cfg.response_tlvs) {
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
      for (const ExtraTlv& x : cfg.response_tlvs) {
        codec::store16(t, x.tag);
        codec::store16(t + 2, static_cast<uint16_t>(x.value.size()));
        std::memcpy(t + 4, x.value.data(), x.value.size());
        t += 4 + x.value.size();
      }
    }
  }
  counters.pdus_out.add(response_id, st);
  conn->send();
}

// ---- the end of a session ----

void Session::stopReceiving() {
  sim.mo().removeReceiver(index);
  if (account != nullptr) {
    std::erase(account->receivers, index);
  }
}

void Session::drain() {
  stopReceiving();
  state = State::Draining;
  if (inflight.size() == 0) {
    sendUnbind();
  }
}

void Session::sendUnbind() {
  auto* slot = inflight.allocate();
  if (slot == nullptr || !writable()) {
    close();
    return;
  }
  slot->payload = Delivery{};
  slot->payload.kind = Delivery::Kind::Unbind;
  slot->sent_ns = net::Loop::hrtimeNs();
  codec::encodeHeaderOnly(conn->out(), CommandId::unbind, 0, slot->seq);
  sim.counters().pdus_out.add(static_cast<uint32_t>(CommandId::unbind), 0);
  conn->send();
  state = State::Unbinding;
}

void Session::close() {
  if (conn && !conn->closing()) {
    conn->closeAfterFlush();
  }
  drop();
}

void Session::drop() {
  if (state == State::Closed) {
    return;
  }
  state = State::Closed;
  ++sim.counters().closed;
  stopReceiving();  // a no-op for a session never listed
  sim.deliveries().requeue(*this);
  sim.release(*this);
}

// ---- SessionTable ----

uint32_t SessionTable::reserve() {
  if (!free_.empty()) {
    const uint32_t idx = free_.back();
    free_.pop_back();
    return idx;
  }
  sessions_.emplace_back();
  return static_cast<uint32_t>(sessions_.size() - 1);
}

void SessionTable::free(uint32_t idx, uint64_t serial) {
  if (idx < sessions_.size() && sessions_[idx] && sessions_[idx]->serial == serial) {
    sessions_[idx].reset();
    free_.push_back(idx);
  }
}

Session* SessionTable::find(uint32_t idx, uint64_t serial) {
  if (idx >= sessions_.size() || !sessions_[idx] || sessions_[idx]->serial != serial ||
      sessions_[idx]->state == Session::State::Closed) {
    return nullptr;
  }
  return sessions_[idx].get();
}

bool SessionTable::allClosed() const {
  return std::none_of(sessions_.begin(), sessions_.end(),
                      [](const auto& s) { return s && s->state != Session::State::Closed; });
}

size_t SessionTable::boundCount() const {
  return static_cast<size_t>(std::count_if(sessions_.begin(), sessions_.end(),
                                           [](const auto& s) { return s && s->bound(); }));
}

}  // namespace smppgw::mcsim
