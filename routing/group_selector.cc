#include "routing/group_selector.h"

#include <algorithm>
#include <limits>
#include <numeric>

namespace smppgw::routing {

using config::GroupStrategy;

GroupSelector::GroupSelector(const config::Config& config) {
  groups_.reserve(config.groups.size());
  for (const auto& g : config.groups) {
    State st;
    st.strategy = g.strategy;
    st.members = g.members;
    st.current.assign(g.members.size(), 0);
    groups_.push_back(std::move(st));
  }
}

bool GroupSelector::usable(const config::GroupMember& m, std::span<const MemberStatus> s) {
  return m.upstream < s.size() && s[m.upstream].available;
}

std::optional<config::UpstreamId> GroupSelector::smoothWeighted(
    State& st, std::span<const MemberStatus> s, std::optional<std::uint32_t> priority) {
  std::int64_t total = 0;
  std::size_t best = st.members.size();
  for (std::size_t i = 0; i < st.members.size(); ++i) {
    const auto& m = st.members[i];
    if (!usable(m, s) || m.weight == 0 || (priority && m.priority != *priority)) {
      continue;
    }
    st.current[i] += m.weight;
    total += m.weight;
    if (best == st.members.size() || st.current[i] > st.current[best]) {
      best = i;
    }
  }
  if (best == st.members.size()) {
    return std::nullopt;
  }
  st.current[best] -= total;
  return st.members[best].upstream;
}

std::optional<config::UpstreamId> GroupSelector::pick(config::GroupId group,
                                                      std::span<const MemberStatus> s) {
  if (group >= groups_.size()) {
    return std::nullopt;
  }
  State& st = groups_[group];
  const std::size_t n = st.members.size();
  if (n == 0) {
    return std::nullopt;
  }
  switch (st.strategy) {
    case GroupStrategy::Failover: {
      std::optional<std::uint32_t> best;
      std::size_t atBest = 0;
      std::size_t only = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const auto& m = st.members[i];
        if (!usable(m, s) || m.weight == 0) {
          continue;
        }
        if (!best || m.priority < *best) {
          best = m.priority;
          atBest = 1;
          only = i;
        } else if (m.priority == *best) {
          ++atBest;
        }
      }
      if (!best) {
        return std::nullopt;
      }
      if (atBest == 1) {
        return st.members[only].upstream;
      }
      return smoothWeighted(st, s, best);
    }
    case GroupStrategy::RoundRobin:
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (st.cursor + k) % n;
        if (usable(st.members[i], s)) {
          st.cursor = (i + 1) % n;
          return st.members[i].upstream;
        }
      }
      return std::nullopt;
    case GroupStrategy::Weighted:
      return smoothWeighted(st, s, std::nullopt);
    case GroupStrategy::LeastOutstanding: {
      std::size_t best = n;
      for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (st.cursor + k) % n;
        const auto& m = st.members[i];
        if (!usable(m, s)) {
          continue;
        }
        if (best == n) {
          best = i;
          continue;
        }
        const auto& b = st.members[best];
        const auto mo = s[m.upstream].outstanding;
        const auto bo = s[b.upstream].outstanding;
        if (mo < bo || (mo == bo && m.priority < b.priority)) {
          best = i;
        }
      }
      if (best == n) {
        return std::nullopt;
      }
      st.cursor = (best + 1) % n;  // the next tie goes to the member after this one
      return st.members[best].upstream;
    }
  }
  return std::nullopt;
}

std::vector<std::size_t> GroupSelector::orderedIndices(const State& st,
                                                       std::span<const MemberStatus> s) const {
  std::vector<std::size_t> idx(st.members.size());
  std::iota(idx.begin(), idx.end(), 0);
  const auto& m = st.members;
  switch (st.strategy) {
    case GroupStrategy::Failover:
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        if (m[a].priority != m[b].priority) {
          return m[a].priority < m[b].priority;
        }
        return m[a].weight > m[b].weight;
      });
      break;
    case GroupStrategy::Weighted:
      std::stable_sort(idx.begin(), idx.end(),
                       [&](std::size_t a, std::size_t b) { return m[a].weight > m[b].weight; });
      break;
    case GroupStrategy::RoundRobin:
      std::rotate(idx.begin(),
                  idx.begin() +
                      static_cast<std::ptrdiff_t>(st.cursor % std::max<std::size_t>(1, idx.size())),
                  idx.end());
      break;
    case GroupStrategy::LeastOutstanding:
      std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
        const auto oa = m[a].upstream < s.size() ? s[m[a].upstream].outstanding : 0u;
        const auto ob = m[b].upstream < s.size() ? s[m[b].upstream].outstanding : 0u;
        if (oa != ob) {
          return oa < ob;
        }
        return m[a].priority < m[b].priority;
      });
      break;
  }
  return idx;
}

std::vector<config::UpstreamId> GroupSelector::fallbacks(
    config::GroupId group, std::span<const MemberStatus> s,
    std::span<const config::UpstreamId> tried) const {
  std::vector<config::UpstreamId> out;
  if (group >= groups_.size()) {
    return out;
  }
  const State& st = groups_[group];
  for (std::size_t i : orderedIndices(st, s)) {
    const auto& m = st.members[i];
    if (!usable(m, s) || m.weight == 0 ||
        std::find(tried.begin(), tried.end(), m.upstream) != tried.end()) {
      continue;
    }
    out.push_back(m.upstream);
  }
  return out;
}

std::vector<config::UpstreamId> GroupSelector::preferenceOrder(config::GroupId group) const {
  std::vector<config::UpstreamId> out;
  if (group >= groups_.size()) {
    return out;
  }
  const State& st = groups_[group];
  for (std::size_t i : orderedIndices(st, {})) {
    out.push_back(st.members[i].upstream);
  }
  return out;
}

}  // namespace smppgw::routing
