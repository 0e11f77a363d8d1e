#include "tools/common/options.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace smppgw::tools {

bool parseU64(std::string_view text, uint64_t& out) {
  if (text.empty()) {
    return false;
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return false;
  }
  out = v;
  return true;
}

bool parseDouble(std::string_view text, double& out) {
  if (text.empty()) {
    return false;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v)) {
    return false;
  }
  out = v;
  return true;
}

bool parseDurationMs(std::string_view text, double& out_ms, double default_unit_ms) {
  double unit = default_unit_ms;
  auto strip = [&](std::string_view suffix, double ms) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      unit = ms;
      return true;
    }
    return false;
  };
  // Longest suffixes first ("ms" before "s").
  if (!strip("us", 0.001) && !strip("ms", 1.0) && !strip("s", 1000.0) && !strip("m", 60000.0) &&
      !strip("h", 3600000.0)) {
    unit = default_unit_ms;
  }
  double v = 0;
  if (!parseDouble(text, v) || v < 0) {
    return false;
  }
  out_ms = v * unit;
  return true;
}

bool splitHostPort(std::string_view text, std::string& host, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  uint64_t p = 0;
  if (!parseU64(text.substr(colon + 1), p) || p > 65535) {
    return false;
  }
  host = std::string(text.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  port = static_cast<uint16_t>(p);
  return true;
}

OptionParser::OptionParser(std::string program, std::string synopsis)
    : program_(std::move(program)), synopsis_(std::move(synopsis)) {}

void OptionParser::section(std::string title) {
  specs_.push_back(Spec{"", "", std::move(title), nullptr, nullptr});
}

void OptionParser::flag(std::string name, std::string help, bool& target) {
  specs_.push_back(Spec{std::move(name), "", std::move(help), nullptr, &target});
}

void OptionParser::option(std::string name, std::string arg, std::string help, Apply apply) {
  specs_.push_back(Spec{std::move(name), std::move(arg), std::move(help), std::move(apply)});
}

void OptionParser::string(std::string name, std::string arg, std::string help,
                          std::string& target) {
  option(std::move(name), std::move(arg), std::move(help),
         [&target](std::string_view v, std::string&) {
           target = std::string(v);
           return true;
         });
}

void OptionParser::u64(std::string name, std::string arg, std::string help, uint64_t& target,
                       uint64_t min, uint64_t max) {
  option(std::move(name), std::move(arg), std::move(help),
         [&target, min, max](std::string_view v, std::string& error) {
           uint64_t x = 0;
           if (!parseU64(v, x) || x < min || x > max) {
             error =
                 "expects an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
             return false;
           }
           target = x;
           return true;
         });
}

void OptionParser::u32(std::string name, std::string arg, std::string help, uint32_t& target,
                       uint32_t min, uint32_t max) {
  option(std::move(name), std::move(arg), std::move(help),
         [&target, min, max](std::string_view v, std::string& error) {
           uint64_t x = 0;
           if (!parseU64(v, x) || x < min || x > max) {
             error =
                 "expects an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
             return false;
           }
           target = static_cast<uint32_t>(x);
           return true;
         });
}

void OptionParser::number(std::string name, std::string arg, std::string help, double& target,
                          double min, double max) {
  option(std::move(name), std::move(arg), std::move(help),
         [&target, min, max](std::string_view v, std::string& error) {
           double x = 0;
           if (!parseDouble(v, x) || x < min || x > max) {
             error =
                 "expects a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
             return false;
           }
           target = x;
           return true;
         });
}

void OptionParser::durationMs(std::string name, std::string arg, std::string help,
                              uint64_t& target_ms, uint64_t default_unit_ms) {
  option(std::move(name), std::move(arg), std::move(help),
         [&target_ms, default_unit_ms](std::string_view v, std::string& error) {
           double ms = 0;
           if (!parseDurationMs(v, ms, static_cast<double>(default_unit_ms)) || ms > 1e12) {
             error = "expects a duration such as 500ms, 10s or 2m";
             return false;
           }
           target_ms = static_cast<uint64_t>(std::llround(ms));
           return true;
         });
}

const OptionParser::Spec* OptionParser::find(std::string_view name) const {
  for (const Spec& s : specs_) {
    if (!s.name.empty() && s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

OptionParser::Result OptionParser::parse(int argc, char** argv, std::string& error) const {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      return Result::Help;
    }
    if (!a.starts_with("--") || a.size() == 2) {
      error = "unexpected argument '" + std::string(a) + "'";
      return Result::Error;
    }
    a.remove_prefix(2);
    std::string_view value;
    bool has_value = false;
    if (size_t eq = a.find('='); eq != std::string_view::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    const Spec* s = find(a);
    if (s == nullptr) {
      error = "unknown option --" + std::string(a);
      return Result::Error;
    }
    if (s->flag != nullptr) {
      if (has_value) {
        if (value == "1" || value == "true" || value == "yes") {
          *s->flag = true;
        } else if (value == "0" || value == "false" || value == "no") {
          *s->flag = false;
        } else {
          error = "--" + s->name + " is a flag (true/false)";
          return Result::Error;
        }
      } else {
        *s->flag = true;
      }
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        error = "--" + s->name + " needs a value (" + s->arg + ")";
        return Result::Error;
      }
      value = argv[++i];
    }
    std::string why;
    if (!s->apply(value, why)) {
      error = "--" + s->name + " " + std::string(value) + ": " + (why.empty() ? "invalid" : why);
      return Result::Error;
    }
  }
  return Result::Ok;
}

std::string OptionParser::help() const {
  std::string out = "Usage: " + program_ + " " + synopsis_ + "\n";
  for (const Spec& s : specs_) {
    if (s.name.empty()) {
      out += "\n" + s.help + ":\n";
      continue;
    }
    std::string left = "  --" + s.name;
    if (!s.arg.empty()) {
      left += " " + s.arg;
    }
    if (left.size() < 30) {
      left.resize(30, ' ');
      out += left;
    } else {
      out += left + "\n" + std::string(30, ' ');
    }
    // Indent continuation lines of multi-line help under the text column.
    for (char c : s.help) {
      out += c;
      if (c == '\n') {
        out += std::string(30, ' ');
      }
    }
    out += "\n";
  }
  out += "\n  --help                      this text\n";
  return out;
}

}  // namespace smppgw::tools
