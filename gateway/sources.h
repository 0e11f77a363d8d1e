#pragma once
// What the gateway knows of each customer source address: its open connections
// (limits.max_connections_per_source), its recent failed binds and a block (auth.*), its password
// checks waiting or running (auth.max_pending_checks_per_source). An address is known while it
// has a connection, a check, a block or failures inside the window; tick() forgets the rest, so
// the table holds what the limits bound and no more.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>

#include <netinet/in.h>

#include "config/model.h"

namespace smppgw {

struct SourceKey {
  std::array<uint8_t, 16> ip{};  // IPv4 as ::ffff:a.b.c.d, so a mapped address is the same key
  friend bool operator==(const SourceKey&, const SourceKey&) = default;
};

struct SourceKeyHash {
  size_t operator()(const SourceKey& k) const {
    uint64_t a = 0;
    uint64_t b = 0;
    std::memcpy(&a, k.ip.data(), 8);
    std::memcpy(&b, k.ip.data() + 8, 8);
    return static_cast<size_t>((a * 0x9E3779B97F4A7C15ull) ^ (b + (b >> 29)));
  }
};

inline SourceKey sourceKey(const sockaddr_storage& ss) {
  SourceKey k;
  if (ss.ss_family == AF_INET6) {
    std::memcpy(k.ip.data(), &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
  } else {
    k.ip[10] = 0xFF;
    k.ip[11] = 0xFF;
    std::memcpy(k.ip.data() + 12, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
  }
  return k;
}

class Sources {
 public:
  struct Entry {
    uint32_t connections = 0;
    uint32_t bound = 0;   // of which bound: the address is a customer's (its checks go first)
    uint32_t checks = 0;  // password checks waiting or running
    uint32_t failures = 0;
    uint64_t window_start_ms = 0;
    uint64_t blocked_until_ms = 0;  // 0: not blocked
  };

  Entry& at(const SourceKey& k) { return map_[k]; }
  Entry* find(const SourceKey& k) {
    auto it = map_.find(k);
    return it == map_.end() ? nullptr : &it->second;
  }

  bool blocked(const SourceKey& k, uint64_t now_ms) {
    const Entry* e = find(k);
    return e != nullptr && e->blocked_until_ms > now_ms;
  }

  // A failed bind from k; true when it blocks the address (the failures start over after it).
  bool failed(const SourceKey& k, uint64_t now_ms, const config::Auth& a) {
    Entry& e = at(k);
    if (e.failures == 0 ||
        now_ms - e.window_start_ms >= static_cast<uint64_t>(a.failure_window.count())) {
      e.failures = 0;
      e.window_start_ms = now_ms;
    }
    if (++e.failures < a.max_failures) {
      return false;
    }
    e.failures = 0;
    e.blocked_until_ms = now_ms + static_cast<uint64_t>(a.block.count());
    return true;
  }

  // Forgets idle addresses; returns how many are blocked now.
  size_t tick(uint64_t now_ms, const config::Auth& a) {
    size_t blocked = 0;
    for (auto it = map_.begin(); it != map_.end();) {
      Entry& e = it->second;
      if (e.blocked_until_ms != 0 && e.blocked_until_ms <= now_ms) {
        e.blocked_until_ms = 0;
      }
      if (e.failures != 0 &&
          now_ms - e.window_start_ms >= static_cast<uint64_t>(a.failure_window.count())) {
        e.failures = 0;
      }
      blocked += e.blocked_until_ms != 0;
      if (e.connections == 0 && e.checks == 0 && e.failures == 0 && e.blocked_until_ms == 0) {
        it = map_.erase(it);
      } else {
        ++it;
      }
    }
    return blocked;
  }

  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<SourceKey, Entry, SourceKeyHash> map_;
};

}  // namespace smppgw
