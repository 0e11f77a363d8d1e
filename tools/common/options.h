#pragma once
// Command-line parsing for the tools: a declarative table of long options (--name VALUE,
// --name=VALUE, or a bare --flag) that also produces the --help text, so every option is
// documented in exactly one place.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace smppgw::tools {

class OptionParser {
 public:
  // Returns false (with `error` set) when the value is unusable.
  using Apply = std::function<bool(std::string_view value, std::string& error)>;

  OptionParser(std::string program, std::string synopsis);

  // A section heading in --help.
  void section(std::string title);
  void flag(std::string name, std::string help, bool& target);
  void option(std::string name, std::string arg, std::string help, Apply apply);
  void string(std::string name, std::string arg, std::string help, std::string& target);
  void u64(std::string name, std::string arg, std::string help, uint64_t& target, uint64_t min = 0,
           uint64_t max = UINT64_MAX);
  void u32(std::string name, std::string arg, std::string help, uint32_t& target, uint32_t min = 0,
           uint32_t max = UINT32_MAX);
  void number(std::string name, std::string arg, std::string help, double& target, double min = 0.0,
              double max = 1e18);
  // A duration: "250ms", "10s", "2m" or a bare number in `default_unit_ms` units.
  void durationMs(std::string name, std::string arg, std::string help, uint64_t& target_ms,
                  uint64_t default_unit_ms = 1000);

  enum class Result { Ok, Help, Error };
  // On Error, `error` says what was wrong. --help / -h gives Help.
  Result parse(int argc, char** argv, std::string& error) const;
  std::string help() const;

 private:
  struct Spec {
    std::string name;  // without the leading dashes; empty for a section heading
    std::string arg;   // empty for a flag
    std::string help;
    Apply apply;
    bool* flag = nullptr;
  };
  const Spec* find(std::string_view name) const;

  std::string program_;
  std::string synopsis_;
  std::vector<Spec> specs_;
};

// Parsers shared by option callbacks (false on malformed input).
bool parseU64(std::string_view text, uint64_t& out);
bool parseDouble(std::string_view text, double& out);
// "250ms", "1.5s", "2m", "500us" or a bare number in default_unit_ms; result in milliseconds
// (fractions kept so sub-millisecond latencies can be expressed).
bool parseDurationMs(std::string_view text, double& out_ms, double default_unit_ms);
// "HOST:PORT" or "[V6]:PORT".
bool splitHostPort(std::string_view text, std::string& host, uint16_t& port);

}  // namespace smppgw::tools
