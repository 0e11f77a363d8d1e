#pragma once
// The customer sessions by SessionRef: a slot per session, reused once it closes, with a
// generation that changes on reuse so a late response or delivery for a session that has gone is
// recognised (find() returns nullptr) instead of reaching its successor. A closed session's object
// is freed at the end of the loop iteration: one of its callbacks may still be on the stack.

#include <cstdint>
#include <memory>
#include <vector>

#include "gateway/downstream.h"
#include "gateway/types.h"
#include "net/loop.h"

namespace smppgw {

class SessionTable {
 public:
  explicit SessionTable(net::Loop& loop) : loop_(loop) {}

  // A free slot for a new session; then put() the session made with that ref.
  SessionRef reserve() {
    SessionRef ref;
    if (!free_.empty()) {
      ref.index = free_.back();
      free_.pop_back();
    } else {
      ref.index = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
      generations_.push_back(0);
    }
    ref.generation = ++generations_[ref.index];
    return ref;
  }
  DownstreamSession& put(SessionRef ref, std::unique_ptr<DownstreamSession> s) {
    slots_[ref.index] = std::move(s);
    ++open_;
    return *slots_[ref.index];
  }
  // The live session `ref` names, or nullptr (closed, or the slot was reused).
  DownstreamSession* find(SessionRef ref) const {
    if (ref.index >= slots_.size() || generations_[ref.index] != ref.generation) {
      return nullptr;
    }
    DownstreamSession* s = slots_[ref.index].get();
    return s != nullptr && !s->closed() ? s : nullptr;
  }
  // Frees the slot now (a new session may take it), the object at the end of the iteration.
  void release(SessionRef ref) {
    ++generations_[ref.index];
    closing_.push_back(std::move(slots_[ref.index]));
    free_.push_back(ref.index);
    --open_;
    if (closing_.size() == 1) {
      loop_.defer([this] { closing_.clear(); });
    }
  }
  // Sessions open (any state).
  size_t open() const { return open_; }
  // Calls f(DownstreamSession&) for every session not closed.
  template <class F>
  void forEach(F&& f) {
    for (auto& s : slots_) {
      if (s != nullptr && !s->closed()) {
        f(*s);
      }
    }
  }

 private:
  net::Loop& loop_;
  std::vector<std::unique_ptr<DownstreamSession>> slots_;  // by SessionRef::index
  std::vector<uint32_t> generations_;
  std::vector<uint32_t> free_;
  std::vector<std::unique_ptr<DownstreamSession>> closing_;  // freed at the end of the iteration
  size_t open_ = 0;
};

}  // namespace smppgw
