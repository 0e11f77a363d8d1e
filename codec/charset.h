#pragma once
// Character-set conversions between UTF-8 (the gateway's internal text form) and the encodings
// found in short_message: UCS-2 / UTF-16BE, Latin-1, IA5 (ASCII) and, through gsm7.h, GSM 03.38.
// Conventions for every converter here: it APPENDS to its output, returns false on input it
// cannot convert, and on failure leaves the output exactly as it was (no partial text). Nothing
// here throws except std::bad_alloc from the output container.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smppgw::codec {

inline constexpr char32_t kReplacementChar = 0xFFFD;
inline constexpr char32_t kMaxCodepoint = 0x10FFFF;

// ---- UTF-8 ----

// Decodes the code point starting at utf8[pos] and advances pos past it. Returns false (pos and cp
// unchanged) at the end of input or on malformed UTF-8: bad lead byte, truncated sequence,
// overlong form, encoded surrogate (U+D800..U+DFFF) or a value above U+10FFFF.
bool nextUtf8(std::string_view utf8, size_t& pos, char32_t& cp) noexcept;
// Appends cp as UTF-8. Surrogates and values above U+10FFFF are written as U+FFFD.
void appendUtf8(char32_t cp, std::string& out);
// Strict UTF-8 validation (same rules as nextUtf8).
bool isValidUtf8(std::string_view utf8) noexcept;
// Number of code points, or nullopt for invalid UTF-8.
std::optional<size_t> utf8CodepointCount(std::string_view utf8) noexcept;
// Number of UTF-16 code units (non-BMP characters count 2), or nullopt for invalid UTF-8.
std::optional<size_t> utf16UnitCount(std::string_view utf8) noexcept;

// ---- UCS-2 / UTF-16BE (data_coding 0x08) ----

// What to do with an unpaired surrogate when decoding UTF-16.
enum class SurrogatePolicy : uint8_t {
  Replace,  // emit U+FFFD for it and carry on (default: a receipt or MO must still be readable)
  Reject,   // fail the whole conversion
};

// UTF-8 -> big-endian UTF-16 (characters outside the BMP become surrogate pairs).
bool utf8ToUcs2(std::string_view utf8, std::vector<uint8_t>& out);
// Big-endian UTF-16 -> UTF-8, joining surrogate pairs. An odd byte count always fails.
bool ucs2ToUtf8(std::span<const uint8_t> be_units, std::string& out,
                SurrogatePolicy policy = SurrogatePolicy::Replace);

// ---- Latin-1 (ISO-8859-1, data_coding 0x03) and IA5 / ASCII (data_coding 0x01) ----

// Every octet is a Latin-1 character (0x80..0x9F are the C1 controls), so this cannot fail.
bool latin1ToUtf8(std::span<const uint8_t> bytes, std::string& out);
// Fails if a character is above U+00FF.
bool utf8ToLatin1(std::string_view utf8, std::vector<uint8_t>& out);
// Fails on an octet above 0x7F (IA5 is a 7-bit code).
bool ia5ToUtf8(std::span<const uint8_t> bytes, std::string& out);
// Fails if a character is above U+007F.
bool utf8ToIa5(std::string_view utf8, std::vector<uint8_t>& out);

// ---- data_coding ----

// How the octets of short_message are to be read as text (reference §6.3).
enum class TextCoding : uint8_t {
  Gsm7,         // 0x00, 0xC_, 0xD_, 0xF_ with bit 2 clear: GSM 03.38, unpacked (one septet/octet)
  Ia5,          // 0x01
  Latin1,       // 0x03
  Ucs2,         // 0x08, 0xE_
  Binary,       // 0x02, 0x04, 0xF_ with bit 2 set: octets, not text
  Unsupported,  // anything else (JIS, Cyrillic, Hebrew, KS C 5601, reserved values, ...)
};

TextCoding textCodingOf(uint8_t data_coding) noexcept;

// Decodes short_message octets (without any UDH: strip it first) as text per data_coding and
// appends the UTF-8 result. False for Binary/Unsupported codings and for malformed input.
bool decodeText(uint8_t data_coding, std::span<const uint8_t> bytes, std::string& utf8_out);

}  // namespace smppgw::codec
