// Costs of the metrics on the data path (Counter::inc, Histogram::observe, both through a
// reference resolved once, as the gateway holds them) and of one scrape of a registry the size
// of a large aggregator: 50 customers x 10 upstreams. docs/metrics.md records the numbers.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "metrics/registry.h"

namespace m = smppgw::metrics;

namespace {

void BM_CounterInc(benchmark::State& state) {
  m::Registry reg;
  m::Counter& c =
      reg.counter(m::CounterFamily::PdusReceived, {"customer", "acme", "", "submit_sm"});
  for (auto _ : state) {
    c.inc();
  }
  benchmark::DoNotOptimize(c.value());
}
BENCHMARK(BM_CounterInc);

// The baseline Counter::inc avoids: a lock-prefixed read-modify-write (what a multi-writer
// counter such as prometheus::Counter pays on every increment).
void BM_AtomicFetchAddBaseline(benchmark::State& state) {
  std::atomic<uint64_t> v{0};
  for (auto _ : state) {
    v.fetch_add(1, std::memory_order_relaxed);
  }
  benchmark::DoNotOptimize(v.load());
}
BENCHMARK(BM_AtomicFetchAddBaseline);

void BM_GaugeAdd(benchmark::State& state) {
  m::Registry reg;
  m::Gauge& g = reg.gauge(m::GaugeFamily::Inflight, {"customer", "acme", ""});
  for (auto _ : state) {
    g.add(1);
  }
  benchmark::DoNotOptimize(g.value());
}
BENCHMARK(BM_GaugeAdd);

// Latencies spread over the buckets the way a carrier's round trips are (mostly 1-50 ms).
void BM_HistogramObserve(benchmark::State& state) {
  m::Registry reg;
  m::Histogram& h = reg.histogram(m::HistogramFamily::UpstreamRoundTrip, {"carrier-a"});
  std::vector<double> samples;
  for (int i = 0; i < 1024; ++i) {
    samples.push_back(0.0005 * ((i * 37) % 100 + 1));  // 0.5 ms .. 50 ms
  }
  size_t i = 0;
  for (auto _ : state) {
    h.observe(samples[i++ & 1023]);
  }
  benchmark::DoNotOptimize(h.snapshot().count);
}
BENCHMARK(BM_HistogramObserve);

// A large deployment's children: per customer its PDU counters, responses, refusals, sessions,
// latency histogram; per upstream the same; per (customer, upstream) its receipts.
void populate(m::Registry& reg, int customers, int upstreams) {
  const char* commands[] = {"submit_sm", "submit_sm_resp", "deliver_sm", "deliver_sm_resp",
                            "enquire_link"};
  for (int c = 0; c < customers; ++c) {
    const std::string cust = "customer-" + std::to_string(c);
    for (const char* cmd : commands) {
      reg.counter(m::CounterFamily::PdusReceived, {"customer", cust, "", cmd}).add(1000);
      reg.counter(m::CounterFamily::PdusSent, {"customer", cust, "", cmd}).add(1000);
    }
    for (const char* st : {"ESME_ROK", "ESME_RTHROTTLED", "ESME_RSYSERR"}) {
      reg.counter(m::CounterFamily::Responses, {"customer", cust, "", "submit_sm_resp", st})
          .add(10);
    }
    for (auto r : m::kRefusalReasonLabels) {
      reg.counter(m::CounterFamily::Refusals, {cust, r}).inc();
    }
    reg.gauge(m::GaugeFamily::Sessions, {"public", cust, "bound", "transceiver"}).set(2);
    reg.gauge(m::GaugeFamily::Inflight, {"customer", cust, ""}).set(5);
    reg.histogram(m::HistogramFamily::SubmitLatency, {cust}).observe(0.01);
    for (auto r : m::kDeliveryResultLabels) {
      reg.counter(m::CounterFamily::Deliveries, {cust, r}).inc();
    }
    for (int u = 0; u < upstreams; ++u) {
      const std::string up = "upstream-" + std::to_string(u);
      for (auto r : m::kReceiptResultLabels) {
        reg.counter(m::CounterFamily::Receipts, {up, cust, r}).inc();
      }
    }
  }
  for (int u = 0; u < upstreams; ++u) {
    const std::string up = "upstream-" + std::to_string(u);
    for (const char* cmd : commands) {
      reg.counter(m::CounterFamily::PdusReceived, {"upstream", "", up, cmd}).add(1000);
      reg.counter(m::CounterFamily::PdusSent, {"upstream", "", up, cmd}).add(1000);
    }
    for (auto s : m::kUpstreamBindStateLabels) {
      reg.gauge(m::GaugeFamily::UpstreamBinds, {up, s}).set(1);
    }
    reg.gauge(m::GaugeFamily::QueueDepth, {up}).set(3);
    reg.histogram(m::HistogramFamily::UpstreamRoundTrip, {up}).observe(0.02);
    reg.histogram(m::HistogramFamily::QueueWait, {up}).observe(0.001);
  }
}

void BM_Serialize50x10(benchmark::State& state) {
  m::Registry reg;
  populate(reg, 50, 10);
  size_t bytes = 0;
  for (auto _ : state) {
    std::string text = reg.serialize();
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  size_t children = 0;
  for (const auto& def : m::kFamilies) {
    children += reg.childCount(def.id);
  }
  state.counters["children"] = static_cast<double>(children);
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Serialize50x10)->Unit(benchmark::kMillisecond);

// The data path while another thread scrapes the same registry non-stop (a worst case: a real
// scrape comes every 15 s or so). The difference to BM_CounterInc / BM_HistogramObserve is what
// scraping costs the loop: cache lines the scraper read must come back before the next store.
void BM_IncAndObserveWhileScraping(benchmark::State& state) {
  m::Registry reg;
  populate(reg, 50, 10);
  m::Counter& c =
      reg.counter(m::CounterFamily::PdusReceived, {"customer", "customer-7", "", "submit_sm"});
  m::Histogram& h = reg.histogram(m::HistogramFamily::SubmitLatency, {"customer-7"});
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> scrapes{0};
  std::thread scraper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      benchmark::DoNotOptimize(reg.serialize().size());
      scrapes.fetch_add(1, std::memory_order_relaxed);
    }
  });
  double v = 0.001;
  for (auto _ : state) {
    c.inc();
    h.observe(v);
    v = v < 0.05 ? v * 1.5 : 0.001;
  }
  stop.store(true);
  scraper.join();
  state.counters["scrapes"] = static_cast<double>(scrapes.load());
}
BENCHMARK(BM_IncAndObserveWhileScraping)->UseRealTime();

void BM_IncAndObserveAlone(benchmark::State& state) {
  m::Registry reg;
  populate(reg, 50, 10);
  m::Counter& c =
      reg.counter(m::CounterFamily::PdusReceived, {"customer", "customer-7", "", "submit_sm"});
  m::Histogram& h = reg.histogram(m::HistogramFamily::SubmitLatency, {"customer-7"});
  double v = 0.001;
  for (auto _ : state) {
    c.inc();
    h.observe(v);
    v = v < 0.05 ? v * 1.5 : 0.001;
  }
}
BENCHMARK(BM_IncAndObserveAlone)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
