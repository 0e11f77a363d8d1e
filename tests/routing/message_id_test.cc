#include <doctest/doctest.h>

#include "string_view_maker.h"

#include "routing/message_id.h"

using namespace smppgw;
using namespace smppgw::routing;
using config::IdBase;
using config::IdCase;

TEST_CASE("message id normalisation: response and receipt forms meet") {
  struct Case {
    IdBase response;
    IdBase receipt;
    bool zeros;
    IdCase letters;
    const char* responseId;
    const char* receiptId;
    const char* canonical;
  };
  const Case cases[] = {
      {IdBase::AsIs, IdBase::AsIs, false, IdCase::Preserve, "abc-123", "abc-123", "abc-123"},
      {IdBase::Hex, IdBase::Decimal, false, IdCase::Preserve, "1A2B3C", "1715004", "1a2b3c"},
      {IdBase::Hex, IdBase::Decimal, false, IdCase::Upper, "001a2b3c", "1715004", "1A2B3C"},
      {IdBase::Decimal, IdBase::Hex, false, IdCase::Preserve, "1715004", "1A2B3C", "1715004"},
      {IdBase::Decimal, IdBase::Hex, false, IdCase::Preserve, "0001715004", "001a2b3c", "1715004"},
      // Larger than 64 bits.
      {IdBase::Hex, IdBase::Decimal, false, IdCase::Lower, "FFFFFFFFFFFFFFFFFFFF",
       "1208925819614629174706175", "ffffffffffffffffffff"},
      {IdBase::AsIs, IdBase::AsIs, true, IdCase::Upper, "000ab12", "ab12", "AB12"},
      {IdBase::Hex, IdBase::Hex, true, IdCase::Lower, "00FF", "ff", "ff"},
      {IdBase::AsIs, IdBase::AsIs, true, IdCase::Preserve, "0000", "0", "0"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.responseId);
    config::MessageIdNormalisation rule{c.response, c.receipt, c.zeros, c.letters};
    CHECK(normaliseMessageId(rule, c.responseId, IdOrigin::Response) == c.canonical);
    CHECK(normaliseMessageId(rule, c.receiptId, IdOrigin::Receipt) == c.canonical);
  }
}

TEST_CASE("ids that do not parse in the declared base are kept") {
  config::MessageIdNormalisation rule{IdBase::Hex, IdBase::Decimal, false, IdCase::Preserve};
  CHECK(normaliseMessageId(rule, "12ab", IdOrigin::Receipt) == "12ab");
  CHECK(normaliseMessageId(rule, "", IdOrigin::Receipt).empty());
}
