#pragma once
// Open-addressing map from a short string key (a normalised message id, at most 64 characters)
// to a small trivially copyable value. Keys live inline in the table, so inserting and erasing
// allocate nothing; the table only grows (doubling) when it passes 70 % load. Linear probing with
// backward-shift deletion: no tombstones, so lookups stay short under churn.

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>

namespace smppgw::tools {

template <class V>
class FlatIdMap {
  static_assert(std::is_trivially_copyable_v<V>);

 public:
  static constexpr size_t kMaxKey = 64;

  explicit FlatIdMap(size_t initial_capacity = 1024) { rehash(roundUp(initial_capacity)); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Inserts or overwrites. False if the key is empty or too long.
  bool put(std::string_view key, const V& value) {
    if (key.empty() || key.size() > kMaxKey) {
      return false;
    }
    if ((size_ + 1) * 10 > (mask_ + 1) * 7) {
      rehash((mask_ + 1) * 2);
    }
    const uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Entry& e = table_[i];
      if (e.len == 0) {
        e.hash = h;
        e.len = static_cast<uint8_t>(key.size());
        std::memcpy(e.key, key.data(), key.size());
        e.value = value;
        ++size_;
        return true;
      }
      if (e.hash == h && e.view() == key) {
        e.value = value;
        return true;
      }
    }
  }

  V* find(std::string_view key) {
    if (key.empty() || key.size() > kMaxKey) {
      return nullptr;
    }
    const uint64_t h = hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Entry& e = table_[i];
      if (e.len == 0) {
        return nullptr;
      }
      if (e.hash == h && e.view() == key) {
        return &e.value;
      }
    }
  }

  // Removes the key; returns whether it was there (and its value in *out).
  bool take(std::string_view key, V* out = nullptr) {
    if (key.empty() || key.size() > kMaxKey) {
      return false;
    }
    const uint64_t h = hash(key);
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      Entry& e = table_[i];
      if (e.len == 0) {
        return false;
      }
      if (e.hash == h && e.view() == key) {
        if (out != nullptr) {
          *out = e.value;
        }
        break;
      }
    }
    // Backward-shift: pull later members of the probe run into the hole.
    size_t hole = i;
    for (size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      Entry& e = table_[j];
      if (e.len == 0) {
        break;
      }
      const size_t home = e.hash & mask_;
      // Move e if its home is not cyclically within (hole, j].
      const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!stays) {
        table_[hole] = e;
        hole = j;
      }
    }
    table_[hole].len = 0;
    --size_;
    return true;
  }

  template <class Fn>
  void forEach(Fn&& fn) const {
    for (size_t i = 0; i <= mask_; ++i) {
      if (table_[i].len != 0) {
        fn(table_[i].view(), table_[i].value);
      }
    }
  }

  void clear() {
    for (size_t i = 0; i <= mask_; ++i) {
      table_[i].len = 0;
    }
    size_ = 0;
  }

 private:
  struct Entry {
    uint64_t hash = 0;
    uint8_t len = 0;  // 0: empty
    char key[kMaxKey];
    V value;
    std::string_view view() const { return {key, len}; }
  };

  static size_t roundUp(size_t n) {
    size_t c = 16;
    while (c < n) {
      c <<= 1;
    }
    return c;
  }
  static uint64_t hash(std::string_view s) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a, then a final mix for the low bits
    for (char c : s) {
      h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
  }
  void rehash(size_t cap) {
    auto old = std::move(table_);
    const size_t old_cap = old ? mask_ + 1 : 0;
    table_ = std::make_unique<Entry[]>(cap);
    mask_ = cap - 1;
    size_ = 0;
    for (size_t i = 0; i < old_cap; ++i) {
      if (old[i].len != 0) {
        put(old[i].view(), old[i].value);
      }
    }
  }

  std::unique_ptr<Entry[]> table_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace smppgw::tools
