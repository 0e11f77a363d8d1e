#include "store/mapping_store.h"

namespace smppgw::store {

const Mapping& MappingStore::put(Mapping m) {
  while (!records_.empty() && records_.size() >= max_entries_) {
    popOldest();
    ++stats_.evicted;
  }
  uint64_t seq = base_ + records_.size();
  by_gateway_.put(m.gateway_id, seq);
  // A carrier reusing an id replaces the older mapping: the newest submit owns its receipts.
  by_upstream_.put(upstreamHash(m.upstream, m.upstream_key), seq);
  records_.push_back(std::move(m));
  ++stats_.inserted;
  return records_.back();
}

const Mapping* MappingStore::at(uint64_t seq) const {
  if (seq < base_ || seq - base_ >= records_.size()) {
    return nullptr;
  }
  return &records_[static_cast<size_t>(seq - base_)];
}

const Mapping* MappingStore::byGatewayId(uint64_t gateway_id) const {
  const uint64_t* seq = by_gateway_.find(gateway_id);
  if (seq == nullptr) {
    return nullptr;
  }
  const Mapping* m = at(*seq);
  return m != nullptr && m->gateway_id == gateway_id ? m : nullptr;
}

const Mapping* MappingStore::byUpstream(uint32_t upstream, std::string_view key) const {
  const uint64_t* seq = by_upstream_.find(upstreamHash(upstream, key));
  if (seq == nullptr) {
    return nullptr;
  }
  const Mapping* m = at(*seq);
  return m != nullptr && m->upstream == upstream && m->upstream_key == key ? m : nullptr;
}

void MappingStore::popOldest() {
  const Mapping& m = records_.front();
  if (const uint64_t* s = by_gateway_.find(m.gateway_id); s != nullptr && *s == base_) {
    by_gateway_.erase(m.gateway_id);
  }
  uint64_t h = upstreamHash(m.upstream, m.upstream_key);
  if (const uint64_t* s = by_upstream_.find(h); s != nullptr && *s == base_) {
    by_upstream_.erase(h);
  }
  records_.pop_front();
  ++base_;
}

void MappingStore::expire(uint64_t now_ms) {
  while (!records_.empty() && records_.front().created_ms + ttl_ms_ <= now_ms) {
    popOldest();
    ++stats_.expired;
  }
}

}  // namespace smppgw::store
