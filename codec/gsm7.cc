#include "codec/gsm7.h"

#include <array>

#include "codec/charset.h"

namespace smppgw::codec {

namespace {

// Basic table, septet -> Unicode (reference §6.5). 0x1B is ESC, shown as NBSP.
constexpr std::array<char16_t, 128> kBasic = {
    u'@',      u'\u00A3', u'$',      u'\u00A5', u'\u00E8', u'\u00E9', u'\u00F9', u'\u00EC',  // 0x00
    u'\u00F2', u'\u00C7', u'\n',     u'\u00D8', u'\u00F8', u'\r',     u'\u00C5', u'\u00E5',  // 0x08
    u'\u0394', u'_',      u'\u03A6', u'\u0393', u'\u039B', u'\u03A9', u'\u03A0', u'\u03A8',  // 0x10
    u'\u03A3', u'\u0398', u'\u039E', u'\u00A0', u'\u00C6', u'\u00E6', u'\u00DF', u'\u00C9',  // 0x18
    u' ',      u'!',      u'"',      u'#',      u'\u00A4', u'%',      u'&',      u'\'',      // 0x20
    u'(',      u')',      u'*',      u'+',      u',',      u'-',      u'.',      u'/',       // 0x28
    u'0',      u'1',      u'2',      u'3',      u'4',      u'5',      u'6',      u'7',       // 0x30
    u'8',      u'9',      u':',      u';',      u'<',      u'=',      u'>',      u'?',       // 0x38
    u'\u00A1', u'A',      u'B',      u'C',      u'D',      u'E',      u'F',      u'G',       // 0x40
    u'H',      u'I',      u'J',      u'K',      u'L',      u'M',      u'N',      u'O',       // 0x48
    u'P',      u'Q',      u'R',      u'S',      u'T',      u'U',      u'V',      u'W',       // 0x50
    u'X',      u'Y',      u'Z',      u'\u00C4', u'\u00D6', u'\u00D1', u'\u00DC', u'\u00A7',  // 0x58
    u'\u00BF', u'a',      u'b',      u'c',      u'd',      u'e',      u'f',      u'g',       // 0x60
    u'h',      u'i',      u'j',      u'k',      u'l',      u'm',      u'n',      u'o',       // 0x68
    u'p',      u'q',      u'r',      u's',      u't',      u'u',      u'v',      u'w',       // 0x70
    u'x',      u'y',      u'z',      u'\u00E4', u'\u00F6', u'\u00F1', u'\u00FC', u'\u00E0',  // 0x78
};

struct ExtEntry {
  uint8_t code;
  char16_t ch;
};

// Extension table: the septet that follows ESC -> Unicode.
constexpr std::array<ExtEntry, 10> kExtension = {{
    {0x0A, u'\f'},
    {0x14, u'^'},
    {0x28, u'{'},
    {0x29, u'}'},
    {0x2F, u'\\'},
    {0x3C, u'['},
    {0x3D, u'~'},
    {0x3E, u']'},
    {0x40, u'|'},
    {0x65, u'\u20AC'},
}};

constexpr uint8_t kNone = 0xFF;
constexpr uint8_t kExtFlag = 0x80;

// Reverse lookup for U+0000..U+00FF: septet, or kExtFlag | extension code, or kNone. The few
// characters above U+00FF (Greek capitals, euro) are handled in gsm7Lookup.
constexpr std::array<uint8_t, 256> makeLatinReverse() {
  std::array<uint8_t, 256> table{};
  for (auto& v : table) {
    v = kNone;
  }
  for (size_t s = 0; s < kBasic.size(); ++s) {
    if (s != kGsm7Escape && kBasic[s] < 0x100) {
      table[kBasic[s]] = static_cast<uint8_t>(s);
    }
  }
  for (const auto& e : kExtension) {
    if (e.ch < 0x100) {
      table[e.ch] = static_cast<uint8_t>(kExtFlag | e.code);
    }
  }
  return table;
}

constexpr std::array<uint8_t, 256> kLatinReverse = makeLatinReverse();

// Lookup used on every character: returns the cost in septets (0 = not encodable).
inline Gsm7Char lookup(char32_t cp) {
  if (cp < 0x100) {
    const uint8_t v = kLatinReverse[cp];
    if (v == kNone) {
      return {};
    }
    if ((v & kExtFlag) != 0) {
      return {Gsm7Class::Extension, static_cast<uint8_t>(v & 0x7F)};
    }
    return {Gsm7Class::Basic, v};
  }
  if (cp == 0x20AC) {
    return {Gsm7Class::Extension, 0x65};
  }
  if (cp >= 0x0393 && cp <= 0x03A9) {
    // The Greek capitals live in septets 0x10..0x1A.
    for (uint8_t s = 0x10; s <= 0x1A; ++s) {
      if (kBasic[s] == cp) {
        return {Gsm7Class::Basic, s};
      }
    }
  }
  return {};
}

}  // namespace

Gsm7Char gsm7Lookup(char32_t cp) noexcept {
  return lookup(cp);
}

char32_t gsm7BasicChar(uint8_t septet) noexcept {
  return kBasic[septet & 0x7F];
}

std::optional<char32_t> gsm7ExtensionChar(uint8_t code) noexcept {
  for (const auto& e : kExtension) {
    if (e.code == code) {
      return e.ch;
    }
  }
  return std::nullopt;
}

std::optional<size_t> gsm7SeptetCount(std::string_view utf8) noexcept {
  size_t pos = 0;
  size_t septets = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp)) {
      return std::nullopt;
    }
    const Gsm7Char c = lookup(cp);
    if (c.cls == Gsm7Class::None) {
      return std::nullopt;
    }
    septets += c.cls == Gsm7Class::Extension ? 2 : 1;
  }
  return septets;
}

bool isGsm7Encodable(std::string_view utf8) noexcept {
  return gsm7SeptetCount(utf8).has_value();
}

bool utf8ToGsm7(std::string_view utf8, std::vector<uint8_t>& septets_out) {
  const size_t mark = septets_out.size();
  septets_out.reserve(mark + utf8.size());
  size_t pos = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    const Gsm7Char c = nextUtf8(utf8, pos, cp) ? lookup(cp) : Gsm7Char{};
    if (c.cls == Gsm7Class::None) {
      septets_out.resize(mark);
      return false;
    }
    if (c.cls == Gsm7Class::Extension) {
      septets_out.push_back(kGsm7Escape);
    }
    septets_out.push_back(c.code);
  }
  return true;
}

bool gsm7ToUtf8(std::span<const uint8_t> septets, std::string& out) {
  const size_t mark = out.size();
  out.reserve(mark + septets.size());
  const size_t n = septets.size();
  for (size_t i = 0; i < n; ++i) {
    const uint8_t s = septets[i];
    if (s > 0x7F) {
      out.resize(mark);
      return false;
    }
    if (s != kGsm7Escape) {
      appendUtf8(kBasic[s], out);
      continue;
    }
    if (i + 1 == n) {
      out.push_back(' ');  // lone trailing ESC
      continue;
    }
    const uint8_t code = septets[++i];
    if (code > 0x7F) {
      out.resize(mark);
      return false;
    }
    if (code == kGsm7Escape) {
      out.push_back(' ');  // reserved for a further extension table: shown as a space
    } else if (auto ext = gsm7ExtensionChar(code)) {
      appendUtf8(*ext, out);
    } else {
      appendUtf8(kBasic[code], out);  // unassigned extension code: basic-table fallback
    }
  }
  return true;
}

bool packGsm7(std::span<const uint8_t> septets, std::vector<uint8_t>& out, unsigned fill_bits) {
  if (fill_bits > 6) {
    return false;
  }
  for (uint8_t s : septets) {
    if (s > 0x7F) {
      return false;
    }
  }
  if (septets.empty()) {
    return true;
  }
  out.reserve(out.size() + gsm7PackedSize(septets.size(), fill_bits));
  uint32_t acc = 0;
  unsigned bits = fill_bits;  // the fill bits are the low (first) bits of the first octet: zero
  for (uint8_t s : septets) {
    acc |= uint32_t{s} << bits;
    bits += 7;
    while (bits >= 8) {
      out.push_back(static_cast<uint8_t>(acc));
      acc >>= 8;
      bits -= 8;
    }
  }
  if (bits > 0) {
    out.push_back(static_cast<uint8_t>(acc));
  }
  return true;
}

bool unpackGsm7(std::span<const uint8_t> packed, size_t septet_count, std::vector<uint8_t>& out,
                unsigned fill_bits) {
  if (fill_bits > 6) {
    return false;
  }
  if (septet_count == 0) {
    return true;
  }
  if (packed.size() < gsm7PackedSize(septet_count, fill_bits)) {
    return false;
  }
  out.reserve(out.size() + septet_count);
  for (size_t i = 0; i < septet_count; ++i) {
    const size_t bit = fill_bits + 7 * i;
    const size_t octet = bit / 8;
    const unsigned shift = bit % 8;
    unsigned v = packed[octet] >> shift;
    if (shift > 1) {
      // The septet straddles two octets; the size check above guarantees the second one exists.
      v |= unsigned{packed[octet + 1]} << (8 - shift);
    }
    out.push_back(static_cast<uint8_t>(v & 0x7F));
  }
  return true;
}

bool packGsm7WithUdh(std::span<const uint8_t> udh, std::span<const uint8_t> septets,
                     std::vector<uint8_t>& out) {
  const size_t mark = out.size();
  out.insert(out.end(), udh.begin(), udh.end());
  const unsigned fill = udh.empty() ? 0 : gsm7FillBits(udh.size());
  if (!packGsm7(septets, out, fill)) {
    out.resize(mark);
    return false;
  }
  return true;
}

}  // namespace smppgw::codec
