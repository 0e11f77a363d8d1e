#include "tools/mcsim/delivery.h"

#include <cstdio>
#include <cstring>
#include <ctime>

#include "codec/encode.h"
#include "codec/receipt.h"
#include "codec/status.h"
#include "net/loop.h"
#include "tools/common/pdu_util.h"
#include "tools/mcsim/book.h"
#include "tools/mcsim/mo.h"
#include "tools/mcsim/session.h"
#include "tools/mcsim/summary.h"

namespace smppgw::mcsim {

using codec::CommandId;
namespace status = codec::status;

Deliveries::Deliveries(net::Loop& loop, const Config& cfg, Counters& counters,
                       SessionTable& sessions, const MoSource& mo)
    : loop_(loop), cfg_(cfg), counters_(counters), sessions_(sessions), mo_(mo) {}

void Deliveries::deliver(Delivery&& d, Account* account, Session* preferred) {
  if (preferred != nullptr && preferred->canReceive() && preferred->writable()) {
    enqueueOn(*preferred, std::move(d));
    return;
  }
  if (account != nullptr) {
    while (!account->receivers.empty()) {
      const size_t i = account->rr++ % account->receivers.size();
      Session* s = sessions_.at(account->receivers[i]);
      if (s != nullptr && s->canReceive() && s->writable()) {
        enqueueOn(*s, std::move(d));
        return;
      }
      account->receivers.erase(account->receivers.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (account == nullptr || queued_ >= cfg_.max_queued) {
    ++(d.kind == Delivery::Kind::Mo ? counters_.mo_dropped : counters_.receipts_dropped);
    return;
  }
  account->pending.push_back(d);
  ++queued_;
}

void Deliveries::enqueueOn(Session& s, Delivery&& d) {
  if (s.queue.empty() && s.inflight.size() < cfg_.window) {
    sendDeliverSm(s, d);
    return;
  }
  if (queued_ >= cfg_.max_queued) {
    ++(d.kind == Delivery::Kind::Mo ? counters_.mo_dropped : counters_.receipts_dropped);
    return;
  }
  s.queue.push_back(d);
  ++queued_;
}

void Deliveries::pump(Session& s) {
  if (!s.canReceive()) {
    return;  // draining at shutdown: what is queued stays queued
  }
  while (!s.queue.empty() && s.inflight.size() < cfg_.window && s.writable()) {
    Delivery d = s.queue.front();
    s.queue.pop_front();
    --queued_;
    sendDeliverSm(s, d);
  }
}

void Deliveries::takePending(Session& s) {
  auto& pending = s.account->pending;
  queued_ -= pending.size();
  while (!pending.empty()) {
    Delivery d = pending.front();
    pending.pop_front();
    enqueueOn(s, std::move(d));
  }
}

void Deliveries::formatDate10(int64_t unix_s, char* out) {
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

void Deliveries::sendDeliverSm(Session& s, Delivery& d) {
  auto* slot = s.inflight.allocate();
  if (slot == nullptr || !s.writable()) {
    ++(d.kind == Delivery::Kind::Mo ? counters_.mo_dropped : counters_.receipts_dropped);
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
        MessageBook::formatId(d.msg_id, cfg_.receipt_id_format, cfg_.receipt_id_length, idbuf);
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
    ++counters_.receipts_sent;
  } else {
    b.esm_class = 0x00;
    b.data_coding = mo_.dataCoding();
    b.short_message = mo_.payload();
    for (const ExtraTlv& t : cfg_.mo_tlvs) {
      p.tlvs.addBytes(t.tag, codec::Bytes(t.value.data(), t.value.size()));
    }
    ++counters_.mo_sent;
  }
  // A v3.3 peer never sees a TLV (the encoder drops them for interface_version < 0x34).
  codec::encode(tools::nonNullStrings(p), s.conn->out(), codec::EncodeOptions{s.version});
  counters_.pdus_out.add(static_cast<uint32_t>(CommandId::deliver_sm), 0);
  s.conn->send();
}

std::optional<Delivery::Kind> Deliveries::answered(Session& s, uint32_t seq, uint32_t st) {
  auto* slot = s.inflight.find(seq);
  if (slot == nullptr) {
    return std::nullopt;
  }
  const Delivery::Kind kind = slot->payload.kind;
  if (st == status::ESME_RX_T_APPN && kind != Delivery::Kind::Unbind &&
      cfg_.retry_temporary_ms > 0 && slot->payload.attempts + 1 < cfg_.max_attempts) {
    // Temporary: the ESME cannot take it now; send it again later.
    Delivery d = slot->payload;
    ++d.attempts;
    ++(kind == Delivery::Kind::Mo ? counters_.mo_retried : counters_.receipts_retried);
    retries_.push_back({loop_.nowMs() + cfg_.retry_temporary_ms, s.account, d});
  }
  s.inflight.release(slot);
  if (kind == Delivery::Kind::Mo) {
    ++(st == 0 ? counters_.mo_acked : counters_.mo_failed);
  } else if (kind == Delivery::Kind::Receipt) {
    ++(st == 0 ? counters_.receipts_acked : counters_.receipts_failed);
  }
  return kind;
}

void Deliveries::expire(Session& s, uint64_t now) {
  const uint64_t timeout_ns = cfg_.deliver_timeout_ms * 1000000ull;
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
      ++counters_.mo_failed;
      continue;
    }
    ++counters_.receipts_failed;
    if (d.attempts < 3) {  // unanswered receipts are retried, as an MC would
      ++counters_.receipts_retried;
      deliver(std::move(d), s.account, &s);
    }
  }
}

void Deliveries::requeue(Session& s) {
  std::vector<Delivery> moved;
  s.inflight.forEach([&](auto& slot) {
    if (slot.payload.kind != Delivery::Kind::Unbind) {
      // Sent and never answered: the peer left (or was left) holding it.
      ++(slot.payload.kind == Delivery::Kind::Mo ? counters_.mo_unanswered_at_close
                                                 : counters_.receipts_unanswered_at_close);
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
      ++counters_.mo_failed;
      continue;
    }
    ++counters_.receipts_retried;
    deliver(std::move(d), s.account, nullptr);
  }
}

void Deliveries::retryDue(uint64_t now) {
  while (!retries_.empty() && retries_.front().due_ms <= now) {
    Retry r = std::move(retries_.front());
    retries_.pop_front();
    deliver(std::move(r.d), r.account, nullptr);
  }
}

}  // namespace smppgw::mcsim
