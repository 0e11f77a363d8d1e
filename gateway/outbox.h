#pragma once
// Per-customer outboxes (store.type: embedded): receipts and MO messages a carrier sent for a
// customer, kept in the durable store until the customer acknowledges them.
//
// - A delivery the customer can take at once (a receiver with room, nothing of it waiting or
//   being written before) is handed through: the carrier gets the customer's answer, as without
//   a store, and nothing is written (the carrier keeps it until then: nothing acknowledged is
//   unstored). Otherwise it is written to the customer's outbox and the carrier gets ESME_ROK once
//   that write is durable (ESME_RX_T_APPN if the store refused it: the carrier keeps it).
// - It is sent to a receiver of the customer when one can take it, in arrival order, and leaves
//   the outbox when the customer answers it: ESME_ROK, or a permanent error (counted `failed`).
//   A temporary error (ESME_RX_T_APPN, ESME_RTHROTTLED, ESME_RMSGQFUL), no answer within
//   timers.delivery_response, or a session that closes first: it is sent again (at-least-once,
//   counted `redelivered`), after a pause for a temporary error.
// - An offline customer's deliveries wait on disk (at most `kMemoryMax` of them in memory; the
//   rest are read back in order as the customer catches up) until store.delivery_ttl.
// - After a restart, every customer's outbox is read back from the store.
// In memory mode (no store) none of this runs: DeliveryQueues hands deliveries through and the
// carrier keeps what a customer cannot take.

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codec/bytes.h"
#include "config/model.h"
#include "gateway/gw_metrics.h"
#include "gateway/runtime.h"
#include "gateway/types.h"
#include "store/store.h"

namespace smppgw {

class DownstreamSession;

class OutboxHost {
 public:
  virtual DownstreamSession* session(SessionRef r) = 0;
  virtual void answerCarrier(BindRef from, codec::CommandId command, uint32_t seq,
                             uint32_t status) = 0;
  virtual GatewayMetrics::Customer* customerMetrics(CustomerRt customer) = 0;
  // customers[].system_id: the outbox's name in the store ("" for an unknown customer).
  virtual std::string_view customerName(CustomerRt customer) const = 0;
  virtual uint64_t nextDeliveryId() = 0;  // unique, increasing, across restarts
  virtual void storeWritten() = 0;        // a write was queued: commit it soon (Store::kick)
  // Delivery::settles: the carrier has its answer to that final receipt (stored or delivered).
  virtual void receiptSettled(uint64_t gateway_id) = 0;

 protected:
  ~OutboxHost() = default;
};

class Outboxes {
 public:
  static constexpr size_t kMemoryMax = 10'000;     // per customer; the rest stay on disk
  static constexpr uint64_t kRetryPauseMs = 1000;  // after a temporary error from the customer

  Outboxes(Runtime& rt, OutboxHost& host, store::Store& store)
      : rt_(rt), host_(host), store_(store) {}

  // At start: outboxes found in the store (read back when their customer can receive).
  void restore(CustomerRt customer, uint64_t stored);

  // A store_and_forward message that leaves its group's queue in the same write (its final
  // receipt: the gateway's own, no carrier keeps it).
  struct Dequeue {
    std::string_view group;
    uint64_t gateway_id = 0;
  };
  // A carrier's delivery for `customer` (pdu: as a v5.0 session gets it), or the gateway's own.
  void accept(CustomerRt customer, codec::Bytes pdu, const Delivery& d,
              std::optional<Dequeue> dequeue = std::nullopt);
  // The store reported writes up to `ticket`.
  void writesDone(uint64_t ticket, bool ok);
  // The store takes writes again: the gateway's own deliveries and the removals it refused are
  // written again (nothing else keeps them).
  void storeWritable();
  size_t unwritten() const { return unwritten_.size() + unremoved_.size(); }

  void receiverBound(CustomerRt customer, SessionRef ref);
  void receiverClosed(CustomerRt customer, SessionRef ref);
  void answered(CustomerRt customer, const Delivery& d, uint32_t status);
  void failed(const Delivery& d, metrics::DeferReason reason);
  void readingChanged(CustomerRt customer) { drain(customer); }
  // Retry pauses over, expiry (delivery_ttl) of what waits in memory.
  void tick(uint64_t now);

  // Deliveries in the customer's outbox (memory and disk) and of them waiting to be sent.
  uint64_t stored(CustomerRt customer) const {
    return customer.value < customers_.size() ? customers_[customer.value].stored : 0;
  }
  size_t waiting(CustomerRt customer) const {
    return customer.value < customers_.size() ? customers_[customer.value].queue.size() : 0;
  }
  size_t inFlight(CustomerRt customer) const {
    return customer.value < customers_.size() ? customers_[customer.value].sent.size() : 0;
  }
  // Deliveries accepted from carriers and not yet durable (carriers not yet answered).
  size_t writing() const { return writing_.size(); }
  uint32_t handedThrough(CustomerRt customer) const {
    return customer.value < customers_.size() ? customers_[customer.value].through : 0;
  }

 private:
  struct Entry {
    uint64_t id = 0;
    uint64_t created_ms = 0;  // wall clock (delivery_ttl)
    codec::CommandId command = codec::CommandId::deliver_sm;
    uint8_t version_needed = 0x33;
    codec::Buffer pdu;
  };
  struct Customer {
    std::vector<SessionRef> receivers;
    uint32_t rr = 0;
    std::deque<Entry> queue;                   // to send, in id order
    std::unordered_map<uint64_t, Entry> sent;  // sent, unanswered, by id
    uint64_t stored = 0;                       // in the store (durable and not removed)
    // Deliveries on disk and not in memory: those with id > loaded_to (read back in order).
    bool on_disk = false;
    bool reading = false;  // a read of the store is under way
    uint64_t loaded_to = 0;
    uint64_t newest_durable = 0;
    uint64_t paused_until_ms = 0;
    uint32_t writing = 0;  // its deliveries in writing_ (later ones queue behind them)
    uint32_t through = 0;  // handed through, unanswered (the carrier waits for the customer)
  };
  struct Writing {
    uint64_t ticket = 0;
    CustomerRt customer;
    Delivery d;  // the carrier's request, answered once durable
    Entry e;
    std::string dequeue_group;  // with a store_and_forward message's removal ("" none)
    uint64_t dequeue_id = 0;
  };
  struct Removal {
    uint64_t ticket = 0;
    CustomerRt customer;
    uint64_t id = 0;
  };
  void write(Writing w);  // to the store, then to writing_
  void writeRemoval(CustomerRt customer, uint64_t id);

  Customer& at(CustomerRt customer) {
    if (customer.value >= customers_.size()) [[unlikely]] {
      customers_.resize(customer.value + 1);
    }
    return customers_[customer.value];
  }
  void drain(CustomerRt customer);
  void readBack(CustomerRt customer);
  DownstreamSession* pick(Customer& c);
  bool send(DownstreamSession& s, CustomerRt customer, const Entry& e);
  void requeue(CustomerRt customer, Entry e);
  void remove(CustomerRt customer, uint64_t id);
  void count(CustomerRt customer, metrics::DeliveryResult result) {
    if (auto* m = host_.customerMetrics(customer)) {
      m->deliveries[static_cast<size_t>(result)]->inc();
    }
  }

  Runtime& rt_;
  OutboxHost& host_;
  store::Store& store_;
  std::vector<Customer> customers_;  // by runtime customer id
  std::deque<Writing> writing_;      // in ticket order
  std::vector<Writing> unwritten_;   // the gateway's own, refused: written again
  std::deque<Removal> removing_;     // in ticket order
  std::vector<Removal> unremoved_;   // refused: removed again
  codec::Buffer scratch_;
};

}  // namespace smppgw
