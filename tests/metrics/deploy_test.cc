// The Grafana dashboard and the Prometheus alert rules use only metrics that exist: every
// `smppgw_*` name in their PromQL is a family of families.h (histograms through their _bucket,
// _sum and _count series), and every label they select or group by is one the family has.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "metrics/families.h"

namespace m = smppgw::metrics;

namespace {

std::string readSource(const std::string& rel) {
  std::ifstream in(std::string(SMPPGW_SOURCE_DIR) + "/" + rel);
  REQUIRE_MESSAGE(in.good(), rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every PromQL string of a Grafana dashboard: panel targets' `expr`, and template variables'
// `query` / `definition`.
void collectDashboardExprs(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& key = it.key();
      if ((key == "expr" || key == "definition") && it->is_string()) {
        out.push_back(it->get<std::string>());
      } else if (key == "query" && it->is_string()) {
        out.push_back(it->get<std::string>());
      } else {
        collectDashboardExprs(*it, out);
      }
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      collectDashboardExprs(v, out);
    }
  }
}

size_t indentOf(const std::string& line) {
  return line.find_first_not_of(' ');
}

// The `expr:` values of a Prometheus rules file, including block scalars (`expr: |`).
std::vector<std::string> collectRuleExprs(const std::string& yaml) {
  std::vector<std::string> out;
  std::vector<std::string> lines;
  std::istringstream in(yaml);
  for (std::string l; std::getline(in, l);) {
    lines.push_back(l);
  }
  static const std::regex kExpr(R"(^(\s*)(- )?expr:\s*(.*)$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch mt;
    if (!std::regex_match(lines[i], mt, kExpr)) {
      continue;
    }
    std::string value = mt[3].str();
    if (value.starts_with("|") || value.starts_with(">")) {
      const size_t key_indent = indentOf(lines[i]);
      value.clear();
      while (i + 1 < lines.size() && (lines[i + 1].find_first_not_of(' ') == std::string::npos ||
                                      indentOf(lines[i + 1]) > key_indent)) {
        value += lines[++i] + "\n";
      }
    }
    out.push_back(value);
  }
  return out;
}

const m::FamilyDef* findFamily(std::string_view name) {
  for (const auto& def : m::kFamilies) {
    if (def.name == name) {
      return &def;
    }
  }
  return nullptr;
}

// Resolves a series name as used in PromQL to its family (histogram series suffixes allowed).
const m::FamilyDef* resolve(const std::string& name, bool& is_bucket) {
  is_bucket = false;
  if (const auto* def = findFamily(name)) {
    return def;
  }
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) {
      const auto* def = findFamily(std::string_view(name).substr(0, name.size() - suffix.size()));
      if (def != nullptr && def->kind == m::Kind::Histogram) {
        is_bucket = suffix == "_bucket";
        return def;
      }
    }
  }
  return nullptr;
}

bool hasLabel(const m::FamilyDef& def, std::string_view l) {
  const auto v = def.labels.view();
  return std::find(v.begin(), v.end(), l) != v.end();
}

// Checks one PromQL expression; returns the metric names it uses.
std::set<std::string> checkExpr(const std::string& expr) {
  INFO("expr: " << expr);
  std::set<std::string> used;
  static const std::regex kName(R"((^|[^a-zA-Z0-9_:])(smppgw_[a-zA-Z0-9_]+)(\s*\{([^}]*)\})?)");
  static const std::regex kMatcher(R"(([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=))");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[2].str();
    used.insert(name);
    bool bucket = false;
    const m::FamilyDef* def = resolve(name, bucket);
    CHECK_MESSAGE(def != nullptr, "unknown metric " << name);
    if (def == nullptr) {
      continue;
    }
    const std::string selector = (*it)[4].str();
    for (auto lm = std::sregex_iterator(selector.begin(), selector.end(), kMatcher);
         lm != std::sregex_iterator(); ++lm) {
      const std::string l = (*lm)[1].str();
      CHECK_MESSAGE((hasLabel(*def, l) || (bucket && l == "le") || l == "job" || l == "instance"),
                    name << " has no label " << l);
    }
  }
  // Grouping labels must exist somewhere: the allowed set plus Prometheus' own.
  static const std::regex kBy(R"(\b(by|without|on|ignoring)\s*\(([^)]*)\))");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kBy); it != std::sregex_iterator();
       ++it) {
    std::string list = (*it)[2].str();
    std::replace(list.begin(), list.end(), ',', ' ');
    std::istringstream in(list);
    for (std::string l; in >> l;) {
      const bool known = std::find(m::kAllowedLabels.begin(), m::kAllowedLabels.end(), l) !=
                             m::kAllowedLabels.end() ||
                         l == "le" || l == "job" || l == "instance" || l == "hash" ||
                         l == "version";
      CHECK_MESSAGE(known, "grouping by unknown label " << l);
    }
  }
  return used;
}

}  // namespace

TEST_CASE("the extractors find PromQL where it is") {
  const auto rules = collectRuleExprs(
      "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: smppgw_x > 1\n"
      "        for: 5m\n      - alert: B\n        expr: |\n          sum(rate(smppgw_y[5m]))\n"
      "            > 0\n        for: 1m\n");
  REQUIRE(rules.size() == 2);
  CHECK(rules[0] == "smppgw_x > 1");
  CHECK(rules[1].find("sum(rate(smppgw_y[5m]))") != std::string::npos);
  CHECK(rules[1].find("> 0") != std::string::npos);
  CHECK(rules[1].find("for:") == std::string::npos);
  bool bucket = false;
  CHECK(resolve("smppgw_submit_latency_seconds_bucket", bucket) != nullptr);
  CHECK(bucket);
  CHECK(resolve("smppgw_pdus_received_total_count", bucket) == nullptr);
  CHECK(resolve("smppgw_pdus_received", bucket) == nullptr);
}

TEST_CASE("every metric in the Grafana dashboard exists") {
  const auto doc = nlohmann::json::parse(readSource("deploy/grafana/smppgw-dashboard.json"));
  std::vector<std::string> exprs;
  collectDashboardExprs(doc, exprs);
  std::set<std::string> used;
  size_t promql = 0;
  for (const auto& e : exprs) {
    if (e.find("smppgw_") == std::string::npos) {
      continue;  // e.g. a datasource variable's query ("prometheus")
    }
    ++promql;
    auto u = checkExpr(e);
    used.insert(u.begin(), u.end());
  }
  CHECK(promql >= 15);
  // The panels the brief asks for are there.
  for (const char* name :
       {"smppgw_pdus_received_total", "smppgw_pdus_sent_total", "smppgw_refusals_total",
        "smppgw_submit_latency_seconds_bucket", "smppgw_upstream_round_trip_seconds_bucket",
        "smppgw_upstream_binds", "smppgw_queue_depth", "smppgw_receipts_total",
        "smppgw_mo_messages_total", "smppgw_config_reloads_total"}) {
    CHECK_MESSAGE(used.count(name) == 1, "dashboard does not show " << name);
  }
}

TEST_CASE("every metric in the alert rules exists") {
  const auto exprs = collectRuleExprs(readSource("deploy/prometheus/alerts.yml"));
  REQUIRE(exprs.size() >= 5);
  std::set<std::string> used;
  size_t with_ours = 0;
  for (const auto& e : exprs) {
    auto u = checkExpr(e);
    with_ours += u.empty() ? 0 : 1;
    used.insert(u.begin(), u.end());
  }
  CHECK(with_ours >= 8);
  for (const char* name :
       {"smppgw_upstream_binds", "smppgw_refusals_total", "smppgw_queue_depth",
        "smppgw_receipts_total", "smppgw_tls_certificate_expiry_timestamp_seconds"}) {
    CHECK_MESSAGE(used.count(name) == 1, "no alert uses " << name);
  }
}

namespace {

// The block scalar under `key: |` in a YAML file, de-indented.
std::string yamlBlock(const std::string& yaml, const std::string& key) {
  std::istringstream in(yaml);
  std::string out;
  size_t key_indent = std::string::npos;
  size_t block_indent = std::string::npos;
  for (std::string l; std::getline(in, l);) {
    if (key_indent == std::string::npos) {
      const size_t at = l.find(key + ": |");
      if (at != std::string::npos && l.find_first_not_of(' ') == at) {
        key_indent = at;
      }
      continue;
    }
    const size_t ind = l.find_first_not_of(' ');
    if (ind != std::string::npos && ind <= key_indent) {
      break;
    }
    if (block_indent == std::string::npos && ind != std::string::npos) {
      block_indent = ind;
    }
    out += (ind == std::string::npos ? "" : l.substr(block_indent)) + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("the Kubernetes ConfigMap carries the quickstart, listening on all interfaces") {
  auto quick = nlohmann::json::parse(readSource("deploy/examples/quickstart.json"));
  const auto inCluster = nlohmann::json::parse(
      yamlBlock(readSource("deploy/kubernetes/configmap.yaml"), "smppgw.json"), nullptr, false);
  REQUIRE_FALSE(inCluster.is_discarded());
  quick["listeners"][0]["address"] = "0.0.0.0";
  quick["metrics"]["address"] = "0.0.0.0";
  CHECK(inCluster == quick);
}

TEST_CASE("the container and service definitions keep their promises") {
  const std::string docker = readSource("deploy/Dockerfile");
  for (const char* s :
       {"FROM debian:${DEBIAN_RELEASE} AS build", "ARG DEBIAN_RELEASE=bookworm",
        "./deploy/install-deps.sh", "cmake --install", "FROM debian:${DEBIAN_RELEASE}-slim",
        "USER 10001:10001", "EXPOSE 2775 9775", "http://127.0.0.1:9775/healthz",
        R"(ENTRYPOINT ["smppgw", "run", "-c", "/etc/smppgw/smppgw.json"])"}) {
    CHECK_MESSAGE(docker.find(s) != std::string::npos, "Dockerfile lacks: " << s);
  }
  const std::string unit = readSource("deploy/systemd/smppgw.service");
  for (const char* s :
       {"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n", "PrivateTmp=yes", "ProtectHome=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
        "LimitNOFILE=", "ExecReload=/bin/kill -HUP $MAINPID", "Restart=on-failure"}) {
    CHECK_MESSAGE(unit.find(s) != std::string::npos, "unit lacks: " << s);
  }
  const std::string deployment = readSource("deploy/kubernetes/deployment.yaml");
  for (const char* s :
       {"path: /healthz", "path: /readyz", "runAsNonRoot: true", "readOnlyRootFilesystem: true",
        "containerPort: 2775", "containerPort: 9775", "prometheus.io/scrape: \"true\""}) {
    CHECK_MESSAGE(deployment.find(s) != std::string::npos, "deployment lacks: " << s);
  }
}
