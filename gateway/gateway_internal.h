#pragma once
// What the gateway's translation units share and nothing else needs: small helpers on PDUs and
// the runtime state kept per customer. Included only by gateway/*.cc that implement Gateway.

#include <openssl/rand.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/gateway.h"

namespace smppgw {

using codec::CommandId;
namespace st = codec::status;

// registered_delivery as sent to the carrier under a customer's receipt policy: `always` asks for
// a final receipt (success or failure) on every message; `never` asks for none (MC receipt and
// intermediate notification bits cleared; SME acknowledgement bits are the recipient's business).
inline uint8_t carrierRegisteredDelivery(config::ReceiptPolicy policy, uint8_t requested) {
  switch (policy) {
    case config::ReceiptPolicy::Always:
      return static_cast<uint8_t>((requested & ~0x03) | 0x01);
    case config::ReceiptPolicy::Never:
      return static_cast<uint8_t>(requested & ~0x13);
    case config::ReceiptPolicy::AsRequested:
      break;
  }
  return requested;
}

// The mapping stored when a carrier accepts a request: gateway id <-> carrier id, with what a
// receipt needs to be rewritten for the customer.
inline store::MappingInput mappingFor(const UpInFlight& info, uint64_t gateway_id,
                                      UpstreamRt upstream, std::string_view carrier_id,
                                      std::string_view carrier_key, uint64_t now_ms) {
  store::MappingInput m;
  m.gateway_id = gateway_id;
  m.customer = info.customer.value;
  m.upstream = upstream.value;
  m.created_ms = now_ms;
  m.upstream_id = carrier_id;
  m.upstream_key = carrier_key;
  m.source_addr = info.source.view();
  m.destination_addr = info.destination.view();
  m.registered_delivery = info.registered_delivery;
  m.origin = (uint64_t{info.origin.index} << 32) | info.origin.generation;
  return m;
}

constexpr uint64_t kTickMs = 100;

// Routing-relevant fields of a submission, whatever its PDU type.
struct SubmitFields {
  std::string_view source;
  uint8_t source_ton = 0;
  uint8_t source_npi = 0;
  std::string_view destination;
  uint8_t dest_ton = 0;
  uint8_t dest_npi = 0;
  std::string_view service_type;
  uint8_t data_coding = 0;
  uint8_t esm_class = 0;
  uint8_t registered_delivery = 0;
  codec::Bytes short_message;
};

// Thousandths of a customer rate_limit token this submission costs (rate_limit.count).
uint64_t rateCost(config::RateCount count, const codec::Pdu& pdu, const SubmitFields& f);

[[gnu::always_inline]] inline SubmitFields submitFields(const codec::Pdu& pdu) {
  SubmitFields f;
  if (const auto* b = pdu.tryAs<codec::SmBody>()) {
    f = {b->source_addr,   b->source_addr_ton,     b->source_addr_npi, b->destination_addr,
         b->dest_addr_ton, b->dest_addr_npi,       b->service_type,    b->data_coding,
         b->esm_class,     b->registered_delivery, b->short_message};
  } else if (const auto* d = pdu.tryAs<codec::DataSmBody>()) {
    f = {d->source_addr,
         d->source_addr_ton,
         d->source_addr_npi,
         d->destination_addr,
         d->dest_addr_ton,
         d->dest_addr_npi,
         d->service_type,
         d->data_coding,
         d->esm_class,
         d->registered_delivery,
         {}};
  } else if (const auto* m = pdu.tryAs<codec::SubmitMultiBody>()) {
    f.source = m->source_addr;
    f.source_ton = m->source_addr_ton;
    f.source_npi = m->source_addr_npi;
    f.service_type = m->service_type;
    f.data_coding = m->data_coding;
    f.esm_class = m->esm_class;
    f.registered_delivery = m->registered_delivery;
    f.short_message = m->short_message;
    // No destination: each one is routed on its own (Gateway::onSubmitMulti).
  } else if (const auto* bc = pdu.tryAs<codec::BroadcastSmBody>()) {
    f.source = bc->source_addr;
    f.source_ton = bc->source_addr_ton;
    f.source_npi = bc->source_addr_npi;
    f.service_type = bc->service_type;
    f.data_coding = bc->data_coding;
  }
  return f;
}

inline bool isSubmission(CommandId id) {
  return id == CommandId::submit_sm || id == CommandId::data_sm || id == CommandId::submit_multi ||
         id == CommandId::broadcast_sm;
}

// The message_id field of a response body, where it has one.
inline std::string_view* responseMessageId(codec::Pdu& p) {
  if (auto* b = p.tryAs<codec::MessageIdBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::SubmitMultiRespBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::QuerySmRespBody>()) {
    return &b->message_id;
  }
  return nullptr;
}

inline const std::string_view* responseMessageId(const codec::Pdu& p) {
  return responseMessageId(const_cast<codec::Pdu&>(p));
}

// The message_id field of a by-id request (query/cancel/replace, broadcast variants).
inline std::string_view* requestMessageId(codec::Pdu& p) {
  if (auto* b = p.tryAs<codec::QuerySmBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::CancelSmBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::ReplaceSmBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::CancelBroadcastSmBody>()) {
    return &b->message_id;
  }
  return nullptr;
}

inline uint64_t wallClockMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);  // vDSO: no syscall
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

inline std::string randomBytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1) {
    std::random_device rd;
    for (char& c : s) {
      c = static_cast<char>(rd());
    }
  }
  return s;
}

// Runtime state of a customer, kept across reloads (indexed by a runtime id that never changes;
// config indices do). cfg is its index in the current config, kNoId once it was removed.
// Lets a map keyed by std::string be searched with a string_view (no copy per lookup).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct HeldSubmit {
  SessionRef ref;
  CommandId command = CommandId::submit_sm;
  uint32_t seq = 0;
  codec::Buffer raw;
  uint64_t cost = 0;  // thousandths of a token
  uint64_t deadline_ms = 0;
};

struct Gateway::CustomerState {
  std::string system_id;
  uint32_t cfg = config::kNoId;
  GatewayMetrics::Customer* m = nullptr;
  TokenBucket rate;
  uint32_t binds = 0;
  std::string verified;  // sha256(pepper || password) of the last password that verified
  // Shaping (rate_limit.max_wait): requests over the rate, waiting for their tokens in order.
  std::deque<HeldSubmit> held;
  uint64_t held_cost = 0;  // their tokens, in thousandths
  // rate_limit.per_sender: a bucket per source_addr; idle (full) ones are dropped each second.
  std::unordered_map<std::string, TokenBucket, StringHash, std::equal_to<>> sender_rate;
};

inline Gateway::CustomerState& Gateway::state(CustomerRt id) {
  return customers_[id.value];
}
inline const Gateway::CustomerState& Gateway::state(CustomerRt id) const {
  return customers_[id.value];
}

// The customer's record in the configuration in force (nullptr: unknown, or removed by a reload).
inline const config::Customer* Gateway::customerCfg(CustomerRt customer) const {
  if (customer.value >= customers_.size() || customers_[customer.value].cfg == config::kNoId) {
    return nullptr;
  }
  return &rt_.cfg().customers[customers_[customer.value].cfg];
}

// A bind waiting for its password check on the thread pool.
struct Gateway::AuthJob {
  uv_work_t req;
  Gateway* gw;
  std::shared_ptr<bool> alive;  // false once the gateway is gone: the callback only frees
  SessionRef ref;
  CommandId bind;
  uint32_t seq;
  CustomerRt customer;
  uint32_t customer_cfg;                         // its index in `config`
  std::shared_ptr<const config::Config> config;  // keeps the customer record alive
  std::string password;
  SourceKey source;    // its turn among the waiting checks; counted in the source's checks
  bool dirty = false;  // its source had failed binds when it started
  std::string key;     // keyed hash of system_id + password: later binds with both wait for it
  struct Waiter {
    SessionRef ref;
    CommandId bind;
    uint32_t seq;
  };
  std::vector<Waiter> waiters;  // answered with this check's result
  bool ok = false;
};

// A matched receipt kept (unanswered) until the answer it must follow is written.
inline HeldReceipt heldReceipt(const store::MappingView& m, codec::CommandId command,
                               codec::Bytes raw, BindRef from, uint32_t upstream_seq) {
  HeldReceipt h;
  h.upstream = UpstreamRt(m.upstream);
  h.command = command;
  h.key = std::string(m.upstream_key);
  h.pdu.append(raw);
  h.from = from;
  h.upstream_seq = upstream_seq;
  return h;
}

// A submission's answer, built now and written once its store write is durable (writesDone).
template <class Write>
void Gateway::parkAnswer(uint64_t ticket, const UpInFlight& info, uint64_t gateway_id,
                         Write&& write) {
  ParkedAnswer p;
  p.ticket = ticket;
  p.gateway_id = gateway_id;
  p.started_ns = info.started_ns;
  p.offset = parked_base_ + parked_bytes_.size();
  p.origin_seq = info.origin_seq;
  p.origin = info.origin;
  p.customer = info.customer;
  p.command = info.command;
  write(parked_bytes_);
  p.length = static_cast<uint32_t>(parked_base_ + parked_bytes_.size() - p.offset);
  parked_.push_back(p);
  parked_receipts_.try_emplace(gateway_id);
}

}  // namespace smppgw
