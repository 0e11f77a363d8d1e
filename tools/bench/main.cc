// smpp-bench: an SMPP ESME load generator (submit_sm throughput, latency and receipts).

#include <csignal>
#include <cstdio>
#include <string>

#include "net/loop.h"
#include "tools/bench/bench.h"
#include "tools/common/options.h"

namespace tools = smppgw::tools;
using smppgw::bench::Config;

namespace {

bool parseIdFormat(std::string_view v, smppgw::codec::IdFormat& out, std::string& error) {
  if (v == "auto") {
    out = smppgw::codec::IdFormat::Auto;
  } else if (v == "dec" || v == "decimal") {
    out = smppgw::codec::IdFormat::Decimal;
  } else if (v == "hex") {
    out = smppgw::codec::IdFormat::Hex;
  } else if (v == "text") {
    out = smppgw::codec::IdFormat::Text;
  } else {
    error = "expects auto, dec, hex or text";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  std::string mix = "minimal";
  uint32_t version = 0x34;
  tools::OptionParser p("smpp-bench", "--connect HOST:PORT [options]");
  p.section("Connection");
  p.string("connect", "HOST:PORT", "the SMSC or gateway to load (numeric address; required)",
           cfg.connect);
  p.u32("sessions", "N", "sessions (binds) to open (default 1)", cfg.sessions, 1, 10000);
  p.option("bind", "trx|tx",
           "bind_transceiver (default), or bind_transmitter (with --receipts a bind_receiver\n"
           "per session is opened too)",
           [&](std::string_view v, std::string& e) {
             if (v == "trx") {
               cfg.transmitter = false;
             } else if (v == "tx") {
               cfg.transmitter = true;
             } else {
               e = "expects trx or tx";
               return false;
             }
             return true;
           });
  p.string("system-id", "ID", "bind system_id (default bench)", cfg.system_id);
  p.string("password", "PW", "bind password (default secret)", cfg.password);
  p.string("system-type", "TYPE", "bind system_type (default empty)", cfg.system_type);
  p.u32("interface-version", "V", "bind interface_version: 0x33, 0x34 (default) or 0x50", version,
        0, 0xFF);
  p.durationMs("bind-timeout", "DURATION", "bind response timeout (default 5s)",
               cfg.bind_timeout_ms);
  p.durationMs("enquire-link", "DURATION", "enquire_link interval per session (default 30s; 0 off)",
               cfg.enquire_link_ms);
  p.section("TLS");
  p.flag("tls",
         "TLS under every session (the handshake comes before the bind; --bind-timeout\n"
         "bounds it too)",
         cfg.tls);
  p.string("tls-ca", "FILE", "PEM CA bundle that verifies the server (default: the system's)",
           cfg.tls_ca);
  p.string("tls-server-name", "NAME",
           "host name (SNI and certificate check) or IP address the server certificate must\n"
           "match (default: --connect's host)",
           cfg.tls_server_name);
  p.string("tls-cert", "FILE", "client certificate (PEM) for servers that require one",
           cfg.tls_cert);
  p.string("tls-key", "FILE", "private key (PEM) of --tls-cert", cfg.tls_key);
  p.section("Load");
  p.u32("window", "W", "outstanding submit_sm per session (default 10)", cfg.window, 1, 1000000);
  p.number("rate", "R",
           "open loop: R messages/s in total (a long message is 3 submit_sm), Poisson arrivals,\n"
           "latency measured from the scheduled send time; W still caps what is outstanding\n"
           "(default 0: closed loop, W outstanding per session, refilled on every response)",
           cfg.rate, 0, 1e8);
  p.u64("count", "N", "submit_sm PDUs to send (default 1000 when --duration is not given)",
        cfg.count);
  p.durationMs("duration", "DURATION", "send for this long (e.g. 20s)", cfg.duration_ms);
  p.string("mix", "MIX",
           "message mix: minimal (fixed ~120-byte submit_sm, default), gsm7 (100-160 chars),\n"
           "ucs2 (70 chars), long (3-part concatenated, UDH, esm_class 0x40), realistic\n"
           "(70% gsm7, 20% ucs2, 10% long; implies --receipts)",
           mix);
  p.string("source", "RANGE", "source numbers, LOW-HIGH (default 447700900000-447700999999)",
           cfg.source);
  p.string("dest", "RANGE", "destination numbers (default 447800000000-447899999999)", cfg.dest);
  p.flag("one-pdu-per-write", "write every PDU with its own write(2), as many real ESMEs do",
         cfg.one_pdu_per_write);
  p.u64("seed", "N", "random seed (default 1)", cfg.seed);
  p.section("Responses and receipts");
  p.durationMs("response-timeout", "DURATION",
               "a submit_sm unanswered this long counts as a timeout (default 10s)",
               cfg.response_timeout_ms);
  p.flag("receipts", "registered_delivery=1 on every submit_sm, and wait for the receipts",
         cfg.receipts);
  p.durationMs("receipt-timeout", "DURATION",
               "after the last response, wait this long for missing receipts (default 10s)",
               cfg.receipt_timeout_ms);
  p.option("response-id-format", "auto|dec|hex|text",
           "how to read message ids in submit_sm_resp (default auto)",
           [&](std::string_view v, std::string& e) {
             return parseIdFormat(v, cfg.response_id_format, e);
           });
  p.option("receipt-id-format", "auto|dec|hex|text",
           "how to read receipt ids (receipted_message_id TLV, else the text id:); auto also\n"
           "tries hex when the decimal reading matches nothing (default auto)",
           [&](std::string_view v, std::string& e) {
             return parseIdFormat(v, cfg.receipt_id_format, e);
           });
  p.section("Output");
  p.flag("json", "print the final report as one JSON object on stdout", cfg.json);
  p.option("progress", "on|off", "progress line each second on stderr (default on)",
           [&](std::string_view v, std::string& e) {
             if (v == "on") {
               cfg.progress = true;
             } else if (v == "off") {
               cfg.progress = false;
             } else {
               e = "expects on or off";
               return false;
             }
             return true;
           });
  p.flag("quiet", "no progress or log lines on stderr", cfg.quiet);

  std::string error;
  switch (p.parse(argc, argv, error)) {
    case tools::OptionParser::Result::Help:
      std::fputs(p.help().c_str(), stdout);
      std::fputs(
          "\nEvery deliver_sm (receipt or MO) is answered with deliver_sm_resp. The report gives\n"
          "throughput, submit latency p50/p90/p99/p99.9/max, receipt round trip, counts by\n"
          "command_status, timeouts and receipts matched/unmatched/missing.\n"
          "Exit code: 0 if every submit_sm was answered (and, with --receipts, every receipt\n"
          "arrived), 1 otherwise, 2 on a usage error (or TLS files that cannot be loaded), 3 if\n"
          "a TLS handshake failed (the reason is logged: unknown_ca, expired,\n"
          "hostname_mismatch, ...). SIGINT stops sending and drains; a second SIGINT stops at\n"
          "once.\n",
          stdout);
      return 0;
    case tools::OptionParser::Result::Error:
      std::fprintf(stderr, "smpp-bench: %s\n(see --help)\n", error.c_str());
      return 2;
    case tools::OptionParser::Result::Ok:
      break;
  }
  if (cfg.connect.empty()) {
    std::fprintf(stderr, "smpp-bench: --connect HOST:PORT is required (see --help)\n");
    return 2;
  }
  if (!smppgw::bench::parseMix(mix, cfg.mix)) {
    std::fprintf(stderr, "smpp-bench: --mix expects minimal, gsm7, ucs2, long or realistic\n");
    return 2;
  }
  if (cfg.mix == smppgw::bench::Mix::Realistic) {
    cfg.receipts = true;
  }
  if (!cfg.tls && (!cfg.tls_ca.empty() || !cfg.tls_server_name.empty() || !cfg.tls_cert.empty() ||
                   !cfg.tls_key.empty())) {
    std::fprintf(stderr,
                 "smpp-bench: --tls-ca, --tls-server-name, --tls-cert and --tls-key need "
                 "--tls\n");
    return 2;
  }
  cfg.interface_version = static_cast<uint8_t>(version);
  if (cfg.count == 0 && cfg.duration_ms == 0) {
    cfg.count = 1000;
  }

  int rc = 0;
  {
    smppgw::net::Loop loop;
    {
      smppgw::bench::Bench bench(loop, cfg);
      smppgw::net::Signal sigint(loop, SIGINT, [&](int) { bench.interrupt(); });
      smppgw::net::Signal sigterm(loop, SIGTERM, [&](int) { bench.interrupt(); });
      std::signal(SIGPIPE, SIG_IGN);
      if (!bench.start(error)) {
        std::fprintf(stderr, "smpp-bench: %s\n", error.c_str());
        return 2;
      }
      loop.run();
      if (cfg.json) {
        std::printf("%s\n", bench.reportJson().c_str());
      } else {
        std::fputs(bench.reportText().c_str(), stdout);
      }
      std::fflush(stdout);
      rc = bench.exitCode();
    }
    for (int i = 0; i < 4; ++i) {
      uv_run(loop.raw(), UV_RUN_NOWAIT);
    }
  }
  return rc;
}
