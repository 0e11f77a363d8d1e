#pragma once
// Structured logs: one line per event, logfmt (`ts=... level=info event=session_bound peer=...`)
// or JSON lines, to stderr or a file. One line per session event and per error; never one per
// message at info level (shared/docs/performance.md: a write per PDU would double the syscalls).

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "config/model.h"

namespace smppgw::log {

// Applies log.* and the instance name (gateway.name, a field of every line). Returns false, with
// `error` set and the previous sink kept, when log.file cannot be opened.
bool configure(const config::Log& cfg, std::string_view name, std::string* error = nullptr);
bool enabled(config::LogLevel level);
// Writes one event; fields are key/value pairs already rendered as text.
void write(config::LogLevel level, std::string_view event,
           const std::pair<std::string_view, std::string>* fields, size_t n);

namespace detail {
inline std::string render(std::string_view v) {
  return std::string(v);
}
inline std::string render(const std::string& v) {
  return v;
}
inline std::string render(const char* v) {
  return v != nullptr ? std::string(v) : std::string();
}
template <class T>
requires std::is_arithmetic_v<T> std::string render(T v) {
  return std::to_string(v);
}

template <class... Args>
void emit(config::LogLevel level, std::string_view event, Args&&... args) {
  static_assert(sizeof...(Args) % 2 == 0, "key/value pairs");
  if (!enabled(level)) {
    return;
  }
  std::pair<std::string_view, std::string> fields[sizeof...(Args) / 2 + 1];
  size_t i = 0;
  auto put = [&](auto&& key, auto&& value) {
    fields[i].first = key;
    fields[i].second = render(value);
    ++i;
  };
  auto pairwise = [&](auto&& self, auto&& k, auto&& v, auto&&... rest) -> void {
    put(k, v);
    if constexpr (sizeof...(rest) > 0) {
      self(self, rest...);
    }
  };
  if constexpr (sizeof...(Args) > 0) {
    pairwise(pairwise, args...);
  }
  write(level, event, fields, i);
}
}  // namespace detail

template <class... Args>
void debug(std::string_view event, Args&&... args) {
  detail::emit(config::LogLevel::Debug, event, args...);
}
template <class... Args>
void info(std::string_view event, Args&&... args) {
  detail::emit(config::LogLevel::Info, event, args...);
}
template <class... Args>
void warn(std::string_view event, Args&&... args) {
  detail::emit(config::LogLevel::Warn, event, args...);
}
template <class... Args>
void error(std::string_view event, Args&&... args) {
  detail::emit(config::LogLevel::Error, event, args...);
}

}  // namespace smppgw::log
