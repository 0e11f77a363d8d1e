#include "routing/concat.h"

namespace smppgw::routing {

ConcatKey ConcatKey::make(config::CustomerId customer, std::string_view destination,
                          std::uint16_t reference, std::uint8_t total) {
  // FNV-1a: a collision only makes two messages share a member, which is harmless.
  std::uint64_t h = 1469598103934665603ull;
  for (char c : destination) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return ConcatKey{customer, h, reference, total};
}

std::size_t ConcatStickiness::KeyHash::operator()(const ConcatKey& k) const noexcept {
  std::uint64_t h = k.destination_hash;
  h ^= (static_cast<std::uint64_t>(k.customer) << 24) ^
       (static_cast<std::uint64_t>(k.reference) << 8) ^ k.total;
  h *= 0x9E3779B97F4A7C15ull;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

ConcatStickiness::ConcatStickiness(std::size_t maxEntries, std::chrono::milliseconds ttl)
    : maxEntries_(maxEntries == 0 ? 1 : maxEntries), ttl_(ttl) {}

void ConcatStickiness::expire(TimePoint now) {
  while (!order_.empty()) {
    const auto& [key, generation] = order_.front();
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.generation == generation) {
      if (it->second.expires > now) {
        break;
      }
      entries_.erase(it);
    }
    order_.pop_front();
  }
}

void ConcatStickiness::markSeen(std::unordered_map<ConcatKey, Entry, KeyHash>::iterator it,
                                std::uint8_t part, std::uint8_t total) {
  it->second.seen.set(part);
  if (total != 0 && it->second.seen.count() >= total) {
    entries_.erase(it);  // every part routed: nothing left to keep together
  }
}

std::optional<config::UpstreamId> ConcatStickiness::find(const ConcatKey& key, std::uint8_t part,
                                                         TimePoint now) {
  expire(now);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  const auto upstream = it->second.upstream;
  markSeen(it, part, key.total);
  return upstream;
}

void ConcatStickiness::remember(const ConcatKey& key, std::uint8_t part,
                                config::UpstreamId upstream, TimePoint now) {
  expire(now);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    while (entries_.size() >= maxEntries_ && !order_.empty()) {
      // Evict the oldest live entry (stale queue slots are skipped).
      const auto& [oldKey, generation] = order_.front();
      auto old = entries_.find(oldKey);
      if (old != entries_.end() && old->second.generation == generation) {
        entries_.erase(old);
      }
      order_.pop_front();
    }
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  e.upstream = upstream;
  e.expires = now + ttl_;
  e.generation = nextGeneration_++;
  order_.emplace_back(key, e.generation);
  markSeen(it, part, key.total);
  if (order_.size() > 2 * maxEntries_ + 1024) {
    // Completed and re-remembered entries leave stale slots behind; drop them in one pass.
    std::erase_if(order_, [&](const std::pair<ConcatKey, std::uint64_t>& slot) {
      auto live = entries_.find(slot.first);
      return live == entries_.end() || live->second.generation != slot.second;
    });
  }
}

}  // namespace smppgw::routing
