#pragma once
// Fast deterministic randomness for the tools (xoshiro256**: no syscall, no allocation), the
// distributions they need, and the delay specification shared by latency and receipt options.

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace smppgw::tools {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x9E3779B97F4A7C15ull) { reseed(seed); }
  void reseed(uint64_t seed) {
    // splitmix64 spreads any seed (even 0) over the whole state.
    for (uint64_t& w : s_) {
      seed += 0x9E3779B97F4A7C15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform integer in [lo, hi].
  uint64_t between(uint64_t lo, uint64_t hi) {
    if (hi <= lo) {
      return lo;
    }
    const uint64_t span = hi - lo + 1;
    return span == 0 ? next() : lo + next() % span;
  }
  bool chance(double p) { return p > 0 && uniform() < p; }
  // Exponential with the given mean (Poisson inter-arrival times).
  double exponential(double mean) { return -mean * std::log1p(-uniform()); }
  // Standard normal (Box-Muller; one value per call keeps it stateless).
  double normal() {
    double u1 = uniform();
    u1 = u1 < 1e-300 ? 1e-300 : u1;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * uniform());
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// A delay: none, fixed, or lognormal given its median and 99th percentile (the shape of real MC
// response times: most fast, a long tail). Values in microseconds.
struct DelaySpec {
  enum class Kind { None, Fixed, LogNormal };
  Kind kind = Kind::None;
  double fixed_us = 0;
  double median_us = 0;
  double p99_us = 0;

  // "0", "5ms", "5" (ms), "fixed:5ms", "lognormal:2ms:20ms" (median:p99).
  static bool parse(std::string_view text, DelaySpec& out, std::string& error);
  std::string describe() const;
  bool zero() const { return kind == Kind::None; }

  uint64_t sampleUs(Rng& rng) const {
    switch (kind) {
      case Kind::None:
        return 0;
      case Kind::Fixed:
        return static_cast<uint64_t>(fixed_us);
      case Kind::LogNormal: {
        // ln X ~ N(mu, sigma): median = e^mu, p99 = e^(mu + 2.326 sigma).
        const double mu = std::log(median_us);
        const double sigma = std::log(p99_us / median_us) / 2.3263478740408408;
        const double v = std::exp(mu + sigma * rng.normal());
        return static_cast<uint64_t>(v > 3.6e9 ? 3.6e9 : v);  // cap at one hour
      }
    }
    return 0;
  }
};

// A range of numbers ("447700900000-447700900999" or a single number). Drawn values are printed
// zero-padded to the width of the upper bound, so every drawn address has the same length.
struct NumberRange {
  uint64_t lo = 0;
  uint64_t hi = 0;
  unsigned width = 1;
  static bool parse(std::string_view text, NumberRange& out, std::string& error);
  // Writes exactly `width` digits of v to out.
  static void format(uint64_t v, unsigned width, char* out) {
    for (unsigned i = width; i-- > 0;) {
      out[i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  }
};

}  // namespace smppgw::tools
