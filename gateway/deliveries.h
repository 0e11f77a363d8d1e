#pragma once
// Per-customer delivery queues: which receiver session gets a carrier's deliver_sm/data_sm (a
// receipt or an MO message), what waits for room at one, and what goes back to the carrier.
//
// Every delivery the carrier waits an answer for either is refused at once (ESME_RX_T_APPN: the
// carrier keeps it and retries) or is held — sent to a receiver, or queued for room at one — and
// then answered exactly once. What a customer holds is bounded per carrier connection
// (upstreams[].customer_delivery_share), so a customer that cannot take its messages never fills
// the window of unanswered deliveries the carrier shares between all customers.
//
// With a durable store the refusal becomes "ESME_ROK once it is in the customer's outbox":
// `refuse` is the one place that decision changes.

#include <cstdint>
#include <deque>
#include <vector>

#include "base/flat_map.h"
#include "codec/bytes.h"
#include "codec/command.h"
#include "config/model.h"
#include "gateway/gw_metrics.h"
#include "gateway/runtime.h"
#include "gateway/types.h"

namespace smppgw {

class DownstreamSession;

// What the delivery queues need from the gateway around them.
class DeliveryHost {
 public:
  virtual DownstreamSession* session(SessionRef r) = 0;
  // The answer to the carrier's request (nothing if that connection has gone: the carrier
  // redelivers what it did not see answered).
  virtual void answerCarrier(BindRef from, codec::CommandId command, uint32_t seq,
                             uint32_t status) = 0;
  // upstreams[].customer_delivery_share of a runtime upstream id (0: unknown upstream).
  virtual uint32_t deliveryShare(UpstreamRt upstream) const = 0;
  virtual GatewayMetrics::Customer* customerMetrics(CustomerRt customer) = 0;

 protected:
  ~DeliveryHost() = default;
};

class DeliveryQueues {
 public:
  DeliveryQueues(Runtime& rt, DeliveryHost& host) : rt_(rt), host_(host) {}

  // pdu: as a v5.0 session gets it (copied only if it has to wait). preferred: the session to try
  // first (the one that submitted the message a receipt is for).
  void deliver(CustomerRt customer, codec::Bytes pdu, Delivery d, SessionRef preferred = {});

  // Receivers of a customer (bound RX/TRX sessions), in round-robin order.
  void receiverBound(CustomerRt customer, SessionRef ref);
  void receiverClosed(CustomerRt customer, SessionRef ref);
  // A session's answer to a delivery: passed to the carrier as it is.
  void answered(CustomerRt customer, const Delivery& d, uint32_t status);
  // A delivery its session will not see answered (timeout, session closed).
  void failed(const Delivery& d, metrics::DeferReason reason);
  // A receiver stopped (or resumed) reading: what waits goes elsewhere, or back.
  void readingChanged(CustomerRt customer);
  // Everything waiting for a receiver of `customer` (all customers: kAll) goes back now.
  static constexpr CustomerRt kAll{};
  void returnWaiting(CustomerRt customer, metrics::DeferReason reason);

  // Waited timers.delivery_response, or borrowed by a customer that stopped keeping up.
  void tick(uint64_t now);

  size_t waiting(CustomerRt customer) const {
    return customer.value < customers_.size() ? customers_[customer.value].pending.size() : 0;
  }
  uint32_t held(CustomerRt customer) const {
    return customer.value < customers_.size() ? customers_[customer.value].held : 0;
  }

 private:
  struct Waiting {
    codec::Buffer pdu;  // as it goes to a v5.0 session; re-encoded for older ones if d says so
    Delivery d;
    uint64_t queued_ms = 0;
  };
  struct Customer {
    std::vector<SessionRef> receivers;
    uint32_t rr = 0;
    std::deque<Waiting> pending;          // held, waiting for room at a receiver
    uint32_t held = 0;                    // unanswered to a carrier (sent or pending)
    uint64_t last_answer_ms = 0;          // its last answer to a delivery (0: none yet)
    uint64_t held_since_ms = 0;           // when `held` last became non-zero
    FlatMap64<uint32_t> held_by_bind{4};  // `held` by carrier connection (bindKey)
  };

  Customer& at(CustomerRt customer) {
    if (customer.value >= customers_.size()) [[unlikely]] {
      customers_.resize(customer.value + 1);
    }
    return customers_[customer.value];
  }
  // A receiver of the customer with room and reading, or nullptr; `why` says why there is none.
  DownstreamSession* pick(Customer& c, metrics::DeferReason& why);
  bool keepingUp(const Customer& c) const;
  bool send(DownstreamSession& s, codec::Bytes pdu, const Delivery& d);
  void drain(CustomerRt customer);
  void refuse(const Delivery& d, metrics::DeferReason reason);
  void finish(const Delivery& d, uint32_t status);
  void count(CustomerRt customer, metrics::DeliveryResult result) {
    if (auto* m = host_.customerMetrics(customer)) {
      m->deliveries[static_cast<size_t>(result)]->inc();
    }
  }
  void countDeferred(CustomerRt customer, metrics::DeferReason reason);
  // Counters of connections with nothing held (old generations among them), once a second.
  void dropIdleCounters();

  Runtime& rt_;
  DeliveryHost& host_;
  std::vector<Customer> customers_;    // by runtime customer id
  FlatMap64<uint32_t> bind_held_{16};  // held per carrier connection, all customers
  codec::Buffer scratch_;              // re-encoding for older sessions
  uint64_t next_cleanup_ms_ = 0;
};

}  // namespace smppgw
