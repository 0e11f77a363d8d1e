#include "tools/common/random.h"

#include <cstdio>

#include "tools/common/options.h"

namespace smppgw::tools {

bool DelaySpec::parse(std::string_view text, DelaySpec& out, std::string& error) {
  DelaySpec d;
  auto duration = [&](std::string_view v, double& us) {
    double ms = 0;
    if (!parseDurationMs(v, ms, 1.0)) {
      error = "bad duration '" + std::string(v) + "'";
      return false;
    }
    us = ms * 1000.0;
    return true;
  };
  if (text.starts_with("lognormal:")) {
    text.remove_prefix(10);
    size_t colon = text.find(':');
    if (colon == std::string_view::npos) {
      error = "lognormal needs MEDIAN:P99";
      return false;
    }
    if (!duration(text.substr(0, colon), d.median_us) ||
        !duration(text.substr(colon + 1), d.p99_us)) {
      return false;
    }
    if (d.median_us <= 0 || d.p99_us < d.median_us) {
      error = "lognormal needs 0 < MEDIAN <= P99";
      return false;
    }
    d.kind = d.p99_us == d.median_us ? Kind::Fixed : Kind::LogNormal;
    d.fixed_us = d.median_us;
    out = d;
    return true;
  }
  if (text.starts_with("fixed:")) {
    text.remove_prefix(6);
  }
  if (!duration(text, d.fixed_us)) {
    return false;
  }
  d.kind = d.fixed_us > 0 ? Kind::Fixed : Kind::None;
  out = d;
  return true;
}

std::string DelaySpec::describe() const {
  char buf[96];
  switch (kind) {
    case Kind::None:
      return "0";
    case Kind::Fixed:
      std::snprintf(buf, sizeof buf, "fixed:%.3fms", fixed_us / 1000.0);
      return buf;
    case Kind::LogNormal:
      std::snprintf(buf, sizeof buf, "lognormal:%.3fms:%.3fms", median_us / 1000.0,
                    p99_us / 1000.0);
      return buf;
  }
  return "?";
}

bool NumberRange::parse(std::string_view text, NumberRange& out, std::string& error) {
  NumberRange r;
  size_t dash = text.find('-');
  std::string_view a = text.substr(0, dash);
  std::string_view b = dash == std::string_view::npos ? a : text.substr(dash + 1);
  auto digitsOnly = [](std::string_view s) {
    return !s.empty() && s.size() <= 20 &&
           s.find_first_not_of("0123456789") == std::string_view::npos;
  };
  if (!digitsOnly(a) || !digitsOnly(b) || !parseU64(a, r.lo) || !parseU64(b, r.hi) || r.hi < r.lo ||
      b.size() > 20) {
    error = "expects NUMBER or LOW-HIGH (decimal digits, LOW <= HIGH)";
    return false;
  }
  r.width = static_cast<unsigned>(b.size() > a.size() ? b.size() : a.size());
  out = r;
  return true;
}

}  // namespace smppgw::tools
