#pragma once
// Requests sent and not yet answered, keyed by the sequence number we gave them. Lookups are O(1)
// (flat map); expiry walks a FIFO of send order, so the oldest request is always at the front
// (every request on one peer has the same timeout, so deadlines are in send order too).

#include <cstdint>
#include <deque>

#include "base/flat_map.h"

namespace smppgw {

// T must have a `uint64_t deadline_ms` member.
template <class T>
class InFlightTable {
 public:
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

  // Next sequence number: 1..0x7FFFFFFF, wrapping, skipping numbers still outstanding.
  uint32_t nextSeq() {
    for (;;) {
      uint32_t s = next_;
      next_ = next_ >= 0x7FFFFFFFu ? 1u : next_ + 1u;
      if (map_.find(s) == nullptr) {
        return s;
      }
    }
  }

  // Returns the stored entry (valid until the next insert/take).
  T& insert(uint32_t seq, const T& value) {
    T& stored = map_.put(seq, value);
    order_.push_back(seq);
    trimFront();
    return stored;
  }
  T* find(uint32_t seq) { return map_.find(seq); }
  bool take(uint32_t seq, T& out) {
    T* v = map_.find(seq);
    if (v == nullptr) {
      return false;
    }
    out = std::move(*v);
    map_.erase(seq);
    return true;
  }

  // Calls fn(seq, T&&) for every entry whose deadline has passed, oldest first.
  template <class Fn>
  void expire(uint64_t now_ms, Fn&& fn) {
    while (!order_.empty()) {
      uint32_t seq = order_.front();
      T* v = map_.find(seq);
      if (v == nullptr) {
        order_.pop_front();
        continue;
      }
      if (v->deadline_ms > now_ms) {
        return;
      }
      T taken = std::move(*v);
      map_.erase(seq);
      order_.pop_front();
      fn(seq, std::move(taken));
    }
  }

  // Removes every entry, calling fn(seq, T&&) for each (a connection died).
  template <class Fn>
  void drain(Fn&& fn) {
    while (!order_.empty()) {
      uint32_t seq = order_.front();
      order_.pop_front();
      T taken;
      if (take(seq, taken)) {
        fn(seq, std::move(taken));
      }
    }
    map_.clear();
  }

  // Oldest outstanding deadline, or 0 if none.
  uint64_t oldestDeadline() {
    trimFront();
    if (order_.empty()) {
      return 0;
    }
    return map_.find(order_.front())->deadline_ms;
  }

 private:
  // Answered entries at the front are dropped so the FIFO stays about window-sized.
  void trimFront() {
    while (!order_.empty() && map_.find(order_.front()) == nullptr) {
      order_.pop_front();
    }
  }

  FlatMap64<T> map_{64};
  std::deque<uint32_t> order_;
  uint32_t next_ = 1;
};

}  // namespace smppgw
