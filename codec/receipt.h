#pragma once
// Delivery receipt text (v3.4 Appendix B; reference §9) and message id matching.
//
//   id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
//   err:E text:...
//
// Parsing runs for every receipt the gateway sees, so it is allocation-free: fields are views
// into the caller's text. An Appendix B receipt in the usual order takes a fast path (about 400
// instructions for the example above); anything else falls back to a general parser. It tolerates
// the variants of §9.4: labels in any case and any order, missing fields, `submit date` /
// `submit_date`, 10/12/14-digit dates, any stat/err word.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace smppgw::codec {

enum class ReceiptField : uint8_t { Id, Sub, Dlvrd, SubmitDate, DoneDate, Stat, Err, Text };
inline constexpr size_t kReceiptFieldCount = 8;

// Label text as formatReceipt writes it: "id", "sub", "dlvrd", "submit date", "done date",
// "stat", "err", "text".
std::string_view receiptLabel(ReceiptField field) noexcept;

struct Receipt {
  std::string_view id;
  std::string_view sub;
  std::string_view dlvrd;
  std::string_view submit_date;
  std::string_view done_date;
  std::string_view stat;  // raw word, e.g. "DELIVRD" or a non-standard "FAILED"
  std::string_view err;
  std::string_view text;  // raw bytes after the text label, to the end (or to a later label)
  uint8_t present = 0;    // bit (1 << field) for each label found; a field may be present and empty

  bool has(ReceiptField field) const {
    return ((present >> static_cast<unsigned>(field)) & 1) != 0;
  }
  std::string_view get(ReceiptField field) const noexcept;
  void set(ReceiptField field, std::string_view value) noexcept;  // also marks the field present
};

// Parses a receipt text. `out` is replaced; its views point into `text`. Returns true if an `id:`
// label was found (a receipt without an id cannot be correlated), false for empty or garbage
// input. Rules: a label counts only at the start of the text or after whitespace; values of
// fields other than text end at the first whitespace (a value separated from its label by spaces,
// as in `stat: DELIVRD`, is accepted); the text value runs to the end of the input, or up to a
// later label that has not been seen yet (so `text:` need not be last, while an `id:` quoted
// inside the text is kept as text); the first occurrence of a label wins.
bool parseReceipt(std::string_view text, Receipt& out) noexcept;
inline bool parseReceipt(std::span<const uint8_t> short_message, Receipt& out) noexcept {
  return parseReceipt(
      std::string_view(reinterpret_cast<const char*>(short_message.data()), short_message.size()),
      out);
}

// Appends a receipt in Appendix B order with all eight labels (lower-case `text:` last); fields
// that are empty are written as empty values.
void formatReceipt(const Receipt& receipt, std::string& out);

// The value of the id: field, as parseReceipt would give it (a view into text), without parsing
// the rest when the text starts with "id:". nullopt if the text has no id: field.
std::optional<std::string_view> receiptId(std::string_view text) noexcept;

// Appends `receipt` to out with only the value of its id: field replaced by new_id; every other
// byte is copied unchanged. False (nothing appended) if the text has no id: field.
bool rewriteReceiptId(std::string_view receipt, std::string_view new_id, std::string& out);

// A receipt date: YYMMDDhhmm (10 digits, as in the spec), YYMMDDhhmmss (12) or YYYYMMDDhhmmss
// (14). Two-digit years are 20YY. The time zone is not stated by receipts.
struct ReceiptDate {
  uint16_t year = 0;
  uint8_t month = 0;
  uint8_t day = 0;
  uint8_t hour = 0;
  uint8_t minute = 0;
  uint8_t second = 0;

  bool operator==(const ReceiptDate&) const = default;
};

// False unless the input is 10, 12 or 14 digits with plausible month/day/hour/minute/second.
bool parseReceiptDate(std::string_view digits, ReceiptDate& out) noexcept;

// message_state (v3.4 §5.2.28, v5.0 §4.7.15; reference §9.2).
enum class MessageState : uint8_t {
  Scheduled = 0,  // v5.0 only
  Enroute = 1,
  Delivered = 2,
  Expired = 3,
  Deleted = 4,
  Undeliverable = 5,
  Accepted = 6,
  Unknown = 7,
  Rejected = 8,
  Skipped = 9,  // v5.0 only
};

// 0..9 -> MessageState; nullopt for other values.
std::optional<MessageState> messageStateFromValue(uint8_t value) noexcept;
// The receipt stat word (case-insensitive): the Appendix B words ENROUTE, DELIVRD, EXPIRED,
// DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, and the full state names (SCHEDULED, DELIVERED,
// UNDELIVERABLE, ACCEPTED, REJECTED, SKIPPED). nullopt for anything else (e.g. FAILED): keep the
// raw word.
std::optional<MessageState> messageStateFromStat(std::string_view stat) noexcept;
// The word to write in a receipt: the Appendix B word for 1..8; "SCHEDULED" and "SKIPPED" for
// the v5.0-only states, which Appendix B has no word for.
std::string_view statWord(MessageState state) noexcept;
// True for the final states (DELIVERED, EXPIRED, DELETED, UNDELIVERABLE, ACCEPTED, REJECTED,
// SKIPPED).
bool isFinalState(MessageState state) noexcept;

// ---- Message id matching (reference §9.4) ----

inline constexpr size_t kMaxMessageIdLength = 64;  // receipted_message_id is a C-string <= 65

enum class IdFormat : uint8_t {
  Auto,     // only decimal digits: decimal; otherwise only hex digits: hex; otherwise text
  Hex,      // hex number (text if it is not one)
  Decimal,  // decimal number (text if it is not one)
  Text,     // never converted
};

struct IdKeyOptions {
  IdFormat treat_as = IdFormat::Auto;
  bool strip_leading_zeros = true;  // for ids compared as text
  bool case_insensitive = true;     // for ids compared as text
};

// Canonical form of a message id. Two ids match when their keys are equal: numeric ids (value up
// to 64 bits) become '#' + decimal value, so the hex id "3039" (treat_as Hex) and the decimal id
// "0012345" (treat_as Decimal) give the same key; everything else (UUIDs, numbers beyond 64
// bits) becomes '$' + the id, lower-cased and without leading zeros per the options.
class MessageIdKey {
 public:
  std::string_view view() const { return {buf_.data(), size_}; }
  bool numeric() const { return size_ > 0 && buf_[0] == '#'; }
  bool operator==(const MessageIdKey& other) const { return view() == other.view(); }

 private:
  friend bool normalizeMessageId(std::string_view id, const IdKeyOptions& options,
                                 MessageIdKey& out) noexcept;
  std::array<char, kMaxMessageIdLength + 1> buf_{};
  uint8_t size_ = 0;
};

// False (out empty) for an empty id or one longer than kMaxMessageIdLength.
bool normalizeMessageId(std::string_view id, const IdKeyOptions& options,
                        MessageIdKey& out) noexcept;

// Digits of a 64-bit id in decimal (at most 20) or hex (at most 16, or min_width).
struct IdDigits {
  std::array<char, 24> chars{};
  uint8_t size = 0;

  std::string_view view() const { return {chars.data(), size}; }
};

// Parse an id made only of decimal / hex digits (either case; leading zeros allowed). nullopt if
// empty, another character is present, or the value exceeds 64 bits.
std::optional<uint64_t> parseDecimalId(std::string_view id) noexcept;
std::optional<uint64_t> parseHexId(std::string_view id) noexcept;
IdDigits formatDecimalId(uint64_t value) noexcept;
// min_width (at most 24) pads with leading zeros, e.g. 10 for MCs that use 10-digit hex ids.
IdDigits formatHexId(uint64_t value, bool uppercase = true, size_t min_width = 0) noexcept;
// Hex <-> decimal conversion of ids up to 64 bits; false (out untouched) beyond that or on a
// non-digit.
bool hexIdToDecimal(std::string_view hex, IdDigits& out) noexcept;
bool decimalIdToHex(std::string_view decimal, IdDigits& out, bool uppercase = true,
                    size_t min_width = 0) noexcept;

}  // namespace smppgw::codec
