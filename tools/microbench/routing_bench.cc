// Routing table micro-benchmark: 10,000 routes carrying 100,000 destination prefixes.
//
// Prints p50/p90/p99/p99.9 of single lookups (each timed on its own with steady_clock; the
// clock's own cost is measured and reported separately), then runs Google Benchmark for the
// mean lookup cost, the table build (compile) time and, for reload, loading + validating the
// same table from JSON.
//
//   ./routing_bench                       percentiles + all benchmarks
//   ./routing_bench --benchmark_filter=Lookup

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "config/load.h"
#include "routing/table.h"

namespace {

using namespace smppgw;
using Clock = std::chrono::steady_clock;

constexpr int kRoutes = 10000;
constexpr int kPrefixesPerRoute = 10;  // 100,000 prefixes in all
constexpr int kCustomers = 200;
constexpr int kGroups = 20;
constexpr int kKeys = 1 << 20;

struct Rng {
  std::mt19937_64 engine{42};
  std::uint64_t below(std::uint64_t n) { return engine() % n; }
  std::string digits(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      s += static_cast<char>('0' + below(10));
    }
    return s;
  }
};

const char* const kCountryCodes[] = {"1",   "7",   "33",  "34",  "39",  "44",  "49",
                                     "55",  "61",  "81",  "86",  "91",  "234", "254",
                                     "351", "353", "358", "380", "420", "971"};

// A realistic-looking table: mostly global prefix routes, a share restricted to customers, a
// few with data_coding / service_type conditions, and a catch-all at the end.
config::Config makeConfig(Rng& rng) {
  config::Config c;
  c.numbering.default_country = "44";
  c.numbering.countries = {{"44", "0"}, {"1", "1"}};
  c.listeners.resize(2);
  c.customers.resize(kCustomers);
  for (int i = 0; i < kCustomers; ++i) {
    c.customers[static_cast<std::size_t>(i)].system_id = "cust" + std::to_string(i);
  }
  c.groups.resize(kGroups);
  for (int g = 0; g < kGroups; ++g) {
    c.groups[static_cast<std::size_t>(g)].name = "group" + std::to_string(g);
  }
  c.routes.reserve(kRoutes);
  for (int r = 0; r < kRoutes; ++r) {
    config::Route rt;
    rt.name = "route" + std::to_string(r);
    auto& m = rt.match;
    const auto roll = rng.below(100);
    if (roll < 30) {
      m.any_customer = false;
      const auto n = 1 + rng.below(3);
      for (std::uint64_t k = 0; k < n; ++k) {
        m.customer_ids.push_back(static_cast<config::CustomerId>(rng.below(kCustomers)));
      }
      std::sort(m.customer_ids.begin(), m.customer_ids.end());
      m.customer_ids.erase(std::unique(m.customer_ids.begin(), m.customer_ids.end()),
                           m.customer_ids.end());
    }
    if (roll % 10 == 1) {
      m.data_codings = {8};
    } else if (roll % 20 == 2) {
      m.service_types = {"CMT"};
    }
    if (r + 1 < kRoutes) {
      for (int p = 0; p < kPrefixesPerRoute; ++p) {
        m.destination_prefixes.push_back(std::string(kCountryCodes[rng.below(20)]) +
                                         rng.digits(3 + rng.below(5)));
      }
    }
    rt.action.kind = config::Action::Kind::Group;
    rt.action.group = static_cast<config::GroupId>(rng.below(kGroups));
    c.routes.push_back(std::move(rt));
  }
  return c;
}

struct Workload {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const routing::RoutingTable> table;
  std::vector<std::string> destinations;
  std::vector<routing::MtKey> keys;
};

Workload& workload() {
  static Workload w = [] {
    Workload out;
    Rng rng;
    out.config = std::make_shared<const config::Config>(makeConfig(rng));
    auto compiled = routing::RoutingTable::compile(out.config);
    if (!compiled.ok()) {
      std::fprintf(stderr, "compile failed\n");
      std::exit(1);
    }
    out.table = compiled.table;
    out.destinations.reserve(kKeys);
    for (int i = 0; i < kKeys; ++i) {
      // 80 %: a number under some route's prefix; 20 %: any number (often unmatched deep).
      std::string d;
      if (rng.below(100) < 80) {
        const auto& route = out.config->routes[rng.below(kRoutes - 1)];
        const auto& p = route.match.destination_prefixes[rng.below(kPrefixesPerRoute)];
        d = p + rng.digits(12 - std::min<std::size_t>(p.size(), 10));
      } else {
        d = std::string(kCountryCodes[rng.below(20)]) + rng.digits(9);
      }
      if (rng.below(10) == 0) {
        d = "+" + d;
      }
      out.destinations.push_back(std::move(d));
    }
    out.keys.resize(kKeys);
    for (int i = 0; i < kKeys; ++i) {
      auto& k = out.keys[static_cast<std::size_t>(i)];
      k.customer = static_cast<config::CustomerId>(rng.below(kCustomers));
      k.listener = static_cast<config::ListenerId>(rng.below(2));
      k.source_addr = "ACME";
      k.source_ton = 5;
      k.destination_addr = out.destinations[static_cast<std::size_t>(i)];
      k.destination_ton = 1;
      k.destination_npi = 1;
      k.data_coding = rng.below(4) == 0 ? 8 : 0;
    }
    return out;
  }();
  return w;
}

std::string toJson(const config::Config& c) {
  // The same table as a config file, for the load+validate (reload) benchmark.
  std::string s = R"({"gateway": {"allow_plain_passwords": true},
    "listeners": [{"name": "l0", "port": 2775}, {"name": "l1", "port": 2776}],
    "upstreams": [{"name": "u", "host": "127.0.0.1", "port": 2777, "system_id": "gw"}],
    "customers": [)";
  for (std::size_t i = 0; i < c.customers.size(); ++i) {
    s += (i ? "," : "") + std::string(R"({"system_id": ")") + c.customers[i].system_id +
         R"(", "password": "x"})";
  }
  s += R"(], "groups": [)";
  for (std::size_t g = 0; g < c.groups.size(); ++g) {
    s += (g ? "," : "") + std::string(R"({"name": ")") + c.groups[g].name +
         R"(", "members": [{"upstream": "u"}]})";
  }
  s += R"(], "routes": [)";
  for (std::size_t r = 0; r < c.routes.size(); ++r) {
    const auto& rt = c.routes[r];
    s += (r ? ",\n" : "") + std::string(R"({"name": ")") + rt.name + R"(", "match": {)";
    bool first = true;
    auto field = [&](const std::string& f) {
      s += (first ? "" : ", ") + f;
      first = false;
    };
    if (!rt.match.any_customer) {
      std::string list;
      for (auto id : rt.match.customer_ids) {
        list += (list.empty() ? "\"" : ", \"") + c.customers[id].system_id + "\"";
      }
      field(R"("customers": [)" + list + "]");
    }
    if (!rt.match.destination_prefixes.empty()) {
      std::string list;
      for (const auto& p : rt.match.destination_prefixes) {
        list += (list.empty() ? "\"" : ", \"") + p + "\"";
      }
      field(R"("destination_prefixes": [)" + list + "]");
    }
    if (!rt.match.data_codings.empty()) {
      field(R"("data_coding": [8])");
    }
    if (!rt.match.service_types.empty()) {
      field(R"("service_types": ["CMT"])");
    }
    s += R"(}, "action": {"group": ")" + c.groups[rt.action.group].name + R"("}})";
  }
  s += "]}";
  return s;
}

void printPercentiles() {
  auto& w = workload();
  const auto& t = *w.table;
  // Warm up caches and the branch predictor the way a running gateway would be.
  std::uint64_t sink = 0;
  for (const auto& k : w.keys) {
    sink += t.route(k).rule;
  }
  // The cost of reading the clock twice, measured the same way.
  std::vector<std::int64_t> overhead(200000);
  for (auto& o : overhead) {
    const auto a = Clock::now();
    const auto b = Clock::now();
    o = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
  }
  std::sort(overhead.begin(), overhead.end());
  std::vector<std::int64_t> ns(w.keys.size());
  for (std::size_t i = 0; i < w.keys.size(); ++i) {
    const auto a = Clock::now();
    const auto d = t.route(w.keys[i]);
    const auto b = Clock::now();
    sink += d.rule;
    ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](const std::vector<std::int64_t>& v, double p) {
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
  };
  std::size_t prefixes = 0;
  for (const auto& r : w.config->routes) {
    prefixes += r.match.destination_prefixes.size();
  }
  std::printf("routing table: %zu routes, %zu destination prefixes, %zu customers\n",
              w.config->routes.size(), prefixes, w.config->customers.size());
  std::printf("trie: %zu nodes, %zu entries, %.1f MiB\n", t.nodeCount(), t.entryCount(),
              static_cast<double>(t.memoryBytes()) / (1024.0 * 1024.0));
  std::printf("single lookups (%zu, each timed alone, includes clock overhead):\n", ns.size());
  std::printf("  p50 %lld ns  p90 %lld ns  p99 %lld ns  p99.9 %lld ns  max %lld ns\n",
              static_cast<long long>(pct(ns, 0.50)), static_cast<long long>(pct(ns, 0.90)),
              static_cast<long long>(pct(ns, 0.99)), static_cast<long long>(pct(ns, 0.999)),
              static_cast<long long>(ns.back()));
  std::printf("clock overhead (two now() calls): p50 %lld ns  p99 %lld ns\n",
              static_cast<long long>(pct(overhead, 0.50)),
              static_cast<long long>(pct(overhead, 0.99)));
  const auto b0 = Clock::now();
  auto again = routing::RoutingTable::compile(w.config);
  const auto b1 = Clock::now();
  std::printf("table build (compile): %.1f ms%s\n",
              std::chrono::duration<double, std::milli>(b1 - b0).count(),
              again.ok() ? "" : " FAILED");
  benchmark::DoNotOptimize(sink);
}

void BM_RouteLookup(benchmark::State& state) {
  auto& w = workload();
  std::size_t i = 0;
  for (auto _ : state) {
    auto d = w.table->route(w.keys[i]);
    benchmark::DoNotOptimize(d);
    i = (i + 1) & (kKeys - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RouteLookup);

void BM_TableBuild(benchmark::State& state) {
  auto& w = workload();
  for (auto _ : state) {
    auto compiled = routing::RoutingTable::compile(w.config);
    benchmark::DoNotOptimize(compiled);
  }
}
BENCHMARK(BM_TableBuild)->Unit(benchmark::kMillisecond)->Iterations(5);

void BM_LoadValidateCompileJson(benchmark::State& state) {
  auto& w = workload();
  const std::string json = toJson(*w.config);
  for (auto _ : state) {
    auto loaded = config::loadConfigText(json, "bench");
    if (!loaded.ok()) {
      state.SkipWithError("config did not load");
      return;
    }
    auto compiled = routing::RoutingTable::compile(loaded.config);
    benchmark::DoNotOptimize(compiled);
  }
  state.counters["json_bytes"] = static_cast<double>(json.size());
}
BENCHMARK(BM_LoadValidateCompileJson)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  printPercentiles();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
