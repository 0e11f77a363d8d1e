#include "gateway/message_id.h"

#include <algorithm>
#include <cstring>

namespace smppgw {

std::string_view formatMessageId(uint64_t id, config::MessageIdFormat format, uint32_t length,
                                 char* buf) {
  char digits[24];
  size_t n = 0;
  if (format == config::MessageIdFormat::Hex) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int shift = 60; shift >= 0; shift -= 4) {
      digits[n++] = kHex[(id >> shift) & 0xF];
    }
  } else {
    char rev[24];
    size_t r = 0;
    do {
      rev[r++] = static_cast<char>('0' + id % 10);
      id /= 10;
    } while (id != 0);
    while (r > 0) {
      digits[n++] = rev[--r];
    }
  }
  size_t width = std::min<size_t>(std::max<size_t>(length, n), 64);
  size_t pad = width - n;
  std::memset(buf, '0', pad);
  std::memcpy(buf + pad, digits, n);
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
