#pragma once
// The id mappings that bring receipts back: gateway id <-> (upstream, carrier id), the carrier
// ids' normalisation, and the receipts that wait for a mapping.
//
// Both the response relay (which records a mapping when a carrier accepts a message) and the
// receipt path (which looks one up) go through here. A receipt can overtake its submit_sm_resp:
// it is held, unanswered so the carrier keeps it, but only while a request to that carrier is in
// flight that could be it, and never past that request's deadline. A receipt nothing can match is
// answered at once (routing.receipt_unmatched_status), counted by reason and logged at most once a
// second, so orphans (e.g. after a restart) never fill the carrier's window.

#include <array>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "codec/bytes.h"
#include "codec/command.h"
#include "codec/pdu.h"
#include "codec/receipt.h"
#include "config/model.h"
#include "gateway/gw_metrics.h"
#include "gateway/runtime.h"
#include "gateway/types.h"
#include "store/mapping_store.h"

namespace smppgw {

// A carrier's receipt kept unanswered until its mapping exists (or a submit_multi's response is
// written).
struct HeldReceipt {
  UpstreamRt upstream;
  codec::CommandId command = codec::CommandId::deliver_sm;  // or data_sm
  std::string key;
  codec::Buffer pdu;  // the carrier's deliver_sm, as received
  BindRef from;
  uint32_t upstream_seq = 0;
  uint64_t until_ms = 0;
};

// What the id mapper needs from the gateway around it.
class IdMapperHost {
 public:
  // The upstream's current settings (nullptr: unknown id).
  virtual const config::Upstream* upstreamCfg(UpstreamRt upstream) const = 0;
  virtual std::string_view upstreamName(UpstreamRt upstream) const = 0;
  // Requests to that carrier (any of its binds) in flight, responses not yet in.
  virtual size_t upstreamOutstanding(UpstreamRt upstream) const = 0;
  virtual void answerCarrier(BindRef from, codec::CommandId command, uint32_t seq,
                             uint32_t status) = 0;
  // Starts a lookup of a carrier id in the durable store (answered with IdMapper::storeAnswered);
  // false: there is no durable store.
  virtual bool lookupStored(UpstreamRt upstream, std::string_view key) = 0;
  // A receipt whose mapping was found: the receipt path takes it from here.
  virtual void receiptMatched(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                              BindRef from, uint32_t upstream_seq) = 0;

 protected:
  ~IdMapperHost() = default;
};

class IdMapper {
 public:
  IdMapper(Runtime& rt, IdMapperHost& host, uint64_t ttl_ms, size_t max_mappings)
      : rt_(rt), host_(host), mappings_(ttl_ms, max_mappings) {}

  store::MappingStore& mappings() { return mappings_; }
  const store::MappingStore& mappings() const { return mappings_; }
  void setLimits(uint64_t ttl_ms, size_t max_mappings) {
    mappings_.setLimits(ttl_ms, max_mappings);
  }

  // An upstream's upstreams[].message_id settings (at start and on every reload).
  void configureUpstream(UpstreamRt upstream, const config::MessageIdNormalisation& n);
  // The key a carrier id is stored and looked up by (upstreams[].message_id).
  bool normalise(UpstreamRt upstream, std::string_view id, bool from_receipt,
                 codec::MessageIdKey& key) const {
    static const codec::IdKeyOptions kDefault;
    const codec::IdKeyOptions& o = upstream.value < options_.size()
                                       ? options_[upstream.value][from_receipt ? 1 : 0]
                                       : kDefault;
    return codec::normalizeMessageId(id, o, key);
  }
  // Records the mapping of an accepted message. Receipts held for it are not released here: the
  // caller writes the customer's response first, then calls release().
  store::MappingView record(const store::MappingInput& in) { return mappings_.put(in); }
  // Receipts that waited for this mapping go on now, in arrival order.
  void release(const store::MappingView& stored) {
    if (!held_.empty()) {
      release(UpstreamRt(stored.upstream), stored.upstream_key);
    }
  }

  // The durable store's answer to a lookupStored(): the mapping (into the hot cache, and the
  // receipts held for it go on) or nullptr (they are unmatched unless a request in flight to that
  // carrier could still be theirs).
  void storeAnswered(UpstreamRt upstream, std::string_view key, const store::MappingInput* found);
  // The durable store could not be read: the receipts held for it go back to the carrier
  // (ESME_RX_T_APPN: it sends them again), not answered as unmatched.
  void storeUnreadable(UpstreamRt upstream, std::string_view key);
  // Receipts that waited for this mapping go on now, in arrival order.
  void release(UpstreamRt upstream, std::string_view key);

  // A receipt from a carrier: `id` is its receipted_message_id or the id in its text (empty if it
  // has none). Not in the hot cache: looked up in the durable store, held meanwhile.
  void receipt(const codec::Pdu& pdu, codec::Bytes raw, std::string_view id, BindRef from);
  // A receipt answered with routing.receipt_unmatched_status (counted, logged once a second).
  void unmatched(UpstreamRt upstream, std::string_view id, BindRef from, codec::CommandId command,
                 uint32_t upstream_seq, metrics::UnmatchedReason reason);

  // Held receipts past their deadline, or of a carrier with nothing in flight; mapping expiry.
  void tick(uint64_t now);
  void expireMappings(uint64_t now) { mappings_.expire(now); }
  // Held receipts per upstream (gauges).
  void countHeld(std::vector<int64_t>& per_upstream) const;

 private:
  void hold(const codec::Pdu& pdu, codec::Bytes raw, std::string key, BindRef from);

  Runtime& rt_;
  IdMapperHost& host_;
  // By UpstreamRt::value: how its responses' [0] and receipts' [1] ids are normalised (read for
  // every id: kept here rather than looked up in the upstream's config each time).
  std::vector<std::array<codec::IdKeyOptions, 2>> options_;
  store::MappingStore mappings_;
  std::unordered_map<uint64_t, std::vector<HeldReceipt>> held_;  // by hash(upstream, id key)
  std::deque<std::pair<uint64_t, uint64_t>> held_order_;         // (until_ms, hash)
  std::unordered_set<uint64_t> looking_up_;  // hashes with a durable-store lookup under way
  uint64_t unmatched_unlogged_ = 0;          // unmatched receipts since the last log line
  uint64_t unmatched_log_ms_ = 0;            // no unmatched-receipt line before this time
};

}  // namespace smppgw
