#include "gateway/outbox.h"

#include <algorithm>

#include "codec/decode.h"
#include "codec/encode.h"
#include "gateway/downstream.h"
#include "gateway/gateway_internal.h"

namespace smppgw {

namespace st = codec::status;

namespace {

// The customer cannot take it now (it says so): sent again after a pause, not dropped.
bool temporary(uint32_t status) {
  return status == st::ESME_RX_T_APPN || status == st::ESME_RTHROTTLED ||
         status == st::ESME_RMSGQFUL;
}

}  // namespace

void Outboxes::restore(CustomerRt customer, uint64_t stored) {
  Customer& c = at(customer);
  c.stored = stored;
  c.on_disk = stored > 0;
}

void Outboxes::accept(CustomerRt customer, codec::Bytes pdu, const Delivery& d,
                      std::optional<Dequeue> dequeue) {
  Customer& c = at(customer);
  // Handed through only when a carrier keeps it until the customer answers: never one the
  // gateway made itself (a store_and_forward outcome), which exists nowhere else.
  if (d.from.upstream.valid() && !dequeue && c.queue.empty() && !c.on_disk && c.writing == 0 &&
      c.paused_until_ms <= rt_.now()) {
    if (DownstreamSession* s = pick(c)) {
      // Handed through: no write, the carrier waits for the customer's answer.
      Entry e;
      e.command = d.command;
      e.version_needed = d.version_needed;
      Delivery through = d;
      through.customer = customer;
      through.outbox_id = 0;
      count(customer, metrics::DeliveryResult::Sent);
      if (s->version() >= d.version_needed) {
        s->sendDelivery(pdu, through);
      } else {
        codec::Pdu p;
        if (codec::decode(pdu, p)) {
          host_.answerCarrier(d.from, d.command, d.upstream_seq, gwstatus::kDeliveryLater);
          return;
        }
        scratch_.clear();
        codec::encode(p, scratch_, {s->version()});
        s->sendDelivery(scratch_.view(), through);
      }
      ++c.through;
      return;
    }
  }
  Writing w;
  w.customer = customer;
  w.d = d;
  w.e.id = host_.nextDeliveryId();
  w.e.created_ms = wallClockMs();
  w.e.command = d.command;
  w.e.version_needed = d.version_needed;
  w.e.pdu.append(pdu);
  if (dequeue) {
    w.dequeue_group.assign(dequeue->group);
    w.dequeue_id = dequeue->gateway_id;
  }
  write(std::move(w));
}

void Outboxes::write(Writing w) {
  ++at(w.customer).writing;
  store::StoredDelivery sd;
  sd.id = w.e.id;
  sd.created_ms = w.e.created_ms;
  sd.command = static_cast<uint32_t>(w.e.command);
  sd.version_needed = w.e.version_needed;
  sd.pdu.assign(reinterpret_cast<const char*>(w.e.pdu.data()), w.e.pdu.size());
  const std::string_view name = host_.customerName(w.customer);
  w.ticket = w.dequeue_group.empty()
                 ? store_.putDelivery(name, sd)
                 : store_.dequeueWithDelivery(w.dequeue_group, w.dequeue_id, name, sd);
  host_.storeWritten();
  writing_.push_back(std::move(w));
}

void Outboxes::storeWritable() {
  std::vector<Writing> again = std::move(unwritten_);
  unwritten_.clear();
  for (Writing& w : again) {
    // A new id: never written under the old one, and a read of the outbox may have passed it.
    w.e.id = host_.nextDeliveryId();
    write(std::move(w));
  }
  std::vector<Removal> removals = std::move(unremoved_);
  unremoved_.clear();
  for (const Removal& r : removals) {
    writeRemoval(r.customer, r.id);
  }
}

void Outboxes::writesDone(uint64_t ticket, bool ok) {
  std::vector<CustomerRt> touched;
  while (!writing_.empty() && writing_.front().ticket <= ticket) {
    Writing w = std::move(writing_.front());
    writing_.pop_front();
    if (Customer& wc = at(w.customer); wc.writing > 0) {
      --wc.writing;
    }
    if (!ok && !w.d.from.upstream.valid()) {
      // The gateway's own (no carrier keeps it; a store_and_forward message stays queued with
      // it): written again once the store takes writes, then delivered as any other.
      unwritten_.push_back(std::move(w));
      continue;
    }
    if (!ok) {
      // Not stored: the carrier keeps it and sends it again.
      if (auto* m = host_.customerMetrics(w.customer)) {
        m->deliveries[static_cast<size_t>(metrics::DeliveryResult::Deferred)]->inc();
      }
      host_.answerCarrier(w.d.from, w.d.command, w.d.upstream_seq, gwstatus::kDeliveryLater);
      continue;
    }
    host_.answerCarrier(w.d.from, w.d.command, w.d.upstream_seq, st::ESME_ROK);
    if (w.d.settles != 0) {
      host_.receiptSettled(w.d.settles);
    }
    count(w.customer, metrics::DeliveryResult::Stored);
    Customer& c = at(w.customer);
    ++c.stored;
    c.newest_durable = std::max(c.newest_durable, w.e.id);
    if (w.e.id <= c.loaded_to) {
      continue;  // a read of the store found it first (it was committed before this report)
    }
    if (c.on_disk || c.queue.size() >= kMemoryMax || c.receivers.empty()) {
      // Behind others on disk, or nobody to send it to: read back in its turn (an offline
      // customer's backlog costs no memory).
      c.on_disk = true;
      continue;
    }
    c.loaded_to = w.e.id;
    c.queue.push_back(std::move(w.e));
    if (touched.empty() || touched.back() != w.customer) {
      touched.push_back(w.customer);
    }
  }
  while (!removing_.empty() && removing_.front().ticket <= ticket) {
    if (!ok) {
      // Still on disk: a restart would deliver it again. Removed once the store takes writes.
      unremoved_.push_back(removing_.front());
    }
    removing_.pop_front();
  }
  for (CustomerRt customer : touched) {
    drain(customer);
  }
}

void Outboxes::receiverBound(CustomerRt customer, SessionRef ref) {
  at(customer).receivers.push_back(ref);
  drain(customer);
}

void Outboxes::receiverClosed(CustomerRt customer, SessionRef ref) {
  Customer& c = at(customer);
  std::erase_if(c.receivers, [&](const SessionRef& r) { return r.index == ref.index; });
  drain(customer);
}

DownstreamSession* Outboxes::pick(Customer& c) {
  const size_t n = c.receivers.size();
  for (size_t k = 0; k < n; ++k) {
    DownstreamSession* s = host_.session(c.receivers[(c.rr + k) % n]);
    if (s != nullptr && s->acceptsDeliveries() && !s->notReading() && s->deliveryRoom()) {
      c.rr = static_cast<uint32_t>((c.rr + k + 1) % n);
      return s;
    }
  }
  return nullptr;
}

bool Outboxes::send(DownstreamSession& s, CustomerRt customer, const Entry& e) {
  Delivery d;
  d.customer = customer;
  d.command = e.command;
  d.version_needed = e.version_needed;
  d.outbox_id = e.id;
  count(customer, metrics::DeliveryResult::Sent);
  if (s.version() >= e.version_needed) {
    s.sendDelivery(e.pdu.view(), d);
    return true;
  }
  // Older peers get no v5.0 TLVs (3.3: no TLVs at all): re-encode for them.
  codec::Pdu p;
  if (codec::decode(e.pdu.view(), p)) {
    return false;
  }
  scratch_.clear();
  codec::encode(p, scratch_, {s.version()});
  s.sendDelivery(scratch_.view(), d);
  return true;
}

void Outboxes::drain(CustomerRt customer) {
  Customer& c = at(customer);
  if (c.paused_until_ms > rt_.now()) {
    return;
  }
  while (!c.queue.empty()) {
    DownstreamSession* s = pick(c);
    if (s == nullptr) {
      break;
    }
    Entry e = std::move(c.queue.front());
    c.queue.pop_front();
    if (!send(*s, customer, e)) {
      remove(customer, e.id);  // cannot be encoded for this customer: never will be
      count(customer, metrics::DeliveryResult::Failed);
      continue;
    }
    const uint64_t id = e.id;
    c.sent.emplace(id, std::move(e));
  }
  if (c.on_disk && c.queue.size() < kMemoryMax / 2 && !c.receivers.empty()) {
    readBack(customer);
  }
}

void Outboxes::readBack(CustomerRt customer) {
  Customer& c = at(customer);
  if (c.reading) {
    return;
  }
  c.reading = true;
  const size_t want = kMemoryMax - c.queue.size();
  const uint64_t newest_at_read = c.newest_durable;
  auto done = [this, customer, want, newest_at_read](std::vector<store::StoredDelivery> got,
                                                     bool ok) {
    Customer& cc = at(customer);
    cc.reading = false;
    if (!ok) {
      return;  // tried again from the tick
    }
    for (store::StoredDelivery& sd : got) {
      cc.loaded_to = sd.id;
      if (cc.sent.contains(sd.id)) {
        continue;  // (sent before a requeue read it back again)
      }
      Entry e;
      e.id = sd.id;
      e.created_ms = sd.created_ms;
      e.command = static_cast<codec::CommandId>(sd.command);
      e.version_needed = sd.version_needed;
      e.pdu.append(codec::Bytes(reinterpret_cast<const uint8_t*>(sd.pdu.data()), sd.pdu.size()));
      cc.queue.push_back(std::move(e));
    }
    // A read that came back short saw everything written before it was issued; only what
    // became durable since may still be on disk (expired ones never come back). Then read on.
    if (got.size() < want && cc.newest_durable <= newest_at_read) {
      cc.on_disk = false;
      // All it holds is in memory now: what the count says beyond was removed on disk by
      // store.delivery_ttl before it was ever read back.
      const uint64_t held = cc.queue.size() + cc.sent.size();
      if (cc.stored > held) {
        if (auto* m = host_.customerMetrics(customer)) {
          m->deliveries[static_cast<size_t>(metrics::DeliveryResult::Expired)]->add(cc.stored -
                                                                                    held);
        }
        cc.stored = held;
      }
    }
    drain(customer);
  };
  store_.readOutbox(std::string(host_.customerName(customer)), c.loaded_to, want, std::move(done));
}

void Outboxes::requeue(CustomerRt customer, Entry e) {
  Customer& c = at(customer);
  count(customer, metrics::DeliveryResult::Redelivered);
  // Back in its place by id: the front, usually.
  auto pos = std::upper_bound(c.queue.begin(), c.queue.end(), e.id,
                              [](uint64_t id, const Entry& x) { return id < x.id; });
  c.queue.insert(pos, std::move(e));
}

void Outboxes::remove(CustomerRt customer, uint64_t id) {
  Customer& c = at(customer);
  if (c.stored > 0) {
    --c.stored;
  }
  writeRemoval(customer, id);
}

void Outboxes::writeRemoval(CustomerRt customer, uint64_t id) {
  removing_.push_back({store_.removeDelivery(host_.customerName(customer), id), customer, id});
  host_.storeWritten();
}

void Outboxes::answered(CustomerRt customer, const Delivery& d, uint32_t status) {
  Customer& c = at(customer);
  if (d.outbox_id == 0) {
    // Handed through: the customer's answer is the carrier's (a temporary error: it retries).
    if (c.through > 0) {
      --c.through;
    }
    count(customer, status == st::ESME_ROK ? metrics::DeliveryResult::Acked
                                           : metrics::DeliveryResult::Failed);
    host_.answerCarrier(d.from, d.command, d.upstream_seq, status);
    if (d.settles != 0 && !temporary(status)) {
      host_.receiptSettled(d.settles);
    }
    drain(customer);
    return;
  }
  auto it = c.sent.find(d.outbox_id);
  if (it == c.sent.end()) {
    return;
  }
  Entry e = std::move(it->second);
  c.sent.erase(it);
  if (temporary(status)) {
    c.paused_until_ms = rt_.now() + kRetryPauseMs;
    requeue(customer, std::move(e));
    return;
  }
  count(customer,
        status == st::ESME_ROK ? metrics::DeliveryResult::Acked : metrics::DeliveryResult::Failed);
  remove(customer, e.id);
  drain(customer);
}

void Outboxes::failed(const Delivery& d, metrics::DeferReason reason) {
  Customer& c = at(d.customer);
  if (d.outbox_id == 0) {
    // Handed through and not answered: the carrier keeps it and sends it again.
    if (c.through > 0) {
      --c.through;
    }
    if (auto* m = host_.customerMetrics(d.customer)) {
      m->deliveries[static_cast<size_t>(metrics::DeliveryResult::Deferred)]->inc();
      m->deferred[static_cast<size_t>(reason)]->inc();
    }
    host_.answerCarrier(d.from, d.command, d.upstream_seq, gwstatus::kDeliveryLater);
    return;
  }
  auto it = c.sent.find(d.outbox_id);
  if (it == c.sent.end()) {
    return;
  }
  Entry e = std::move(it->second);
  c.sent.erase(it);
  requeue(d.customer, std::move(e));
  drain(d.customer);
}

void Outboxes::tick(uint64_t now) {
  const uint64_t ttl = static_cast<uint64_t>(rt_.cfg().store.delivery_ttl.count());
  const uint64_t wall = wallClockMs();
  for (size_t i = 0; i < customers_.size(); ++i) {
    const CustomerRt customer(static_cast<uint32_t>(i));
    Customer& c = customers_[i];
    // Past delivery_ttl while waiting in memory (on disk the store's expiry removes them).
    while (!c.queue.empty() && c.queue.front().created_ms + ttl <= wall) {
      count(customer, metrics::DeliveryResult::Expired);
      remove(customer, c.queue.front().id);
      c.queue.pop_front();
    }
    if (c.paused_until_ms != 0 && c.paused_until_ms <= now) {
      c.paused_until_ms = 0;
      drain(customer);
    } else if (c.on_disk && !c.reading && !c.receivers.empty() && c.queue.empty()) {
      drain(customer);  // (a read that failed, or a backlog nothing else woke)
    }
  }
}

}  // namespace smppgw
