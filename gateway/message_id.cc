#include "gateway/message_id.h"

#include <algorithm>
#include <cstring>

namespace smppgw {

namespace {

// Two characters per lookup: a receipt and a response each format one id.
struct DigitPairs {
  char hex[256][2];
  char dec[100][2];
  constexpr DigitPairs() : hex{}, dec{} {
    constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      hex[i][0] = kHex[i >> 4];
      hex[i][1] = kHex[i & 0xF];
    }
    for (int i = 0; i < 100; ++i) {
      dec[i][0] = static_cast<char>('0' + i / 10);
      dec[i][1] = static_cast<char>('0' + i % 10);
    }
  }
};
constexpr DigitPairs kPairs;

}  // namespace

std::string_view formatMessageId(uint64_t id, config::MessageIdFormat format, uint32_t length,
                                 char* buf) {
  char digits[24];
  char* const end = digits + sizeof digits;
  char* p = end;
  if (format == config::MessageIdFormat::Hex) {
    for (int i = 0; i < 8; ++i) {  // always 16 digits, as ids have always been
      p -= 2;
      std::memcpy(p, kPairs.hex[id & 0xFF], 2);
      id >>= 8;
    }
  } else {
    while (id >= 100) {
      p -= 2;
      std::memcpy(p, kPairs.dec[id % 100], 2);
      id /= 100;
    }
    if (id >= 10) {
      p -= 2;
      std::memcpy(p, kPairs.dec[id], 2);
    } else {
      *--p = static_cast<char>('0' + id);
    }
  }
  const size_t n = static_cast<size_t>(end - p);
  const size_t width = std::min<size_t>(std::max<size_t>(length, n), 64);
  const size_t pad = width - n;
  std::memset(buf, '0', pad);
  std::memcpy(buf + pad, p, n);
  buf[width] = '\0';
  return {buf, width};
}

std::optional<uint64_t> parseMessageId(std::string_view text, config::MessageIdFormat format) {
  if (text.empty() || text.size() > 64) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (format == config::MessageIdFormat::Hex && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (format == config::MessageIdFormat::Hex && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    uint64_t base = format == config::MessageIdFormat::Hex ? 16 : 10;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / base) {
      return std::nullopt;
    }
    v = v * base + static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace smppgw
