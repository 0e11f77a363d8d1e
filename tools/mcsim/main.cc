// smpp-mcsim: an SMPP MC (SMS centre) simulator for tests, demos and benchmarks.

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "codec/receipt.h"
#include "codec/status.h"
#include "net/loop.h"
#include "tools/common/options.h"
#include "tools/mcsim/mcsim.h"

using smppgw::mcsim::Config;
using smppgw::mcsim::IdFormat;
namespace tools = smppgw::tools;

namespace {

bool parseIdFormat(std::string_view v, IdFormat& out, std::string& error) {
  if (v == "dec" || v == "decimal") {
    out = IdFormat::Decimal;
  } else if (v == "hex") {
    out = IdFormat::Hex;
  } else {
    error = "expects dec or hex";
    return false;
  }
  return true;
}

bool parseStates(std::string_view v, Config& cfg, std::string& error) {
  cfg.state_weights.fill(0);
  double sum = 0;
  while (!v.empty()) {
    const size_t comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    const size_t eq = item.find('=');
    double w = 1;
    if (eq != std::string_view::npos && !tools::parseDouble(item.substr(eq + 1), w)) {
      error = "bad weight in '" + std::string(item) + "'";
      return false;
    }
    auto state = smppgw::codec::messageStateFromStat(item.substr(0, eq));
    if (!state || w < 0) {
      error = "unknown state '" + std::string(item.substr(0, eq)) +
              "' (DELIVRD, UNDELIV, EXPIRED, REJECTD, DELETED, ACCEPTD, UNKNOWN)";
      return false;
    }
    cfg.state_weights[static_cast<size_t>(*state)] += w;
    sum += w;
  }
  if (sum <= 0) {
    error = "weights must add up to more than 0";
    return false;
  }
  return true;
}

// TAG:HEX, e.g. 0x000E:01 (source_network_type GSM). The tag is hex (0x...) or decimal.
bool parseExtraTlv(std::string_view v, std::vector<smppgw::mcsim::ExtraTlv>& out,
                   std::string& error) {
  const size_t colon = v.find(':');
  error = "expects TAG:HEX, e.g. 0x000E:01";
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string tag_text(v.substr(0, colon));
  char* end = nullptr;
  const unsigned long tag = std::strtoul(tag_text.c_str(), &end, 0);
  const std::string_view hex = v.substr(colon + 1);
  if (end == nullptr || *end != '\0' || tag > 0xFFFF || hex.size() % 2 != 0 ||
      hex.size() / 2 > 0xFFFF) {
    return false;
  }
  smppgw::mcsim::ExtraTlv t;
  t.tag = static_cast<uint16_t>(tag);
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      return false;
    }
    t.value.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  out.push_back(std::move(t));
  error.clear();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string accounts_help;
  tools::OptionParser p("smpp-mcsim", "[options]");
  p.section("Network");
  p.string("listen", "HOST:PORT",
           "address to listen on (numeric; default 127.0.0.1:2775; port 0 picks a free one)",
           cfg.listen);
  p.string("port-file", "PATH", "write the bound port to PATH once listening", cfg.port_file);
  p.string("tls-cert", "FILE", "PEM certificate chain: the listener speaks TLS (with --tls-key)",
           cfg.tls_cert);
  p.string("tls-key", "FILE", "PEM private key of --tls-cert", cfg.tls_key);
  p.string("tls-ca", "FILE", "PEM CA bundle that verifies client certificates", cfg.tls_ca);
  p.flag("tls-require-client-cert", "refuse TLS clients without a certificate --tls-ca verifies",
         cfg.tls_require_client_cert);
  p.string("system-id", "ID", "accept binds only with this system_id (else ESME_RINVSYSID)",
           cfg.required_system_id);
  p.option("password", "PW", "accept binds only with this password (else ESME_RINVPASWD)",
           [&](std::string_view v, std::string&) {
             cfg.required_password = std::string(v);
             cfg.password_set = true;
             return true;
           });
  p.option("account", "SYSTEM_ID:PASSWORD",
           "accept only these credentials (repeatable, for several customers); without\n"
           "--account/--system-id/--password every bind is accepted",
           [&](std::string_view v, std::string& error) {
             const size_t colon = v.find(':');
             if (colon == std::string_view::npos || colon == 0) {
               error = "expects SYSTEM_ID:PASSWORD";
               return false;
             }
             cfg.accounts.emplace_back(std::string(v.substr(0, colon)),
                                       std::string(v.substr(colon + 1)));
             return true;
           });
  p.string("mc-system-id", "ID", "the MC's own system_id in bind responses (default mcsim)",
           cfg.mc_system_id);
  p.u32("window", "N", "outstanding deliver_sm per session (default 64)", cfg.window, 1, 100000);
  p.durationMs("deliver-timeout", "DURATION",
               "an unanswered deliver_sm counts as failed and is retried (default 30s)",
               cfg.deliver_timeout_ms);
  p.durationMs("retry-temporary", "DURATION",
               "a deliver_sm answered ESME_RX_T_APPN is sent again this much later (default 1s;\n"
               "0: never, it counts as failed)",
               cfg.retry_temporary_ms);
  p.u32("max-attempts", "N", "sends of one deliver_sm at most, the first included (default 10)",
        cfg.max_attempts, 1, 1000);
  p.section("Responses");
  p.option("latency", "SPEC",
           "response delay: 0 (default), 5ms, fixed:5ms or lognormal:MEDIAN:P99 (e.g. "
           "lognormal:2ms:20ms)",
           [&](std::string_view v, std::string& e) {
             return tools::DelaySpec::parse(v, cfg.latency, e);
           });
  p.number("error-rate", "P", "fraction of messages answered with --error-status (0..1)",
           cfg.error_rate, 0, 1);
  auto statusOption = [&](uint32_t& target) {
    return [&target](std::string_view v, std::string& e) {
      if (!smppgw::codec::parseStatus(v, target)) {
        e = "expects a status name (ESME_RSYSERR), hex (0x08) or decimal";
        return false;
      }
      return true;
    };
  };
  p.option("error-status", "STATUS", "status of injected errors (default ESME_RSYSERR 0x08)",
           statusOption(cfg.error_status));
  p.number("throttle-rate", "P", "fraction of messages answered with --throttle-status (0..1)",
           cfg.throttle_rate, 0, 1);
  p.option("throttle-status", "STATUS", "status of throttled messages (default ESME_RTHROTTLED)",
           statusOption(cfg.throttle_status));
  p.u32("tps-per-bind", "N",
        "messages a second one bind may submit (a token bucket of N a second, N deep); beyond, "
        "answered --throttle-status (default 0: no limit)",
        cfg.tps_per_bind, 0, 10000000);
  p.u64("throttle-after", "N",
        "after N accepted messages, answer every message --throttle-status for --throttle-for",
        cfg.throttle_after, 0, UINT64_MAX / 2);
  p.durationMs("throttle-for", "DURATION", "length of that throttling spell (default 0: none)",
               cfg.throttle_for_ms);
  p.u64("stall-after", "N",
        "after N accepted messages, answer nothing for --stall-for (the answers come after it)",
        cfg.stall_after, 0, UINT64_MAX / 2);
  p.durationMs("stall-for", "DURATION", "length of that silence (default 0: none)",
               cfg.stall_for_ms);
  p.flag("trace-submits",
         "a line per message submitted on stderr: dst=, part=REF:SEQ/TOTAL, status=",
         cfg.trace_submits);
  p.option("id-format", "dec|hex", "message ids in responses (default dec)",
           [&](std::string_view v, std::string& e) { return parseIdFormat(v, cfg.id_format, e); });
  p.u32("id-length", "N", "zero-pad message ids to N characters (default 0: no padding)",
        cfg.id_length, 0, 64);
  p.option("receipt-id-format", "dec|hex",
           "message ids in receipts (text id: and receipted_message_id); default: as responses",
           [&](std::string_view v, std::string& e) {
             cfg.receipt_id_format_set = true;
             return parseIdFormat(v, cfg.receipt_id_format, e);
           });
  p.option("receipt-id-length", "N", "zero-pad receipt ids to N characters (default: --id-length)",
           [&](std::string_view v, std::string& e) {
             uint64_t n = 0;
             if (!tools::parseU64(v, n) || n > 64) {
               e = "expects 0..64";
               return false;
             }
             cfg.receipt_id_length_set = true;
             cfg.receipt_id_length = static_cast<uint32_t>(n);
             return true;
           });
  p.u64("id-start", "N", "first message id (default 1)", cfg.id_start, 0, UINT64_MAX / 2);
  p.u64("remember", "N", "message ids kept for query_sm/cancel_sm/replace_sm (default 262144)",
        cfg.remember, 1, uint64_t{1} << 26);
  p.option(
      "response-tlv", "TAG:HEX",
      "add this TLV to every successful message response (v3.4+ peers; repeatable),\n"
      "e.g. 0x001D:6F6B00 (additional_status_info_text \"ok\")",
      [&](std::string_view v, std::string& e) { return parseExtraTlv(v, cfg.response_tlvs, e); });
  p.section("Receipts (sent when registered_delivery asks: 01 always, 10 failure, 11 success)");
  p.option("receipt-delay", "SPEC",
           "delay after the response: 0 (default), 1s, fixed:1s or lognormal:MEDIAN:P99",
           [&](std::string_view v, std::string& e) {
             return tools::DelaySpec::parse(v, cfg.receipt_delay, e);
           });
  p.option("receipt-delay-ms", "N", "same as --receipt-delay Nms",
           [&](std::string_view v, std::string& e) {
             uint64_t ms = 0;
             if (!tools::parseU64(v, ms)) {
               e = "expects milliseconds";
               return false;
             }
             return tools::DelaySpec::parse(std::to_string(ms) + "ms", cfg.receipt_delay, e);
           });
  p.option("receipt-states", "LIST",
           "final-state weights, e.g. DELIVRD=90,UNDELIV=5,EXPIRED=3,REJECTD=2 (default "
           "DELIVRD=1)",
           [&](std::string_view v, std::string& e) { return parseStates(v, cfg, e); });
  p.flag("receipt-before-response",
         "write each receipt just before its submit_sm_resp/data_sm_resp (real MCs do this;\n"
         "--receipt-delay is then ignored; submit_multi receipts still follow the response)",
         cfg.receipt_first);
  p.u64("max-queued", "N", "deliveries held for a full window or an absent receiver (default 1e6)",
        cfg.max_queued, 0, UINT64_MAX);
  p.section("MO messages (deliver_sm esm_class 0, round-robin over bound RX/TRX sessions)");
  p.number("mo-rate", "R", "MO messages per second (default 0: none)", cfg.mo_rate, 0, 1e7);
  p.u64("mo-count", "N", "stop after N MO messages (default 0: no limit)", cfg.mo_count);
  p.option("mo-from", "RANGE", "source numbers, e.g. 447700900000-447700900999",
           [&](std::string_view v, std::string& e) {
             tools::NumberRange r;
             cfg.mo_from = std::string(v);
             return tools::NumberRange::parse(v, r, e);
           });
  p.option("mo-to", "RANGE", "destination numbers (default 12345)",
           [&](std::string_view v, std::string& e) {
             tools::NumberRange r;
             cfg.mo_to = std::string(v);
             return tools::NumberRange::parse(v, r, e);
           });
  p.string("mo-text", "TEXT", "MO text (UTF-8; GSM 03.38 if possible, else UCS2)", cfg.mo_text);
  p.option("mo-tlv", "TAG:HEX",
           "add this TLV to every MO message (v3.4+ peers; repeatable), e.g. 0x000E:01",
           [&](std::string_view v, std::string& e) { return parseExtraTlv(v, cfg.mo_tlvs, e); });
  p.section("Run");
  p.durationMs("duration", "DURATION", "exit after this long (default: until SIGINT/SIGTERM)",
               cfg.duration_ms);
  p.durationMs("unbind-timeout", "DURATION",
               "at exit, wait this long for in-flight deliver_sm responses, then for unbind_resp\n"
               "(default 1s)",
               cfg.unbind_timeout_ms);
  p.u64("seed", "N", "random seed (default 1)", cfg.seed);
  p.flag("quiet", "no log lines on stderr (the JSON summary still goes to stdout)", cfg.quiet);

  std::string error;
  switch (p.parse(argc, argv, error)) {
    case tools::OptionParser::Result::Help:
      std::fputs(p.help().c_str(), stdout);
      std::fputs(
          "\nOn exit (SIGINT/SIGTERM or --duration) bound sessions get their in-flight deliver_sm\n"
          "answered, then an unbind; then a JSON summary\n"
          "is printed on stdout: binds, PDUs in/out by command and status, receipts sent/acked/\n"
          "failed, MO sent/acked. A second signal exits at once.\n",
          stdout);
      return 0;
    case tools::OptionParser::Result::Error:
      std::fprintf(stderr, "smpp-mcsim: %s\n(see --help)\n", error.c_str());
      return 2;
    case tools::OptionParser::Result::Ok:
      break;
  }
  if (cfg.error_rate + cfg.throttle_rate > 1.0) {
    std::fprintf(stderr, "smpp-mcsim: --error-rate + --throttle-rate must not exceed 1\n");
    return 2;
  }

  int rc = 0;
  {
    smppgw::net::Loop loop;
    {
      smppgw::mcsim::McSim sim(loop, cfg);
      smppgw::net::Signal sigint(loop, SIGINT, [&](int) { sim.shutdown(); });
      smppgw::net::Signal sigterm(loop, SIGTERM, [&](int) { sim.shutdown(); });
      std::signal(SIGPIPE, SIG_IGN);
      if (!sim.start()) {
        rc = 1;
      } else {
        loop.run();
        std::printf("%s\n", sim.summaryJson().c_str());
        std::fflush(stdout);
      }
    }
    // Let close callbacks and deferred frees run before the loop goes.
    for (int i = 0; i < 4; ++i) {
      uv_run(loop.raw(), UV_RUN_NOWAIT);
    }
  }
  return rc;
}
