#include "tools/bench/messages.h"

#include "codec/encode.h"
#include "codec/pdu.h"
#include "codec/split.h"
#include "tools/common/pdu_util.h"

namespace smppgw::bench {

bool parseMix(std::string_view text, Mix& out) {
  if (text == "minimal") {
    out = Mix::Minimal;
  } else if (text == "gsm7") {
    out = Mix::Gsm7;
  } else if (text == "ucs2") {
    out = Mix::Ucs2;
  } else if (text == "long") {
    out = Mix::Long;
  } else if (text == "realistic") {
    out = Mix::Realistic;
  } else {
    return false;
  }
  return true;
}

std::string_view mixName(Mix mix) {
  switch (mix) {
    case Mix::Minimal:
      return "minimal";
    case Mix::Gsm7:
      return "gsm7";
    case Mix::Ucs2:
      return "ucs2";
    case Mix::Long:
      return "long";
    case Mix::Realistic:
      return "realistic";
  }
  return "?";
}

namespace {

// Deterministic filler text: words of GSM 03.38 basic characters.
std::string gsm7Text(tools::Rng& rng, size_t chars) {
  static constexpr std::string_view kWords[] = {
      "Your",    "code", "is",    "1234",   "delivery", "arrives", "today", "between",
      "10:00",   "and",  "14:00", "reply",  "STOP",     "to",      "opt",   "out",
      "balance", "EUR",  "42.50", "thanks", "for",      "your",    "order", "ref",
      "A-77",    "see",  "you",   "soon",   "@home",    "(info)"};
  std::string s;
  while (s.size() < chars) {
    if (!s.empty()) {
      s += ' ';
    }
    s += kWords[rng.next() % std::size(kWords)];
  }
  s.resize(chars);
  if (s.back() == ' ') {
    s.back() = '.';
  }
  return s;
}

// Cyrillic words force UCS2; `units` UTF-16 units.
std::string ucs2Text(tools::Rng& rng, size_t units) {
  static constexpr std::string_view kWords[] = {"Привет",  "мир",     "заказ", "доставлен", "код",
                                                "спасибо", "сегодня", "ответ", "баланс"};
  std::string s;
  size_t n = 0;
  while (n < units) {
    if (n != 0) {
      s += ' ';
      ++n;
      if (n == units) {
        break;
      }
    }
    std::string_view w = kWords[rng.next() % std::size(kWords)];
    // Each Cyrillic letter is 2 UTF-8 bytes and one UTF-16 unit.
    size_t letters = w.size() / 2;
    size_t take = letters < units - n ? letters : units - n;
    s.append(w.substr(0, take * 2));
    n += take;
  }
  return s;
}

}  // namespace

bool MessageFactory::addShape(const std::string& kind, std::string_view utf8,
                              uint8_t registered_delivery, std::string& error) {
  codec::EncodedMessage em;
  codec::SplitOptions so;
  const auto rc = codec::encodeMessage(utf8, codec::ConcatMethod::Udh, 0, so, em);
  if (rc != codec::SplitError::None) {
    error = "cannot encode message text: " + std::string(codec::splitErrorName(rc));
    return false;
  }
  MessageShape shape;
  shape.kind = kind;
  const std::string src(source_.width, '0');
  const std::string dst(dest_.width, '0');
  for (const codec::MessagePart& part : em.parts) {
    codec::Pdu p(codec::CommandId::submit_sm, 0);
    auto& b = p.as<codec::SmBody>();
    b.source_addr_ton = 1;
    b.source_addr_npi = 1;
    b.source_addr = src;
    b.dest_addr_ton = 1;
    b.dest_addr_npi = 1;
    b.destination_addr = dst;
    b.esm_class = part.udhi ? 0x40 : 0x00;
    b.registered_delivery = registered_delivery;
    b.data_coding = em.data_coding;
    b.short_message = codec::Bytes(part.short_message.data(), part.short_message.size());
    MessageTemplate t;
    codec::encode(tools::nonNullStrings(p), t.bytes);
    // Layout: header(16) service_type(1) ton(1) npi(1) source_addr ... (reference §3.2).
    t.src_off = 16 + 1 + 2;
    t.dst_off = t.src_off + source_.width + 1 + 2;
    const size_t sm_off = t.dst_off + dest_.width + 1 + 10;
    if (part.udhi) {
      // 05 00 03 RR TT SS: the reference is the fourth octet.
      t.ref_off = sm_off + 3;
    }
    shape.parts.push_back(std::move(t));
  }
  shapes_.push_back(std::move(shape));
  return true;
}

bool MessageFactory::build(Mix mix, const tools::NumberRange& source,
                           const tools::NumberRange& dest, uint8_t rd, uint64_t seed,
                           std::string& error) {
  source_ = source;
  dest_ = dest;
  if (source_.width > 20 || dest_.width > 20) {
    error = "addresses are at most 20 digits";
    return false;
  }
  tools::Rng rng(seed ^ 0x5EEDu);
  shapes_.clear();
  choices_.clear();
  auto addGroup = [&](double weight, const std::string& kind, size_t variants, auto makeText) {
    Choice c;
    c.first = shapes_.size();
    for (size_t i = 0; i < variants; ++i) {
      if (!addShape(kind, makeText(i), rd, error)) {
        return false;
      }
    }
    c.count = variants;
    c.cumulative = (choices_.empty() ? 0.0 : choices_.back().cumulative) + weight;
    choices_.push_back(c);
    return true;
  };
  // Realistic GSM7: 100-160 characters, 16 lengths spread over the range.
  auto gsm7 = [&](size_t i) { return gsm7Text(rng, 100 + i * 4); };
  auto ucs2 = [&](size_t) { return ucs2Text(rng, 70); };
  auto longText = [&](size_t) { return gsm7Text(rng, 400); };  // 3 parts of <= 153 septets
  bool ok = true;
  switch (mix) {
    case Mix::Minimal: {
      // ~120-byte submit_sm (the frame of the performance baselines).
      const size_t fixed = 16 + 1 + 2 + (source_.width + 1) + 2 + (dest_.width + 1) + 10;
      const size_t text = fixed + 10 < 120 ? 120 - fixed : 10;
      ok = addGroup(1.0, "minimal", 1, [&](size_t) { return gsm7Text(rng, text); });
      break;
    }
    case Mix::Gsm7:
      ok = addGroup(1.0, "gsm7", 16, gsm7);
      break;
    case Mix::Ucs2:
      ok = addGroup(1.0, "ucs2", 4, ucs2);
      break;
    case Mix::Long:
      ok = addGroup(1.0, "long", 4, longText);
      break;
    case Mix::Realistic:
      ok = addGroup(0.7, "gsm7", 16, gsm7) && addGroup(0.2, "ucs2", 4, ucs2) &&
           addGroup(0.1, "long", 4, longText);
      break;
  }
  if (!ok) {
    return false;
  }
  // A one-part message for when the count budget cannot take a long one.
  single_fallback_ = shapes_.size();
  if (!addShape("gsm7", gsm7Text(rng, 120), rd, error)) {
    return false;
  }
  const double total = choices_.back().cumulative;
  double bytes = 0;
  double pdus = 0;
  for (Choice& c : choices_) {
    c.cumulative /= total;
  }
  double prev = 0;
  for (const Choice& c : choices_) {
    const double w = c.cumulative - prev;
    prev = c.cumulative;
    for (size_t i = c.first; i < c.first + c.count; ++i) {
      for (const auto& part : shapes_[i].parts) {
        bytes += w / static_cast<double>(c.count) * static_cast<double>(part.bytes.size());
        pdus += w / static_cast<double>(c.count);
      }
    }
  }
  mean_pdu_bytes_ = pdus > 0 ? bytes / pdus : 0;
  return true;
}

const MessageShape& MessageFactory::pick(tools::Rng& rng, size_t max_parts) const {
  const double u = rng.uniform();
  const Choice* c = &choices_.back();
  for (const Choice& x : choices_) {
    if (u < x.cumulative) {
      c = &x;
      break;
    }
  }
  const MessageShape& s = shapes_[c->first + (c->count > 1 ? rng.next() % c->count : 0)];
  return s.parts.size() <= max_parts ? s : shapes_[single_fallback_];
}

void MessageFactory::write(const MessageShape& shape, size_t part, uint32_t seq, uint64_t src,
                           uint64_t dst, uint16_t ref, codec::Buffer& out) const {
  const MessageTemplate& t = shape.parts[part];
  uint8_t* p = out.grow(t.bytes.size());
  std::memcpy(p, t.bytes.data(), t.bytes.size());
  codec::store32(p + 12, seq);
  tools::NumberRange::format(src, source_.width, reinterpret_cast<char*>(p + t.src_off));
  tools::NumberRange::format(dst, dest_.width, reinterpret_cast<char*>(p + t.dst_off));
  if (t.ref_off != 0) {
    p[t.ref_off] = static_cast<uint8_t>(ref);
  }
}

}  // namespace smppgw::bench
