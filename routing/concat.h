#pragma once
// Concatenated-message stickiness: every part of one long message (same customer, destination
// and UDH / SAR reference) must leave through the same upstream member, or the handset gets
// parts from two carriers that it cannot reassemble. The decision for the first part seen is
// remembered; later parts reuse it. Bounded (oldest evicted first) and expiring; time is passed
// in, never read, so tests are deterministic.
//
// Usage per part:   if (auto u = sticky.find(key, part, now)) use *u (if still available);
//                   else { u = selector.pick(...); sticky.remember(key, part, u, now); }
// A complete message (all parts seen) is forgotten at once.

#include <bitset>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>

#include "config/model.h"

namespace smppgw::routing {

struct ConcatKey {
  config::CustomerId customer = config::kNoId;
  std::uint64_t destination_hash = 0;  // of the normalised destination
  std::uint16_t reference = 0;
  std::uint8_t total = 0;

  static ConcatKey make(config::CustomerId customer, std::string_view destination,
                        std::uint16_t reference, std::uint8_t total);
  bool operator==(const ConcatKey&) const = default;
};

class ConcatStickiness {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  ConcatStickiness(std::size_t maxEntries, std::chrono::milliseconds ttl);

  // The member chosen for an earlier part; records `part` as seen.
  std::optional<config::UpstreamId> find(const ConcatKey& key, std::uint8_t part, TimePoint now);
  // Records the member chosen for `part` (first part seen, or a re-pick after failure).
  void remember(const ConcatKey& key, std::uint8_t part, config::UpstreamId upstream,
                TimePoint now);
  // A reload: the new ttl applies to parts remembered from now on; a lower bound evicts the
  // oldest entries as new ones arrive.
  void setLimits(std::size_t maxEntries, std::chrono::milliseconds ttl) {
    maxEntries_ = maxEntries == 0 ? 1 : maxEntries;
    ttl_ = ttl;
  }
  // Drops expired entries (also done lazily by find/remember).
  void expire(TimePoint now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const ConcatKey& k) const noexcept;
  };
  struct Entry {
    config::UpstreamId upstream = config::kNoId;
    TimePoint expires;
    std::bitset<256> seen;
    std::uint64_t generation = 0;
  };
  void markSeen(std::unordered_map<ConcatKey, Entry, KeyHash>::iterator it, std::uint8_t part,
                std::uint8_t total);

  std::size_t maxEntries_;
  std::chrono::milliseconds ttl_;
  std::unordered_map<ConcatKey, Entry, KeyHash> entries_;
  std::deque<std::pair<ConcatKey, std::uint64_t>> order_;  // insertion order (= expiry order)
  std::uint64_t nextGeneration_ = 1;
};

}  // namespace smppgw::routing
