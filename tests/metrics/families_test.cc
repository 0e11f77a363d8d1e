// The family table: every family follows the naming rules, the checker itself catches what it
// should, and docs/metrics.md documents every family.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "metrics/families.h"

namespace m = smppgw::metrics;

namespace {

std::string str(std::string_view s) {
  return std::string(s);
}

}  // namespace

TEST_CASE("every family follows the naming rules") {
  REQUIRE(m::kFamilies.size() == m::kFamilyCount);
  REQUIRE(m::kFamilyCount >= 40);
  std::set<std::string_view> names;
  for (const m::FamilyDef& def : m::kFamilies) {
    INFO(str(def.name));
    CHECK_MESSAGE(m::familyProblem(def).empty(), str(m::familyProblem(def)));
    CHECK(names.insert(def.name).second);
    CHECK(def.name.substr(0, 7) == "smppgw_");
    if (def.kind == m::Kind::Counter) {
      CHECK(def.name.ends_with("_total"));
    } else {
      CHECK_FALSE(def.name.ends_with("_total"));
    }
    if (def.kind == m::Kind::Histogram) {
      CHECK(def.name.ends_with("_seconds"));
      CHECK(def.buckets.size > 0);
      CHECK(def.buckets.size <= m::kMaxBuckets);
    }
    for (auto l : def.labels.view()) {
      INFO(str(l));
      const bool allowed =
          std::find(m::kAllowedLabels.begin(), m::kAllowedLabels.end(), l) !=
              m::kAllowedLabels.end() ||
          (def.kind == m::Kind::Info &&
           std::find(m::kInfoLabels.begin(), m::kInfoLabels.end(), l) != m::kInfoLabels.end());
      CHECK(allowed);
    }
  }
}

TEST_CASE("the typed family enums point at families of their kind") {
  CHECK(m::family(m::CounterFamily::PdusReceived).kind == m::Kind::Counter);
  CHECK(m::family(m::CounterFamily::PdusReceived).name == "smppgw_pdus_received_total");
  CHECK(m::family(m::GaugeFamily::Sessions).kind == m::Kind::Gauge);
  CHECK(m::family(m::HistogramFamily::SubmitLatency).kind == m::Kind::Histogram);
  CHECK(m::family(m::InfoFamily::BuildInfo).kind == m::Kind::Info);
  CHECK(m::family(m::CounterFamily::LoopIterations).name == "smppgw_loop_iterations_total");
  for (size_t i = 0; i < m::kFamilies.size(); ++i) {
    CHECK(static_cast<size_t>(m::kFamilies[i].id) == i);
  }
}

TEST_CASE("the required families exist") {
  std::set<std::string_view> names;
  for (const auto& def : m::kFamilies) {
    names.insert(def.name);
  }
  for (const char* required : {"smppgw_pdus_received_total",
                               "smppgw_pdus_sent_total",
                               "smppgw_responses_total",
                               "smppgw_sessions",
                               "smppgw_upstream_binds",
                               "smppgw_inflight_requests",
                               "smppgw_queue_depth",
                               "smppgw_queue_wait_seconds",
                               "smppgw_refusals_total",
                               "smppgw_submit_latency_seconds",
                               "smppgw_upstream_round_trip_seconds",
                               "smppgw_receipts_total",
                               "smppgw_deliveries_total",
                               "smppgw_mo_messages_total",
                               "smppgw_orphan_responses_total",
                               "smppgw_upstream_timeouts_total",
                               "smppgw_tls_handshakes_total",
                               "smppgw_tls_certificate_expiry_timestamp_seconds",
                               "smppgw_config_reloads_total",
                               "smppgw_config_info",
                               "smppgw_config_loaded_timestamp_seconds",
                               "smppgw_store_backlog",
                               "smppgw_build_info",
                               "smppgw_loop_reads_total",
                               "smppgw_loop_writes_total",
                               "smppgw_loop_iterations_total",
                               "smppgw_loop_received_bytes_total",
                               "smppgw_loop_sent_bytes_total"}) {
    CHECK_MESSAGE(names.count(required) == 1, required);
  }
}

TEST_CASE("the naming checker rejects what it should") {
  auto def = [](m::Kind kind, std::string_view name, m::LabelNames labels, m::Buckets b = {}) {
    return m::FamilyDef{m::FamilyId{}, kind, name, labels, b, "help"};
  };
  const auto ok = m::buckets(0.1, 1);
  CHECK(m::familyProblem(def(m::Kind::Counter, "smppgw_x_total", m::labels("customer"))).empty());
  CHECK(m::familyProblem(def(m::Kind::Histogram, "smppgw_x_seconds", m::labels(), ok)).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Counter, "gw_x_total", m::labels())).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Counter, "smppgw_x", m::labels())).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Counter, "smppgw_X_total", m::labels())).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Counter, "smppgw_x__total", m::labels())).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Gauge, "smppgw_x_total", m::labels())).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Gauge, "smppgw_x_info", m::labels())).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Info, "smppgw_x", m::labels("version"))).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Histogram, "smppgw_x_ms", m::labels(), ok)).empty());
  CHECK_FALSE(m::familyProblem(def(m::Kind::Histogram, "smppgw_x_seconds", m::labels())).empty());
  CHECK_FALSE(
      m::familyProblem(def(m::Kind::Histogram, "smppgw_x_seconds", m::labels(), m::buckets(1, 0.5)))
          .empty());
  // Unbounded or sensitive labels: phone numbers, message ids, free-form names.
  for (const char* bad : {"msisdn", "destination_addr", "message_id", "sequence", "peer", "le"}) {
    INFO(bad);
    CHECK_FALSE(m::familyProblem(def(m::Kind::Counter, "smppgw_x_total", m::labels(bad))).empty());
  }
  CHECK_FALSE(m::familyProblem(def(m::Kind::Counter, "smppgw_x_total", m::labels("hash"))).empty());
  CHECK(m::familyProblem(def(m::Kind::Info, "smppgw_x_info", m::labels("hash"))).empty());
  CHECK_FALSE(
      m::familyProblem(def(m::Kind::Counter, "smppgw_x_total", m::labels("customer", "customer")))
          .empty());
  m::FamilyDef multiline = def(m::Kind::Counter, "smppgw_x_total", m::labels());
  multiline.help = "two\nlines";
  CHECK_FALSE(m::familyProblem(multiline).empty());
}

TEST_CASE("fixed label value sets are snake_case and distinct") {
  auto check = [](auto values) {
    std::set<std::string_view> seen;
    for (auto v : values) {
      INFO(str(v));
      CHECK(m::detail::isSnakeCase(v));
      CHECK(seen.insert(v).second);
    }
  };
  check(m::kSideLabels);
  check(m::kRefusalReasonLabels);
  check(m::kReceiptResultLabels);
  check(m::kDeliveryResultLabels);
  check(m::kMoResultLabels);
  check(m::kSessionStateLabels);
  check(m::kUpstreamBindStateLabels);
  check(m::kBindTypeLabels);
  CHECK(m::label(m::RefusalReason::QueueFull) == "queue_full");
  CHECK(m::label(m::RefusalReason::Shutdown) == "shutdown");
  CHECK(m::label(m::Side::Upstream) == "upstream");
  CHECK(m::label(m::ReceiptResult::Expired) == "expired");
  CHECK(m::label(m::DeliveryResult::Queued) == "queued");
  CHECK(m::label(m::UpstreamBindState::Unbinding) == "unbinding");
  CHECK(m::label(m::BindType::Transceiver) == "transceiver");
  // The brief's refusal reasons are all there.
  for (const char* r :
       {"rate", "window", "queue_full", "policy", "auth", "no_route", "no_upstream"}) {
    CHECK(std::find(m::kRefusalReasonLabels.begin(), m::kRefusalReasonLabels.end(),
                    std::string_view(r)) != m::kRefusalReasonLabels.end());
  }
}

TEST_CASE("docs/metrics.md documents every family and every fixed label value") {
  std::ifstream in(std::string(SMPPGW_SOURCE_DIR) + "/docs/metrics.md");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& def : m::kFamilies) {
    CHECK_MESSAGE(doc.find('`' + str(def.name) + '`') != std::string::npos, str(def.name));
  }
  for (auto v : m::kRefusalReasonLabels) {
    CHECK_MESSAGE(doc.find('`' + str(v) + '`') != std::string::npos, str(v));
  }
}
