// The gateway's data-path building blocks: flat map, in-flight table, token bucket, id minting.

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>

#include <random>
#include <set>
#include <unordered_map>

#include "base/flat_map.h"
#include "gateway/gateway_internal.h"
#include "gateway/inflight.h"
#include "gateway/message_id.h"
#include "gateway/token_bucket.h"

using namespace smppgw;

TEST_CASE("FlatMap64 agrees with std::unordered_map under random inserts and erases") {
  FlatMap64<uint64_t> flat;
  std::unordered_map<uint64_t, uint64_t> ref;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    uint64_t key = rng() % 5000;  // small key space: many collisions, updates and erases
    switch (rng() % 3) {
      case 0:
      case 1:
        flat.put(key, i);
        ref[key] = static_cast<uint64_t>(i);
        break;
      default:
        CHECK(flat.erase(key) == (ref.erase(key) == 1));
        break;
    }
  }
  CHECK(flat.size() == ref.size());
  for (auto [k, v] : ref) {
    const uint64_t* got = flat.find(k);
    REQUIRE(got != nullptr);
    CHECK(*got == v);
  }
  size_t seen = 0;
  flat.forEach([&](uint64_t k, uint64_t v) {
    ++seen;
    CHECK(ref.at(k) == v);
  });
  CHECK(seen == ref.size());
}

namespace {
struct Item {
  uint64_t deadline_ms = 0;
  int tag = 0;
};
}  // namespace

TEST_CASE("InFlightTable: sequence numbers wrap and skip numbers still outstanding") {
  InFlightTable<Item> t;
  CHECK(t.nextSeq() == 1);
  InFlightTable<Item> w;
  w.insert(1, {100, 1});
  // Force the counter near the top.
  uint32_t s = 0;
  for (int i = 0; i < 3; ++i) {
    s = w.nextSeq();
  }
  CHECK(s == 4);  // 1 was taken, so 2, 3, 4
  Item out;
  CHECK(w.take(1, out));
  CHECK(out.tag == 1);
  CHECK_FALSE(w.take(1, out));
}

TEST_CASE("InFlightTable: expiry is oldest first and skips answered entries") {
  InFlightTable<Item> t;
  for (int i = 1; i <= 10; ++i) {
    t.insert(static_cast<uint32_t>(i), {static_cast<uint64_t>(i * 10), i});
  }
  Item out;
  CHECK(t.take(3, out));
  CHECK(t.take(1, out));
  std::vector<int> expired;
  t.expire(55, [&](uint32_t, Item&& it) { expired.push_back(it.tag); });
  CHECK(expired == std::vector<int>{2, 4, 5});
  CHECK(t.size() == 5);
  CHECK(t.oldestDeadline() == 60);
  std::vector<int> drained;
  t.drain([&](uint32_t, Item&& it) { drained.push_back(it.tag); });
  CHECK(drained == std::vector<int>{6, 7, 8, 9, 10});
  CHECK(t.empty());
}

TEST_CASE("TokenBucket: rate, burst and refill with injected time") {
  TokenBucket b(10, 5);  // 10/s, burst 5
  uint64_t t = 1000;
  int taken = 0;
  while (b.tryTake(t)) {
    ++taken;
  }
  CHECK(taken == 5);
  CHECK(b.msUntilToken(t) == 100);
  CHECK_FALSE(b.tryTake(t + 99));
  CHECK(b.tryTake(t + 100));
  // A long pause refills only up to the burst.
  taken = 0;
  while (b.tryTake(t + 100000)) {
    ++taken;
  }
  CHECK(taken == 5);
  TokenBucket unlimited;
  CHECK(unlimited.unlimited());
  CHECK(unlimited.tryTake(0));
}

TEST_CASE("IdMinter: unique and increasing, across clock steps back and counter overflow") {
  IdMinter m(7);
  std::set<uint64_t> seen;
  uint64_t last = 0;
  uint64_t wall = IdMinter::kEpochMs + 1'000'000;
  for (int i = 0; i < 100000; ++i) {
    if (i == 50000) {
      wall -= 5000;  // the wall clock steps back five seconds
    }
    uint64_t id = m.next(wall);  // same millisecond for 50,000 ids: the counter overflows
    CHECK(id > last);
    last = id;
    seen.insert(id);
  }
  CHECK(seen.size() == 100000);
  CHECK(((last >> 15) & 0xFF) == 7);  // the instance id is in every id
  IdMinter other(8);
  CHECK(other.next(wall) != m.next(wall));
}

TEST_CASE("message ids: format and parse per customer format") {
  char buf[72];
  uint64_t id = 0x0123456789abcdefull;
  CHECK(formatMessageId(id, config::MessageIdFormat::Hex, 16, buf) == "0123456789abcdef");
  CHECK(formatMessageId(255, config::MessageIdFormat::Hex, 16, buf) == "00000000000000ff");
  CHECK(formatMessageId(255, config::MessageIdFormat::Decimal, 10, buf) == "0000000255");
  CHECK(formatMessageId(id, config::MessageIdFormat::Decimal, 0, buf) == "81985529216486895");
  CHECK(formatMessageId(0, config::MessageIdFormat::Decimal, 0, buf) == "0");
  CHECK(formatMessageId(UINT64_MAX, config::MessageIdFormat::Decimal, 0, buf) ==
        "18446744073709551615");
  // Against printf over random ids and widths (the table-driven formatter must not drift).
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const uint64_t v = i % 3 == 0 ? x >> (i % 64) : x;
    const uint32_t len = static_cast<uint32_t>(i % 70);
    char ref[96];
    std::snprintf(ref, sizeof ref, "%0*llx",
                  static_cast<int>(std::min<uint32_t>(std::max<uint32_t>(len, 16), 64)),
                  static_cast<unsigned long long>(v));
    REQUIRE(formatMessageId(v, config::MessageIdFormat::Hex, len, buf) == std::string_view(ref));
    std::snprintf(ref, sizeof ref, "%0*llu", static_cast<int>(std::min<uint32_t>(len, 64)),
                  static_cast<unsigned long long>(v));
    REQUIRE(formatMessageId(v, config::MessageIdFormat::Decimal, len, buf) ==
            std::string_view(ref));
  }
  CHECK(parseMessageId("0123456789ABCDEF", config::MessageIdFormat::Hex) == id);
  CHECK(parseMessageId("0000000255", config::MessageIdFormat::Decimal) == 255u);
  CHECK_FALSE(parseMessageId("12x", config::MessageIdFormat::Decimal).has_value());
  CHECK_FALSE(parseMessageId("", config::MessageIdFormat::Hex).has_value());
  CHECK_FALSE(parseMessageId("1ffffffffffffffff", config::MessageIdFormat::Hex).has_value());
}

TEST_CASE("rate_limit.count: what a submission costs in pdus, messages and segments") {
  using config::RateCount;
  auto sm = [](uint8_t esm_class, std::string_view text, uint8_t dc = 0) {
    codec::Pdu p(codec::CommandId::submit_sm, 1);
    auto& b = p.as<codec::SmBody>();
    b.esm_class = esm_class;
    b.data_coding = dc;
    b.short_message = codec::asBytes(text);
    return p;
  };
  const std::string udh_part = std::string("\x05\x00\x03\x2A\x03\x02", 6) + "part two";
  const codec::Pdu part = sm(0x40, udh_part);
  const codec::Pdu plain = sm(0, "hello");
  CHECK(rateCost(RateCount::Pdus, part, submitFields(part)) == 1000);
  CHECK(rateCost(RateCount::Messages, part, submitFields(part)) == 334);  // a third, rounded up
  CHECK(rateCost(RateCount::Segments, part, submitFields(part)) == 1000);
  CHECK(rateCost(RateCount::Messages, plain, submitFields(plain)) == 1000);
  // A message_payload of 400 GSM characters: 3 segments of 153; 300 octets of UCS-2: 3 of 134.
  codec::Pdu payload = sm(0, "");
  const std::string gsm400(400, 'a');
  codec::Tlv mp;
  mp.tag = codec::tag::message_payload;
  mp.length = static_cast<uint16_t>(gsm400.size());
  mp.ptr = reinterpret_cast<const uint8_t*>(gsm400.data());
  payload.tlvs.add(mp);
  CHECK(rateCost(RateCount::Segments, payload, submitFields(payload)) == 3000);
  CHECK(rateCost(RateCount::Pdus, payload, submitFields(payload)) == 1000);
  codec::Pdu ucs2 = sm(0, "", 0x08);
  const std::string ucs300(300, 'b');
  mp.length = static_cast<uint16_t>(ucs300.size());
  mp.ptr = reinterpret_cast<const uint8_t*>(ucs300.data());
  ucs2.tlvs.add(mp);
  CHECK(rateCost(RateCount::Segments, ucs2, submitFields(ucs2)) == 3000);
  // 160 GSM characters fit one segment; 161 take two.
  const std::string g160(160, 'c');
  const std::string g161(161, 'c');
  CHECK(rateCost(RateCount::Segments, sm(0, g160), submitFields(sm(0, g160))) == 1000);
  CHECK(rateCost(RateCount::Segments, sm(0, g161), submitFields(sm(0, g161))) == 2000);
  // A part costs what it costs; a bucket never asks for more than it can hold.
  TokenBucket b(10, 2);
  CHECK(b.tryTakeMilli(0, 5000));  // 5 tokens from a bucket of 2: costs the full bucket
  CHECK_FALSE(b.tryTakeMilli(0, 1));
  CHECK(b.tryTakeMilli(100, 1000));  // 100 ms at 10/s: one token
}
