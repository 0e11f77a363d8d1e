#include <doctest/doctest.h>

#include "string_view_maker.h"

#include <algorithm>
#include <map>
#include <vector>

#include "config/model.h"
#include "routing/group_selector.h"

using namespace smppgw;
using namespace smppgw::routing;
using config::GroupStrategy;

namespace {

// Upstreams 0..3; one group built from (upstream, priority, weight) triples.
config::Config makeConfig(GroupStrategy strategy,
                          std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>> m) {
  config::Config c;
  c.upstreams.resize(4);
  config::Group g;
  g.strategy = strategy;
  for (auto [u, p, w] : m) {
    config::GroupMember gm;
    gm.upstream = u;
    gm.priority = p;
    gm.weight = w;
    g.members.push_back(gm);
  }
  c.groups.push_back(g);
  return c;
}

std::vector<MemberStatus> allUp(std::size_t n = 4) {
  return std::vector<MemberStatus>(n, MemberStatus{true, 0});
}

std::vector<config::UpstreamId> picks(GroupSelector& s, const std::vector<MemberStatus>& st,
                                      int n) {
  std::vector<config::UpstreamId> out;
  for (int i = 0; i < n; ++i) {
    auto p = s.pick(0, st);
    out.push_back(p ? *p : config::kNoId);
  }
  return out;
}

}  // namespace

TEST_CASE("failover: lowest priority value that is available") {
  GroupSelector s(makeConfig(GroupStrategy::Failover, {{2, 2, 1}, {0, 1, 1}, {1, 3, 1}}));
  auto st = allUp();
  CHECK(picks(s, st, 3) == std::vector<config::UpstreamId>{0, 0, 0});
  st[0].available = false;
  CHECK(picks(s, st, 2) == std::vector<config::UpstreamId>{2, 2});
  st[2].available = false;
  CHECK(s.pick(0, st) == 1u);
  st[1].available = false;
  CHECK_FALSE(s.pick(0, st).has_value());
  st[0].available = true;  // primary back: traffic returns to it
  CHECK(s.pick(0, st) == 0u);
  CHECK(s.preferenceOrder(0) == std::vector<config::UpstreamId>{0, 2, 1});
}

TEST_CASE("failover: equal priorities share by weight") {
  GroupSelector s(makeConfig(GroupStrategy::Failover, {{0, 1, 2}, {1, 1, 1}, {2, 5, 1}}));
  auto st = allUp();
  auto seq = picks(s, st, 6);
  CHECK(std::count(seq.begin(), seq.end(), 0u) == 4);
  CHECK(std::count(seq.begin(), seq.end(), 1u) == 2);
  CHECK(std::count(seq.begin(), seq.end(), 2u) == 0);
}

TEST_CASE("round_robin: available members take turns") {
  GroupSelector s(makeConfig(GroupStrategy::RoundRobin, {{0, 1, 1}, {1, 1, 1}, {2, 1, 1}}));
  auto st = allUp();
  CHECK(picks(s, st, 6) == std::vector<config::UpstreamId>{0, 1, 2, 0, 1, 2});
  st[1].available = false;
  CHECK(picks(s, st, 4) == std::vector<config::UpstreamId>{0, 2, 0, 2});
}

TEST_CASE("weighted: smooth weighted round robin") {
  GroupSelector s(makeConfig(GroupStrategy::Weighted, {{0, 1, 5}, {1, 1, 1}, {2, 1, 1}}));
  auto st = allUp();
  // nginx's smooth sequence for 5:1:1 - the heavy member is interleaved, not bunched.
  CHECK(picks(s, st, 7) == std::vector<config::UpstreamId>{0, 0, 1, 0, 2, 0, 0});
  GroupSelector s2(makeConfig(GroupStrategy::Weighted, {{0, 1, 3}, {1, 1, 1}, {3, 1, 0}}));
  auto seq = picks(s2, st, 400);
  CHECK(std::count(seq.begin(), seq.end(), 0u) == 300);
  CHECK(std::count(seq.begin(), seq.end(), 1u) == 100);
  CHECK(std::count(seq.begin(), seq.end(), 3u) == 0);  // weight 0: drained
  st[0].available = false;
  CHECK(picks(s2, st, 3) == std::vector<config::UpstreamId>{1, 1, 1});
  st[1].available = false;
  CHECK_FALSE(s2.pick(0, st).has_value());  // only the drained member is left
}

TEST_CASE("least_outstanding: fewest in flight, ties by priority then rotation") {
  GroupSelector s(makeConfig(GroupStrategy::LeastOutstanding, {{0, 1, 1}, {1, 1, 1}, {2, 2, 1}}));
  auto st = allUp();
  st[0].outstanding = 5;
  st[1].outstanding = 2;
  st[2].outstanding = 9;
  CHECK(s.pick(0, st) == 1u);
  st[1].outstanding = 7;
  CHECK(s.pick(0, st) == 0u);
  st[0].outstanding = st[1].outstanding = st[2].outstanding = 0;
  auto seq = picks(s, st, 4);
  CHECK(std::count(seq.begin(), seq.end(), 2u) == 0);  // priority 2 loses every tie
  CHECK(std::count(seq.begin(), seq.end(), 0u) == 2);  // ties rotate between 0 and 1
  st[0].available = st[1].available = false;
  CHECK(s.pick(0, st) == 2u);
}

TEST_CASE("fallbacks after a failed attempt, per strategy") {
  auto st = allUp();
  GroupSelector f(makeConfig(GroupStrategy::Failover, {{0, 1, 1}, {1, 2, 1}, {2, 3, 1}}));
  std::vector<config::UpstreamId> tried{0};
  CHECK(f.fallbacks(0, st, tried) == std::vector<config::UpstreamId>{1, 2});
  st[1].available = false;
  CHECK(f.fallbacks(0, st, tried) == std::vector<config::UpstreamId>{2});
  tried.push_back(2);
  CHECK(f.fallbacks(0, st, tried).empty());

  st = allUp();
  GroupSelector w(makeConfig(GroupStrategy::Weighted, {{0, 1, 1}, {1, 1, 5}, {2, 1, 0}}));
  CHECK(w.fallbacks(0, st, std::vector<config::UpstreamId>{}) ==
        std::vector<config::UpstreamId>{1, 0});

  GroupSelector lo(makeConfig(GroupStrategy::LeastOutstanding, {{0, 1, 1}, {1, 1, 1}, {2, 1, 1}}));
  st[0].outstanding = 3;
  st[1].outstanding = 1;
  st[2].outstanding = 2;
  CHECK(lo.fallbacks(0, st, std::vector<config::UpstreamId>{1}) ==
        std::vector<config::UpstreamId>{2, 0});
}

TEST_CASE("unknown group and short status spans are safe") {
  GroupSelector s(makeConfig(GroupStrategy::RoundRobin, {{3, 1, 1}}));
  CHECK_FALSE(s.pick(7, allUp()).has_value());
  CHECK_FALSE(s.pick(0, allUp(2)).has_value());  // upstream 3 has no status entry
  CHECK(s.fallbacks(9, allUp(), {}).empty());
  CHECK(s.preferenceOrder(9).empty());
  CHECK(s.groupCount() == 1);
}
