#pragma once
// A decimal-digit trie with several roots, each node carrying a sorted list of 32-bit values
// (rule indices, ascending). Built once, then read-only.
//
// After finalize() the nodes are 16 bytes: a 10-bit child mask and the index of the first child,
// with all children of a node stored next to each other and laid out depth first, so the long
// single-child chains that random prefixes produce sit in consecutive cache lines. The value
// lists live in one flat array. A lookup touches one node per digit and allocates nothing.

#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace smppgw::routing {

class PrefixTrie {
 public:
  using Value = std::uint32_t;
  using Root = std::uint32_t;

  // A new empty root (0, 1, 2, ...).
  Root addRoot();
  // Attaches `value` under `root` at `digits` ('0'..'9' only). Per node, values must be inserted
  // in ascending order (the builder walks rules in order); repeats are dropped.
  void insert(Root root, std::string_view digits, Value value);
  // Freezes the trie into its compact form. insert() is not allowed afterwards.
  void finalize();

  // Calls visit(depth, values) for the root and for each node along `key`'s leading digits that
  // carries values (prefixes of key, shortest first). Stops at the first non-digit or missing
  // child. Only after finalize().
  template <typename Visit>
  void walk(Root root, std::string_view key, Visit&& visit) const {
    std::uint32_t node = roots_[root];
    std::size_t depth = 0;
    while (true) {
      const Node& n = nodes_[node];
      if (n.count != 0) {
        visit(depth, std::span<const Value>(values_.data() + n.begin, n.count));
      }
      if (depth == key.size()) {
        return;
      }
      const unsigned digit = static_cast<unsigned char>(key[depth]) - '0';
      if (digit > 9) {
        return;
      }
      const unsigned bit = 1u << digit;
      if ((n.child_mask & bit) == 0) {
        return;
      }
      node = n.first_child + kBitsBelow[n.child_mask & (bit - 1)];
      ++depth;
    }
  }

  // walk() over two roots in lock step: the two chains of dependent node loads are independent
  // of each other, so the CPU overlaps their cache misses. visit(depth, values) order between
  // the two tries is unspecified.
  template <typename Visit>
  void walkBoth(Root first, Root second, std::string_view key, Visit&& visit) const {
    std::uint32_t a = roots_[first];
    std::uint32_t b = roots_[second];
    bool aliveA = true;
    bool aliveB = true;
    for (std::size_t depth = 0; aliveA || aliveB; ++depth) {
      const unsigned digit =
          depth < key.size() ? static_cast<unsigned>(static_cast<unsigned char>(key[depth]) - '0')
                             : 10u;
      if (aliveA) {
        aliveA = step(a, depth, digit, visit);
      }
      if (aliveB) {
        aliveB = step(b, depth, digit, visit);
      }
    }
  }

  std::size_t nodeCount() const { return nodes_.size(); }
  std::size_t valueCount() const { return values_.size(); }
  std::size_t memoryBytes() const {
    return nodes_.capacity() * sizeof(Node) + values_.capacity() * sizeof(Value) +
           roots_.capacity() * sizeof(std::uint32_t);
  }

 private:
  // One level of a walk: visits `node`, moves it to the child for `digit` (10+ = stop).
  template <typename Visit>
  bool step(std::uint32_t& node, std::size_t depth, unsigned digit, Visit& visit) const {
    const Node& n = nodes_[node];
    if (n.count != 0) {
      visit(depth, std::span<const Value>(values_.data() + n.begin, n.count));
    }
    if (digit > 9) {
      return false;
    }
    const unsigned bit = 1u << digit;
    if ((n.child_mask & bit) == 0) {
      return false;
    }
    node = n.first_child + kBitsBelow[n.child_mask & (bit - 1)];
    return true;
  }

  struct BuildNode {
    std::int32_t child[10] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  };
  struct Node {
    std::uint32_t first_child = 0;
    std::uint16_t child_mask = 0;
    std::uint16_t reserved = 0;
    std::uint32_t begin = 0;  // into values_
    std::uint32_t count = 0;
  };
  static_assert(sizeof(Node) == 16);

  // Population count of 10-bit masks: the build targets baseline x86-64 (no POPCNT), where
  // std::popcount is a library call; a 1 KiB table stays in L1.
  static constexpr auto kBitsBelow = [] {
    std::array<std::uint8_t, 1024> t{};
    for (unsigned i = 0; i < 1024; ++i) {
      t[i] = static_cast<std::uint8_t>(std::popcount(i));
    }
    return t;
  }();

  std::vector<BuildNode> build_;
  std::vector<std::int32_t> buildRoots_;
  std::vector<std::pair<std::uint32_t, Value>> pending_;  // (build node, value)

  std::vector<Node> nodes_;
  std::vector<Value> values_;
  std::vector<std::uint32_t> roots_;
};

}  // namespace smppgw::routing
