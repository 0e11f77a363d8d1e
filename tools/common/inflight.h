#pragma once
// Requests awaiting a response, indexed by sequence number in a power-of-two ring. A sequence
// number whose slot is still held by an older, unanswered request is skipped (SMPP does not need
// consecutive numbers), so lookups are one index and one compare and never collide. Oldest-first
// expiry walks from the tail, amortised O(1).

#include <cstdint>
#include <memory>

namespace smppgw::tools {

template <class Payload>
class InflightRing {
 public:
  struct Slot {
    uint32_t seq = 0;  // 0: free
    uint64_t sent_ns = 0;
    Payload payload{};
  };

  explicit InflightRing(size_t min_capacity) {
    size_t cap = 16;
    while (cap < min_capacity) {
      cap <<= 1;
    }
    mask_ = cap - 1;
    slots_ = std::make_unique<Slot[]>(cap);
  }

  size_t size() const { return count_; }
  size_t capacity() const { return mask_ + 1; }

  // Allocates the next free sequence number; null when every slot is taken.
  Slot* allocate() {
    if (count_ > mask_) {
      return nullptr;
    }
    for (;;) {
      uint32_t seq = next_;
      next_ = next_ >= 0x7FFFFFFFu ? 1 : next_ + 1;
      Slot& s = slots_[seq & mask_];
      if (s.seq == 0) {
        s.seq = seq;
        ++count_;
        if (count_ == 1) {
          tail_ = seq;
        }
        return &s;
      }
    }
  }
  // The outstanding request with this sequence number, or null.
  Slot* find(uint32_t seq) {
    Slot& s = slots_[seq & mask_];
    return s.seq == seq && seq != 0 ? &s : nullptr;
  }
  void release(Slot* s) {
    s->seq = 0;
    --count_;
  }
  // The oldest outstanding request (null when none).
  Slot* oldest() {
    if (count_ == 0) {
      return nullptr;
    }
    for (;;) {
      Slot& s = slots_[tail_ & mask_];
      if (s.seq == tail_) {
        return &s;
      }
      tail_ = tail_ >= 0x7FFFFFFFu ? 1 : tail_ + 1;
    }
  }
  // Calls fn(slot) for every outstanding request (used when a session dies).
  template <class Fn>
  void forEach(Fn&& fn) {
    for (size_t i = 0; i <= mask_ && count_ != 0; ++i) {
      if (slots_[i].seq != 0) {
        fn(slots_[i]);
      }
    }
  }

 private:
  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
  uint32_t next_ = 1;
  uint32_t tail_ = 1;
};

}  // namespace smppgw::tools
