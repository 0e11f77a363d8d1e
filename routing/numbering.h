#pragma once
// Number normalisation, shared by routing and logs so both show the same form of a number.
//
//   "+447700900123"             -> "447700900123"  TON 1 NPI 1
//   "00447700900123"            -> "447700900123"  (numbering.international_prefixes)
//   "07700900123" country 44    -> "447700900123"  (national prefix "0" -> country code)
//   TON 2 "7700900123" cc 44    -> "447700900123"  (national number without trunk prefix)
//   TON 5 "MyBrand"             -> unchanged       (alphanumeric)
//   TON 0 "447700900123"        -> unchanged       (already international, no '+')
// Anything that is not digits (after an optional '+') is left as it is.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/model.h"

namespace smppgw::routing {

inline constexpr std::uint8_t kTonInternational = 1;
inline constexpr std::uint8_t kTonNational = 2;
inline constexpr std::uint8_t kTonAlphanumeric = 5;
inline constexpr std::uint8_t kNpiIsdn = 1;

// A normalised address held inline (no allocation on the routing path). SMPP addresses are at
// most 64 characters (data_sm); longer input is cut.
struct Number {
  static constexpr std::size_t kCapacity = 72;
  // Only the first `length` are meaningful (left uninitialised: a Number is built per message).
  std::array<unsigned char, kCapacity> chars;
  std::uint8_t length = 0;
  std::uint8_t ton = 0;
  std::uint8_t npi = 0;
  bool changed = false;  // differs from the input (digits or TON/NPI)

  std::string_view view() const { return {reinterpret_cast<const char*>(chars.data()), length}; }
  std::string str() const { return std::string(view()); }
};

class NumberNormaliser {
 public:
  NumberNormaliser() = default;
  explicit NumberNormaliser(const config::Numbering& numbering);

  // `country`: the sender's home country code (customer.country), "" = numbering.default_country.
  Number normalise(std::string_view address, std::uint8_t ton, std::uint8_t npi,
                   std::string_view country = {}) const;
  // Same, with the country already looked up (nullptr = default country).
  Number normalise(std::string_view address, std::uint8_t ton, std::uint8_t npi,
                   const config::CountryNumbering* country) const;
  const config::CountryNumbering* country(std::string_view code) const;
  bool enabled() const { return numbering_.enabled; }
  bool normaliseSource() const { return numbering_.enabled && numbering_.normalise_source; }

 private:
  config::Numbering numbering_;
  const config::CountryNumbering* defaultCountry_ = nullptr;
};

// One-shot helper for logs and tools.
std::string normaliseNumber(const config::Numbering& numbering, std::string_view address,
                            std::uint8_t ton = 0, std::uint8_t npi = 0,
                            std::string_view country = {});

}  // namespace smppgw::routing
