#include "gateway/deliveries.h"

#include <algorithm>

#include "codec/decode.h"
#include "codec/encode.h"
#include "gateway/downstream.h"

namespace smppgw {

namespace {

// A customer that answered a delivery this recently keeps up (it may borrow unused room).
constexpr uint64_t kKeepingUpMs = 1000;

// One carrier connection (its window dies with it, so the generation is part of the key).
uint64_t bindKey(BindRef b) {
  return (uint64_t{b.upstream.value & 0xFFFFu} << 48) | (uint64_t{b.bind & 0xFFFFu} << 32) |
         b.generation;
}

}  // namespace

void DeliveryQueues::receiverBound(CustomerRt customer, SessionRef ref) {
  at(customer).receivers.push_back(ref);
  drain(customer);
}

void DeliveryQueues::receiverClosed(CustomerRt customer, SessionRef ref) {
  Customer& c = at(customer);
  std::erase_if(c.receivers, [&](const SessionRef& r) { return r.index == ref.index; });
  if (!c.pending.empty()) {
    drain(customer);  // to another receiver, or back to the carrier
  }
}

DownstreamSession* DeliveryQueues::pick(Customer& c, metrics::DeferReason& why) {
  why = metrics::DeferReason::NoReceiver;
  const size_t n = c.receivers.size();
  for (size_t k = 0; k < n; ++k) {
    DownstreamSession* s = host_.session(c.receivers[(c.rr + k) % n]);
    if (s == nullptr || !s->acceptsDeliveries()) {
      continue;
    }
    if (s->notReading()) {
      if (why == metrics::DeferReason::NoReceiver) {
        why = metrics::DeferReason::NotReading;
      }
      continue;
    }
    if (s->deliveryRoom()) {
      c.rr = static_cast<uint32_t>((c.rr + k + 1) % n);
      return s;
    }
    why = metrics::DeferReason::QueueFull;  // a reading receiver, only busy: worth a wait
  }
  return nullptr;
}

bool DeliveryQueues::keepingUp(const Customer& c) const {
  // Since it began holding deliveries it has answered one, or it began less than a second ago.
  return c.held == 0 || c.last_answer_ms >= c.held_since_ms ||
         rt_.now() - c.held_since_ms < kKeepingUpMs;
}

void DeliveryQueues::deliver(CustomerRt customer, codec::Bytes pdu, Delivery d,
                             SessionRef preferred) {
  Customer& c = at(customer);
  d.customer = customer;
  const uint64_t bk = bindKey(d.from);
  uint32_t* on_bind = c.held_by_bind.find(bk);
  uint32_t* bind_total = bind_held_.find(bk);
  if (on_bind != nullptr && *on_bind >= host_.deliveryShare(d.from.upstream)) {
    // Over its share. A customer alone on the bind that keeps up may borrow the room nobody
    // else uses (a burst of receipts does not bounce); one that shares the bind, or holds
    // deliveries and has answered none for a second, may not: that is how a receiver that
    // stopped reading looks before timers.delivery_response says so.
    const bool alone = bind_total != nullptr && *bind_total == *on_bind;
    if (!alone || !keepingUp(c)) {
      refuse(d, metrics::DeferReason::ShareFull);
      return;
    }
  }
  DownstreamSession* target = nullptr;
  metrics::DeferReason why = metrics::DeferReason::NoReceiver;
  if (c.pending.empty()) {
    if (preferred.valid()) {
      DownstreamSession* s = host_.session(preferred);
      if (s != nullptr && s->customer() == customer && s->acceptsDeliveries() && !s->notReading() &&
          s->deliveryRoom()) {
        target = s;
      }
    }
    if (target == nullptr) {
      target = pick(c, why);
    }
  } else {
    why = metrics::DeferReason::QueueFull;  // others wait already: behind them
  }
  if (target == nullptr) {
    // Waiting makes sense only for a receiver that reads and is busy; with none (not bound, or
    // not reading) the carrier keeps the message and retries.
    if (why != metrics::DeferReason::QueueFull ||
        c.pending.size() >= rt_.cfg().limits.max_pending_deliveries_per_customer) {
      refuse(d, why);
      return;
    }
  }
  if (c.held++ == 0) {
    c.held_since_ms = rt_.now();
  }
  if (on_bind != nullptr) {
    ++*on_bind;
  } else {
    c.held_by_bind.put(bk, 1);
  }
  if (bind_total != nullptr) {
    ++*bind_total;
  } else {
    bind_held_.put(bk, 1);
  }
  if (target != nullptr) {
    if (!send(*target, pdu, d)) {
      finish(d, gwstatus::kDeliveryLater);  // could not be re-encoded for its version
    }
    return;
  }
  count(customer, metrics::DeliveryResult::Queued);
  Waiting& w = c.pending.emplace_back();
  w.pdu.append(pdu);
  w.d = d;
  w.queued_ms = rt_.now();
}

bool DeliveryQueues::send(DownstreamSession& s, codec::Bytes pdu, const Delivery& d) {
  count(s.customer(), metrics::DeliveryResult::Sent);
  if (s.version() >= d.version_needed) {
    s.sendDelivery(pdu, d);
    return true;
  }
  // Older peers get no v5.0 TLVs (3.3: no TLVs at all): re-encode for them.
  codec::Pdu p;
  if (codec::decode(pdu, p)) {
    return false;
  }
  scratch_.clear();
  codec::encode(p, scratch_, {s.version()});
  s.sendDelivery(scratch_.view(), d);
  return true;
}

void DeliveryQueues::drain(CustomerRt customer) {
  Customer& c = at(customer);
  while (!c.pending.empty()) {
    metrics::DeferReason why;
    DownstreamSession* target = pick(c, why);
    if (target == nullptr) {
      if (why != metrics::DeferReason::QueueFull) {
        returnWaiting(customer, why);  // no reading receiver left to wait for
      }
      return;
    }
    Waiting w = std::move(c.pending.front());
    c.pending.pop_front();
    if (!send(*target, w.pdu.view(), w.d)) {
      finish(w.d, gwstatus::kDeliveryLater);
    }
  }
}

void DeliveryQueues::returnWaiting(CustomerRt customer, metrics::DeferReason reason) {
  if (customer == kAll) {
    for (size_t i = 0; i < customers_.size(); ++i) {
      returnWaiting(CustomerRt(static_cast<uint32_t>(i)), reason);
    }
    return;
  }
  if (customer.value >= customers_.size()) {
    return;
  }
  Customer& c = customers_[customer.value];
  while (!c.pending.empty()) {
    Waiting w = std::move(c.pending.front());
    c.pending.pop_front();
    failed(w.d, reason);
  }
}

void DeliveryQueues::answered(CustomerRt customer, const Delivery& d, uint32_t status) {
  count(customer, status == 0 ? metrics::DeliveryResult::Acked : metrics::DeliveryResult::Failed);
  at(customer).last_answer_ms = rt_.now();
  // The customer's answer is the carrier's answer: a temporary error makes the carrier retry.
  finish(d, status);
  if (!customers_[customer.value].pending.empty()) {
    drain(customer);
  }
}

void DeliveryQueues::failed(const Delivery& d, metrics::DeferReason reason) {
  countDeferred(d.customer, reason);
  finish(d, gwstatus::kDeliveryLater);
}

void DeliveryQueues::readingChanged(CustomerRt customer) {
  if (customer.value < customers_.size() && !customers_[customer.value].pending.empty()) {
    drain(customer);  // to a receiver that reads, or back to the carrier if none is left
  }
}

void DeliveryQueues::refuse(const Delivery& d, metrics::DeferReason reason) {
  countDeferred(d.customer, reason);
  host_.answerCarrier(d.from, d.command, d.upstream_seq, gwstatus::kDeliveryLater);
}

void DeliveryQueues::finish(const Delivery& d, uint32_t status) {
  Customer& c = at(d.customer);
  if (c.held > 0) {
    --c.held;
  }
  // Counters at zero stay (no erase and re-insert per delivery on the receipt path); tick()
  // drops those of connections that have gone.
  const uint64_t bk = bindKey(d.from);
  if (uint32_t* n = c.held_by_bind.find(bk); n != nullptr && *n > 0) {
    --*n;
  }
  if (uint32_t* n = bind_held_.find(bk); n != nullptr && *n > 0) {
    --*n;
  }
  host_.answerCarrier(d.from, d.command, d.upstream_seq, status);
}

void DeliveryQueues::tick(uint64_t now) {
  if (now >= next_cleanup_ms_) {
    next_cleanup_ms_ = now + 1000;
    dropIdleCounters();
  }
  const uint64_t hold = static_cast<uint64_t>(rt_.cfg().timers.delivery_response.count());
  for (size_t i = 0; i < customers_.size(); ++i) {
    Customer& c = customers_[i];
    // Waited too long for room at a receiver: back to the carrier (it retries).
    while (!c.pending.empty() && now - c.pending.front().queued_ms >= hold) {
      Waiting w = std::move(c.pending.front());
      c.pending.pop_front();
      failed(w.d, metrics::DeferReason::Timeout);
    }
    // A customer that stopped keeping up gives back what it borrowed and has not been sent yet.
    if (!c.pending.empty() && !keepingUp(c)) {
      returnWaiting(CustomerRt(static_cast<uint32_t>(i)), metrics::DeferReason::ShareFull);
    }
  }
}

void DeliveryQueues::dropIdleCounters() {
  std::vector<uint64_t> idle;
  auto collect = [&](FlatMap64<uint32_t>& m) {
    idle.clear();
    m.forEach([&](uint64_t k, uint32_t& n) {
      if (n == 0) {
        idle.push_back(k);
      }
    });
    for (uint64_t k : idle) {
      m.erase(k);
    }
  };
  collect(bind_held_);
  for (Customer& c : customers_) {
    collect(c.held_by_bind);
  }
}

void DeliveryQueues::countDeferred(CustomerRt customer, metrics::DeferReason reason) {
  if (auto* m = host_.customerMetrics(customer)) {
    m->deliveries[static_cast<size_t>(metrics::DeliveryResult::Deferred)]->inc();
    m->deferred[static_cast<size_t>(reason)]->inc();
  }
}

}  // namespace smppgw
