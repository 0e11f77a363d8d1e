#include "metrics/registry.h"

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <limits>
#include <mutex>
#include <sstream>
#include <type_traits>
#include <unordered_map>

namespace smppgw::metrics {

namespace {

[[noreturn]] void misuse(const FamilyDef& def, const char* what, size_t got) {
  // A bug in the caller, found on its first run: crash loudly (docs/architecture.md).
  std::fprintf(stderr, "smppgw metrics: %s for %.*s (got %zu, declared %zu)\n", what,
               static_cast<int>(def.name.size()), def.name.data(), got, def.labels.size);
  std::abort();
}

// Label values joined with a byte that cannot occur in UTF-8 text: the lookup key.
std::string joinKey(LabelValues values) {
  std::string key;
  for (auto v : values) {
    key.append(v);
    key.push_back('\xff');
  }
  return key;
}

prometheus::MetricType promType(Kind k) {
  switch (k) {
    case Kind::Counter:
      return prometheus::MetricType::Counter;
    case Kind::Histogram:
      return prometheus::MetricType::Histogram;
    case Kind::Gauge:
    case Kind::Info:
      break;
  }
  return prometheus::MetricType::Gauge;
}

// Empty values are left out: Prometheus treats an empty label as absent.
std::vector<prometheus::ClientMetric::Label> promLabels(const FamilyDef& def,
                                                        const std::vector<std::string>& values) {
  std::vector<prometheus::ClientMetric::Label> out;
  out.reserve(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].empty()) {
      out.push_back({std::string(def.labels.names[i]), values[i]});
    }
  }
  return out;
}

}  // namespace

class Registry::Store {
 public:
  explicit Store(const FamilyDef& def) : def_(def) {}
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const FamilyDef& def() const { return def_; }
  virtual void collect(prometheus::MetricFamily& out) const = 0;
  virtual size_t size() const = 0;

 protected:
  void checkArity(LabelValues values) const {
    if (values.size() != def_.labels.size) {
      misuse(def_, "wrong number of label values", values.size());
    }
  }

  const FamilyDef& def_;
  mutable std::mutex mu_;
};

namespace {

template <typename Metric>
struct Child {
  template <typename... Args>
  Child(LabelValues v, Args&&... args) : metric(std::forward<Args>(args)...) {
    values.reserve(v.size());
    for (auto s : v) {
      values.emplace_back(s);
    }
  }
  std::vector<std::string> values;
  Metric metric;
};

void fill(prometheus::ClientMetric& m, const Counter& c) {
  m.counter.value = static_cast<double>(c.value());
}
void fill(prometheus::ClientMetric& m, const Gauge& g) {
  m.gauge.value = static_cast<double>(g.value());
}
void fill(prometheus::ClientMetric& m, const Histogram& h) {
  const Histogram::Snapshot s = h.snapshot();
  const auto bounds = h.bounds();
  m.histogram.sample_count = s.count;
  m.histogram.sample_sum = s.sum;
  m.histogram.bucket.reserve(bounds.size() + 1);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += s.counts[i];
    m.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  m.histogram.bucket.push_back({s.count, std::numeric_limits<double>::infinity()});
}

template <typename Metric>
class MetricStore final : public Registry::Store {
 public:
  using Registry::Store::Store;

  Metric& get(LabelValues values) {
    checkArity(values);
    std::string key = joinKey(values);
    std::lock_guard lock(mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      return *it->second;
    }
    Child<Metric>* child;
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = &children_.emplace_back(values, def_.buckets.view());
    } else {
      child = &children_.emplace_back(values);
    }
    index_.emplace(std::move(key), &child->metric);
    return child->metric;
  }

  void collect(prometheus::MetricFamily& out) const override {
    // Hold the lock only to list the children: they never move and their label values never
    // change once created (under this lock), so the slow part (strings, serialization) runs
    // unlocked and the loop never waits on a scrape for more than a pointer copy per child.
    std::vector<const Child<Metric>*> children;
    {
      std::lock_guard lock(mu_);
      children.reserve(children_.size());
      for (const auto& c : children_) {
        children.push_back(&c);
      }
    }
    out.metric.reserve(children.size());
    for (const Child<Metric>* c : children) {
      prometheus::ClientMetric& m = out.metric.emplace_back();
      m.label = promLabels(def_, c->values);
      fill(m, c->metric);
    }
  }

  size_t size() const override {
    std::lock_guard lock(mu_);
    return children_.size();
  }

 private:
  std::deque<Child<Metric>> children_;  // grows only: references stay valid
  std::unordered_map<std::string, Metric*> index_;
};

class InfoStore final : public Registry::Store {
 public:
  using Registry::Store::Store;

  void set(LabelValues values) {
    checkArity(values);
    std::vector<std::string> v(values.begin(), values.end());
    std::lock_guard lock(mu_);
    values_ = std::move(v);
    set_ = true;
  }

  void collect(prometheus::MetricFamily& out) const override {
    std::lock_guard lock(mu_);
    if (set_) {
      prometheus::ClientMetric& m = out.metric.emplace_back();
      m.label = promLabels(def_, values_);
      m.gauge.value = 1;
    }
  }

  size_t size() const override {
    std::lock_guard lock(mu_);
    return set_ ? 1 : 0;
  }

 private:
  std::vector<std::string> values_;
  bool set_ = false;
};

}  // namespace

Registry::Registry() {
  stores_.reserve(kFamilies.size());
  for (const FamilyDef& def : kFamilies) {
    switch (def.kind) {
      case Kind::Counter:
        stores_.push_back(std::make_unique<MetricStore<Counter>>(def));
        break;
      case Kind::Gauge:
        stores_.push_back(std::make_unique<MetricStore<Gauge>>(def));
        break;
      case Kind::Histogram:
        stores_.push_back(std::make_unique<MetricStore<Histogram>>(def));
        break;
      case Kind::Info:
        stores_.push_back(std::make_unique<InfoStore>(def));
        break;
    }
  }
  // Unlabelled families have one child: create it now so it is exported from the start.
  for (const FamilyDef& def : kFamilies) {
    if (def.labels.size != 0) {
      continue;
    }
    auto& store = *stores_[static_cast<size_t>(def.id)];
    switch (def.kind) {
      case Kind::Counter:
        static_cast<MetricStore<Counter>&>(store).get({});
        break;
      case Kind::Gauge:
        static_cast<MetricStore<Gauge>&>(store).get({});
        break;
      case Kind::Histogram:
        static_cast<MetricStore<Histogram>&>(store).get({});
        break;
      case Kind::Info:
        break;
    }
  }
}

Registry::~Registry() = default;

Counter& Registry::counter(CounterFamily f, LabelValues values) {
  return static_cast<MetricStore<Counter>&>(*stores_[static_cast<size_t>(f)]).get(values);
}

Gauge& Registry::gauge(GaugeFamily f, LabelValues values) {
  return static_cast<MetricStore<Gauge>&>(*stores_[static_cast<size_t>(f)]).get(values);
}

Histogram& Registry::histogram(HistogramFamily f, LabelValues values) {
  return static_cast<MetricStore<Histogram>&>(*stores_[static_cast<size_t>(f)]).get(values);
}

void Registry::setInfo(InfoFamily f, LabelValues values) {
  static_cast<InfoStore&>(*stores_[static_cast<size_t>(f)]).set(values);
}

std::string Registry::serialize() const {
  std::vector<prometheus::MetricFamily> families;
  families.reserve(stores_.size());
  for (const auto& store : stores_) {
    const FamilyDef& def = store->def();
    prometheus::MetricFamily& fam = families.emplace_back();
    fam.name = std::string(def.name);
    fam.help = std::string(def.help);
    fam.type = promType(def.kind);
    store->collect(fam);
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

size_t Registry::childCount(FamilyId id) const {
  return stores_[static_cast<size_t>(id)]->size();
}

}  // namespace smppgw::metrics
