#pragma once
// The queue in front of an upstream's binds: one FIFO lane per customer, served by weighted
// round robin (deficit round robin with a unit cost per request; customers[].weight requests a
// turn), so a customer offering ten times its share waits behind itself, not in front of
// everyone else. Within a lane requests keep their arrival order: a retry goes back to its place
// by UpInFlight::order, ahead of what the customer sent after it. Only used while requests wait:
// when a bind has room a request never enters it.

#include <algorithm>
#include <cstdint>
#include <deque>
#include <unordered_map>

#include "codec/bytes.h"
#include "gateway/types.h"

namespace smppgw {

// A queued request: waits for a bind with room. Owns a copy of the PDU.
struct QueuedRequest {
  codec::Buffer pdu;
  UpInFlight info;
  uint64_t queued_ms = 0;
};

class FairQueue {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  void push(QueuedRequest q, uint32_t weight) {
    const uint32_t key = q.info.customer.value;
    Lane& lane = lanes_[key];
    lane.weight = std::max<uint32_t>(1, weight);
    if (lane.q.empty()) {
      turn_.push_back(key);
    }
    auto at = lane.q.end();
    if (q.info.order != 0 && !lane.q.empty() &&
        orderedBefore(q.info.order, lane.q.back().info.order)) {
      at = std::find_if(lane.q.begin(), lane.q.end(), [&](const QueuedRequest& r) {
        return orderedBefore(q.info.order, r.info.order);
      });
      // Times stay monotonic in the lane: it waits no longer than the request it goes before.
      q.queued_ms = std::min(q.queued_ms, at->queued_ms);
    }
    lane.q.insert(at, std::move(q));
    ++size_;
  }

  // The next request in turn (not empty()).
  QueuedRequest pop() {
    const uint32_t key = turn_.front();
    Lane& lane = lanes_.find(key)->second;
    if (lane.credit == 0) {
      lane.credit = lane.weight;
    }
    QueuedRequest r = std::move(lane.q.front());
    lane.q.pop_front();
    --size_;
    --lane.credit;
    if (lane.q.empty()) {
      turn_.pop_front();
      lanes_.erase(key);
    } else if (lane.credit == 0) {
      turn_.pop_front();  // its turn is over: the others go first
      turn_.push_back(key);
    }
    return r;
  }

  // Takes out, lane by lane, every head request for which `expired` holds (oldest first within
  // a lane), handing each to `fail`.
  template <class Expired, class Fail>
  void expire(Expired expired, Fail fail) {
    for (auto it = turn_.begin(); it != turn_.end();) {
      Lane& lane = lanes_.find(*it)->second;
      while (!lane.q.empty() && expired(lane.q.front())) {
        QueuedRequest r = std::move(lane.q.front());
        lane.q.pop_front();
        --size_;
        fail(r);
      }
      if (lane.q.empty()) {
        lanes_.erase(*it);
        it = turn_.erase(it);
      } else {
        ++it;
      }
    }
  }

  template <class F>
  void forEach(F f) {
    for (auto& [key, lane] : lanes_) {
      for (auto& r : lane.q) {
        f(r);
      }
    }
  }

 private:
  struct Lane {
    std::deque<QueuedRequest> q;
    uint32_t weight = 1;
    uint32_t credit = 0;  // requests left in its current turn
  };
  std::unordered_map<uint32_t, Lane> lanes_;  // by CustomerRt::value
  std::deque<uint32_t> turn_;                 // lanes with requests; the head's turn now
  size_t size_ = 0;
};

}  // namespace smppgw
