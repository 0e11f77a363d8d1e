#pragma once
// The message flow: submit_sm, data_sm and submit_multi of a transmitting session are answered
// with a fresh id (or an injected error / throttle), after --latency; the message is written in
// the book, and its receipt(s) leave after --receipt-delay (or just before the response).

#include <array>
#include <cstdint>

#include "codec/pdu.h"
#include "tools/common/random.h"
#include "tools/mcsim/config.h"
#include "tools/mcsim/scheduler.h"

namespace smppgw::net {
class Loop;
}

namespace smppgw::mcsim {

class Deliveries;
class MessageBook;
class Session;
class SessionTable;
struct Counters;

class Messages {
 public:
  Messages(net::Loop& loop, const Config& cfg, tools::Rng& rng, Counters& counters,
           MessageBook& book, Deliveries& deliveries, SessionTable& sessions);

  // submit_sm, data_sm or submit_multi from a session bound to transmit.
  void submit(Session& s, const codec::Pdu& pdu);
  // Shutdown: delayed responses and receipts not yet due are forgotten.
  void stop() { scheduler_.disarm(); }

 private:
  void runJob(Job& job);
  bool receiptWanted(uint8_t registered_delivery, uint8_t final_state) const;
  void trace(const codec::Pdu& pdu, uint32_t status);
  uint8_t pickFinalState();

  const Config& cfg_;
  tools::Rng& rng_;
  Counters& counters_;
  MessageBook& book_;
  Deliveries& deliveries_;
  SessionTable& sessions_;
  std::array<double, 10> cumulative_weights_{};
  uint64_t spell_until_ns_ = 0;  // --throttle-after/--throttle-for: throttling until then
  bool spell_started_ = false;
  uint64_t stall_until_ns_ = 0;  // --stall-after/--stall-for: answers held until then
  bool stall_started_ = false;
  Scheduler scheduler_;
};

}  // namespace smppgw::mcsim
