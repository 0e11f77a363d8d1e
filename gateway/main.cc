// smppgw: the executable. Subcommands:
//   run [-c FILE]        run the gateway (without -c: the embedded demo configuration)
//   decode [HEX...]      decode PDUs to JSON
//   check-config FILE    validate a configuration
//   route FILE ...       explain a routing decision
//   hash-password [PW]   print a password hash for the configuration
//   version

#include <sys/resource.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/cli.h"
#include "config/load.h"
#include "gateway/cli_decode.h"
#include "gateway/gateway.h"
#include "gateway/log.h"
#include "gateway/tls_contexts.h"
#include "metrics/exposer.h"
#include "metrics/registry.h"
#include "net/loop.h"
#include "routing/cli.h"
#include "routing/table.h"
#include "smppgw_demo_config.h"

namespace {

constexpr std::string_view kVersion = SMPPGW_VERSION;

void usage(std::ostream& out) {
  out << "smppgw " << kVersion << " - SMPP routing gateway\n\n"
      << "usage: smppgw <command> [options]\n\n"
      << "commands:\n"
      << "  run [-c FILE]             run the gateway (no -c: the built-in demo config,\n"
      << "                            deploy/examples/quickstart.json)\n"
      << "  decode [HEX ...]          decode SMPP PDUs given as hex (or stdin) to JSON\n"
      << "  check-config FILE         validate a configuration file\n"
      << "  route FILE --customer C --to N [...]   explain a routing decision\n"
      << "  hash-password [PASSWORD]  print a password hash (reads stdin without argument)\n"
      << "  config-keys [--check F | --update F]  the configuration key table (markdown)\n"
      << "  version                   print the version\n";
}

// Benchmarks (docs/benchmarks.md): with SMPPGW_STATS_FILE set, the loop counters and the
// process's CPU time are written to that file as one JSON object when the loop has ended.
// Outside the data path; replaced by the smppgw_loop_* metrics once they are exported.
void writeStatsFile(const smppgw::net::LoopStats& s) {
  const char* path = std::getenv("SMPPGW_STATS_FILE");
  if (path == nullptr || *path == '\0') {
    return;
  }
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::FILE* f = std::fopen(path, "w");
  if (f == nullptr) {
    return;
  }
  std::fprintf(f,
               "{\"tool\":\"smppgw\",\"loop\":{\"reads\":%llu,\"writes\":%llu,\"iterations\":%llu,"
               "\"bytes_in\":%llu,\"bytes_out\":%llu,\"busy_s\":%.6f},\"cpu\":{\"user_s\":%.6f,"
               "\"sys_s\":%.6f},"
               "\"maxrss_kb\":%ld}\n",
               static_cast<unsigned long long>(s.reads), static_cast<unsigned long long>(s.writes),
               static_cast<unsigned long long>(s.iterations),
               static_cast<unsigned long long>(s.bytes_in),
               static_cast<unsigned long long>(s.bytes_out), static_cast<double>(s.busy_ns) / 1e9,
               static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6,
               static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
  std::fclose(f);
}

int runGateway(std::span<const std::string_view> args) {
  std::string file;
  std::string port_file;
  for (size_t i = 0; i < args.size(); ++i) {
    if ((args[i] == "-c" || args[i] == "--config") && i + 1 < args.size()) {
      file = std::string(args[++i]);
    } else if (args[i] == "--port-file" && i + 1 < args.size()) {
      port_file = std::string(args[++i]);
    } else if (args[i] == "-h" || args[i] == "--help") {
      std::cout << "usage: smppgw run [-c FILE] [--port-file PATH]\n"
                   "  --port-file PATH  once listening, write the first listener's port to PATH\n"
                   "                    (for listeners configured with port 0)\n";
      return 0;
    } else {
      std::cerr << "smppgw run: unknown argument " << args[i] << "\n";
      return 2;
    }
  }
  smppgw::config::LoadResult loaded =
      file.empty() ? smppgw::config::loadConfigText(smppgw::kDemoConfig, "<built-in demo>")
                   : smppgw::config::loadConfigFile(file);
  for (const auto& w : loaded.warnings) {
    std::cerr << "warning: " << smppgw::config::toString(w) << "\n";
  }
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) {
      std::cerr << "error: " << smppgw::config::toString(e) << "\n";
    }
    std::cerr << "smppgw: configuration " << (file.empty() ? "<built-in demo>" : file) << " has "
              << loaded.errors.size() << " error(s); not starting\n";
    std::error_code ec;
    if (!file.empty() && !std::filesystem::exists(file, ec)) {
      // The container image has no configuration of its own: say what to do.
      std::cerr << "smppgw: no configuration file at " << file
                << ": write one there (docs/configuration.md; examples in deploy/examples/), or "
                   "in a container mount yours at that path\n";
    }
    return 1;
  }
  if (std::string error;
      !smppgw::log::configure(loaded.config->log, loaded.config->gateway.name, &error)) {
    std::cerr << "error: log.file: " << error << "; not starting\n";
    return 1;
  }
  auto compiled = smppgw::routing::RoutingTable::compile(loaded.config);
  if (!compiled.ok()) {
    for (const auto& e : compiled.errors) {
      std::cerr << "error: " << smppgw::config::toString(e) << "\n";
    }
    return 1;
  }
  smppgw::net::Loop loop;
  int exit_code = 0;
  // The registry outlives the exposer (its thread reads it) and the gateway (which writes it).
  smppgw::metrics::Registry registry;
  const auto wall_s = [] {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  };
  registry.setInfo(smppgw::metrics::InfoFamily::BuildInfo, {kVersion});
  registry.setInfo(
      smppgw::metrics::InfoFamily::InstanceInfo,
      {loaded.config->gateway.name, std::to_string(loaded.config->gateway.instance_id)});
  registry.gauge(smppgw::metrics::GaugeFamily::StartTimestamp).set(wall_s());
  registry.setInfo(smppgw::metrics::InfoFamily::ConfigInfo, {loaded.config->content_hash});
  registry.gauge(smppgw::metrics::GaugeFamily::ConfigLoadedTimestamp).set(wall_s());
  std::unique_ptr<smppgw::metrics::Exposer> exposer;
  if (loaded.config->metrics.enabled) {
    smppgw::metrics::ExposerOptions eo;
    eo.address = loaded.config->metrics.address;
    eo.port = loaded.config->metrics.port;
    eo.metrics_path = loaded.config->metrics.path;
    std::string error;
    exposer = smppgw::metrics::Exposer::start(registry, eo, error);
    if (!exposer) {
      smppgw::log::error("metrics_failed", "address", eo.address, "port", eo.port, "reason", error);
      return 1;
    }
    smppgw::log::info("metrics_listening", "address", eo.address, "port", exposer->port(), "path",
                      eo.metrics_path);
  }
  {
    smppgw::Gateway gw(loop, loaded.config, compiled.table, registry);
    if (exposer) {
      gw.setReadinessHook([&exposer](bool ready, const std::string& reason) {
        if (ready != exposer->ready()) {
          if (ready) {
            exposer->setReady();
          } else {
            exposer->setNotReady(reason);
          }
        }
      });
    }
    if (!gw.start()) {
      return 1;
    }
    if (!port_file.empty()) {
      // Written to a temporary name and renamed, so a reader never sees a partial number.
      std::string tmp = port_file + ".tmp";
      if (std::FILE* f = std::fopen(tmp.c_str(), "w")) {
        std::fprintf(f, "%u\n", gw.listenerPort(0));
        if (exposer) {
          std::fprintf(f, "%u\n", exposer->port());  // second line: the metrics port
        }
        std::fclose(f);
        std::rename(tmp.c_str(), port_file.c_str());
      }
    }
    smppgw::log::info("started", "version", kVersion, "config", loaded.config->origin, "hash",
                      loaded.config->content_hash);
    int signals = 0;
    auto onSignal = [&](int sig) {
      if (++signals == 1) {
        smppgw::log::info("signal", "signal", sig, "action", "graceful shutdown");
        gw.shutdown([&] { loop.stop(); });
      } else {
        smppgw::log::warn("signal", "signal", sig, "action", "immediate exit");
        gw.abort();
        exit_code = 1;
        loop.stop();
      }
    };
    smppgw::net::Signal sigterm(loop, SIGTERM, onSignal);
    smppgw::net::Signal sigint(loop, SIGINT, onSignal);
    smppgw::net::Signal sighup(loop, SIGHUP, [&](int) { gw.requestReload(file); });
    loop.run();
  }
  writeStatsFile(loop.stats());
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  std::string_view cmd = argv[1];
  std::vector<std::string_view> args(argv + 2, argv + argc);
  if (cmd == "run") {
    return runGateway(args);
  }
  if (cmd == "decode") {
    return smppgw::runDecode(args, std::cin, std::cout, std::cerr);
  }
  if (cmd == "check-config") {
    return smppgw::config::runCheckConfig(args, std::cout, std::cerr, smppgw::checkTlsFiles);
  }
  if (cmd == "route") {
    return smppgw::routing::runRoute(args, std::cout, std::cerr);
  }
  if (cmd == "config-keys") {
    return smppgw::config::runConfigKeys(args, std::cout, std::cerr);
  }
  if (cmd == "hash-password") {
    return smppgw::config::runHashPassword(args, std::cin, std::cout, std::cerr);
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "smppgw " << kVersion << "\n";
    return 0;
  }
  if (cmd == "help" || cmd == "-h" || cmd == "--help") {
    usage(std::cout);
    return 0;
  }
  std::cerr << "smppgw: unknown command '" << cmd << "'\n";
  usage(std::cerr);
  return 2;
}
