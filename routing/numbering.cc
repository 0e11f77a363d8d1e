#include "routing/numbering.h"

#include <algorithm>
#include <cstring>

namespace smppgw::routing {
namespace {

bool allDigits(std::string_view s) {
  // Eight characters per step: the byte is a digit iff its high nibble is 3 and low nibble + 6
  // does not carry into the high nibble.
  const char* p = s.data();
  size_t n = s.size();
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if ((w & 0xF0F0F0F0F0F0F0F0ull) != 0x3030303030303030ull ||
        (((w & 0x0F0F0F0F0F0F0F0Full) + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) != 0) {
      return false;
    }
  }
  for (; n != 0; ++p, --n) {
    if (static_cast<unsigned char>(*p - '0') > 9) {
      return false;
    }
  }
  return true;
}

void assign(Number& n, std::string_view a, std::string_view b = {}) {
  const std::size_t la = std::min(a.size(), Number::kCapacity);
  const std::size_t lb = std::min(b.size(), Number::kCapacity - la);
  if (la != 0) {
    std::memcpy(n.chars.data(), a.data(), la);
  }
  if (lb != 0) {
    std::memcpy(n.chars.data() + la, b.data(), lb);
  }
  n.length = static_cast<std::uint8_t>(la + lb);
}

}  // namespace

NumberNormaliser::NumberNormaliser(const config::Numbering& numbering) : numbering_(numbering) {
  // Longest international prefix first, so "011" wins over "01" if both are configured.
  std::sort(numbering_.international_prefixes.begin(), numbering_.international_prefixes.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  defaultCountry_ = numbering_.country(numbering_.default_country);
}

const config::CountryNumbering* NumberNormaliser::country(std::string_view code) const {
  return code.empty() ? defaultCountry_ : numbering_.country(code);
}

Number NumberNormaliser::normalise(std::string_view address, std::uint8_t ton, std::uint8_t npi,
                                   std::string_view countryCode) const {
  return normalise(address, ton, npi, country(countryCode));
}

Number NumberNormaliser::normalise(std::string_view address, std::uint8_t ton, std::uint8_t npi,
                                   const config::CountryNumbering* home) const {
  // Runs twice per message (destination, source): decide first, then copy the digits once.
  Number n;
  n.ton = ton;
  n.npi = npi;
  if (!numbering_.enabled || ton == kTonAlphanumeric || address.empty()) {
    assign(n, address);
    return n;
  }
  std::string_view s = address;
  bool international = ton == kTonInternational;
  if (s[0] == '+') {
    s.remove_prefix(1);
    international = true;
  }
  if (s.empty() || !allDigits(s)) {
    assign(n, address);
    return n;
  }
  if (ton == kTonInternational || ton == 0 || ton == kTonNational || international) {
    for (const auto& p : numbering_.international_prefixes) {
      // Country codes never start with 0: "000..." is not an international number.
      if (s.size() > p.size() && s.substr(0, p.size()) == p && s[p.size()] != '0') {
        s.remove_prefix(p.size());
        international = true;
        break;
      }
    }
  }
  if (!international && home == nullptr) {
    home = defaultCountry_;
  }
  if (!international && home != nullptr && (ton == 0 || ton == kTonNational)) {
    const std::string& np = home->national_prefix;
    const bool has_prefix =
        !np.empty() && s.size() > np.size() && s.substr(0, np.size()) == np && s[np.size()] != '0';
    if (has_prefix || ton == kTonNational) {
      if (has_prefix) {
        s.remove_prefix(np.size());
      }
      assign(n, home->country_code, s);
      n.ton = kTonInternational;
      n.npi = kNpiIsdn;
      n.changed = true;
      return n;
    }
  }
  if (international) {
    assign(n, s);
    n.ton = kTonInternational;
    n.npi = kNpiIsdn;
    n.changed = s.size() != address.size() || ton != kTonInternational || npi != kNpiIsdn;
    return n;
  }
  assign(n, address);
  return n;
}

std::string normaliseNumber(const config::Numbering& numbering, std::string_view address,
                            std::uint8_t ton, std::uint8_t npi, std::string_view country) {
  return NumberNormaliser(numbering).normalise(address, ton, npi, country).str();
}

}  // namespace smppgw::routing
