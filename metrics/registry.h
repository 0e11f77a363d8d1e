#pragma once
// The registry: owns one family per entry of families.h and the children (label combinations)
// created in it, and serializes them to the Prometheus text exposition format.
//
// Threads:
//  - The gateway's loop thread RESOLVES children (counter()/gauge()/histogram(): find or create,
//    under the family's mutex, may allocate) at bind, connect and config time, keeps the returned
//    references (they stay valid for the registry's life: children live in a std::deque that only
//    grows), and WRITES through them on the data path with no lock (primitives.h).
//  - The exposer's thread calls serialize(): it takes each family's mutex only long enough to
//    copy the list of that family's children (a pointer each), then reads and formats them
//    unlocked. The loop can only ever wait on a scrape while it creates a child (rare, never per
//    PDU), and then for microseconds.
//  - There is deliberately no "collect callback" that the scrape thread would run against the
//    loop's data structures: that would be a data race. Values computed on demand (queue depth,
//    in-flight, sessions, the loop's own counters) are pushed by the loop itself, e.g. on its
//    100 ms tick, with Gauge::set / Counter::add.
//
// A child is never removed: a customer or upstream removed by a reload keeps its counters (they
// stop moving); the gateway sets its gauges to 0.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/families.h"
#include "metrics/primitives.h"

namespace smppgw::metrics {

using LabelValues = std::span<const std::string_view>;

class Registry {
 public:
  // Creates every family; families without labels get their one child at once, so they are
  // exported (at 0) from the first scrape.
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Find or create the child with these label values (in the family's declared order; "" =
  // not applicable). A wrong number of values is a programming error: abort with a message.
  Counter& counter(CounterFamily f, LabelValues values);
  Gauge& gauge(GaugeFamily f, LabelValues values);
  Histogram& histogram(HistogramFamily f, LabelValues values);
  Counter& counter(CounterFamily f, std::initializer_list<std::string_view> values = {}) {
    return counter(f, LabelValues(values.begin(), values.size()));
  }
  Gauge& gauge(GaugeFamily f, std::initializer_list<std::string_view> values = {}) {
    return gauge(f, LabelValues(values.begin(), values.size()));
  }
  Histogram& histogram(HistogramFamily f, std::initializer_list<std::string_view> values = {}) {
    return histogram(f, LabelValues(values.begin(), values.size()));
  }

  // Info families hold exactly one series (value 1); this replaces its labels (e.g. the config
  // hash after a reload). Any thread; rare.
  void setInfo(InfoFamily f, LabelValues values);
  void setInfo(InfoFamily f, std::initializer_list<std::string_view> values) {
    setInfo(f, LabelValues(values.begin(), values.size()));
  }

  // Text exposition format 0.0.4 (prometheus-cpp's TextSerializer), every family in table order,
  // HELP and TYPE even when it has no child yet. Any thread.
  std::string serialize() const;

  // Number of children of a family (tests, benchmarks).
  size_t childCount(FamilyId id) const;

  class Store;  // one family's children (registry.cc)

 private:
  std::vector<std::unique_ptr<Store>> stores_;  // indexed by FamilyId
};

// A loop-owned memo for a label known only per PDU, such as a response's command_status: the
// first sighting of a value creates the child through the registry (family mutex, allocation),
// every later one is a scan of a few (key, pointer) pairs with no lock. Not thread-safe: one per
// peer (session or upstream), owned by the loop.
template <typename Key, typename Metric = Counter>
class ChildMemo {
 public:
  // `make(key)` returns Metric& (from Registry::counter/gauge/histogram) on the first sighting.
  template <typename Make>
  Metric& get(const Key& key, Make&& make) {
    for (auto& [k, m] : entries_) {
      if (k == key) {
        return *m;
      }
    }
    Metric& m = make(key);
    entries_.emplace_back(key, &m);
    return m;
  }
  size_t size() const { return entries_.size(); }

 private:
  std::vector<std::pair<Key, Metric*>> entries_;
};

}  // namespace smppgw::metrics
