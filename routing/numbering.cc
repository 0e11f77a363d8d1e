#include "routing/numbering.h"

#include <algorithm>
#include <cstring>

namespace smppgw::routing {
namespace {

bool allDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
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
  Number n;
  n.ton = ton;
  n.npi = npi;
  assign(n, address);
  if (!numbering_.enabled || ton == kTonAlphanumeric || address.empty()) {
    return n;
  }
  std::string_view s = address;
  bool international = ton == kTonInternational;
  if (s[0] == '+') {
    s.remove_prefix(1);
    international = true;
  }
  if (s.empty() || !allDigits(s)) {
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
    if (!np.empty() && s.size() > np.size() && s.substr(0, np.size()) == np &&
        s[np.size()] != '0') {
      s.remove_prefix(np.size());
      assign(n, home->country_code, s);
      n.ton = kTonInternational;
      n.npi = kNpiIsdn;
      n.changed = true;
      return n;
    }
    if (ton == kTonNational) {
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
  }
  return n;
}

std::string normaliseNumber(const config::Numbering& numbering, std::string_view address,
                            std::uint8_t ton, std::uint8_t npi, std::string_view country) {
  return NumberNormaliser(numbering).normalise(address, ton, npi, country).str();
}

}  // namespace smppgw::routing
