#pragma once
// GSM 03.38 (3GPP 23.038) default alphabet and its extension table (reference §6.5).
//
// "Unpacked" septets are one septet per octet (what SMPP carries with data_coding 0); an
// extension-table character is the pair 0x1B + code and counts as 2 septets. "Packed" is the
// air-interface form: septet i occupies bits 7*i .. 7*i+6 of the bit stream, LSB first, optionally
// shifted by fill bits so the first septet after a UDH starts on a septet boundary.
// Converters append to their output and leave it unchanged on failure (see charset.h).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smppgw::codec {

inline constexpr uint8_t kGsm7Escape = 0x1B;

enum class Gsm7Class : uint8_t {
  None,       // not representable in GSM 03.38: the message needs UCS2
  Basic,      // one septet
  Extension,  // escape pair 0x1B + code: two septets
};

struct Gsm7Char {
  Gsm7Class cls = Gsm7Class::None;
  uint8_t code = 0;  // the septet (Basic) or the code that follows 0x1B (Extension)
};

// Strict mapping of one Unicode code point (no transliteration: ç, Greek Α, backtick are None).
Gsm7Char gsm7Lookup(char32_t cp) noexcept;
// Unicode character of a basic-table septet (0x00..0x7F). 0x1B (ESC) maps to U+00A0, as in the
// Unicode consortium's GSM0338 table; decoders handle ESC themselves.
char32_t gsm7BasicChar(uint8_t septet) noexcept;
// Unicode character of an extension-table code, or nullopt if the code is not assigned.
std::optional<char32_t> gsm7ExtensionChar(uint8_t code) noexcept;

// True if the text is valid UTF-8 and every character is in the basic or extension table.
bool isGsm7Encodable(std::string_view utf8) noexcept;
// Septets needed (extension characters count 2), or nullopt if not GSM7-encodable.
std::optional<size_t> gsm7SeptetCount(std::string_view utf8) noexcept;

// UTF-8 -> unpacked septets. Fails on invalid UTF-8 or a character outside GSM 03.38.
bool utf8ToGsm7(std::string_view utf8, std::vector<uint8_t>& septets_out);
// Unpacked septets -> UTF-8. Fails on an octet above 0x7F. As 3GPP 23.038 asks of receivers,
// ESC + an unassigned code yields that code's basic-table character, and ESC ESC or a trailing
// lone ESC yields a space.
bool gsm7ToUtf8(std::span<const uint8_t> septets, std::string& out);

// Fill bits needed after a UDH of udh_octets octets (UDHL included) so that the text starts on a
// septet boundary: 1 for the 6-octet 8-bit-reference UDH, 0 for the 7-octet 16-bit one.
constexpr unsigned gsm7FillBits(size_t udh_octets) {
  return static_cast<unsigned>((7 - (udh_octets * 8) % 7) % 7);
}
// Octets taken by `septets` packed septets that start after `fill_bits` leading zero bits.
constexpr size_t gsm7PackedSize(size_t septets, unsigned fill_bits = 0) {
  return septets == 0 ? 0 : (fill_bits + 7 * septets + 7) / 8;
}
// Largest septet count that fits in packed_octets (the caller should know the exact count: a
// trailing 7-bit zero field is indistinguishable from '@').
constexpr size_t gsm7MaxSeptets(size_t packed_octets, unsigned fill_bits = 0) {
  return packed_octets * 8 < fill_bits ? 0 : (packed_octets * 8 - fill_bits) / 7;
}

// Packs septets (each <= 0x7F) after fill_bits (0..6) zero bits and appends the octets.
bool packGsm7(std::span<const uint8_t> septets, std::vector<uint8_t>& out, unsigned fill_bits = 0);
// Unpacks septet_count septets that start after fill_bits (0..6) bits. Fails if packed is short.
bool unpackGsm7(std::span<const uint8_t> packed, size_t septet_count, std::vector<uint8_t>& out,
                unsigned fill_bits = 0);
// Air-interface user data: the UDH octets as they are, then the septets packed with the fill bits
// that the UDH length requires. An empty udh means no UDH (no fill bits).
bool packGsm7WithUdh(std::span<const uint8_t> udh, std::span<const uint8_t> septets,
                     std::vector<uint8_t>& out);

}  // namespace smppgw::codec
