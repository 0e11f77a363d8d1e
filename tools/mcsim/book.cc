#include "tools/mcsim/book.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include "codec/receipt.h"
#include "codec/status.h"
#include "net/loop.h"
#include "tools/common/util.h"
#include "tools/mcsim/session.h"
#include "tools/mcsim/summary.h"

namespace smppgw::mcsim {

using codec::CommandId;
namespace status = codec::status;

MessageBook::MessageBook(const Config& cfg, Counters& counters) : cfg_(cfg), counters_(counters) {
  size_t cap = 16;
  while (cap < cfg_.remember) {
    cap <<= 1;
  }
  records_.resize(cap);
  records_mask_ = cap - 1;
  next_id_ = cfg_.id_start;
  wall_base_s_ = tools::unixNow();
  mono_base_ns_ = net::Loop::hrtimeNs();
}

std::string_view MessageBook::formatId(uint64_t id, IdFormat fmt, uint32_t width, char* buf) {
  codec::IdDigits digits =
      fmt == IdFormat::Hex ? codec::formatHexId(id, true, 0) : codec::formatDecimalId(id);
  const std::string_view v = digits.view();
  size_t pad = width > v.size() ? width - v.size() : 0;
  std::memset(buf, '0', pad);
  std::memcpy(buf + pad, v.data(), v.size());
  return {buf, pad + v.size()};
}

bool MessageBook::parseIdText(std::string_view text, IdFormat fmt, uint64_t& out) {
  auto v = fmt == IdFormat::Hex ? codec::parseHexId(text) : codec::parseDecimalId(text);
  if (!v) {
    return false;
  }
  out = *v;
  return true;
}

MessageBook::Record* MessageBook::findRecord(std::string_view text) {
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

MessageBook::Broadcast* MessageBook::findBroadcast(std::string_view text) {
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

void MessageBook::journal(CommandId id, std::string_view message_id, uint32_t st) {
  if (operations_.size() >= kMaxOperations) {
    operations_.pop_front();
  }
  operations_.push_back(Operation{static_cast<uint32_t>(id), std::string(message_id), st});
}

// ---- query_sm, cancel_sm, replace_sm ----

void MessageBook::query(Session& s, const codec::Pdu& pdu) {
  const auto& q = pdu.as<codec::QuerySmBody>();
  Record* r = findRecord(q.message_id);
  if (r == nullptr) {
    journal(CommandId::query_sm, q.message_id, status::ESME_RINVMSGID);
    s.sendHeaderOnly(CommandId::query_sm_resp, status::ESME_RINVMSGID, pdu.sequence_number);
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
  s.sendPdu(resp);
}

void MessageBook::cancel(Session& s, const codec::Pdu& pdu) {
  const auto& c = pdu.as<codec::CancelSmBody>();
  if (c.message_id.empty()) {
    // Cancelling by source/destination is not simulated.
    journal(CommandId::cancel_sm, c.message_id, status::ESME_RCANCELFAIL);
    s.sendHeaderOnly(CommandId::cancel_sm_resp, status::ESME_RCANCELFAIL, pdu.sequence_number);
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
  s.sendHeaderOnly(CommandId::cancel_sm_resp, st, pdu.sequence_number);
}

void MessageBook::replace(Session& s, const codec::Pdu& pdu) {
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
  s.sendHeaderOnly(CommandId::replace_sm_resp, st, pdu.sequence_number);
}

// ---- the broadcast family (v5.0) ----

// broadcast_sm: every accepted broadcast gets an id from the message id counter and a place in
// the book until it is cancelled or forgotten. A message_id in the request replaces (keeps) the
// broadcast it names; an unknown one is refused.
void MessageBook::broadcast(Session& s, const codec::Pdu& pdu) {
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
    ++counters_.accepted;
  }
  char buf[72];
  journal(CommandId::broadcast_sm,
          st == status::ESME_ROK ? formatId(id, cfg_.id_format, cfg_.id_length, buf) : b.message_id,
          st);
  s.writeMessageResponse(static_cast<uint32_t>(CommandId::broadcast_sm_resp), pdu.sequence_number,
                         st, st == status::ESME_ROK, id);
}

// query_broadcast_sm: ENROUTE while active, DELETED once cancelled; the areas it was sent to,
// each fully served (broadcast_area_success 100).
void MessageBook::queryBroadcast(Session& s, const codec::Pdu& pdu) {
  const auto& q = pdu.as<codec::QuerySmBody>();
  Broadcast* bc = findBroadcast(q.message_id);
  if (bc == nullptr) {
    journal(CommandId::query_broadcast_sm, q.message_id, status::ESME_RINVMSGID);
    s.sendHeaderOnly(CommandId::query_broadcast_sm_resp, status::ESME_RINVMSGID,
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
  s.sendPdu(resp);
}

// cancel_broadcast_sm: an unknown id gives ESME_RINVMSGID (as for cancel_sm); a broadcast
// already cancelled gives ESME_RBCASTCANCELFAIL.
void MessageBook::cancelBroadcast(Session& s, const codec::Pdu& pdu) {
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
  s.sendHeaderOnly(CommandId::cancel_broadcast_sm_resp, st, pdu.sequence_number);
}

}  // namespace smppgw::mcsim
