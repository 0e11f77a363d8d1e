#include "gateway/cli_decode.h"

#include <iostream>
#include <string>

#include "codec/charset.h"
#include "codec/decode.h"
#include "codec/json/pdu_json.h"
#include "codec/receipt.h"
#include "codec/udh.h"

namespace smppgw {
namespace {

using codec::Bytes;

// Adds what an operator wants to read beside the raw fields: the decoded text, the UDH and the
// receipt fields.
void annotate(const codec::Pdu& pdu, nlohmann::ordered_json& j) {
  Bytes sm;
  uint8_t dc = 0;
  uint8_t esm = 0;
  if (const auto* b = pdu.tryAs<codec::SmBody>()) {
    sm = b->short_message;
    dc = b->data_coding;
    esm = b->esm_class;
  } else if (const auto* m = pdu.tryAs<codec::SubmitMultiBody>()) {
    sm = m->short_message;
    dc = m->data_coding;
    esm = m->esm_class;
  } else if (const auto* r = pdu.tryAs<codec::ReplaceSmBody>()) {
    sm = r->short_message;
  } else if (const auto* d = pdu.tryAs<codec::DataSmBody>()) {
    dc = d->data_coding;
    esm = d->esm_class;
  }
  if (sm.empty()) {
    if (auto payload = pdu.tlvs.bytes(codec::tag::message_payload)) {
      sm = *payload;
    }
  }
  if (sm.empty()) {
    return;
  }
  Bytes text = sm;
  if ((esm & 0x40) != 0) {
    codec::Udh udh;
    if (codec::parseUdh(sm, udh) == codec::UdhError::None) {
      nlohmann::ordered_json u;
      u["udhl"] = udh.udhl();
      if (auto ci = codec::concatInfo(udh)) {
        u["ref"] = ci->ref;
        u["total"] = ci->total;
        u["seq"] = ci->seq;
        u["ref_16bit"] = ci->ref_is_16bit;
      }
      j["udh"] = std::move(u);
      text = codec::userDataAfterUdh(sm, udh);
    }
  }
  std::string utf8;
  if (codec::decodeText(dc, text, utf8)) {
    j["short_message_text"] = utf8;
  }
  if ((esm & 0x3C) == 0x04 || (esm & 0x3C) == 0x20) {
    codec::Receipt r;
    if (codec::parseReceipt(text, r)) {
      nlohmann::ordered_json rj;
      for (size_t f = 0; f < codec::kReceiptFieldCount; ++f) {
        auto field = static_cast<codec::ReceiptField>(f);
        if (r.has(field)) {
          std::string label(codec::receiptLabel(field));
          for (char& c : label) {
            c = c == ' ' ? '_' : c;
          }
          rj[label] = std::string(r.get(field));
        }
      }
      j["receipt"] = std::move(rj);
    }
  }
}

// Decodes one line; prints its JSON; returns false for a bad PDU.
bool decodeLine(std::string_view line, std::ostream& out) {
  std::string bytes;
  if (!codec::parseHex(line, bytes)) {
    nlohmann::ordered_json j;
    j["error"] = "not hex";
    j["input"] = std::string(line);
    out << j.dump() << '\n';
    return false;
  }
  Bytes data = codec::asBytes(bytes);
  codec::Frame f = codec::peekFrame(data, codec::kDefaultMaxCommandLength);
  if (f.state == codec::Frame::State::Error) {
    out << codec::decodeErrorToJson(f.error).dump() << '\n';
    return false;
  }
  if (f.state == codec::Frame::State::NeedMore || f.pdu.size() != data.size()) {
    nlohmann::ordered_json j;
    j["error"] = f.state == codec::Frame::State::NeedMore ? "incomplete" : "trailing_bytes";
    j["have"] = data.size();
    j["command_length"] = data.size() >= 4 ? codec::load32(data.data()) : 0;
    out << j.dump() << '\n';
    return false;
  }
  codec::Pdu pdu;
  if (auto e = codec::decode(f.pdu, pdu)) {
    out << codec::decodeErrorToJson(*e).dump() << '\n';
    return false;
  }
  auto j = codec::pduToJson(pdu, f.pdu.size());
  annotate(pdu, j);
  out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  return true;
}

}  // namespace

int runDecode(std::span<const std::string_view> args, std::istream& in, std::ostream& out,
              std::ostream& err) {
  bool ok = true;
  size_t count = 0;
  for (std::string_view a : args) {
    if (a == "-h" || a == "--help") {
      out << "usage: smppgw decode [HEX ...]\n"
             "  Decodes SMPP PDUs given as hex (spaces and a 0x prefix allowed), from the\n"
             "  arguments or, without arguments, from standard input one PDU per line.\n"
             "  Prints one JSON object per PDU; exit 1 if any PDU is malformed.\n";
      return 0;
    }
  }
  for (std::string_view a : args) {
    ok = decodeLine(a, out) && ok;
    ++count;
  }
  if (args.empty()) {
    std::string line;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        continue;
      }
      ok = decodeLine(line, out) && ok;
      ++count;
    }
  }
  if (count == 0) {
    err << "smppgw decode: no PDU given\n";
    return 2;
  }
  return ok ? 0 : 1;
}

}  // namespace smppgw
