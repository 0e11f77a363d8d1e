#pragma once
// 64-bit key -> 64-bit value hash index for millions of entries that never stops the loop to grow.
//
// Open addressing with linear probing, like base/flat_map.h, but a resize is incremental
// (Redis's dict does the same): the new table (twice the size) is allocated zero-filled by
// calloc, which the kernel backs lazily, and every later operation moves a few old slots into it.
// A doubling of a 4M-entry table therefore costs no pause; one operation does at most
// kMigrateStep slot moves. While a resize runs, lookups try the new table, then the old one.
//
// Key 0 is reserved (an empty slot). Nothing is deleted from the old table during a resize (that
// would cut its probe runs): an erased or already moved entry becomes a tombstone (the value
// kTombstone) that lookups skip. The new table is searched first, so it wins over an old copy.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace smppgw::store {

class IdIndex {
 public:
  explicit IdIndex(size_t initial_capacity = 1024) {
    cur_ = Table::make(roundUp(initial_capacity));
  }

  // Not found: nullptr. The pointer is valid until the next put/erase.
  const uint64_t* find(uint64_t key) const {
    if (const Slot* s = cur_.lookup(key)) {
      return &s->value;
    }
    if (old_.slots) {
      const Slot* s = old_.lookup(key);
      if (s != nullptr && s->value != kTombstone) {
        return &s->value;
      }
    }
    return nullptr;
  }

  // Inserts or overwrites. key must not be 0; value must not be kTombstone.
  void put(uint64_t key, uint64_t value) {
    step();
    if ((cur_.count + 1) * 4 > cur_.capacity() * 3) {
      grow();
    }
    cur_.insert(key, value, /*overwrite=*/true);
  }

  // Erases key if it maps to value (so an older owner's cleanup cannot remove a newer entry).
  void eraseIf(uint64_t key, uint64_t value) {
    step();
    if (Slot* s = cur_.lookup(key); s != nullptr && s->value == value) {
      cur_.erase(s);
      if (old_.slots) {
        tombstone(key);
      }
      return;
    }
    if (old_.slots) {
      if (Slot* s = old_.lookup(key); s != nullptr && s->value == value) {
        s->value = kTombstone;
        --old_live_;
      }
    }
  }

  // Entries in the new table plus entries of the old one not yet moved (a key written again
  // during a resize counts twice until its old copy is reached).
  size_t size() const { return cur_.count + old_live_; }
  size_t bytes() const { return (cur_.capacity() + old_.capacity()) * sizeof(Slot); }
  bool resizing() const { return old_.slots != nullptr; }

 private:
  static constexpr uint64_t kTombstone = ~uint64_t{0};
  static constexpr size_t kMigrateStep =
      16;  // > 2 old slots per insert finishes before the next doubling

  struct Slot {
    uint64_t key;
    uint64_t value;
  };
  struct Free {
    void operator()(Slot* p) const { std::free(p); }
  };
  struct Table {
    std::unique_ptr<Slot[], Free> slots;
    size_t mask = 0;
    unsigned shift = 64;
    size_t count = 0;  // used slots (the old table: including stale and tombstoned ones)

    static Table make(size_t capacity) {
      Table t;
      // calloc: large blocks come from mmap, already zero, and cost nothing until touched.
      t.slots.reset(static_cast<Slot*>(std::calloc(capacity, sizeof(Slot))));
      if (!t.slots) {
        throw std::bad_alloc();
      }
      t.mask = capacity - 1;
      t.shift = 64;
      for (size_t c = capacity; c > 1; c >>= 1) {
        --t.shift;
      }
      return t;
    }
    size_t capacity() const { return slots ? mask + 1 : 0; }
    // Fibonacci hashing spreads sequential keys (minted ids) over the table.
    size_t home(uint64_t key) const {
      return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift) & mask;
    }
    Slot* lookup(uint64_t key) const {
      for (size_t i = home(key);; i = (i + 1) & mask) {
        Slot& s = slots[i];
        if (s.key == key) {
          return &s;
        }
        if (s.key == 0) {
          return nullptr;
        }
      }
    }
    // Returns false if the key was present and overwrite is false.
    bool insert(uint64_t key, uint64_t value, bool overwrite) {
      for (size_t i = home(key);; i = (i + 1) & mask) {
        Slot& s = slots[i];
        if (s.key == 0) {
          s.key = key;
          s.value = value;
          ++count;
          return true;
        }
        if (s.key == key) {
          if (overwrite) {
            s.value = value;
          }
          return overwrite;
        }
      }
    }
    // Backward-shift deletion: later entries of the probe run move into the hole.
    void erase(Slot* victim) {
      size_t hole = static_cast<size_t>(victim - slots.get());
      size_t j = hole;
      for (;;) {
        j = (j + 1) & mask;
        Slot& s = slots[j];
        if (s.key == 0) {
          break;
        }
        size_t h = home(s.key);
        bool between = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
        if (!between) {
          slots[hole] = s;
          hole = j;
        }
      }
      slots[hole] = Slot{0, 0};
      --count;
    }
  };

  static size_t roundUp(size_t n) {
    size_t c = 16;
    while (c < n) {
      c <<= 1;
    }
    return c;
  }

  void tombstone(uint64_t key) {
    if (Slot* s = old_.lookup(key); s != nullptr && s->value != kTombstone) {
      s->value = kTombstone;
      --old_live_;
    }
  }

  void grow() {
    if (old_.slots) {
      finishResize();  // only if inserts outran the migration (cannot happen with the step above)
    }
    old_ = std::move(cur_);
    old_live_ = old_.count;
    cur_ = Table::make(old_.capacity() * 2);
    migrate_pos_ = 0;
  }

  void step() {
    if (!old_.slots) {
      return;
    }
    size_t end = migrate_pos_ + kMigrateStep;
    if (end > old_.capacity()) {
      end = old_.capacity();
    }
    for (; migrate_pos_ < end; ++migrate_pos_) {
      Slot& s = old_.slots[migrate_pos_];
      if (s.key != 0 && s.value != kTombstone) {
        // A key written since the resize began is newer than its old copy: keep it.
        cur_.insert(s.key, s.value, /*overwrite=*/false);
        s.value = kTombstone;  // moved: the new table answers for it from now on
        --old_live_;
      }
    }
    if (migrate_pos_ == old_.capacity()) {
      old_ = Table{};
      old_live_ = 0;
    }
  }

  void finishResize() {
    while (old_.slots) {
      step();
    }
  }

  Table cur_;
  Table old_;
  size_t old_live_ = 0;
  size_t migrate_pos_ = 0;
};

}  // namespace smppgw::store
