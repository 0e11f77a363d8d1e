// UDH tests: IE list parsing with bounds checks, concatenation info, building concatenation UDHs.

#include "codec/udh.h"

#include <doctest/doctest.h>

#include <vector>

using namespace smppgw::codec;

namespace {

using Octets = std::vector<uint8_t>;

// Only for results that are not used after the call: the Udh views `data`.
UdhError parse(const Octets& data, Udh& udh) {
  return parseUdh(data, udh);
}

}  // namespace

TEST_CASE("udh: concatenation with an 8-bit reference") {
  const Octets data = {0x05, 0x00, 0x03, 0xA7, 0x02, 0x01, 0x00, 0x50};
  Udh udh;
  REQUIRE(parse(data, udh) == UdhError::None);
  CHECK(udh.udhl() == 5);
  CHECK(udh.size() == 6);
  CHECK(udh.ieCount() == 1);
  CHECK(userDataAfterUdh(data, udh).size() == 2);
  const auto info = concatInfo(udh);
  REQUIRE(info.has_value());
  CHECK(*info == ConcatInfo{0xA7, 2, 1, false});
  CHECK(concatInfo(std::span<const uint8_t>(data)) == info);
}

TEST_CASE("udh: concatenation with a 16-bit reference") {
  const Octets data = {0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x01, 'f'};
  Udh udh;
  REQUIRE(parse(data, udh) == UdhError::None);
  const auto info = concatInfo(udh);
  REQUIRE(info.has_value());
  CHECK(*info == ConcatInfo{0x1234, 3, 1, true});
}

TEST_CASE("udh: several IEs, iteration and find") {
  // Application ports (IEI 0x05, 16-bit), then concatenation (IEI 0x00), then an empty IE.
  const Octets data = {0x0D, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00,
                       0x03, 0x09, 0x04, 0x02, 0x70, 0x00, 0xAA};
  Udh udh;
  REQUIRE(parse(data, udh) == UdhError::None);
  CHECK(udh.size() == 14);
  std::vector<uint8_t> ieis;
  std::vector<size_t> lengths;
  for (UdhIe ie : udh) {
    ieis.push_back(ie.iei);
    lengths.push_back(ie.data.size());
  }
  CHECK(ieis == std::vector<uint8_t>{0x05, 0x00, 0x70});
  CHECK(lengths == std::vector<size_t>{4, 3, 0});
  const auto ports = udh.find(0x05);
  REQUIRE(ports.has_value());
  CHECK(ports->data[0] == 0x0B);
  CHECK(ports->data[1] == 0x84);
  CHECK_FALSE(udh.find(0x24).has_value());
  const auto info = concatInfo(udh);
  REQUIRE(info.has_value());
  CHECK(*info == ConcatInfo{9, 4, 2, false});
  CHECK(userDataAfterUdh(data, udh).size() == 1);
}

TEST_CASE("udh: bounds") {
  Udh udh;
  CHECK(parse({}, udh) == UdhError::Empty);
  // UDHL runs past the end of the user data.
  CHECK(parse({0x05, 0x00, 0x03, 0x01, 0x02}, udh) == UdhError::UdhlPastEnd);
  CHECK(parse({0xFF}, udh) == UdhError::UdhlPastEnd);
  // An IE length runs past UDHL (even though the user data has more octets).
  CHECK(parse({0x05, 0x00, 0x04, 0x01, 0x02, 0x01, 0x41, 0x42}, udh) == UdhError::IeLengthPastUdh);
  CHECK(parse({0x02, 0x00, 0x01}, udh) == UdhError::IeLengthPastUdh);
  // A lone octet where an IE should start.
  CHECK(parse({0x01, 0x00}, udh) == UdhError::IeHeaderTruncated);
  CHECK(parse({0x06, 0x00, 0x03, 0x01, 0x02, 0x01, 0x08}, udh) == UdhError::IeHeaderTruncated);
  // A failed parse leaves an empty UDH.
  CHECK(udh.size() == 0);
  CHECK(udh.begin() == udh.end());
  // UDHL 0 is a valid, empty header.
  const Octets empty_udh = {0x00, 0x41};
  REQUIRE(parse(empty_udh, udh) == UdhError::None);
  CHECK(udh.size() == 1);
  CHECK(udh.ieCount() == 0);
  CHECK_FALSE(concatInfo(udh).has_value());
  CHECK(udhErrorName(UdhError::IeLengthPastUdh) == "ie_length_past_udh");
}

TEST_CASE("udh: malformed concatenation IEs are ignored") {
  Udh udh;
  // Wrong IE length for IEI 0x00 (4 instead of 3).
  const Octets long_ie = {0x06, 0x00, 0x04, 0x01, 0x02, 0x01, 0x00};
  REQUIRE(parse(long_ie, udh) == UdhError::None);
  CHECK_FALSE(concatInfo(udh).has_value());
  // Total 0, seq 0, seq > total.
  for (const Octets& data :
       {Octets{0x05, 0x00, 0x03, 0x01, 0x00, 0x00}, Octets{0x05, 0x00, 0x03, 0x01, 0x02, 0x00},
        Octets{0x05, 0x00, 0x03, 0x01, 0x02, 0x03}}) {
    REQUIRE(parse(data, udh) == UdhError::None);
    CHECK_FALSE(concatInfo(udh).has_value());
  }
  // Both IEIs: the last valid one wins.
  const Octets both = {0x0B, 0x00, 0x03, 0x01, 0x02, 0x01, 0x08, 0x04, 0x01, 0x00, 0x05, 0x04};
  REQUIRE(parse(both, udh) == UdhError::None);
  const auto info = concatInfo(udh);
  REQUIRE(info.has_value());
  CHECK(*info == ConcatInfo{0x0100, 5, 4, true});
  // Unparseable user data has no concatenation info.
  CHECK_FALSE(concatInfo(std::span<const uint8_t>(Octets{0x05, 0x00})).has_value());
}

TEST_CASE("udh: building concatenation headers") {
  Octets out = {0xEE};
  REQUIRE(appendConcatUdh({0xA7, 2, 1, false}, out));
  CHECK(out == Octets{0xEE, 0x05, 0x00, 0x03, 0xA7, 0x02, 0x01});
  out.clear();
  REQUIRE(appendConcatUdh({0x1234, 3, 3, true}, out));
  CHECK(out == Octets{0x06, 0x08, 0x04, 0x12, 0x34, 0x03, 0x03});
  CHECK(out.size() == concatUdhSize(true));
  // Round trip.
  Udh udh;
  REQUIRE(parseUdh(out, udh) == UdhError::None);
  CHECK(concatInfo(udh) == ConcatInfo{0x1234, 3, 3, true});
  // Refused: 8-bit reference above 255, total 0, seq 0, seq > total. Nothing is appended.
  out.clear();
  CHECK_FALSE(appendConcatUdh({0x100, 2, 1, false}, out));
  CHECK_FALSE(appendConcatUdh({1, 0, 0, false}, out));
  CHECK_FALSE(appendConcatUdh({1, 2, 0, true}, out));
  CHECK_FALSE(appendConcatUdh({1, 2, 3, true}, out));
  CHECK(out.empty());
  CHECK(concatUdhSize(false) == 6);
}
