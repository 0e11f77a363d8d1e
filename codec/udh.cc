#include "codec/udh.h"

namespace smppgw::codec {

std::string_view udhErrorName(UdhError error) noexcept {
  switch (error) {
    case UdhError::None:
      return "none";
    case UdhError::Empty:
      return "empty";
    case UdhError::UdhlPastEnd:
      return "udhl_past_end";
    case UdhError::IeHeaderTruncated:
      return "ie_header_truncated";
    case UdhError::IeLengthPastUdh:
      return "ie_length_past_udh";
  }
  return "unknown";
}

UdhIe Udh::Iterator::operator*() const {
  return {pos_[0], {pos_ + 2, pos_[1]}};
}

Udh::Iterator& Udh::Iterator::operator++() {
  pos_ += 2 + size_t{pos_[1]};
  return *this;
}

size_t Udh::ieCount() const noexcept {
  size_t count = 0;
  for (auto it = begin(); it != end(); ++it) {
    ++count;
  }
  return count;
}

std::optional<UdhIe> Udh::find(uint8_t iei) const noexcept {
  std::optional<UdhIe> found;
  for (UdhIe ie : *this) {
    if (ie.iei == iei) {
      found = ie;
    }
  }
  return found;
}

UdhError parseUdh(std::span<const uint8_t> user_data, Udh& out) noexcept {
  out = Udh{};
  if (user_data.empty()) {
    return UdhError::Empty;
  }
  const size_t udh_size = 1 + size_t{user_data[0]};
  if (udh_size > user_data.size()) {
    return UdhError::UdhlPastEnd;
  }
  // Walk the IEs once so that iteration afterwards needs no checks.
  size_t pos = 1;
  while (pos < udh_size) {
    if (udh_size - pos < 2) {
      return UdhError::IeHeaderTruncated;
    }
    const size_t ie_len = user_data[pos + 1];
    if (ie_len > udh_size - pos - 2) {
      return UdhError::IeLengthPastUdh;
    }
    pos += 2 + ie_len;
  }
  out.bytes_ = user_data.first(udh_size);
  return UdhError::None;
}

std::optional<ConcatInfo> concatInfo(const Udh& udh) noexcept {
  std::optional<ConcatInfo> found;
  for (UdhIe ie : udh) {
    ConcatInfo info;
    if (ie.iei == kIeiConcat8BitRef && ie.data.size() == 3) {
      info.ref = ie.data[0];
      info.total = ie.data[1];
      info.seq = ie.data[2];
    } else if (ie.iei == kIeiConcat16BitRef && ie.data.size() == 4) {
      info.ref = static_cast<uint16_t>((ie.data[0] << 8) | ie.data[1]);
      info.total = ie.data[2];
      info.seq = ie.data[3];
      info.ref_is_16bit = true;
    } else {
      continue;
    }
    if (info.total != 0 && info.seq != 0 && info.seq <= info.total) {
      found = info;
    }
  }
  return found;
}

std::optional<ConcatInfo> concatInfo(std::span<const uint8_t> user_data) noexcept {
  Udh udh;
  if (parseUdh(user_data, udh) != UdhError::None) {
    return std::nullopt;
  }
  return concatInfo(udh);
}

bool appendConcatUdh(const ConcatInfo& info, std::vector<uint8_t>& out) {
  if (info.total == 0 || info.seq == 0 || info.seq > info.total) {
    return false;
  }
  if (info.ref_is_16bit) {
    out.insert(out.end(), {0x06, kIeiConcat16BitRef, 0x04, static_cast<uint8_t>(info.ref >> 8),
                           static_cast<uint8_t>(info.ref), info.total, info.seq});
    return true;
  }
  if (info.ref > 0xFF) {
    return false;
  }
  out.insert(out.end(),
             {0x05, kIeiConcat8BitRef, 0x03, static_cast<uint8_t>(info.ref), info.total, info.seq});
  return true;
}

}  // namespace smppgw::codec
