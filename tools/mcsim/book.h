#pragma once
// The message book: every message id handed out, the accepted messages remembered (a ring of
// --remember records) and the broadcasts, so query_sm, cancel_sm, replace_sm and the broadcast
// family can be answered; and the journal of those by-id operations for the summary.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "codec/pdu.h"
#include "tools/mcsim/config.h"

namespace smppgw::mcsim {

class Session;
struct Counters;

class MessageBook {
 public:
  struct Record {  // one remembered message (slot = (id - id_start) & mask)
    uint64_t id = 0;
    uint64_t done_ns = 0;
    int64_t submit_unix = 0;
    int64_t done_unix = 0;
    uint8_t state = 0;  // final state it reaches at done_ns
    uint8_t err = 0;
    bool valid = false;
    bool cancelled = false;
    bool replaced = false;
  };
  // One broadcast_sm accepted: active until cancelled (the book is bounded by --remember).
  struct Broadcast {
    bool cancelled = false;
    int64_t cancelled_unix = 0;
    std::vector<std::vector<uint8_t>> areas;  // broadcast_area_identifier values
  };
  // One by-id operation seen (query/cancel/replace, the broadcast family).
  struct Operation {
    uint32_t command_id = 0;
    std::string message_id;
    uint32_t status = 0;
  };

  MessageBook(const Config& cfg, Counters& counters);

  uint64_t nextId() { return next_id_++; }
  // The record slot of `id` (it may hold an older id, or nothing).
  Record& slot(uint64_t id) { return records_[(id - cfg_.id_start) & records_mask_]; }
  // True if `id` is remembered and was cancelled before its receipt was due.
  bool cancelled(uint64_t id) const {
    const Record& r = records_[(id - cfg_.id_start) & records_mask_];
    return r.valid && r.id == id && r.cancelled;
  }

  // The by-id operations of a transmitting session, answered from the book.
  void query(Session& s, const codec::Pdu& pdu);
  void cancel(Session& s, const codec::Pdu& pdu);
  void replace(Session& s, const codec::Pdu& pdu);
  void broadcast(Session& s, const codec::Pdu& pdu);
  void queryBroadcast(Session& s, const codec::Pdu& pdu);
  void cancelBroadcast(Session& s, const codec::Pdu& pdu);

  // The last by-id operations (and broadcast_sm), oldest first.
  const std::deque<Operation>& operations() const { return operations_; }
  size_t broadcastCount() const { return broadcasts_.size(); }

  int64_t unixAt(uint64_t mono_ns) const {
    return wall_base_s_ + static_cast<int64_t>((mono_ns - mono_base_ns_) / 1000000000ull);
  }
  // `id` in `fmt`, zero-padded to `width` (at most 64); buf holds at least 72 bytes.
  static std::string_view formatId(uint64_t id, IdFormat fmt, uint32_t width, char* buf);

 private:
  static bool parseIdText(std::string_view text, IdFormat fmt, uint64_t& out);
  Record* findRecord(std::string_view id_text);
  Broadcast* findBroadcast(std::string_view id_text);
  // Notes a by-id operation (and a broadcast_sm) for the summary's "operations".
  void journal(codec::CommandId id, std::string_view message_id, uint32_t status);

  static constexpr size_t kMaxOperations = 1000;

  const Config& cfg_;
  Counters& counters_;
  std::vector<Record> records_;
  std::map<uint64_t, Broadcast> broadcasts_;  // by id
  std::deque<Operation> operations_;
  uint64_t records_mask_ = 0;
  uint64_t next_id_ = 1;
  int64_t wall_base_s_ = 0;  // wall clock at mono_base_ns_ (dates without a syscall each)
  uint64_t mono_base_ns_ = 0;
};

}  // namespace smppgw::mcsim
