// Delivery receipt tests: tolerant parsing (reference §9.4 variants), formatting, id rewriting,
// stat <-> message_state, dates, and message id normalisation / conversion.

#include "codec/receipt.h"

#include <doctest/doctest.h>

#include <string>
#include <type_traits>
#include <vector>

using namespace smppgw::codec;

namespace {

constexpr std::string_view kStandard =
    "id:1234567890 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD "
    "err:000 text:Hello world";

Receipt parsed(std::string_view text) {
  Receipt r;
  CHECK(parseReceipt(text, r));
  return r;
}

// The view must point into the input, not at a copy.
bool pointsInto(std::string_view field, std::string_view input) {
  return field.data() >= input.data() && field.data() + field.size() <= input.data() + input.size();
}

}  // namespace

TEST_CASE("receipt: the Appendix B format") {
  const Receipt r = parsed(kStandard);
  CHECK(r.id == "1234567890");
  CHECK(r.sub == "001");
  CHECK(r.dlvrd == "001");
  CHECK(r.submit_date == "2401011200");
  CHECK(r.done_date == "2401011201");
  CHECK(r.stat == "DELIVRD");
  CHECK(r.err == "000");
  CHECK(r.text == "Hello world");
  CHECK(r.present == 0xFF);
  for (size_t f = 0; f < kReceiptFieldCount; ++f) {
    CHECK(pointsInto(r.get(static_cast<ReceiptField>(f)), kStandard));
  }
  CHECK(messageStateFromStat(r.stat) == MessageState::Delivered);
}

TEST_CASE("receipt: 12- and 14-digit dates, upper-case Text:, hex id and err") {
  const Receipt r = parsed(
      "id:5A1B2C3D4E sub:001 dlvrd:000 submit date:240101120000 done date:20240101123015 "
      "stat:UNDELIV err:00B Text:");
  CHECK(r.id == "5A1B2C3D4E");
  CHECK(r.submit_date == "240101120000");
  CHECK(r.done_date == "20240101123015");
  CHECK(r.stat == "UNDELIV");
  CHECK(r.err == "00B");
  CHECK(r.has(ReceiptField::Text));
  CHECK(r.text.empty());
  CHECK(parseHexId(r.id) == 0x5A1B2C3D4Eull);
  CHECK(parseHexId(r.err) == 0x0Bu);

  ReceiptDate d;
  REQUIRE(parseReceiptDate(r.submit_date, d));
  CHECK(d == ReceiptDate{2024, 1, 1, 12, 0, 0});
  REQUIRE(parseReceiptDate(r.done_date, d));
  CHECK(d == ReceiptDate{2024, 1, 1, 12, 30, 15});
  REQUIRE(parseReceiptDate("2401011201", d));
  CHECK(d == ReceiptDate{2024, 1, 1, 12, 1, 0});
  CHECK_FALSE(parseReceiptDate("240101120", d));
  CHECK_FALSE(parseReceiptDate("24010112000", d));
  CHECK_FALSE(parseReceiptDate("2413011200", d));  // month 13
  CHECK_FALSE(parseReceiptDate("2401002400", d));  // day 0
  CHECK_FALSE(parseReceiptDate("2401012400", d));  // hour 24
  CHECK_FALSE(parseReceiptDate("24010112x0", d));
  CHECK_FALSE(parseReceiptDate("", d));
}

TEST_CASE("receipt: labels in any case, underscores in the date labels") {
  const Receipt r = parsed(
      "ID:abc SUB:1 DLVRD:1 Submit_Date:2401011200 DONE DATE:2401011201 Stat:delivrd Err:0 "
      "TEXT:x");
  CHECK(r.id == "abc");
  CHECK(r.sub == "1");
  CHECK(r.dlvrd == "1");
  CHECK(r.submit_date == "2401011200");
  CHECK(r.done_date == "2401011201");
  CHECK(r.stat == "delivrd");
  CHECK(messageStateFromStat(r.stat) == MessageState::Delivered);
  CHECK(r.err == "0");
  CHECK(r.text == "x");
}

TEST_CASE("receipt: missing and reordered fields") {
  // No text at all.
  Receipt r = parsed("id:77 sub:001 dlvrd:001 submit date:2401011200 stat:EXPIRED err:000");
  CHECK_FALSE(r.has(ReceiptField::Text));
  CHECK_FALSE(r.has(ReceiptField::DoneDate));
  CHECK(r.done_date.empty());
  CHECK(r.stat == "EXPIRED");
  CHECK(r.err == "000");

  // Reordered, with text in the middle: a label not seen yet ends the text.
  r = parsed("stat:REJECTD text:Your code is 12 err:0x45 id:ab-cd done date:2401011201");
  CHECK(r.stat == "REJECTD");
  CHECK(r.text == "Your code is 12");
  CHECK(r.err == "0x45");
  CHECK(r.id == "ab-cd");
  CHECK(r.done_date == "2401011201");
  CHECK_FALSE(r.has(ReceiptField::Sub));

  // Only an id.
  r = parsed("id:1");
  CHECK(r.present == 1);
}

TEST_CASE("receipt: text keeps labels already seen, spaces and length") {
  const std::string_view input =
      "id:42 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 "
      "text:your id:99  is   ready, stat: ok and more than twenty characters ";
  const Receipt r = parsed(input);
  CHECK(r.id == "42");
  CHECK(r.stat == "DELIVRD");
  CHECK(r.text == "your id:99  is   ready, stat: ok and more than twenty characters ");
  // The same when text is not last but every field has been seen.
  const Receipt r2 = parsed("id:42 text:id:1 stat:2 sub:5");
  CHECK(r2.id == "42");
  CHECK(r2.text == "id:1");
  CHECK(r2.stat == "2");
  CHECK(r2.sub == "5");
}

TEST_CASE("receipt: non-standard words and odd spacing") {
  Receipt r = parsed("id:X1 stat:FAILED err:12345678 text:t");
  CHECK(r.stat == "FAILED");
  CHECK_FALSE(messageStateFromStat(r.stat).has_value());
  CHECK(r.err == "12345678");

  // A blank between a label and its value; an empty value followed by the next label.
  r = parsed("id: 55 stat: NACK err: text:hi");
  CHECK(r.id == "55");
  CHECK(r.stat == "NACK");
  CHECK(r.has(ReceiptField::Err));
  CHECK(r.err.empty());
  CHECK(r.text == "hi");

  // Tabs, newlines, a trailing NUL and unknown fields in between.
  const std::string input = std::string("id:9\tsub:001\r\nmccmnc:23410 dlvrd:1 stat:DELIVRD\0", 48);
  r = parsed(input);
  CHECK(r.id == "9");
  CHECK(r.sub == "001");
  CHECK(r.dlvrd == "1");
  CHECK(r.stat == "DELIVRD");

  // A repeated label: the first one wins.
  r = parsed("id:first id:second stat:DELIVRD");
  CHECK(r.id == "first");

  // Labels only count at the start of a word.
  r = parsed("xid:1 id:2 substat:3 stat:4");
  CHECK(r.id == "2");
  CHECK(r.stat == "4");
  CHECK_FALSE(r.has(ReceiptField::Sub));
}

TEST_CASE("receipt: empty and garbage input") {
  Receipt r;
  r.id = "stale";
  CHECK_FALSE(parseReceipt("", r));
  CHECK(r.present == 0);
  CHECK(r.id.empty());
  CHECK_FALSE(parseReceipt(std::string_view(), r));
  CHECK_FALSE(parseReceipt("hello world", r));
  CHECK_FALSE(parseReceipt("id", r));
  CHECK_FALSE(parseReceipt("i", r));
  CHECK_FALSE(parseReceipt("submit date", r));
  CHECK_FALSE(parseReceipt("submit", r));
  CHECK_FALSE(parseReceipt("stat:DELIVRD err:000", r));  // no id: not a usable receipt
  CHECK(r.stat == "DELIVRD");
  CHECK_FALSE(parseReceipt(std::string_view("\0\0\0\xFF\xFE", 5), r));
  CHECK_FALSE(parseReceipt("     ", r));
  // Any byte sequence must be safe to parse.
  std::string noise;
  for (unsigned i = 0; i < 2048; ++i) {
    noise.push_back(static_cast<char>((i * 7919u) >> 3));
    parseReceipt(noise, r);
  }
  const std::string tricky = "id:";
  CHECK(parseReceipt(tricky, r));
  CHECK(r.id.empty());
  CHECK(r.id.data() == tricky.data() + 3);
}

TEST_CASE("receipt: formatting") {
  Receipt r;
  r.id = "ABC";
  r.sub = "001";
  r.dlvrd = "001";
  r.submit_date = "2401011200";
  r.done_date = "2401011201";
  r.stat = statWord(MessageState::Delivered);
  r.err = "000";
  r.text = "Hello world";
  std::string out = "prefix|";
  formatReceipt(r, out);
  CHECK(out ==
        "prefix|id:ABC sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
        "stat:DELIVRD err:000 text:Hello world");
  // Parsing the formatted text gives the fields back.
  Receipt back;
  REQUIRE(parseReceipt(std::string_view(out).substr(7), back));
  for (size_t f = 0; f < kReceiptFieldCount; ++f) {
    const auto field = static_cast<ReceiptField>(f);
    CAPTURE(receiptLabel(field));
    CHECK(back.get(field) == r.get(field));
  }
  // Formatting a parsed standard receipt reproduces it.
  std::string again;
  formatReceipt(parsed(kStandard), again);
  CHECK(again == kStandard);
  // Empty fields are written as empty values.
  std::string empty;
  formatReceipt(Receipt{}, empty);
  CHECK(empty == "id: sub: dlvrd: submit date: done date: stat: err: text:");
  // set() marks presence.
  Receipt s;
  s.set(ReceiptField::Err, "1");
  CHECK(s.has(ReceiptField::Err));
  CHECK(s.err == "1");
}

TEST_CASE("receipt: rewriting the id keeps every other byte") {
  std::string out = "keep:";
  REQUIRE(rewriteReceiptId(kStandard, "GW-000000000001", out));
  CHECK(out ==
        "keep:id:GW-000000000001 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
        "stat:DELIVRD err:000 text:Hello world");

  // Odd spacing, upper-case label, id not first, text quoting an id.
  const std::string_view odd = "Stat:DELIVRD  ID:0x1f\ttext:id:0x1f  ";
  out.clear();
  REQUIRE(rewriteReceiptId(odd, "7", out));
  CHECK(out == "Stat:DELIVRD  ID:7\ttext:id:0x1f  ");

  // An empty id gets a value.
  out.clear();
  REQUIRE(rewriteReceiptId("id: sub:001", "9", out));
  CHECK(out == "id:9 sub:001");
  out.clear();
  REQUIRE(rewriteReceiptId("id:", "9", out));
  CHECK(out == "id:9");

  // No id: nothing is appended.
  out = "unchanged";
  CHECK_FALSE(rewriteReceiptId("stat:DELIVRD text:hello", "9", out));
  CHECK_FALSE(rewriteReceiptId("", "9", out));
  CHECK(out == "unchanged");
}

TEST_CASE("receipt: stat words and message_state") {
  const std::vector<std::pair<std::string_view, MessageState>> words = {
      {"ENROUTE", MessageState::Enroute},       {"DELIVRD", MessageState::Delivered},
      {"EXPIRED", MessageState::Expired},       {"DELETED", MessageState::Deleted},
      {"UNDELIV", MessageState::Undeliverable}, {"ACCEPTD", MessageState::Accepted},
      {"UNKNOWN", MessageState::Unknown},       {"REJECTD", MessageState::Rejected},
  };
  for (const auto& entry : words) {
    const std::string_view word = entry.first;
    const MessageState state = entry.second;
    CAPTURE(word);
    CHECK(messageStateFromStat(word) == state);
    CHECK(statWord(state) == word);
    CHECK(messageStateFromValue(static_cast<uint8_t>(state)) == state);
  }
  CHECK(static_cast<int>(MessageState::Enroute) == 1);
  CHECK(static_cast<int>(MessageState::Rejected) == 8);
  CHECK(messageStateFromStat("Delivrd") == MessageState::Delivered);
  CHECK(messageStateFromStat("DELIVERED") == MessageState::Delivered);
  CHECK(messageStateFromStat("undeliverable") == MessageState::Undeliverable);
  CHECK(messageStateFromStat("SCHEDULED") == MessageState::Scheduled);
  CHECK(messageStateFromStat("SKIPPED") == MessageState::Skipped);
  CHECK(statWord(MessageState::Scheduled) == "SCHEDULED");
  CHECK(statWord(MessageState::Skipped) == "SKIPPED");
  for (std::string_view bad : {"", "FAILED", "NACK", "DELIVR", "DELIVRDX", "ENROUTE "}) {
    CAPTURE(bad);
    CHECK_FALSE(messageStateFromStat(bad).has_value());
  }
  CHECK(messageStateFromValue(0) == MessageState::Scheduled);
  CHECK(messageStateFromValue(9) == MessageState::Skipped);
  CHECK_FALSE(messageStateFromValue(10).has_value());
  CHECK(isFinalState(MessageState::Delivered));
  CHECK(isFinalState(MessageState::Rejected));
  CHECK(isFinalState(MessageState::Skipped));
  CHECK_FALSE(isFinalState(MessageState::Enroute));
  CHECK_FALSE(isFinalState(MessageState::Scheduled));
  CHECK_FALSE(isFinalState(MessageState::Unknown));
}

TEST_CASE("message id: hex <-> decimal up to 64 bits") {
  CHECK(parseDecimalId("0012345") == 12345u);
  CHECK(parseHexId("3039") == 12345u);
  CHECK(parseHexId("00aBcD") == 0xABCDu);
  CHECK(parseDecimalId("18446744073709551615") == UINT64_MAX);
  CHECK(parseHexId("FFFFFFFFFFFFFFFF") == UINT64_MAX);
  CHECK(parseHexId("00000000000000000000001") == 1u);  // leading zeros do not count
  CHECK_FALSE(parseDecimalId("18446744073709551616").has_value());
  CHECK_FALSE(parseHexId("10000000000000000").has_value());
  CHECK_FALSE(parseDecimalId("").has_value());
  CHECK_FALSE(parseDecimalId("12a").has_value());
  CHECK_FALSE(parseHexId("12g").has_value());
  CHECK_FALSE(parseHexId("-1").has_value());
  CHECK_FALSE(parseHexId("0x10").has_value());

  IdDigits d;
  REQUIRE(hexIdToDecimal("5A1B2C3D4E", d));
  CHECK(d.view() == "387002940750");
  REQUIRE(decimalIdToHex("387002940750", d));
  CHECK(d.view() == "5A1B2C3D4E");
  REQUIRE(decimalIdToHex("387002940750", d, false, 12));
  CHECK(d.view() == "005a1b2c3d4e");
  REQUIRE(decimalIdToHex("18446744073709551615", d));
  CHECK(d.view() == "FFFFFFFFFFFFFFFF");
  REQUIRE(hexIdToDecimal("ffffffffffffffff", d));
  CHECK(d.view() == "18446744073709551615");
  REQUIRE(decimalIdToHex("0", d));
  CHECK(d.view() == "0");
  CHECK(formatDecimalId(0).view() == "0");
  CHECK(formatHexId(0, true, 4).view() == "0000");
  CHECK(formatHexId(0xABC, true, 100).view().size() == 24);  // width is capped
  // Beyond 64 bits: a clean failure, out untouched.
  d = formatDecimalId(7);
  CHECK_FALSE(hexIdToDecimal("1FFFFFFFFFFFFFFFF", d));
  CHECK_FALSE(decimalIdToHex("99999999999999999999", d));
  CHECK_FALSE(decimalIdToHex("12 3", d));
  CHECK(d.view() == "7");
}

TEST_CASE("message id: normalised keys") {
  auto key = [](std::string_view id, IdKeyOptions options = {}) {
    MessageIdKey k;
    REQUIRE(normalizeMessageId(id, options, k));
    return std::string(k.view());
  };
  const IdKeyOptions hex{.treat_as = IdFormat::Hex};
  const IdKeyOptions dec{.treat_as = IdFormat::Decimal};
  const IdKeyOptions text{.treat_as = IdFormat::Text};

  // submit_sm_resp said decimal, the receipt says hex (or the other way round).
  CHECK(key("12345", dec) == key("3039", hex));
  CHECK(key("387002940750", dec) == key("5a1b2c3d4e", hex));
  CHECK(key("0000012345", dec) == "#12345");
  // Leading zeros and case never matter for numbers.
  CHECK(key("00ABCDEF", hex) == key("abcdef", hex));
  // Auto: digits only are decimal, otherwise hex digits are hex.
  CHECK(key("1234") == "#1234");
  CHECK(key("4D2") == "#1234");
  CHECK(key("3039") != key("3039", hex));
  // Not a number: compared as text.
  const std::string uuid = "550E8400-E29B-41D4-A716-446655440000";
  CHECK(key(uuid) == "$550e8400-e29b-41d4-a716-446655440000");
  CHECK(key(uuid, hex) == key("550e8400-e29b-41d4-a716-446655440000", hex));
  CHECK(key(uuid, {.case_insensitive = false}) == "$" + uuid);
  CHECK(key("0007x") == "$7x");
  CHECK(key("0007x", {.strip_leading_zeros = false}) == "$0007x");
  CHECK(key("000", text) == "$0");
  CHECK(key("0042", text) == "$42");
  CHECK(key("0042", {.treat_as = IdFormat::Text, .strip_leading_zeros = false}) == "$0042");
  CHECK(key("12AB", dec) == "$12ab");  // not decimal: text
  // Beyond 64 bits: text, so the same string still matches itself, with zeros and case ignored.
  CHECK(key("0FFFFFFFFFFFFFFFFF1", hex) == "$fffffffffffffffff1");
  CHECK(key("fffffffffffffffff1", hex) == key("0FFFFFFFFFFFFFFFFF1", hex));
  CHECK(key("123456789012345678901234", dec) == "$123456789012345678901234");

  MessageIdKey a;
  MessageIdKey b;
  REQUIRE(normalizeMessageId("3039", hex, a));
  REQUIRE(normalizeMessageId("12345", dec, b));
  CHECK(a == b);
  CHECK(a.numeric());
  REQUIRE(normalizeMessageId(std::string(64, 'z'), {}, b));
  CHECK(b.view().size() == 65);
  CHECK_FALSE(b.numeric());
  CHECK_FALSE(normalizeMessageId(std::string(65, 'z'), {}, b));
  CHECK(b.view().empty());
  CHECK_FALSE(normalizeMessageId("", {}, b));
}

TEST_CASE("receipt: the hot-path API cannot allocate") {
  // Views and fixed-size structs only, and no exception (so no std::bad_alloc) can escape.
  static_assert(std::is_trivially_copyable_v<Receipt>);
  static_assert(std::is_trivially_copyable_v<MessageIdKey>);
  static_assert(std::is_trivially_copyable_v<IdDigits>);
  Receipt r;
  MessageIdKey k;
  IdDigits d;
  static_assert(noexcept(parseReceipt(std::string_view(), r)));
  static_assert(noexcept(messageStateFromStat(std::string_view())));
  static_assert(noexcept(normalizeMessageId(std::string_view(), IdKeyOptions{}, k)));
  static_assert(noexcept(hexIdToDecimal(std::string_view(), d)));
  // The general parser and the fast path for the Appendix B layout agree: every prefix of the
  // standard receipt parses the same as that prefix after a leading blank (which the fast path
  // refuses, so the general parser handles it).
  for (size_t n = 0; n <= kStandard.size(); ++n) {
    const std::string_view prefix = kStandard.substr(0, n);
    const std::string shifted = ' ' + std::string(prefix);
    Receipt fast;
    Receipt general;
    CAPTURE(prefix);
    CHECK(parseReceipt(prefix, fast) == parseReceipt(shifted, general));
    CHECK(fast.present == general.present);
    for (size_t f = 0; f < kReceiptFieldCount; ++f) {
      const auto field = static_cast<ReceiptField>(f);
      CHECK(fast.get(field) == general.get(field));
    }
  }
}

TEST_CASE("receiptId: the same id as parseReceipt on random receipt-like texts") {
  // Labels (any case), values, separators and noise in random order and number: whenever either
  // function finds an id, both find the same one (the same bytes of the text).
  const std::vector<std::string> pieces = {
      "id:",   "ID:",  "Id:",     "id:",          "sub:", "dlvrd:", "submit date:", "done date:",
      "stat:", "err:", "text:",   "Text:",        "abc",  "0042",   "DELIVRD",      "2401011200",
      " ",     "  ",   "\t",      "id",           ":",    "x:y",    "idx:",         "ID: ",
      "",      "1",    "FFFF00a", "submit_date:", "\x01", "id:id:"};
  uint64_t x = 0x2545F4914F6CDD1Dull;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  size_t fast = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    const int n = static_cast<int>(next() % 12);
    for (int k = 0; k < n; ++k) {
      s += pieces[next() % pieces.size()];
    }
    Receipt r;
    const bool ok = parseReceipt(s, r);
    const std::optional<std::string_view> id = receiptId(s);
    REQUIRE(id.has_value() == ok);
    if (ok) {
      CAPTURE(s);
      REQUIRE(id->data() == r.id.data());
      REQUIRE(id->size() == r.id.size());
      fast += s.rfind("id:", 0) == 0 || s.rfind("ID:", 0) == 0 || s.rfind("Id:", 0) == 0;
    }
  }
  CHECK(fast > 1000);  // the fast path was exercised
  CHECK(receiptId(kStandard) == std::optional<std::string_view>("1234567890"));
  CHECK_FALSE(receiptId("stat:DELIVRD err:000").has_value());
}
