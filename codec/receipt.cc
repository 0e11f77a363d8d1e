#include "codec/receipt.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace smppgw::codec {

namespace {

constexpr uint8_t bit(ReceiptField field) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(field));
}
constexpr uint8_t kAllFields = 0xFF;

// Whitespace for receipt purposes: space, tabs, CR/LF and any other control octet (NUL included,
// so a NUL-terminated short_message still parses).
constexpr bool isSep(char c) {
  return static_cast<unsigned char>(c) <= 0x20;
}
constexpr char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c;
}

// Case-insensitive comparison with a lower-case word of the same length.
constexpr bool equalsNoCase(std::string_view s, std::string_view lower_word) {
  if (s.size() != lower_word.size()) {
    return false;
  }
  for (size_t k = 0; k < s.size(); ++k) {
    if (lower(s[k]) != lower_word[k]) {
      return false;
    }
  }
  return true;
}

// Labels are matched 8 octets at a time (the parser runs for every receipt): the window at the
// word start, OR-ed with 0x20 in the letter positions only, is compared with the lower-case label
// under a mask. Octet k of a window is bits 8k..8k+7 whatever the host byte order.
struct Pattern {
  uint64_t value = 0;  // the label's octets
  uint64_t mask = 0;   // 0xFF for each octet of the label
  uint64_t fold = 0;   // 0x20 for each letter (case-insensitive), 0 elsewhere (exact)
};

constexpr Pattern pattern(std::string_view lit) {
  Pattern p;
  for (size_t k = 0; k < lit.size() && k < 8; ++k) {
    p.value |= uint64_t{static_cast<unsigned char>(lit[k])} << (8 * k);
    p.mask |= uint64_t{0xFF} << (8 * k);
    if (lit[k] >= 'a' && lit[k] <= 'z') {
      p.fold |= uint64_t{0x20} << (8 * k);
    }
  }
  return p;
}

constexpr Pattern kId = pattern("id:");
constexpr Pattern kSub = pattern("sub:");
constexpr Pattern kStat = pattern("stat:");
constexpr Pattern kSubmit = pattern("submit");
constexpr Pattern kDlvrd = pattern("dlvrd:");
constexpr Pattern kDone = pattern("done");
constexpr Pattern kDate = pattern("date:");
constexpr Pattern kErr = pattern("err:");
constexpr Pattern kText = pattern("text:");

constexpr bool matches(uint64_t window, const Pattern& p) {
  return ((window | p.fold) & p.mask) == p.value;
}

// The 8 octets at p + offset, zero-padded past end.
inline uint64_t window(const char* p, size_t offset, const char* end) {
  const auto avail = static_cast<size_t>(end - p);
  uint64_t w = 0;
  if constexpr (std::endian::native == std::endian::little) {
    if (avail >= offset + 8) {
      std::memcpy(&w, p + offset, 8);
      return w;
    }
  }
  for (size_t k = 0; k < 8 && offset + k < avail; ++k) {
    w |= uint64_t{static_cast<unsigned char>(p[offset + k])} << (8 * k);
  }
  return w;
}

constexpr unsigned octet(uint64_t w, unsigned k) {
  return static_cast<unsigned>(w >> (8 * k)) & 0xFF;
}

// "submit date:" / "done date:", also with an underscore. w is the window at p.
inline bool matchDate(uint64_t w, const Pattern& first, unsigned first_len, const char* p,
                      const char* end) {
  if (!matches(w, first)) {
    return false;
  }
  const unsigned sep = octet(w, first_len);
  return (sep == ' ' || sep == '_') && matches(window(p, first_len + 1, end), kDate);
}

// Recognises a label (colon included) at p < end. Returns its length, or 0.
inline size_t matchLabel(const char* p, const char* end, ReceiptField& field) {
  const uint64_t w = window(p, 0, end);
  switch (octet(w, 0) | 0x20) {
    case 'i':
      if (matches(w, kId)) {
        field = ReceiptField::Id;
        return 3;
      }
      break;
    case 's':
      if (matches(w, kSub)) {
        field = ReceiptField::Sub;
        return 4;
      }
      if (matches(w, kStat)) {
        field = ReceiptField::Stat;
        return 5;
      }
      if (matchDate(w, kSubmit, 6, p, end)) {
        field = ReceiptField::SubmitDate;
        return 12;
      }
      break;
    case 'd':
      if (matches(w, kDlvrd)) {
        field = ReceiptField::Dlvrd;
        return 6;
      }
      if (matchDate(w, kDone, 4, p, end)) {
        field = ReceiptField::DoneDate;
        return 10;
      }
      break;
    case 'e':
      if (matches(w, kErr)) {
        field = ReceiptField::Err;
        return 4;
      }
      break;
    case 't':
      if (matches(w, kText)) {
        field = ReceiptField::Text;
        return 5;
      }
      break;
    default:
      break;
  }
  return 0;
}

// First separator at or after p (or end). Eight octets per step: the lowest octet flagged by
// the "has a byte below 0x21" bit trick is always a true one (borrows only propagate upwards).
inline const char* skipWord(const char* p, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    while (end - p >= 8) {
      uint64_t x = 0;
      std::memcpy(&x, p, 8);
      const uint64_t below = (x - kOnes * 0x21) & ~x & (kOnes * 0x80);
      if (below != 0) {
        return p + (std::countr_zero(below) >> 3);
      }
      p += 8;
    }
  }
  while (p < end && !isSep(*p)) {
    ++p;
  }
  return p;
}

// The Appendix B layout, label by label, for the fast path: the label is matched as one or two
// 8-octet windows ("submit d" + "ate:", "done dat" + "e:").
struct CanonicalStep {
  Pattern head;
  Pattern tail;  // compared at offset 8 when tail_len > 0
  uint8_t tail_len;
  uint8_t label_len;
  ReceiptField field;
};

constexpr std::array<CanonicalStep, kReceiptFieldCount> kCanonical = {{
    {pattern("id:"), {}, 0, 3, ReceiptField::Id},
    {pattern("sub:"), {}, 0, 4, ReceiptField::Sub},
    {pattern("dlvrd:"), {}, 0, 6, ReceiptField::Dlvrd},
    {pattern("submit d"), pattern("ate:"), 4, 12, ReceiptField::SubmitDate},
    {pattern("done dat"), pattern("e:"), 2, 10, ReceiptField::DoneDate},
    {pattern("stat:"), {}, 0, 5, ReceiptField::Stat},
    {pattern("err:"), {}, 0, 4, ReceiptField::Err},
    {pattern("text:"), {}, 0, 5, ReceiptField::Text},
}};

// Receipt members by ReceiptField, for the parser's stores.
constexpr std::array<std::string_view Receipt::*, kReceiptFieldCount> kSlots = {
    &Receipt::id,        &Receipt::sub,  &Receipt::dlvrd, &Receipt::submit_date,
    &Receipt::done_date, &Receipt::stat, &Receipt::err,   &Receipt::text};

struct StatName {
  std::string_view word;
  MessageState state;
};

constexpr std::array<StatName, 14> kStatNames = {{
    {"enroute", MessageState::Enroute},
    {"delivrd", MessageState::Delivered},
    {"expired", MessageState::Expired},
    {"deleted", MessageState::Deleted},
    {"undeliv", MessageState::Undeliverable},
    {"acceptd", MessageState::Accepted},
    {"unknown", MessageState::Unknown},
    {"rejectd", MessageState::Rejected},
    {"scheduled", MessageState::Scheduled},
    {"delivered", MessageState::Delivered},
    {"undeliverable", MessageState::Undeliverable},
    {"accepted", MessageState::Accepted},
    {"rejected", MessageState::Rejected},
    {"skipped", MessageState::Skipped},
}};

constexpr int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

constexpr bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Two decimal digits at s[i]; the caller checked they are digits.
constexpr unsigned twoDigits(std::string_view s, size_t i) {
  return static_cast<unsigned>((s[i] - '0') * 10 + (s[i + 1] - '0'));
}

}  // namespace

std::string_view receiptLabel(ReceiptField field) noexcept {
  switch (field) {
    case ReceiptField::Id:
      return "id";
    case ReceiptField::Sub:
      return "sub";
    case ReceiptField::Dlvrd:
      return "dlvrd";
    case ReceiptField::SubmitDate:
      return "submit date";
    case ReceiptField::DoneDate:
      return "done date";
    case ReceiptField::Stat:
      return "stat";
    case ReceiptField::Err:
      return "err";
    case ReceiptField::Text:
      return "text";
  }
  return {};
}

std::string_view Receipt::get(ReceiptField field) const noexcept {
  return this->*kSlots[static_cast<size_t>(field)];
}

void Receipt::set(ReceiptField field, std::string_view value) noexcept {
  this->*kSlots[static_cast<size_t>(field)] = value;
  present |= bit(field);
}

namespace {

enum class StepResult : uint8_t { Next, Done, Fail };

// One label of the fast path. A template so that each label's patterns are immediates.
template <size_t I>
inline StepResult canonicalStep(const char*& p, const char* end, Receipt& out) {
  constexpr CanonicalStep step = kCanonical[I];
  if (!matches(window(p, 0, end), step.head)) {
    return StepResult::Fail;
  }
  if constexpr (step.tail_len > 0) {
    if (!matches(window(p, 8, end), step.tail)) {
      return StepResult::Fail;
    }
  }
  const char* value = p + step.label_len;
  if constexpr (step.field == ReceiptField::Text) {
    out.text = std::string_view(value, static_cast<size_t>(end - value));
    out.present = kAllFields;
    return StepResult::Done;
  } else {
    const char* value_end = skipWord(value, end);
    if (value_end == value) {
      return StepResult::Fail;
    }
    out.*kSlots[static_cast<size_t>(step.field)] =
        std::string_view(value, static_cast<size_t>(value_end - value));
    out.present |= bit(step.field);
    if (value_end == end) {
      return StepResult::Done;  // the remaining fields are missing
    }
    if (*value_end != ' ') {
      return StepResult::Fail;
    }
    p = value_end + 1;
    return StepResult::Next;
  }
}

template <size_t... I>
bool parseCanonical(std::string_view input, Receipt& out, std::index_sequence<I...>) {
  const char* p = input.data();
  const char* const end = p + input.size();
  StepResult result = StepResult::Next;
  // Runs the steps in order and stops at the first one that is not Next.
  static_cast<void>((((result = canonicalStep<I>(p, end, out)) == StepResult::Next) && ...));
  return result != StepResult::Fail;
}

// Fast path for the common case: the Appendix B fields in order, single spaces, non-empty values
// (any label case). Returns false as soon as the text deviates; the general parser then starts
// over, so both paths always give the same result.
bool parseCanonical(std::string_view input, Receipt& out) {
  return parseCanonical(input, out, std::make_index_sequence<kReceiptFieldCount>());
}

// General parser: any order, any separators, unknown words, repeated labels.
bool parseAny(std::string_view input, Receipt& out) {
  const char* p = input.data();
  const char* const end = p + input.size();
  const char* text_begin = nullptr;  // non-null while the text value is open
  while (p < end) {
    while (p < end && isSep(*p)) {
      ++p;
    }
    if (p == end) {
      break;
    }
    ReceiptField field{};
    const size_t label_len = matchLabel(p, end, field);
    if (label_len == 0 || out.has(field)) {
      p = skipWord(p, end);  // an unknown word, a repeated label or a word of the text
      continue;
    }
    if (text_begin != nullptr) {
      // A label not seen yet ends the text (field order varies). Trim the separator before it.
      const char* text_end = p;
      while (text_end > text_begin && isSep(text_end[-1])) {
        --text_end;
      }
      out.text = std::string_view(text_begin, static_cast<size_t>(text_end - text_begin));
      text_begin = nullptr;
    }
    const char* value = p + label_len;
    if (field == ReceiptField::Text) {
      text_begin = value;
      out.set(field, std::string_view(value, static_cast<size_t>(end - value)));
      if (out.present == kAllFields) {
        break;  // the usual case: text comes last and runs to the end
      }
      p = value;
      continue;
    }
    const char* value_end = skipWord(value, end);
    if (value_end == value) {
      // "stat: DELIVRD": accept a value after blanks unless it is the next label.
      const char* q = value;
      while (q < end && (*q == ' ' || *q == '\t')) {
        ++q;
      }
      ReceiptField next{};
      if (q != value && q < end && !isSep(*q) && matchLabel(q, end, next) == 0) {
        value = q;
        value_end = skipWord(q, end);
      }
    }
    out.set(field, std::string_view(value, static_cast<size_t>(value_end - value)));
    p = value_end;
    if (out.present == kAllFields) {
      break;  // every field found; the rest can only be unknown words
    }
  }
  return out.has(ReceiptField::Id);
}

}  // namespace

bool parseReceipt(std::string_view input, Receipt& out) noexcept {
  out = Receipt{};
  if (parseCanonical(input, out)) {
    return out.has(ReceiptField::Id);
  }
  out = Receipt{};
  return parseAny(input, out);
}

void formatReceipt(const Receipt& receipt, std::string& out) {
  out.reserve(out.size() + 80 + receipt.id.size() + receipt.sub.size() + receipt.dlvrd.size() +
              receipt.submit_date.size() + receipt.done_date.size() + receipt.stat.size() +
              receipt.err.size() + receipt.text.size());
  out.append("id:").append(receipt.id);
  out.append(" sub:").append(receipt.sub);
  out.append(" dlvrd:").append(receipt.dlvrd);
  out.append(" submit date:").append(receipt.submit_date);
  out.append(" done date:").append(receipt.done_date);
  out.append(" stat:").append(receipt.stat);
  out.append(" err:").append(receipt.err);
  out.append(" text:").append(receipt.text);
}

std::optional<std::string_view> receiptId(std::string_view text) noexcept {
  // The usual receipt starts with "id:": both parsers then take the word after it (the
  // canonical one at its first step, the general one at its first label), so the rest need not
  // be read. Anything else goes through the full parse.
  if (text.size() > 3 && lower(text[0]) == 'i' && lower(text[1]) == 'd' && text[2] == ':') {
    const char* value = text.data() + 3;
    const char* value_end = skipWord(value, text.data() + text.size());
    if (value_end != value) {
      return std::string_view(value, static_cast<size_t>(value_end - value));
    }
  }
  Receipt parsed;
  if (!parseReceipt(text, parsed)) {
    return std::nullopt;
  }
  return parsed.id;
}

bool rewriteReceiptId(std::string_view receipt, std::string_view new_id, std::string& out) {
  const std::optional<std::string_view> id = receiptId(receipt);
  if (!id) {
    return false;
  }
  const auto offset = static_cast<size_t>(id->data() - receipt.data());
  out.reserve(out.size() + receipt.size() - id->size() + new_id.size());
  out.append(receipt.substr(0, offset));
  out.append(new_id);
  out.append(receipt.substr(offset + id->size()));
  return true;
}

bool parseReceiptDate(std::string_view digits, ReceiptDate& out) noexcept {
  if (digits.size() != 10 && digits.size() != 12 && digits.size() != 14) {
    return false;
  }
  if (!std::all_of(digits.begin(), digits.end(), isDigit)) {
    return false;
  }
  ReceiptDate d;
  size_t i = 0;
  if (digits.size() == 14) {
    d.year = static_cast<uint16_t>(twoDigits(digits, 0) * 100 + twoDigits(digits, 2));
    i = 4;
  } else {
    d.year = static_cast<uint16_t>(2000 + twoDigits(digits, 0));
    i = 2;
  }
  d.month = static_cast<uint8_t>(twoDigits(digits, i));
  d.day = static_cast<uint8_t>(twoDigits(digits, i + 2));
  d.hour = static_cast<uint8_t>(twoDigits(digits, i + 4));
  d.minute = static_cast<uint8_t>(twoDigits(digits, i + 6));
  if (digits.size() > 10) {
    d.second = static_cast<uint8_t>(twoDigits(digits, i + 8));
  }
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31 || d.hour > 23 || d.minute > 59 ||
      d.second > 59) {
    return false;
  }
  out = d;
  return true;
}

std::optional<MessageState> messageStateFromValue(uint8_t value) noexcept {
  if (value > 9) {
    return std::nullopt;
  }
  return static_cast<MessageState>(value);
}

std::optional<MessageState> messageStateFromStat(std::string_view stat) noexcept {
  for (const auto& name : kStatNames) {
    if (equalsNoCase(stat, name.word)) {
      return name.state;
    }
  }
  return std::nullopt;
}

std::string_view statWord(MessageState state) noexcept {
  switch (state) {
    case MessageState::Scheduled:
      return "SCHEDULED";
    case MessageState::Enroute:
      return "ENROUTE";
    case MessageState::Delivered:
      return "DELIVRD";
    case MessageState::Expired:
      return "EXPIRED";
    case MessageState::Deleted:
      return "DELETED";
    case MessageState::Undeliverable:
      return "UNDELIV";
    case MessageState::Accepted:
      return "ACCEPTD";
    case MessageState::Unknown:
      return "UNKNOWN";
    case MessageState::Rejected:
      return "REJECTD";
    case MessageState::Skipped:
      return "SKIPPED";
  }
  return "UNKNOWN";
}

bool isFinalState(MessageState state) noexcept {
  switch (state) {
    case MessageState::Delivered:
    case MessageState::Expired:
    case MessageState::Deleted:
    case MessageState::Undeliverable:
    case MessageState::Accepted:
    case MessageState::Rejected:
    case MessageState::Skipped:
      return true;
    case MessageState::Scheduled:
    case MessageState::Enroute:
    case MessageState::Unknown:
      return false;
  }
  return false;
}

std::optional<uint64_t> parseDecimalId(std::string_view id) noexcept {
  if (id.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : id) {
    if (!isDigit(c)) {
      return std::nullopt;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

std::optional<uint64_t> parseHexId(std::string_view id) noexcept {
  if (id.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : id) {
    const int digit = hexValue(c);
    if (digit < 0 || value > (UINT64_MAX >> 4)) {
      return std::nullopt;
    }
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  return value;
}

IdDigits formatDecimalId(uint64_t value) noexcept {
  IdDigits out;
  std::array<char, 20> tmp{};
  size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  for (size_t k = 0; k < n; ++k) {
    out.chars[k] = tmp[n - 1 - k];
  }
  out.size = static_cast<uint8_t>(n);
  return out;
}

IdDigits formatHexId(uint64_t value, bool uppercase, size_t min_width) noexcept {
  const char* digits = uppercase ? "0123456789ABCDEF" : "0123456789abcdef";
  IdDigits out;
  size_t n = 1;
  while (n < 16 && (value >> (4 * n)) != 0) {
    ++n;
  }
  const size_t width = std::max(n, std::min(min_width, out.chars.size()));
  for (size_t k = 0; k < width; ++k) {
    const size_t shift = 4 * (width - 1 - k);
    out.chars[k] = shift < 64 ? digits[(value >> shift) & 0xF] : '0';
  }
  out.size = static_cast<uint8_t>(width);
  return out;
}

bool hexIdToDecimal(std::string_view hex, IdDigits& out) noexcept {
  const auto value = parseHexId(hex);
  if (!value) {
    return false;
  }
  out = formatDecimalId(*value);
  return true;
}

bool decimalIdToHex(std::string_view decimal, IdDigits& out, bool uppercase,
                    size_t min_width) noexcept {
  const auto value = parseDecimalId(decimal);
  if (!value) {
    return false;
  }
  out = formatHexId(*value, uppercase, min_width);
  return true;
}

bool normalizeMessageId(std::string_view id, const IdKeyOptions& options,
                        MessageIdKey& out) noexcept {
  out.size_ = 0;
  if (id.empty() || id.size() > kMaxMessageIdLength) {
    return false;
  }
  std::optional<uint64_t> number;
  switch (options.treat_as) {
    case IdFormat::Auto:
      number = parseDecimalId(id);
      if (!number) {
        number = parseHexId(id);
      }
      break;
    case IdFormat::Hex:
      number = parseHexId(id);
      break;
    case IdFormat::Decimal:
      number = parseDecimalId(id);
      break;
    case IdFormat::Text:
      break;
  }
  if (number) {
    const IdDigits digits = formatDecimalId(*number);
    out.buf_[0] = '#';
    std::copy_n(digits.chars.data(), digits.size, out.buf_.data() + 1);
    out.size_ = static_cast<uint8_t>(1 + digits.size);
    return true;
  }
  // Compared as text (not a number, or a number beyond 64 bits).
  std::string_view rest = id;
  if (options.strip_leading_zeros) {
    const size_t first = rest.find_first_not_of('0');
    rest = first == std::string_view::npos ? rest.substr(rest.size() - 1) : rest.substr(first);
  }
  out.buf_[0] = '$';
  for (size_t k = 0; k < rest.size(); ++k) {
    out.buf_[1 + k] = options.case_insensitive ? lower(rest[k]) : rest[k];
  }
  out.size_ = static_cast<uint8_t>(1 + rest.size());
  return true;
}

}  // namespace smppgw::codec
