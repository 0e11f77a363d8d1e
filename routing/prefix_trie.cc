#include "routing/prefix_trie.h"

#include <algorithm>

namespace smppgw::routing {

PrefixTrie::Root PrefixTrie::addRoot() {
  build_.emplace_back();
  buildRoots_.push_back(static_cast<std::int32_t>(build_.size() - 1));
  return static_cast<Root>(buildRoots_.size() - 1);
}

void PrefixTrie::insert(Root root, std::string_view digits, Value value) {
  std::int32_t node = buildRoots_[root];
  for (char c : digits) {
    const auto d = static_cast<unsigned>(c - '0');
    std::int32_t next = build_[static_cast<std::size_t>(node)].child[d];
    if (next < 0) {
      build_.emplace_back();
      next = static_cast<std::int32_t>(build_.size() - 1);
      build_[static_cast<std::size_t>(node)].child[d] = next;
    }
    node = next;
  }
  pending_.emplace_back(static_cast<std::uint32_t>(node), value);
}

void PrefixTrie::finalize() {
  // Value lists per build node: stable by node keeps insertion (= ascending rule) order.
  std::stable_sort(pending_.begin(), pending_.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::uint32_t> listBegin(build_.size(), 0);
  std::vector<std::uint32_t> listCount(build_.size(), 0);
  values_.clear();
  values_.reserve(pending_.size());
  for (std::size_t i = 0; i < pending_.size();) {
    const std::uint32_t node = pending_[i].first;
    listBegin[node] = static_cast<std::uint32_t>(values_.size());
    for (; i < pending_.size() && pending_[i].first == node; ++i) {
      if (values_.size() == listBegin[node] || values_.back() != pending_[i].second) {
        values_.push_back(pending_[i].second);
      }
    }
    listCount[node] = static_cast<std::uint32_t>(values_.size()) - listBegin[node];
  }

  // Compact layout: place a node's children as one block, then descend into them first-child
  // first (explicit stack), so a chain of single children occupies consecutive slots.
  nodes_.clear();
  nodes_.reserve(build_.size());
  roots_.clear();
  std::vector<std::pair<std::int32_t, std::uint32_t>> stack;  // (build node, compact index)
  auto place = [&](std::int32_t buildNode) {
    Node n;
    n.begin = listBegin[static_cast<std::size_t>(buildNode)];
    n.count = listCount[static_cast<std::size_t>(buildNode)];
    nodes_.push_back(n);
    return static_cast<std::uint32_t>(nodes_.size() - 1);
  };
  for (std::int32_t buildRoot : buildRoots_) {
    roots_.push_back(place(buildRoot));
    stack.emplace_back(buildRoot, roots_.back());
    while (!stack.empty()) {
      const auto [b, c] = stack.back();
      stack.pop_back();
      const BuildNode& bn = build_[static_cast<std::size_t>(b)];
      std::uint16_t mask = 0;
      const auto first = static_cast<std::uint32_t>(nodes_.size());
      std::int32_t kids[10];
      std::uint32_t slots[10];
      int n = 0;
      for (unsigned d = 0; d < 10; ++d) {
        if (bn.child[d] >= 0) {
          mask = static_cast<std::uint16_t>(mask | (1u << d));
          kids[n] = bn.child[d];
          slots[n] = place(bn.child[d]);
          ++n;
        }
      }
      nodes_[c].child_mask = mask;
      nodes_[c].first_child = first;
      for (int k = n - 1; k >= 0; --k) {
        stack.emplace_back(kids[k], slots[k]);
      }
    }
  }
  build_.clear();
  build_.shrink_to_fit();
  buildRoots_.clear();
  pending_.clear();
  pending_.shrink_to_fit();
  nodes_.shrink_to_fit();
  values_.shrink_to_fit();
}

}  // namespace smppgw::routing
