#pragma once
// Message id mappings: gateway id <-> (upstream, upstream id), with who sent the message. A
// receipt from a carrier finds its customer here; a query_sm/cancel_sm from a customer finds its
// carrier here. In memory, bounded by count and age (oldest removed first). The durable store
// keeps the same interface and adds a write-behind log (docs/architecture.md).
//
// Layout, for millions of entries without per-message allocations or pauses:
// - records are appended to a log of 1 MiB chunks, variable-sized (a 40-byte header and the
//   strings, ~80 bytes for a typical message), and removed from its head: insertion order is
//   age order, so expiry and eviction only ever touch the oldest end;
// - two IdIndex tables (16 bytes a slot, grown incrementally) map the gateway id and a hash of
//   (upstream, normalised carrier id) to the record's offset in the log.
// A MappingView points into the log: it is valid until that record is removed (expire(), or a
// put() that evicts it), so use it before either.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>

#include "base/flat_map.h"
#include "store/id_index.h"

namespace smppgw::store {

struct MappingView {
  uint64_t gateway_id = 0;
  uint64_t created_ms = 0;
  uint32_t customer = 0;
  uint32_t upstream = 0;
  uint8_t registered_delivery = 0;
  uint64_t origin = 0;  // opaque to the store: the gateway's reference to the submitting session
  std::string_view upstream_id;   // as the carrier sent it in submit_sm_resp
  std::string_view upstream_key;  // normalised (the form its receipts are looked up by)
  std::string_view source_addr;   // as the customer sent them (receipts are addressed back)
  std::string_view destination_addr;
};

// What put() stores. Strings longer than 255 bytes are cut (the codec never yields such a
// message id or address: both are at most 65 octets).
using MappingInput = MappingView;

struct MappingStats {
  uint64_t inserted = 0;
  uint64_t expired = 0;
  uint64_t evicted = 0;  // dropped because the store was full before they expired
};

class MappingStore {
 public:
  MappingStore(uint64_t ttl_ms, size_t max_entries);

  MappingView put(const MappingInput& m);
  bool byGatewayId(uint64_t gateway_id, MappingView& out) const;
  // A mapping whose final receipt reached the customer (or its outbox) with the carrier answered:
  // the carrier will not send it again (the durable store then writes no carrier-id entry).
  void markSettled(uint64_t gateway_id);  // (no-op if it is not here)
  bool settled(uint64_t gateway_id) const;
  bool byUpstream(uint32_t upstream, std::string_view upstream_key, MappingView& out) const;
  // Drops entries older than the TTL (called from the janitor, not per message).
  void expire(uint64_t now_ms);

  size_t size() const { return count_; }
  // Memory held: log chunks (including the spare) and both indexes.
  size_t bytes() const;
  const MappingStats& stats() const { return stats_; }
  void setLimits(uint64_t ttl_ms, size_t max_entries) {
    ttl_ms_ = ttl_ms;
    max_entries_ = max_entries;
  }

  static constexpr size_t kTrimBatch = 100'000;  // evictions per expire() call over the limit
  static constexpr size_t kChunkBits = 20;
  static constexpr size_t kChunkBytes = size_t{1} << kChunkBits;

 private:
  struct Header;
  static uint64_t upstreamHash(uint32_t upstream, std::string_view key) {
    uint64_t h = hash64(key, 0xcbf29ce484222325ull ^ (uint64_t{upstream} * 0x9E3779B97F4A7C15ull));
    return h != 0 ? h : 1;  // 0 is the index's empty key
  }
  const std::byte* at(uint64_t offset) const;
  std::byte* reserve(size_t size);  // room for a record at tail_, crossing to a new chunk if needed
  static MappingView view(const std::byte* record);
  const std::byte* oldest();  // count_ > 0
  void popOldest();

  uint64_t ttl_ms_;
  size_t max_entries_;
  // Log: byte offsets grow forever; chunks_[i] holds offsets [(first_chunk_ + i) << kChunkBits, +1
  // MiB).
  std::deque<std::unique_ptr<std::byte[]>> chunks_;
  std::unique_ptr<std::byte[]> spare_;  // the last freed chunk, reused instead of malloc/munmap
  uint64_t first_chunk_ = 0;
  uint64_t head_ = 0;  // oldest record
  uint64_t tail_ = 0;  // where the next one goes
  size_t count_ = 0;
  IdIndex by_gateway_;   // gateway id -> offset
  IdIndex by_upstream_;  // hash(upstream, key) -> offset (verified on lookup)
  MappingStats stats_;
};

}  // namespace smppgw::store
