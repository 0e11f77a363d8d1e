#pragma once
// Message id mappings: gateway id <-> (upstream, upstream id), with who sent the message. A
// receipt from a carrier finds its customer here; a query_sm/cancel_sm from a customer finds its
// carrier here. In memory, bounded by count and age (oldest evicted first). The durable store
// keeps the same interface and adds a write-behind log (docs/architecture.md).

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/flat_map.h"

namespace smppgw::store {

struct Mapping {
  uint64_t gateway_id = 0;
  uint32_t customer = 0;
  uint32_t upstream = 0;
  uint64_t created_ms = 0;
  std::string upstream_id;   // as the carrier sent it in submit_sm_resp
  std::string upstream_key;  // normalised (see MappingStore::put)
  std::string source_addr;
  std::string destination_addr;
  uint8_t registered_delivery = 0;
};

struct MappingStats {
  uint64_t inserted = 0;
  uint64_t expired = 0;
  uint64_t evicted = 0;  // dropped because the store was full before they expired
};

class MappingStore {
 public:
  MappingStore(uint64_t ttl_ms, size_t max_entries) : ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  // upstream_key: the carrier's id normalised so that its receipts find it.
  const Mapping& put(Mapping m);
  const Mapping* byGatewayId(uint64_t gateway_id) const;
  const Mapping* byUpstream(uint32_t upstream, std::string_view upstream_key) const;
  // Drops entries older than the TTL (called from the janitor, not per message).
  void expire(uint64_t now_ms);

  size_t size() const { return records_.size(); }
  const MappingStats& stats() const { return stats_; }
  void setLimits(uint64_t ttl_ms, size_t max_entries) {
    ttl_ms_ = ttl_ms;
    max_entries_ = max_entries;
  }

 private:
  static uint64_t upstreamHash(uint32_t upstream, std::string_view key) {
    return hash64(key, 0xcbf29ce484222325ull ^ (uint64_t{upstream} * 0x9E3779B97F4A7C15ull));
  }
  const Mapping* at(uint64_t seq) const;
  void popOldest();

  uint64_t ttl_ms_;
  size_t max_entries_;
  std::deque<Mapping> records_;  // in insertion order; records_[i] has sequence base_ + i
  uint64_t base_ = 0;
  FlatMap64<uint64_t> by_gateway_;   // gateway id -> sequence
  FlatMap64<uint64_t> by_upstream_;  // hash(upstream, key) -> sequence (verified on lookup)
  MappingStats stats_;
};

}  // namespace smppgw::store
