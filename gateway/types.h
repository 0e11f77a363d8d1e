#pragma once
// Small value types shared by the gateway's parts.

#include <cstdint>
#include <cstring>
#include <string_view>

#include "codec/command.h"

namespace smppgw {

// Statuses the gateway itself answers with (docs/architecture.md lists them).
namespace gwstatus {
constexpr uint32_t kNoUpstream = 0x00000058;       // ESME_RTHROTTLED: no carrier bound; retry
constexpr uint32_t kQueueFull = 0x00000014;        // ESME_RMSGQFUL
constexpr uint32_t kQueueExpired = 0x00000058;     // ESME_RTHROTTLED: waited too long for a bind
constexpr uint32_t kWindowFull = 0x00000058;       // ESME_RTHROTTLED
constexpr uint32_t kRateLimited = 0x00000058;      // ESME_RTHROTTLED
constexpr uint32_t kUpstreamTimeout = 0x00000008;  // ESME_RSYSERR: outcome unknown
constexpr uint32_t kUpstreamLost = 0x00000008;     // ESME_RSYSERR: bind died with it in flight
constexpr uint32_t kShuttingDown = 0x00000058;     // ESME_RTHROTTLED
// deliver_sm_resp to an MC when the customer cannot take the message now: the MC keeps it and
// retries (ESME_RX_T_APPN), so nothing is lost.
constexpr uint32_t kDeliveryLater = 0x00000064;
}  // namespace gwstatus

// Runtime ids of customers and upstreams: given once per system_id / upstream name for the life
// of the process, so mappings, requests in flight and deliveries that refer to them stay valid
// across reloads. A config index (config::CustomerId, config::UpstreamId) is another number and
// is another type: the two cannot be mixed up silently.
template <class Tag>
struct RuntimeId {
  static constexpr uint32_t kNone = 0xFFFFFFFFu;
  uint32_t value = kNone;
  constexpr RuntimeId() = default;
  constexpr explicit RuntimeId(uint32_t v) : value(v) {}
  constexpr bool valid() const { return value != kNone; }
  friend constexpr bool operator==(RuntimeId, RuntimeId) = default;
};
using CustomerRt = RuntimeId<struct CustomerRtTag>;
using UpstreamRt = RuntimeId<struct UpstreamRtTag>;

// A reference to a downstream session that survives the session: the generation changes when
// the slot is reused, so a late response for a session that has gone is recognised and dropped.
struct SessionRef {
  uint32_t index = 0xFFFFFFFFu;
  uint32_t generation = 0;
  bool valid() const { return index != 0xFFFFFFFFu; }
};

// The same for an upstream bind's current connection (its seq space dies with it).
struct BindRef {
  UpstreamRt upstream;
  uint32_t bind = 0;
  uint32_t generation = 0;
};

// Fixed-capacity string (SMPP addresses are at most 64 characters): no allocation per message.
template <size_t N>
struct ShortString {
  char data[N] = {};
  uint8_t size = 0;
  void assign(std::string_view s) {
    size = static_cast<uint8_t>(s.size() < N ? s.size() : N);
    if (size != 0) {
      std::memcpy(data, s.data(), size);  // an empty view may have a null data()
    }
  }
  std::string_view view() const { return {data, size}; }
};
using Address = ShortString<65>;

// What the MT path did with a customer's request. A refusal is answered by the session at once
// (and frees its window slot); a pending request (forwarded, queued, or a submit_multi whose
// parts are out) is answered when the carrier's response, or its failure, comes back.
struct MtResult {
  bool pending = false;
  uint32_t status = 0;  // refused: the status the customer gets
  static constexpr MtResult forwarded() { return {true, 0}; }
  static constexpr MtResult refused(uint32_t status) { return {false, status}; }
};

// A request we forwarded upstream and have not seen answered.
struct UpInFlight {
  enum class Kind : uint8_t { Forward, EnquireLink, Unbind };
  uint64_t deadline_ms = 0;
  uint64_t started_ns = 0;  // the customer's request read (submit latency)
  uint64_t sent_ns = 0;     // written to the carrier (round-trip histogram)
  Kind kind = Kind::Forward;
  codec::CommandId command = codec::CommandId::submit_sm;
  SessionRef origin;
  uint32_t origin_seq = 0;
  CustomerRt customer;
  uint32_t group = 0xFFFFFFFFu;  // config group id it was routed by (group queue limit)
  // Order of arrival from customers (0: none; wraps, compared by orderedBefore): a retry waits
  // in a queue ahead of what came later.
  uint32_t order = 0;
  uint64_t gateway_id = 0;  // by-id operations: the id to put back in the response
  uint8_t registered_delivery = 0;
  uint8_t origin_version = 0x34;
  // One destination of a submit_multi: gateway_id is the id its customer gets, multi_dest the
  // destination's index in it.
  bool multi = false;
  uint8_t multi_dest = 0;
  // Its retry state in the gateway (0: none; the group allows one attempt only).
  uint32_t retry = 0;
  // A store_and_forward message (gateway_id: its id): the outcome goes to its queue entry, not to
  // a customer session.
  bool forward = false;
  Address source;
  Address destination;
};

// a arrived before b (UpInFlight::order, modulo 2^32: requests that wait together are close).
inline bool orderedBefore(uint32_t a, uint32_t b) {
  return static_cast<int32_t>(a - b) < 0;
}

// A deliver_sm/data_sm we sent to a customer, whose upstream original waits for its answer.
struct Delivery {
  uint64_t deadline_ms = 0;
  BindRef from;  // where to send the deliver_sm_resp
  uint32_t upstream_seq = 0;
  CustomerRt customer;  // whose share of the carrier's window it holds
  codec::CommandId command = codec::CommandId::deliver_sm;
  uint8_t version_needed = 0x33;  // codec::tlvVersionNeeded: older sessions get it re-encoded
  uint64_t outbox_id = 0;         // from a customer's outbox (the carrier has its answer already)
  // A final receipt's gateway id (durable store only): once the carrier has its answer the
  // mapping needs no carrier-id index entry (OutboxHost::receiptSettled).
  uint64_t settles = 0;
};

}  // namespace smppgw
