// store_and_forward (ack_mode per route, customer or routing): the customer's submit_sm/data_sm
// is answered with the gateway id as soon as the message is durably in its group's queue; the
// gateway then hands it to a carrier within the usual pacing (the upstream's window, tps and
// queue), retries temporary failures with back-off on whichever member of the group is up, and
// reports a final failure as a receipt in the customer's outbox (REJECTD with the carrier's
// status in err:, EXPIRED after store.delivery_ttl). The queue survives restarts. A carrier's
// acceptance writes the mapping under the id the customer already has, so its receipts come back
// as for any message.
//
// A request lost with its bind or timed out may have reached the carrier: it is sent again
// (at-least-once towards the carrier, counted `retried`).

#include <ctime>

#include "codec/decode.h"
#include "codec/encode.h"
#include "codec/receipt.h"
#include "codec/splice.h"
#include "gateway/gateway.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"
#include "gateway/receipt_rewrite.h"

namespace smppgw {

namespace st = codec::status;
using codec::CommandId;

namespace {

constexpr size_t kSendsPerCall = 20'000;  // sends per forwardDue() at most (the loop goes on)
constexpr uint64_t kMaxBackoffMs = 60'000;

uint64_t backoffMs(uint32_t attempts) {
  const uint64_t ms = uint64_t{1000} << std::min<uint32_t>(attempts, 6);  // 2 s, 4 s ... 64 s
  return std::min(ms, kMaxBackoffMs);
}

// YYMMDDhhmm (UTC) of a wall-clock time.
std::string receiptDate(uint64_t wall_ms) {
  const std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d%02d%02d%02d%02d", (tm.tm_year % 100 + 100) % 100,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
  return buf;
}

}  // namespace

MtResult Gateway::acceptForward(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw,
                                const routing::MtDecision& d) {
  const config::Group& group = cfg().groups[d.group];
  ForwardGroup& fg = fwd_groups_[group.name];
  // Full, or its queue not yet read back after a restart (the limit would not hold).
  if (fg.depth >= cfg().limits.max_queue_per_group || forward_restoring_ > 0) {
    refuseMetric(s.customer(), metrics::RefusalReason::QueueFull);
    return MtResult::refused(cfg().routing.queue_full_status);
  }
  const uint64_t gid = minter_.next(wallClockMs());
  Forwarded m;
  m.created_ms = wallClockMs();
  m.customer = s.customer();
  m.group = group.name;
  m.destination.assign(d.destination.view());
  m.pdu.append(raw);
  store::QueuedMessage q;
  q.gateway_id = gid;
  q.created_ms = m.created_ms;
  q.customer = std::string(customerName(s.customer()));
  q.destination = m.destination;
  q.pdu.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
  const uint64_t ticket = store_->putQueued(group.name, q);
  storeWritten();
  forwarded_.emplace(gid, std::move(m));
  ++fg.depth;
  forwardCount(group.name, ForwardResult::Accepted);

  // The answer: the id, once the queue entry is written (writesDone).
  const config::Customer* cust = customerCfg(s.customer());
  char idbuf[72];
  const std::string_view id =
      formatMessageId(gid, cust != nullptr ? cust->message_id_format : config::MessageIdFormat::Hex,
                      cust != nullptr ? cust->message_id_length : 16, idbuf);
  UpInFlight info;
  info.command = pdu.command_id;
  info.origin = s.ref();
  info.origin_seq = pdu.sequence_number;
  info.customer = s.customer();
  info.started_ns = loop_.cachedNs();
  const uint8_t version = s.version();
  parkAnswer(ticket, info, gid, [&](codec::Buffer& out) {
    codec::Pdu resp(codec::responseFor(pdu.command_id), pdu.sequence_number);
    resp.as<codec::MessageIdBody>().message_id = id;
    codec::encode(resp, out, {version});
  });
  parked_.back().forward = true;
  parked_receipts_.erase(gid);  // no receipt can come before it is sent
  return MtResult::forwarded();
}

void Gateway::forwardCount(const std::string& group, ForwardResult result) {
  static constexpr std::array<std::string_view, 6> kLabels = {"accepted", "sent",     "delivered",
                                                              "retried",  "rejected", "expired"};
  const auto i = static_cast<size_t>(result);
  metrics::Counter*& c = fwd_groups_[group].counted[i];
  if (c == nullptr) {
    const std::array<std::string_view, 2> labels = {group, kLabels[i]};
    c = &rt_.metrics().registry().counter(metrics::CounterFamily::ForwardMessages, labels);
  }
  c->inc();
}

void Gateway::forwardGone(const std::string& group) {
  if (auto g = fwd_groups_.find(group); g != fwd_groups_.end() && g->second.depth > 0) {
    --g->second.depth;
  }
}

void Gateway::forwardDue(uint64_t t) {
  forward_ready_ = false;
  // A failing store could not record a carrier's acceptance or a final receipt (the message
  // would stay queued and go out again after a restart): all wait in the queue until it writes.
  if (forwarded_.empty() || shutting_down_ || store_failing_) {
    return;
  }
  // Past store.delivery_ttl: the oldest first (ids are minted in time order), so this stops at
  // the first young one.
  const uint64_t wall = wallClockMs();
  const uint64_t ttl = ms(cfg().store.delivery_ttl);
  for (auto it = forwarded_.begin();
       it != forwarded_.end() && it->second.created_ms + ttl <= wall;) {
    const uint64_t gid = it->first;
    Forwarded& m = it->second;
    ++it;  // (m is erased below)
    if (m.durable && !m.in_flight) {
      forwardFinal(gid, m, codec::MessageState::Expired, 0);
    }
  }
  size_t sends = 0;
  for (auto& [name, fg] : fwd_groups_) {
    if (fg.blocked_until > t) {
      continue;
    }
    while (!fg.due.empty() && fg.due.begin()->first <= t && sends < kSendsPerCall) {
      const uint64_t gid = fg.due.begin()->second;
      fg.due.erase(fg.due.begin());
      auto it = forwarded_.find(gid);
      if (it == forwarded_.end() || !it->second.durable || it->second.in_flight) {
        continue;  // gone, or not sendable (it is scheduled again when it is)
      }
      const SendResult r = sendForwarded(gid, it->second, t);
      if (r == SendResult::Sent) {
        ++sends;
        continue;
      }
      it = forwarded_.find(gid);  // (a message that cannot be decoded is gone by now)
      if (it == forwarded_.end()) {
        continue;
      }
      fg.due.emplace(it->second.next_ms, gid);
      if (r == SendResult::GroupBlocked) {
        fg.blocked_until = it->second.next_ms;
        break;
      }
    }
  }
}
void Gateway::forwardOutcome(const UpInFlight& info, uint32_t status, const codec::Pdu* resp,
                             UpstreamRt from) {
  auto it = forwarded_.find(info.gateway_id);
  if (it == forwarded_.end()) {
    return;
  }
  Forwarded& m = it->second;
  m.in_flight = false;
  const std::string_view* mid = resp != nullptr ? responseMessageId(*resp) : nullptr;
  if (status == st::ESME_ROK) {
    // Accepted: the mapping under the id the customer has (none if the carrier gave no id:
    // nothing to map its receipts by, but the carrier has it); the queue entry goes.
    if (mid != nullptr && !mid->empty()) {
      codec::MessageIdKey key;
      ids_.normalise(from, *mid, false, key);
      const store::MappingView stored =
          ids_.record(mappingFor(info, info.gateway_id, from, *mid, key.view(), now()));
      dequeue(m.group, info.gateway_id, true);
      ids_.release(stored);  // (receipts that came before it go on now)
    } else {
      dequeue(m.group, info.gateway_id, false);
    }
    forwardCount(m.group, ForwardResult::Delivered);
    forwardGone(m.group);
    forwarded_.erase(it);
    return;
  }
  const config::Group* g = nullptr;
  for (const auto& grp : cfg().groups) {
    g = grp.name == m.group ? &grp : g;
  }
  const bool temporary =
      resp == nullptr || status == st::ESME_RTHROTTLED || status == st::ESME_RMSGQFUL ||
      status == gwstatus::kNoUpstream || status == gwstatus::kShuttingDown ||
      (g != nullptr && std::find(g->retry_statuses.begin(), g->retry_statuses.end(), status) !=
                           g->retry_statuses.end());
  if (temporary) {
    m.next_ms = now() + backoffMs(m.attempts);
    fwd_groups_[m.group].due.emplace(m.next_ms, info.gateway_id);
    forwardCount(m.group, ForwardResult::Retried);
    return;
  }
  forwardFinal(info.gateway_id, m, codec::MessageState::Rejected, status);
}

void Gateway::forwardFinal(uint64_t gateway_id, Forwarded& m, codec::MessageState state,
                           uint32_t err) {
  forwardCount(m.group, state == codec::MessageState::Expired ? ForwardResult::Expired
                                                              : ForwardResult::Rejected);
  const config::Customer* cust = customerCfg(m.customer);
  codec::Pdu p;
  bool with_receipt = false;  // the queue entry goes with the receipt's write
  if (cust != nullptr && !codec::decode(m.pdu.view(), p)) {
    // The final outcome as a receipt, as a carrier would send it, if the customer asked for one.
    const SubmitFields f = submitFields(p);
    char idbuf[72];
    const std::string_view id =
        formatMessageId(gateway_id, cust->message_id_format, cust->message_id_length, idbuf);
    const std::string date_submit = receiptDate(m.created_ms);
    const std::string date_done = receiptDate(wallClockMs());
    char errbuf[16];
    std::snprintf(errbuf, sizeof errbuf, "%03u", err & 0xFFFu);
    std::string text;
    if (f.data_coding == 0 || f.data_coding == 1 || f.data_coding == 3) {
      text.assign(reinterpret_cast<const char*>(f.short_message.data()),
                  std::min<size_t>(f.short_message.size(), 20));
    }
    codec::Receipt r;
    r.set(codec::ReceiptField::Id, id);
    r.set(codec::ReceiptField::Sub, "001");
    r.set(codec::ReceiptField::Dlvrd, "000");
    r.set(codec::ReceiptField::SubmitDate, date_submit);
    r.set(codec::ReceiptField::DoneDate, date_done);
    r.set(codec::ReceiptField::Stat, state == codec::MessageState::Expired ? "EXPIRED" : "REJECTD");
    r.set(codec::ReceiptField::Err, errbuf);
    r.set(codec::ReceiptField::Text, text);
    std::string body;
    codec::formatReceipt(r, body);
    codec::Pdu dlr(CommandId::deliver_sm, 0);
    auto& b = dlr.as<codec::SmBody>();
    b.source_addr_ton = f.dest_ton;
    b.source_addr_npi = f.dest_npi;
    b.source_addr = f.destination;
    b.dest_addr_ton = f.source_ton;
    b.dest_addr_npi = f.source_npi;
    b.destination_addr = f.source;
    b.esm_class = 0x04;
    b.short_message = codec::asBytes(body);
    dlr.tlvs.addCString(codec::tag::receipted_message_id, id);
    dlr.tlvs.addU8(codec::tag::message_state, static_cast<uint8_t>(state));
    if (receiptWanted(cust->receipts, f.registered_delivery, dlr)) {
      codec::Buffer out;
      codec::encode(dlr, out, {0x50});
      Delivery d;
      d.command = CommandId::deliver_sm;
      d.version_needed = codec::tlvVersionNeeded(dlr.tlvs);
      // No carrier waits for this one; it leaves the queue in the same write.
      outboxes_->accept(m.customer, out.view(), d, Outboxes::Dequeue{m.group, gateway_id});
      with_receipt = true;
    }
  }
  if (!with_receipt) {
    dequeue(m.group, gateway_id, false);
  }
  forwardGone(m.group);
  forwarded_.erase(gateway_id);
}

bool Gateway::dequeue(const std::string& group, uint64_t gateway_id, bool mapped) {
  Dequeue q{0, group, gateway_id, mapped};
  store::MappingView m;
  const bool lost = mapped && !ids_.mappings().byGatewayId(gateway_id, m);
  if (lost) {
    q.mapped = false;  // (evicted from memory while the store was failing)
  }
  q.ticket = q.mapped ? store_->dequeueWithMapping(group, recordFor(m))
                      : store_->removeQueued(group, gateway_id);
  storeWritten();
  dequeues_.push_back(std::move(q));
  return !lost;
}

void Gateway::redoDequeues() {
  std::vector<Dequeue> again = std::move(dequeues_failed_);
  dequeues_failed_.clear();
  size_t lost = 0;
  for (const Dequeue& q : again) {
    lost += dequeue(q.group, q.gateway_id, q.mapped) ? 0 : 1;
  }
  if (lost > 0) {
    // Their carrier accepted them while the store failed, and memory evicted their mappings
    // before it took writes again: their receipts will not match.
    log::warn("forward_mappings_lost", "count", lost);
  }
}

void Gateway::restoreForwarded(const std::string& group, std::vector<store::QueuedMessage> got) {
  for (store::QueuedMessage& q : got) {
    auto c = customer_by_system_id_.find(q.customer);
    if (c == customer_by_system_id_.end() || forwarded_.contains(q.gateway_id)) {
      continue;  // its customer is gone from the configuration: on disk until delivery_ttl
    }
    Forwarded m;
    m.created_ms = q.created_ms;
    m.customer = c->second;
    m.group = group;
    m.destination = std::move(q.destination);
    m.pdu.append(codec::Bytes(reinterpret_cast<const uint8_t*>(q.pdu.data()), q.pdu.size()));
    m.durable = true;
    forwarded_.emplace(q.gateway_id, std::move(m));
    ForwardGroup& fg = fwd_groups_[group];
    ++fg.depth;
    fg.due.emplace(0, q.gateway_id);
  }
  forwardDue(now());
}

void Gateway::readForwardQueue(const std::string& group, bool at_start) {
  ForwardGroup& fg = fwd_groups_[group];
  const uint32_t limit = cfg().limits.max_queue_per_group;
  if (fg.reading || fg.depth >= limit) {
    return;
  }
  const size_t want = limit - fg.depth;
  fg.reading = true;
  forward_restoring_ += at_start ? 1 : 0;
  store_->readQueue(group, fg.loaded_to, want,
                    [this, group, want, at_start](std::vector<store::QueuedMessage> got, bool ok) {
                      forwardQueueRead(group, want, at_start, std::move(got), ok);
                    });
}

void Gateway::forwardQueueRead(const std::string& group, size_t want, bool at_start,
                               std::vector<store::QueuedMessage> got, bool ok) {
  ForwardGroup& g = fwd_groups_[group];
  g.reading = false;
  forward_restoring_ -= at_start ? 1 : 0;
  if (!ok) {
    log::error("store_queue_unreadable", "group", group, "reason", store_->lastError(), "action",
               "read again in 10 s");
    g.on_disk = true;
    g.next_read_ms = now() + 10'000;
    restoreForwarded(group, {});
    return;
  }
  // A full read: more may wait (read once the queue is down to half).
  g.on_disk = got.size() == want;
  if (!got.empty()) {
    g.loaded_to = std::max(g.loaded_to, got.back().gateway_id);
  }
  // Messages accepted since the start are in memory until they leave; one that left may still be
  // on disk (its removal not yet committed, or refused): never read back.
  const uint64_t newest_at_open = store_->openInfo().max_queued_id;
  if (std::erase_if(
          got, [&](const store::QueuedMessage& q) { return q.gateway_id > newest_at_open; }) > 0) {
    g.on_disk = false;  // (all from before the start is read)
  }
  restoreForwarded(group, std::move(got));
}

void Gateway::forwardReadMore(uint64_t t) {
  const uint32_t limit = cfg().limits.max_queue_per_group;
  for (auto& [name, fg] : fwd_groups_) {
    if (fg.on_disk && !fg.reading && fg.depth <= limit / 2 && t >= fg.next_read_ms &&
        !store_failing_) {
      readForwardQueue(name, false);
    }
  }
}

void Gateway::publishForwardGauges() {
  auto& reg = rt_.metrics().registry();
  const uint64_t wall = wallClockMs();
  // In id order the first of each group is its oldest: stop once every queued group is seen.
  size_t groups = 0;
  for (const auto& [group, fg] : fwd_groups_) {
    groups += fg.depth > 0 ? 1 : 0;
  }
  std::unordered_map<std::string, uint64_t> oldest;
  for (auto it = forwarded_.begin(); it != forwarded_.end() && oldest.size() < groups; ++it) {
    oldest.try_emplace(it->second.group, it->second.created_ms);
  }
  for (const auto& [group, fg] : fwd_groups_) {
    reg.gauge(metrics::GaugeFamily::ForwardQueued, {group}).set(fg.depth);
    auto o = oldest.find(group);
    reg.gauge(metrics::GaugeFamily::ForwardOldest, {group})
        .set(o == oldest.end() || o->second > wall
                 ? 0
                 : static_cast<int64_t>((wall - o->second) / 1000));
  }
}

}  // namespace smppgw
