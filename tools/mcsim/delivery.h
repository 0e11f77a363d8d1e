#pragma once
// Delivery: receipts and MO messages on their way to the ESMEs as deliver_sm. A delivery goes to
// a receiving session of its account (round-robin), waits in the session's queue for room in
// its window (--window), or on the account while nobody can receive it. Answers free the window;
// ESME_RX_T_APPN is retried later, unanswered ones time out, and what a closing session held is
// handed to another receiver.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "codec/pdu.h"
#include "tools/mcsim/config.h"

namespace smppgw::net {
class Loop;
}

namespace smppgw::mcsim {

class Session;
class SessionTable;
class MoSource;
struct Counters;

// A receipt or MO message waiting to be delivered, or an MC-originated unbind in flight.
struct Delivery {
  enum class Kind : uint8_t { Receipt, Mo, Unbind };
  Kind kind = Kind::Receipt;
  uint8_t src_ton = 0, src_npi = 0, dst_ton = 0, dst_npi = 0;
  uint8_t src_len = 0, dst_len = 0, text_len = 0;
  uint8_t state = 2;  // receipt: message_state
  uint8_t err = 0;
  char src[21] = {};
  char dst[21] = {};
  char text[20] = {};  // receipt: first 20 characters of the message
  uint64_t msg_id = 0;
  int64_t submit_unix = 0;
  int64_t done_unix = 0;
  uint32_t attempts = 0;
};

// The ESMEs that bound with one system_id.
struct Account {
  std::string system_id;
  std::vector<uint32_t> receivers;  // indices of bound RX/TRX sessions
  size_t rr = 0;
  std::deque<Delivery> pending;  // nobody to receive them yet
};

class Deliveries {
 public:
  Deliveries(net::Loop& loop, const Config& cfg, Counters& counters, SessionTable& sessions,
             const MoSource& mo);

  // Routes a delivery to a receiving session of the account (the preferred one if it can take
  // it), or parks it on the account.
  void deliver(Delivery&& d, Account* account, Session* preferred);
  // Sends at once if the window has room and nothing waits before it, else queues.
  void enqueueOn(Session& s, Delivery&& d);
  // Sends what the session's queue holds while its window has room.
  void pump(Session& s);
  // A session just bound to receive: the deliveries parked on its account go to it.
  void takePending(Session& s);
  // The answer (deliver_sm_resp or generic_nack) to the deliver_sm or unbind `seq` of the
  // session: counts it and schedules a retry of a temporary error. Returns the kind of what
  // was answered, or nothing if `seq` is not in flight.
  std::optional<Delivery::Kind> answered(Session& s, uint32_t seq, uint32_t status);
  // Deliveries in flight longer than --deliver-timeout: counted failed, receipts retried.
  void expire(Session& s, uint64_t now_ns);
  // Deliveries that were in flight or queued on a session that has gone are retried on another
  // receiver of the account (or parked until one binds), like a real MC does.
  void requeue(Session& s);
  // Sends again the deliveries answered ESME_RX_T_APPN whose retry is due.
  void retryDue(uint64_t now_ms);

  uint64_t queued() const { return queued_; }

 private:
  void sendDeliverSm(Session& s, Delivery& d);
  void formatDate10(int64_t unix_s, char* out);  // YYMMDDhhmm

  net::Loop& loop_;
  const Config& cfg_;
  Counters& counters_;
  SessionTable& sessions_;
  const MoSource& mo_;

  struct Retry {
    uint64_t due_ms;
    Account* account;
    Delivery d;
  };
  std::deque<Retry> retries_;  // deliveries answered temporary-error, oldest first
  uint64_t queued_ = 0;        // deliveries in session queues and account pendings
  codec::Pdu out_pdu_;         // reused for deliver_sm
  std::string text_;           // reused receipt text
  int64_t date_cache_unix_ = -1;
  char date_cache_[11] = {};
};

}  // namespace smppgw::mcsim
