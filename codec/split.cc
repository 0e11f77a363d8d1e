#include "codec/split.h"

#include <algorithm>

#include "codec/charset.h"
#include "codec/gsm7.h"
#include "codec/udh.h"

namespace smppgw::codec {

namespace {

// Units one character costs in the chosen encoding.
size_t unitCost(TextEncoding encoding, char32_t cp) {
  if (encoding == TextEncoding::Gsm7) {
    return gsm7Lookup(cp).cls == Gsm7Class::Extension ? 2 : 1;
  }
  return cp >= 0x10000 ? 2 : 1;
}

}  // namespace

std::string_view textEncodingName(TextEncoding encoding) noexcept {
  return encoding == TextEncoding::Gsm7 ? "GSM7" : "UCS2";
}

std::string_view splitErrorName(SplitError error) noexcept {
  switch (error) {
    case SplitError::None:
      return "none";
    case SplitError::InvalidUtf8:
      return "invalid_utf8";
    case SplitError::TooManyParts:
      return "too_many_parts";
    case SplitError::RefTooLarge:
      return "ref_too_large";
  }
  return "unknown";
}

bool analyzeText(std::string_view utf8, TextAnalysis& out) noexcept {
  size_t pos = 0;
  size_t septets = 0;
  size_t utf16_units = 0;
  size_t codepoints = 0;
  bool gsm7 = true;
  char32_t cp = 0;
  while (pos < utf8.size()) {
    if (!nextUtf8(utf8, pos, cp)) {
      return false;
    }
    ++codepoints;
    utf16_units += cp >= 0x10000 ? 2 : 1;
    if (gsm7) {
      const Gsm7Class cls = gsm7Lookup(cp).cls;
      if (cls == Gsm7Class::None) {
        gsm7 = false;
      } else {
        septets += cls == Gsm7Class::Extension ? 2 : 1;
      }
    }
  }
  out.encoding = gsm7 ? TextEncoding::Gsm7 : TextEncoding::Ucs2;
  out.units = gsm7 ? septets : utf16_units;
  out.codepoints = codepoints;
  return true;
}

SplitError planSplit(std::string_view utf8, const SplitOptions& options, SplitPlan& out) {
  out.parts.clear();
  TextAnalysis analysis;
  if (!analyzeText(utf8, analysis)) {
    out.total_units = 0;
    return SplitError::InvalidUtf8;
  }
  if (options.force_ucs2 && analysis.encoding == TextEncoding::Gsm7) {
    analysis.encoding = TextEncoding::Ucs2;
    analysis.units = *utf16UnitCount(utf8);
  }
  out.encoding = analysis.encoding;
  out.total_units = analysis.units;

  if (analysis.units <= singlePartLimit(analysis.encoding)) {
    out.parts.push_back({0, utf8.size(), analysis.units});
  } else {
    const size_t limit = perPartLimit(analysis.encoding, options.ref_16bit);
    out.parts.reserve(analysis.units / limit + 1);
    PartSpan part;
    size_t pos = 0;
    char32_t cp = 0;
    while (pos < utf8.size()) {
      const size_t start = pos;
      nextUtf8(utf8, pos, cp);  // validated by analyzeText
      const size_t cost = unitCost(analysis.encoding, cp);
      // A character that does not fit moves whole to the next part (escape / surrogate pairs).
      if (part.units + cost > limit) {
        part.end = start;
        out.parts.push_back(part);
        part = PartSpan{start, start, 0};
      }
      part.units += cost;
    }
    part.end = utf8.size();
    out.parts.push_back(part);
  }

  const size_t max_parts =
      options.max_parts == 0 ? kMaxParts : std::min(options.max_parts, kMaxParts);
  return out.parts.size() > max_parts ? SplitError::TooManyParts : SplitError::None;
}

SplitError encodeMessage(std::string_view utf8, ConcatMethod method, uint16_t ref,
                         const SplitOptions& options, EncodedMessage& out) {
  out.parts.clear();
  SplitPlan plan;
  const SplitError error = planSplit(utf8, options, plan);
  out.encoding = plan.encoding;
  out.data_coding = dataCodingFor(plan.encoding);
  out.total_units = plan.total_units;
  if (error != SplitError::None) {
    return error;
  }
  const bool split = plan.parts.size() > 1;
  const bool with_udh = split && method == ConcatMethod::Udh;
  if (with_udh && !options.ref_16bit && ref > 0xFF) {
    return SplitError::RefTooLarge;
  }
  const auto total = static_cast<uint8_t>(plan.parts.size());
  out.parts.resize(plan.parts.size());
  for (size_t i = 0; i < plan.parts.size(); ++i) {
    const PartSpan& span = plan.parts[i];
    MessagePart& part = out.parts[i];
    part.ref = ref;
    part.total = total;
    part.seq = static_cast<uint8_t>(i + 1);
    part.udhi = with_udh;
    part.units = span.units;
    const std::string_view text = utf8.substr(span.begin, span.end - span.begin);
    auto& sm = part.short_message;
    sm.reserve((with_udh ? concatUdhSize(options.ref_16bit) : 0) +
               (plan.encoding == TextEncoding::Gsm7 ? span.units : 2 * span.units));
    if (with_udh) {
      appendConcatUdh({ref, total, part.seq, options.ref_16bit}, sm);
    }
    // Cannot fail: the whole text was validated and classified by planSplit.
    if (plan.encoding == TextEncoding::Gsm7) {
      utf8ToGsm7(text, sm);
    } else {
      utf8ToUcs2(text, sm);
    }
  }
  return SplitError::None;
}

}  // namespace smppgw::codec
