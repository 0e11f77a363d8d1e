#pragma once
// User Data Header (3GPP 23.040 §9.2.3.24; reference §6.4). When esm_class has UDHI (0x40),
// short_message starts with UDHL (the number of UDH octets that follow) and then a list of
// information elements (IEI, length, data). Parsing is allocation-free: the result views the
// caller's bytes, which must outlive it.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace smppgw::codec {

inline constexpr uint8_t kIeiConcat8BitRef = 0x00;
inline constexpr uint8_t kIeiConcat16BitRef = 0x08;

enum class UdhError : uint8_t {
  None,
  Empty,              // no octets at all, so not even a UDHL
  UdhlPastEnd,        // UDHL claims more octets than the user data has
  IeHeaderTruncated,  // a single stray octet where an IE (IEI + length) should start
  IeLengthPastUdh,    // an IE's length runs past the end of the UDH
};

std::string_view udhErrorName(UdhError error) noexcept;

struct UdhIe {
  uint8_t iei = 0;
  std::span<const uint8_t> data;  // the IE's value (length octets)
};

// A structurally valid UDH. Obtained from parseUdh(); iterating it yields the IEs in order.
class Udh {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = UdhIe;
    using difference_type = std::ptrdiff_t;
    using pointer = const UdhIe*;
    using reference = UdhIe;

    Iterator() = default;
    UdhIe operator*() const;
    Iterator& operator++();
    Iterator operator++(int) {
      Iterator old = *this;
      ++*this;
      return old;
    }
    bool operator==(const Iterator& other) const { return pos_ == other.pos_; }

   private:
    friend class Udh;
    explicit Iterator(const uint8_t* pos) : pos_(pos) {}
    const uint8_t* pos_ = nullptr;
  };

  Udh() = default;

  // UDHL: the number of octets after the UDHL octet.
  uint8_t udhl() const { return bytes_.empty() ? 0 : bytes_[0]; }
  // Octets taken by the whole UDH, UDHL included (1 + UDHL).
  size_t size() const { return bytes_.size(); }
  // The whole UDH, UDHL included.
  std::span<const uint8_t> bytes() const { return bytes_; }
  Iterator begin() const { return Iterator(bytes_.empty() ? nullptr : bytes_.data() + 1); }
  Iterator end() const { return Iterator(bytes_.empty() ? nullptr : bytes_.data() + size()); }
  size_t ieCount() const noexcept;
  // The last IE with this IEI (23.040: a repeated non-repeatable IE, the last one counts).
  std::optional<UdhIe> find(uint8_t iei) const noexcept;

 private:
  friend UdhError parseUdh(std::span<const uint8_t> user_data, Udh& out) noexcept;
  std::span<const uint8_t> bytes_;
};

// Parses the UDH at the start of user_data, checking every length against the bounds.
UdhError parseUdh(std::span<const uint8_t> user_data, Udh& out) noexcept;
// The user data that follows the UDH (user_data must be the span the UDH was parsed from).
inline std::span<const uint8_t> userDataAfterUdh(std::span<const uint8_t> user_data,
                                                 const Udh& udh) {
  return user_data.subspan(udh.size());
}

// Concatenated-SMS information (IEI 0x00 with an 8-bit reference, IEI 0x08 with a 16-bit one).
struct ConcatInfo {
  uint16_t ref = 0;   // the same in every part of one message
  uint8_t total = 0;  // number of parts, 1..255
  uint8_t seq = 0;    // this part, 1..total
  bool ref_is_16bit = false;

  bool operator==(const ConcatInfo&) const = default;
};

// The concatenation info of a parsed UDH. nullopt if there is no concatenation IE, if its length
// is wrong (3 or 4 octets expected) or if its total or sequence number is 0 or seq > total: 23.040
// says to ignore such an IE. With both IEIs present, the last one wins.
std::optional<ConcatInfo> concatInfo(const Udh& udh) noexcept;
// Convenience: parse the UDH at the start of user_data and extract the concatenation info.
std::optional<ConcatInfo> concatInfo(std::span<const uint8_t> user_data) noexcept;

// Octets taken by a concatenation-only UDH, UDHL included.
constexpr size_t concatUdhSize(bool ref_16bit) {
  return ref_16bit ? 7 : 6;
}
// Appends `05 00 03 RR TT SS` or `06 08 04 RH RL TT SS`. False (nothing appended) if an 8-bit
// reference exceeds 255, total is 0, or seq is not in 1..total.
bool appendConcatUdh(const ConcatInfo& info, std::vector<uint8_t>& out);

}  // namespace smppgw::codec
