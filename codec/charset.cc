#include "codec/charset.h"

#include "codec/gsm7.h"

namespace smppgw::codec {

namespace {

constexpr bool isSurrogate(char32_t cp) {
  return cp >= 0xD800 && cp <= 0xDFFF;
}
constexpr bool isHighSurrogate(uint32_t u) {
  return u >= 0xD800 && u <= 0xDBFF;
}
constexpr bool isLowSurrogate(uint32_t u) {
  return u >= 0xDC00 && u <= 0xDFFF;
}

void appendUnit(uint16_t unit, std::vector<uint8_t>& out) {
  out.push_back(static_cast<uint8_t>(unit >> 8));
  out.push_back(static_cast<uint8_t>(unit));
}

// Restores the output on failure so converters never leave half a text behind.
template <typename Container>
bool rollback(Container& out, size_t mark) {
  out.resize(mark);
  return false;
}

}  // namespace

bool nextUtf8(std::string_view utf8, size_t& pos, char32_t& cp) noexcept {
  const size_t n = utf8.size();
  if (pos >= n) {
    return false;
  }
  const auto b0 = static_cast<uint8_t>(utf8[pos]);
  if (b0 < 0x80) {
    cp = b0;
    ++pos;
    return true;
  }
  size_t len = 0;
  char32_t value = 0;
  char32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    value = b0 & 0x1F;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    value = b0 & 0x0F;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    value = b0 & 0x07;
    min = 0x10000;
  } else {
    return false;  // continuation byte, overlong C0/C1 lead or F5..FF
  }
  if (n - pos < len) {
    return false;
  }
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<uint8_t>(utf8[pos + k]);
    if ((b & 0xC0) != 0x80) {
      return false;
    }
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > kMaxCodepoint || isSurrogate(value)) {
    return false;
  }
  cp = value;
  pos += len;
  return true;
}

void appendUtf8(char32_t cp, std::string& out) {
  if (isSurrogate(cp) || cp > kMaxCodepoint) {
    cp = kReplacementChar;
  }
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool isValidUtf8(std::string_view utf8) noexcept {
  size_t pos = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp)) {
      return false;
    }
  }
  return true;
}

std::optional<size_t> utf8CodepointCount(std::string_view utf8) noexcept {
  size_t pos = 0;
  size_t count = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp)) {
      return std::nullopt;
    }
    ++count;
  }
  return count;
}

std::optional<size_t> utf16UnitCount(std::string_view utf8) noexcept {
  size_t pos = 0;
  size_t units = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp)) {
      return std::nullopt;
    }
    units += cp >= 0x10000 ? 2 : 1;
  }
  return units;
}

bool utf8ToUcs2(std::string_view utf8, std::vector<uint8_t>& out) {
  const size_t mark = out.size();
  out.reserve(mark + 2 * utf8.size());
  size_t pos = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp)) {
      return rollback(out, mark);
    }
    if (cp >= 0x10000) {
      const char32_t v = cp - 0x10000;
      appendUnit(static_cast<uint16_t>(0xD800 | (v >> 10)), out);
      appendUnit(static_cast<uint16_t>(0xDC00 | (v & 0x3FF)), out);
    } else {
      appendUnit(static_cast<uint16_t>(cp), out);
    }
  }
  return true;
}

bool ucs2ToUtf8(std::span<const uint8_t> be_units, std::string& out, SurrogatePolicy policy) {
  if (be_units.size() % 2 != 0) {
    return false;
  }
  const size_t mark = out.size();
  const size_t count = be_units.size() / 2;
  auto unitAt = [&](size_t i) -> uint32_t {
    return (uint32_t{be_units[2 * i]} << 8) | be_units[2 * i + 1];
  };
  for (size_t i = 0; i < count; ++i) {
    const uint32_t u = unitAt(i);
    if (isHighSurrogate(u) && i + 1 < count && isLowSurrogate(unitAt(i + 1))) {
      const uint32_t lo = unitAt(i + 1);
      appendUtf8(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00), out);
      ++i;
    } else if (isHighSurrogate(u) || isLowSurrogate(u)) {
      if (policy == SurrogatePolicy::Reject) {
        return rollback(out, mark);
      }
      appendUtf8(kReplacementChar, out);
    } else {
      appendUtf8(u, out);
    }
  }
  return true;
}

bool latin1ToUtf8(std::span<const uint8_t> bytes, std::string& out) {
  out.reserve(out.size() + bytes.size());
  for (uint8_t b : bytes) {
    appendUtf8(b, out);
  }
  return true;
}

bool utf8ToLatin1(std::string_view utf8, std::vector<uint8_t>& out) {
  const size_t mark = out.size();
  size_t pos = 0;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp) || cp > 0xFF) {
      return rollback(out, mark);
    }
    out.push_back(static_cast<uint8_t>(cp));
  }
  return true;
}

bool ia5ToUtf8(std::span<const uint8_t> bytes, std::string& out) {
  for (uint8_t b : bytes) {
    if (b > 0x7F) {
      return false;
    }
  }
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return true;
}

bool utf8ToIa5(std::string_view utf8, std::vector<uint8_t>& out) {
  for (char c : utf8) {
    if (static_cast<uint8_t>(c) > 0x7F) {
      return false;
    }
  }
  out.insert(out.end(), utf8.begin(), utf8.end());
  return true;
}

TextCoding textCodingOf(uint8_t data_coding) noexcept {
  switch (data_coding) {
    case 0x00:
      return TextCoding::Gsm7;
    case 0x01:
      return TextCoding::Ia5;
    case 0x02:
    case 0x04:
      return TextCoding::Binary;
    case 0x03:
      return TextCoding::Latin1;
    case 0x08:
      return TextCoding::Ucs2;
    default:
      break;
  }
  // GSM 03.38 coding groups, read by the high nibble (reference §6.3).
  switch (data_coding >> 4) {
    case 0xC:  // message waiting, discard message: default alphabet
    case 0xD:  // message waiting, store message: default alphabet
      return TextCoding::Gsm7;
    case 0xE:  // message waiting, store message: UCS2
      return TextCoding::Ucs2;
    case 0xF:  // data coding / message class: bit 2 selects 8-bit data over the default alphabet
      return (data_coding & 0x04) != 0 ? TextCoding::Binary : TextCoding::Gsm7;
    default:
      return TextCoding::Unsupported;
  }
}

bool decodeText(uint8_t data_coding, std::span<const uint8_t> bytes, std::string& utf8_out) {
  switch (textCodingOf(data_coding)) {
    case TextCoding::Gsm7:
      return gsm7ToUtf8(bytes, utf8_out);
    case TextCoding::Ia5:
      return ia5ToUtf8(bytes, utf8_out);
    case TextCoding::Latin1:
      return latin1ToUtf8(bytes, utf8_out);
    case TextCoding::Ucs2:
      return ucs2ToUtf8(bytes, utf8_out);
    case TextCoding::Binary:
    case TextCoding::Unsupported:
      return false;
  }
  return false;
}

}  // namespace smppgw::codec
