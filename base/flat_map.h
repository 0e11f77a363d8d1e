#pragma once
// Open-addressing hash map with 64-bit keys (linear probing, backward-shift deletion). The data
// path keeps its correlation tables here: std::unordered_map costs a node allocation per entry,
// about 270 instructions per round trip more (shared/docs/performance.md, B.5).

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace smppgw {

template <class V>
class FlatMap64 {
 public:
  explicit FlatMap64(size_t initial_capacity = 16) { rehash(roundUp(initial_capacity)); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  V* find(uint64_t key) {
    size_t i = slot(key);
    for (;;) {
      Slot& s = slots_[i];
      if (!s.used) {
        return nullptr;
      }
      if (s.key == key) {
        return &s.value;
      }
      i = (i + 1) & mask_;
    }
  }
  const V* find(uint64_t key) const { return const_cast<FlatMap64*>(this)->find(key); }

  // Inserts or overwrites; returns the stored value.
  V& put(uint64_t key, V value) {
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      rehash(slots_.size() * 2);
    }
    size_t i = slot(key);
    for (;;) {
      Slot& s = slots_[i];
      if (!s.used) {
        s.used = true;
        s.key = key;
        s.value = std::move(value);
        ++size_;
        return s.value;
      }
      if (s.key == key) {
        s.value = std::move(value);
        return s.value;
      }
      i = (i + 1) & mask_;
    }
  }

  bool erase(uint64_t key) {
    size_t i = slot(key);
    for (;;) {
      Slot& s = slots_[i];
      if (!s.used) {
        return false;
      }
      if (s.key == key) {
        break;
      }
      i = (i + 1) & mask_;
    }
    // Backward-shift: pull later entries of the same probe run into the hole.
    size_t hole = i;
    size_t j = i;
    for (;;) {
      j = (j + 1) & mask_;
      Slot& s = slots_[j];
      if (!s.used) {
        break;
      }
      size_t home = slot(s.key);
      bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!between) {
        slots_[hole] = std::move(s);
        hole = j;
      }
    }
    slots_[hole].used = false;
    if constexpr (!std::is_trivially_destructible_v<V>) {
      slots_[hole].value = V{};  // frees what it holds; a plain value is just left behind
    }
    --size_;
    return true;
  }

  template <class Fn>
  void forEach(Fn&& fn) {
    for (Slot& s : slots_) {
      if (s.used) {
        fn(s.key, s.value);
      }
    }
  }

  void clear() {
    for (Slot& s : slots_) {
      s = Slot{};
    }
    size_ = 0;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    bool used = false;
    V value{};
  };

  static size_t roundUp(size_t n) {
    size_t c = 16;
    while (c < n) {
      c <<= 1;
    }
    return c;
  }
  // Fibonacci hashing spreads sequential keys (sequence numbers, minted ids) over the table.
  size_t slot(uint64_t key) const {
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_;
  }
  void rehash(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64;
    for (size_t c = capacity; c > 1; c >>= 1) {
      --shift_;
    }
    size_ = 0;
    for (Slot& s : old) {
      if (s.used) {
        put(s.key, std::move(s.value));
      }
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  unsigned shift_ = 60;
  size_t size_ = 0;
};

// 64-bit hash of a string key for FlatMap64/IdIndex (callers verify the string on a hit). Eight
// bytes per step (carrier message ids are 8-40 characters; FNV-1a's byte loop cost ~5 per byte).
inline uint64_t hash64(std::string_view s, uint64_t seed = 0xcbf29ce484222325ull) {
  uint64_t h = seed ^ (s.size() * 0x9E3779B97F4A7C15ull);
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
  }
  if (n != 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
  }
  h ^= h >> 32;  // final mix (splitmix64's): every input bit reaches the low bits the map uses
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

}  // namespace smppgw
