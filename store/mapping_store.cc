#include "store/mapping_store.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace smppgw::store {

// A record: this header, then upstream_id, upstream_key (absent when equal to upstream_id),
// source_addr, destination_addr; the whole padded to 8 bytes.
struct MappingStore::Header {
  uint64_t gateway_id;
  uint64_t created_ms;
  uint64_t origin;
  uint32_t customer;
  uint32_t upstream;
  uint16_t size;  // whole record; 0 marks the unused end of a chunk
  uint8_t registered_delivery;
  uint8_t id_len;
  uint8_t key_len;
  uint8_t src_len;
  uint8_t dst_len;
  uint8_t flags;  // kKeyIsId, kSettled
};

namespace {
constexpr size_t kAlign = 8;
constexpr uint8_t kKeyIsId = 1;  // the normalised key is the id as sent (stored once)
constexpr uint8_t kSettled = 2;  // markSettled()
constexpr uint64_t kOffsetMask = MappingStore::kChunkBytes - 1;

uint8_t cut(std::string_view s) {
  return static_cast<uint8_t>(std::min<size_t>(s.size(), 255));
}
}  // namespace

MappingStore::MappingStore(uint64_t ttl_ms, size_t max_entries)
    : ttl_ms_(ttl_ms), max_entries_(max_entries) {
  static_assert(sizeof(Header) == 40 && sizeof(Header) % kAlign == 0);
}

size_t MappingStore::bytes() const {
  return (chunks_.size() + (spare_ ? 1 : 0)) * kChunkBytes + by_gateway_.bytes() +
         by_upstream_.bytes();
}

const std::byte* MappingStore::at(uint64_t offset) const {
  if (offset < head_ || offset >= tail_) {
    return nullptr;
  }
  return chunks_[static_cast<size_t>((offset >> kChunkBits) - first_chunk_)].get() +
         (offset & kOffsetMask);
}

MappingView MappingStore::view(const std::byte* p) {
  Header h;
  std::memcpy(&h, p, sizeof h);
  MappingView v;
  v.gateway_id = h.gateway_id;
  v.created_ms = h.created_ms;
  v.origin = h.origin;
  v.customer = h.customer;
  v.upstream = h.upstream;
  v.registered_delivery = h.registered_delivery;
  const char* s = reinterpret_cast<const char*>(p + sizeof h);
  v.upstream_id = {s, h.id_len};
  s += h.id_len;
  if ((h.flags & kKeyIsId) != 0) {
    v.upstream_key = v.upstream_id;
  } else {
    v.upstream_key = {s, h.key_len};
    s += h.key_len;
  }
  v.source_addr = {s, h.src_len};
  s += h.src_len;
  v.destination_addr = {s, h.dst_len};
  return v;
}

std::byte* MappingStore::reserve(size_t size) {
  size_t room = kChunkBytes - static_cast<size_t>(tail_ & kOffsetMask);
  if (!chunks_.empty() && size > room) {
    // Mark the rest of this chunk unused (if a header fits; popOldest skips a shorter rest).
    if (room >= sizeof(Header) && tail_ < (first_chunk_ + chunks_.size()) << kChunkBits) {
      Header pad{};
      std::memcpy(chunks_.back().get() + (tail_ & kOffsetMask), &pad, sizeof pad);
    }
    tail_ += room;
  }
  if (chunks_.empty()) {
    first_chunk_ = tail_ >> kChunkBits;
  }
  if ((tail_ >> kChunkBits) - first_chunk_ == chunks_.size()) {
    chunks_.push_back(spare_ ? std::move(spare_)
                             : std::make_unique_for_overwrite<std::byte[]>(kChunkBytes));
  }
  if (count_ == 0) {
    head_ = tail_;
  }
  std::byte* p = chunks_.back().get() + (tail_ & kOffsetMask);
  return p;
}

MappingView MappingStore::put(const MappingInput& m) {
  // A few evictions per insert at most: after a reload lowered the limit, expire() trims the
  // rest in batches instead of this put stopping the loop for millions of removals.
  for (int i = 0; i < 4 && count_ > 0 && count_ >= max_entries_; ++i) {
    popOldest();
    ++stats_.evicted;
  }
  Header h{};
  h.gateway_id = m.gateway_id;
  h.created_ms = m.created_ms;
  h.origin = m.origin;
  h.customer = m.customer;
  h.upstream = m.upstream;
  h.registered_delivery = m.registered_delivery;
  h.id_len = cut(m.upstream_id);
  h.flags = m.upstream_key == m.upstream_id ? kKeyIsId : 0;
  h.key_len = (h.flags & kKeyIsId) != 0 ? 0 : cut(m.upstream_key);
  h.src_len = cut(m.source_addr);
  h.dst_len = cut(m.destination_addr);
  size_t size = sizeof(Header) + h.id_len + h.key_len + h.src_len + h.dst_len;
  size = (size + kAlign - 1) & ~(kAlign - 1);
  h.size = static_cast<uint16_t>(size);

  std::byte* p = reserve(size);
  const uint64_t offset = tail_;
  std::memcpy(p, &h, sizeof h);
  std::byte* s = p + sizeof h;
  auto copy = [&](std::string_view v, uint8_t n) {
    if (n != 0) {  // an empty view may have a null data()
      std::memcpy(s, v.data(), n);
      s += n;
    }
  };
  copy(m.upstream_id, h.id_len);
  if ((h.flags & kKeyIsId) == 0) {
    copy(m.upstream_key, h.key_len);
  }
  copy(m.source_addr, h.src_len);
  copy(m.destination_addr, h.dst_len);
  tail_ += size;
  ++count_;
  ++stats_.inserted;

  MappingView v = view(p);
  by_gateway_.put(v.gateway_id != 0 ? v.gateway_id : 1, offset);
  // A carrier reusing an id replaces the older mapping: the newest submit owns its receipts.
  by_upstream_.put(upstreamHash(v.upstream, v.upstream_key), offset);
  return v;
}

void MappingStore::markSettled(uint64_t gateway_id) {
  const uint64_t* off = by_gateway_.find(gateway_id != 0 ? gateway_id : 1);
  std::byte* p = off != nullptr ? const_cast<std::byte*>(at(*off)) : nullptr;
  if (p == nullptr) {
    return;
  }
  Header h;
  std::memcpy(&h, p, sizeof h);
  if (h.gateway_id == gateway_id) {
    h.flags |= kSettled;
    std::memcpy(p + offsetof(Header, flags), &h.flags, 1);
  }
}

bool MappingStore::settled(uint64_t gateway_id) const {
  const uint64_t* off = by_gateway_.find(gateway_id != 0 ? gateway_id : 1);
  const std::byte* p = off != nullptr ? at(*off) : nullptr;
  if (p == nullptr) {
    return false;
  }
  Header h;
  std::memcpy(&h, p, sizeof h);
  return h.gateway_id == gateway_id && (h.flags & kSettled) != 0;
}

bool MappingStore::byGatewayId(uint64_t gateway_id, MappingView& out) const {
  const uint64_t* off = by_gateway_.find(gateway_id != 0 ? gateway_id : 1);
  const std::byte* p = off != nullptr ? at(*off) : nullptr;
  if (p == nullptr) {
    return false;
  }
  MappingView v = view(p);
  if (v.gateway_id != gateway_id) {
    return false;
  }
  out = v;
  return true;
}

bool MappingStore::byUpstream(uint32_t upstream, std::string_view key, MappingView& out) const {
  const uint64_t* off = by_upstream_.find(upstreamHash(upstream, key));
  const std::byte* p = off != nullptr ? at(*off) : nullptr;
  if (p == nullptr) {
    return false;
  }
  MappingView v = view(p);
  if (v.upstream != upstream || v.upstream_key != key) {
    return false;
  }
  out = v;
  return true;
}

const std::byte* MappingStore::oldest() {
  // Skip unused chunk ends; a chunk left behind becomes the spare.
  for (;;) {
    const size_t room = kChunkBytes - static_cast<size_t>(head_ & kOffsetMask);
    const std::byte* p = chunks_.front().get() + (head_ & kOffsetMask);
    uint16_t size = 0;
    if (room >= sizeof(Header)) {
      std::memcpy(&size, p + offsetof(Header, size), sizeof size);
    }
    if (size != 0) {
      return p;
    }
    head_ += room;
    spare_ = std::move(chunks_.front());
    chunks_.pop_front();
    ++first_chunk_;
  }
}

void MappingStore::popOldest() {
  const std::byte* p = oldest();
  const MappingView v = view(p);
  uint16_t size = 0;
  std::memcpy(&size, p + offsetof(Header, size), sizeof size);
  by_gateway_.eraseIf(v.gateway_id != 0 ? v.gateway_id : 1, head_);
  by_upstream_.eraseIf(upstreamHash(v.upstream, v.upstream_key), head_);
  head_ += size;
  --count_;
  if (count_ == 0) {
    // Empty: restart at the next chunk boundary holding no chunk (the last becomes the spare).
    // Keeping a half-used chunk would let the next record start in a new chunk while the front
    // chunk is still the old one, and oldest() would read a removed record.
    tail_ = (tail_ + kOffsetMask) & ~kOffsetMask;
    head_ = tail_;
    while (!chunks_.empty()) {
      spare_ = std::move(chunks_.front());
      chunks_.pop_front();
    }
    return;
  }
  while ((head_ >> kChunkBits) > first_chunk_) {
    // Left the front chunk: it becomes the spare.
    spare_ = std::move(chunks_.front());
    chunks_.pop_front();
    ++first_chunk_;
  }
}

void MappingStore::expire(uint64_t now_ms) {
  for (size_t n = 0; n < kTrimBatch && count_ > max_entries_; ++n) {
    popOldest();
    ++stats_.evicted;
  }
  while (count_ > 0) {
    uint64_t created = 0;
    std::memcpy(&created, oldest() + offsetof(Header, created_ms), sizeof created);
    if (created + ttl_ms_ > now_ms) {
      return;
    }
    popOldest();
    ++stats_.expired;
  }
}

}  // namespace smppgw::store
