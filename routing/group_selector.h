#pragma once
// Picks the upstream member of a group for one message. Pure: the caller says which members are
// available and how many requests each has outstanding; the selector only keeps the strategy
// state (round-robin cursor, smooth weighted round-robin counters). One instance per event loop.
//
//   failover           lowest priority value among available members; members sharing that
//                      priority split traffic by weight (smooth weighted round robin)
//   round_robin        next available member in order (priority and weight ignored)
//   weighted           smooth weighted round robin over available members (weight 0 = drained)
//   least_outstanding  fewest outstanding requests; ties go to the lower priority value, then
//                      rotate

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "config/model.h"

namespace smppgw::routing {

struct MemberStatus {
  bool available = false;         // bound, window and TPS room, not draining
  std::uint32_t outstanding = 0;  // requests in flight (least_outstanding)
};

class GroupSelector {
 public:
  explicit GroupSelector(const config::Config& config);

  // byUpstream is indexed by UpstreamId. nullopt: no member available.
  std::optional<config::UpstreamId> pick(config::GroupId group,
                                         std::span<const MemberStatus> byUpstream);
  // Members to try after the ones in `tried` failed, best first (does not change state).
  std::vector<config::UpstreamId> fallbacks(config::GroupId group,
                                            std::span<const MemberStatus> byUpstream,
                                            std::span<const config::UpstreamId> tried) const;
  // Every member in the strategy's order of preference, ignoring availability (CLI, explain).
  std::vector<config::UpstreamId> preferenceOrder(config::GroupId group) const;

  std::size_t groupCount() const { return groups_.size(); }

 private:
  struct State {
    config::GroupStrategy strategy = config::GroupStrategy::Failover;
    std::vector<config::GroupMember> members;
    std::vector<std::int64_t> current;  // smooth weighted round robin, per member
    std::size_t cursor = 0;             // round robin / least_outstanding rotation
  };
  static bool usable(const config::GroupMember& m, std::span<const MemberStatus> s);
  std::optional<config::UpstreamId> smoothWeighted(State& st, std::span<const MemberStatus> s,
                                                   std::optional<std::uint32_t> priority);
  std::vector<std::size_t> orderedIndices(const State& st, std::span<const MemberStatus> s) const;

  std::vector<State> groups_;
};

}  // namespace smppgw::routing
