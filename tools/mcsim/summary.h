#pragma once
// The counters every part of smpp-mcsim adds to, and the JSON summary printed at exit.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace smppgw::net {
struct LoopStats;
}

namespace smppgw::mcsim {

class MessageBook;

// Counts PDUs by command id and command_status without allocating.
class PduCounters {
 public:
  void add(uint32_t command_id, uint32_t status);
  template <class Fn>  // fn(command_id, total, statuses[(status, count)])
  void forEach(Fn&& fn) const {
    for (const Entry& e : entries_) {
      if (e.total != 0) {
        fn(e.command_id, e.total, e.statuses, e.nstatus);
      }
    }
  }
  uint64_t total(uint32_t command_id) const;
  uint64_t count(uint32_t command_id, uint32_t status) const;

  struct StatusCount {
    uint32_t status = 0;
    uint64_t count = 0;
  };
  static constexpr size_t kMaxStatuses = 15;  // the last slot collects the rest

 private:
  struct Entry {
    uint32_t command_id = 0;
    uint64_t total = 0;
    std::array<StatusCount, kMaxStatuses + 1> statuses{};
    uint8_t nstatus = 0;
  };
  static size_t slot(uint32_t command_id);
  std::array<Entry, 1025> entries_{};  // (id & 0x1FF) * 2 + response bit; 1024 = others
};

// Everything the summary counts, written by the session, message and delivery parts.
struct Counters {
  PduCounters pdus_in;
  PduCounters pdus_out;
  uint64_t binds_ok = 0, binds_failed = 0, bind_tx = 0, bind_rx = 0, bind_trx = 0;
  uint64_t connections = 0, closed = 0;
  uint64_t accepted = 0, errors = 0, throttled = 0;
  uint64_t receipts_sent = 0, receipts_acked = 0, receipts_failed = 0;
  uint64_t receipts_dropped = 0, receipts_cancelled = 0, receipts_retried = 0;
  uint64_t mo_generated = 0, mo_sent = 0, mo_acked = 0, mo_failed = 0, mo_dropped = 0;
  uint64_t mo_retried = 0;
  // deliver_sm sent on a session that closed before answering them (also counted failed/retried).
  uint64_t receipts_unanswered_at_close = 0, mo_unanswered_at_close = 0;
  uint64_t responses_dropped = 0;  // delayed responses whose session had gone
  uint64_t framing_errors = 0;
};

struct SummaryInput {
  uint16_t port = 0;
  uint64_t started_ns = 0;
  uint64_t queued = 0;  // deliveries in session queues and account pendings
  const Counters* counters = nullptr;
  const MessageBook* book = nullptr;
  const net::LoopStats* loop = nullptr;
};

// The JSON summary (one line); its fields are read by tests and the benchmark harness.
std::string summaryJson(const SummaryInput& in);

}  // namespace smppgw::mcsim
