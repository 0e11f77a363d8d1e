#include "gateway/log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace smppgw::log {
namespace {

// The process's log sink. Configured once by main before the loop runs; the metrics exposer's
// threads never log, so the mutex only guards against a reconfigure racing a write.
struct Sink {
  std::mutex mu;
  config::LogLevel level = config::LogLevel::Info;
  config::LogFormat format = config::LogFormat::Text;
  std::FILE* file = stderr;
  std::string name;  // gateway.name: the last field of every line
};

Sink& sink() {
  static Sink s;
  return s;
}

std::string_view levelName(config::LogLevel l) {
  switch (l) {
    case config::LogLevel::Trace:
      return "trace";
    case config::LogLevel::Debug:
      return "debug";
    case config::LogLevel::Info:
      return "info";
    case config::LogLevel::Warn:
      return "warn";
    case config::LogLevel::Error:
      return "error";
  }
  return "info";
}

bool needsQuotes(std::string_view v) {
  if (v.empty()) {
    return true;
  }
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || static_cast<unsigned char>(c) < 0x20) {
      return true;
    }
  }
  return false;
}

void appendValue(std::string& line, std::string_view v) {
  if (!needsQuotes(v)) {
    line += v;
    return;
  }
  line += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') {
      line += '\\';
      line += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
      line += buf;
    } else {
      line += c;
    }
  }
  line += '"';
}

}  // namespace

bool configure(const config::Log& cfg, std::string_view name, std::string* error) {
  std::FILE* next = stderr;
  if (!cfg.file.empty()) {
    // Opened before anything changes, so a reload naming a bad path keeps the running sink.
    next = std::fopen(cfg.file.c_str(), "a");
    if (next == nullptr) {
      if (error != nullptr) {
        *error = "cannot open log.file \"" + cfg.file + "\": " + std::strerror(errno);
      }
      return false;
    }
  }
  Sink& s = sink();
  std::lock_guard lock(s.mu);
  s.level = cfg.level;
  s.format = cfg.format;
  s.name = name;
  if (s.file != stderr && s.file != nullptr) {
    std::fclose(s.file);
  }
  s.file = next;
  return true;
}

bool enabled(config::LogLevel level) {
  return level >= sink().level;
}

void write(config::LogLevel level, std::string_view event,
           const std::pair<std::string_view, std::string>* fields, size_t n) {
  Sink& s = sink();
  char ts[40];
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  size_t len = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(ts + len, sizeof ts - len, ".%03ldZ", now.tv_nsec / 1000000);

  std::string line;
  if (s.format == config::LogFormat::Json) {
    nlohmann::ordered_json j;
    j["ts"] = ts;
    j["level"] = levelName(level);
    j["event"] = event;
    for (size_t i = 0; i < n; ++i) {
      j[std::string(fields[i].first)] = fields[i].second;
    }
    if (!s.name.empty()) {
      j["gateway"] = s.name;
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line.reserve(128);
    line += "ts=";
    line += ts;
    line += " level=";
    line += levelName(level);
    line += " event=";
    line += event;
    for (size_t i = 0; i < n; ++i) {
      line += ' ';
      line += fields[i].first;
      line += '=';
      appendValue(line, fields[i].second);
    }
    if (!s.name.empty()) {
      line += " gateway=";
      appendValue(line, s.name);
    }
  }
  line += '\n';
  std::lock_guard lock(s.mu);
  std::fwrite(line.data(), 1, line.size(), s.file);
  std::fflush(s.file);
}

}  // namespace smppgw::log
