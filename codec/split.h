#pragma once
// Choosing the encoding of a text message, counting it and splitting it into SMS parts
// (reference §6.4 and §6.5 "Counting and splitting rules"):
//  * GSM7 if every character is in the GSM 03.38 basic or extension table (extension characters
//    count 2 septets), else UCS2 for the whole message (non-BMP characters count 2 units);
//  * one part up to 160 septets / 70 units, else parts of 153/67 (8-bit reference UDH) or 152/66
//    (16-bit reference UDH);
//  * an escape pair or a surrogate pair is never split: it moves whole to the next part;
//  * at most 255 parts.
// This runs for messages the gateway itself builds, so it allocates (one vector per part).

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace smppgw::codec {

enum class TextEncoding : uint8_t {
  Gsm7,  // unpacked septets, data_coding 0x00
  Ucs2,  // UTF-16BE, data_coding 0x08
};

// "GSM7" or "UCS2" (the spelling of gsm7.json).
std::string_view textEncodingName(TextEncoding encoding) noexcept;

constexpr uint8_t dataCodingFor(TextEncoding encoding) {
  return encoding == TextEncoding::Gsm7 ? 0x00 : 0x08;
}

inline constexpr size_t kMaxParts = 255;

// Units (septets or UTF-16 units) that fit in a single, unsplit message.
constexpr size_t singlePartLimit(TextEncoding encoding) {
  return encoding == TextEncoding::Gsm7 ? 160 : 70;
}
// Units per part of a split message, after a 6-octet (8-bit ref) or 7-octet (16-bit ref) UDH.
constexpr size_t perPartLimit(TextEncoding encoding, bool ref_16bit) {
  if (encoding == TextEncoding::Gsm7) {
    return ref_16bit ? 152 : 153;
  }
  return ref_16bit ? 66 : 67;
}

struct TextAnalysis {
  TextEncoding encoding = TextEncoding::Gsm7;
  size_t units = 0;       // septets (GSM7) or UTF-16 code units (UCS2)
  size_t codepoints = 0;  // Unicode characters
};

// Picks the encoding and counts the units. False for invalid UTF-8.
bool analyzeText(std::string_view utf8, TextAnalysis& out) noexcept;

enum class SplitError : uint8_t {
  None,
  InvalidUtf8,   // the input is not valid UTF-8
  TooManyParts,  // more than SplitOptions::max_parts (at most 255) parts would be needed
  RefTooLarge,   // an 8-bit-reference UDH was asked for with a reference above 255
};

std::string_view splitErrorName(SplitError error) noexcept;

struct SplitOptions {
  // Size parts for a 16-bit-reference UDH (152/66) rather than an 8-bit one (153/67). With SAR
  // TLVs the MC builds the UDH; set this if it may use a 16-bit reference.
  bool ref_16bit = false;
  // Send UCS2 even if the text is GSM7-encodable.
  bool force_ucs2 = false;
  // Policy limit on the number of parts; values above 255 (or 0) mean 255.
  size_t max_parts = kMaxParts;
};

// One part, as a byte range of the UTF-8 input.
struct PartSpan {
  size_t begin = 0;  // offset of the part's first byte in the UTF-8 input
  size_t end = 0;    // one past its last byte
  size_t units = 0;  // septets or UTF-16 units in this part
};

struct SplitPlan {
  TextEncoding encoding = TextEncoding::Gsm7;
  size_t total_units = 0;
  std::vector<PartSpan> parts;  // at least one (an empty text is one empty part)
};

// Splits without encoding. `out` is replaced. On TooManyParts, out still holds the full plan
// (so the caller can report how many parts the text would need).
SplitError planSplit(std::string_view utf8, const SplitOptions& options, SplitPlan& out);

enum class ConcatMethod : uint8_t {
  Udh,  // each part's short_message starts with a concatenation UDH; set esm_class UDHI (0x40)
  Sar,  // no UDH; the caller sets sar_msg_ref_num / sar_total_segments / sar_segment_seqnum
};

// A ready-to-send part.
struct MessagePart {
  uint16_t ref = 0;   // concatenation reference (sar_msg_ref_num for SAR)
  uint8_t total = 1;  // number of parts (sar_total_segments)
  uint8_t seq = 1;    // this part, from 1 (sar_segment_seqnum)
  bool udhi = false;  // short_message starts with a UDH: set esm_class bit 6 (0x40)
  size_t units = 0;   // septets or UTF-16 units of text in this part
  std::vector<uint8_t> short_message;  // [UDH +] unpacked GSM7 septets or UCS2 octets
};

struct EncodedMessage {
  TextEncoding encoding = TextEncoding::Gsm7;
  uint8_t data_coding = 0x00;  // for every part
  size_t total_units = 0;
  std::vector<MessagePart> parts;
};

// Encodes a UTF-8 text into short_message payloads, splitting it if it does not fit one message.
// A message that fits is one part with no UDH (total = seq = 1; set no SAR TLVs for it). `out` is
// replaced; on error its parts are empty.
SplitError encodeMessage(std::string_view utf8, ConcatMethod method, uint16_t ref,
                         const SplitOptions& options, EncodedMessage& out);

}  // namespace smppgw::codec
