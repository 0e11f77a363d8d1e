#include "codec/json/pdu_json.h"

#include <cstdio>

namespace smppgw::codec {
namespace {

using Json = nlohmann::ordered_json;

class JsonWriter {
 public:
  explicit JsonWriter(Json& j) : j_(j) {}
  void cstr(std::string_view name, std::string_view s, uint16_t, uint32_t) {
    j_[std::string(name)] = safeString(s);
  }
  void u8(std::string_view name, uint8_t v) { j_[std::string(name)] = v; }
  void u8Max(std::string_view name, uint8_t v, uint8_t, uint32_t) { u8(name, v); }
  void u8Mask(std::string_view name, uint8_t v, uint8_t, uint32_t) { u8(name, v); }
  void time(std::string_view name, std::string_view s, uint32_t) {
    j_[std::string(name)] = safeString(s);
  }
  void shortMessage(Bytes b) {
    j_["sm_length"] = b.size();
    j_["short_message_hex"] = hexString(b);
  }
  void destAddresses(const DestList& list) {
    j_["number_of_dests"] = list.size();
    Json arr = Json::array();
    for (const DestAddress& d : list) {
      Json e;
      e["dest_flag"] = d.dest_flag;
      if (d.dest_flag == 1) {
        e["dest_addr_ton"] = d.dest_addr_ton;
        e["dest_addr_npi"] = d.dest_addr_npi;
        e["destination_addr"] = safeString(d.address);
      } else {
        e["dl_name"] = safeString(d.address);
      }
      arr.push_back(std::move(e));
    }
    j_["dest_addresses"] = std::move(arr);
  }
  void unsuccessSmes(const UnsuccessList& list) {
    j_["no_unsuccess"] = list.size();
    Json arr = Json::array();
    for (const UnsuccessSme& u : list) {
      Json e;
      e["dest_addr_ton"] = u.dest_addr_ton;
      e["dest_addr_npi"] = u.dest_addr_npi;
      e["destination_addr"] = safeString(u.destination_addr);
      e["error_status_code"] = u.error_status_code;
      arr.push_back(std::move(e));
    }
    j_["unsuccess_smes"] = std::move(arr);
  }

  // C-Octet Strings should be ASCII; anything else is shown escaped rather than breaking JSON.
  static std::string safeString(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
      if (c >= 0x20 && c < 0x7F) {
        out.push_back(static_cast<char>(c));
      } else {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
    }
    return out;
  }

 private:
  Json& j_;
};

Json tlvValue(const Tlv& t) {
  const TlvDef* def = findTlvDef(t.tag);
  if (def == nullptr) {
    return nullptr;
  }
  switch (def->kind) {
    case TlvKind::Int:
      return t.integer();
    case TlvKind::CString:
      return JsonWriter::safeString(t.text());
    case TlvKind::Octets:
      return nullptr;  // the hex says it all
  }
  return nullptr;
}

}  // namespace

std::string hexString(Bytes b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.resize(b.size() * 2);
  for (size_t i = 0; i < b.size(); ++i) {
    s[2 * i] = kDigits[b[i] >> 4];
    s[2 * i + 1] = kDigits[b[i] & 0xF];
  }
  return s;
}

bool parseHex(std::string_view text, std::string& out) {
  out.clear();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  int high = -1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ':') {
      continue;
    }
    if (c == '0' && i + 1 < text.size() && (text[i + 1] == 'x' || text[i + 1] == 'X') && high < 0) {
      ++i;  // a 0x prefix (at the start or before a group)
      continue;
    }
    int n = nibble(c);
    if (n < 0) {
      return false;
    }
    if (high < 0) {
      high = n;
    } else {
      out.push_back(static_cast<char>(high << 4 | n));
      high = -1;
    }
  }
  return high < 0;
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

Json pduToJson(const Pdu& pdu, size_t command_length) {
  Json j;
  std::string_view name = commandName(pdu.command_id);
  j["command"] = name.empty() ? std::string("unknown") : std::string(name);
  j["command_id"] = hex32(static_cast<uint32_t>(pdu.command_id));
  j["command_status"] = hex32(pdu.command_status);
  if (std::string_view sn = statusName(pdu.command_status); !sn.empty()) {
    j["status_name"] = std::string(sn);
  }
  j["sequence_number"] = pdu.sequence_number;
  j["command_length"] = command_length;
  if (pdu.body_omitted) {
    j["body_omitted"] = true;
  } else {
    JsonWriter writer(j);
    std::visit([&](const auto& body) { std::decay_t<decltype(body)>::visit(writer, body); },
               pdu.body);
  }
  Json tlvs = Json::array();
  for (const Tlv& t : pdu.tlvs) {
    Json e;
    char tagbuf[8];
    std::snprintf(tagbuf, sizeof tagbuf, "0x%04X", t.tag);
    e["tag"] = tagbuf;
    e["name"] = std::string(tlvName(t.tag));
    e["length"] = t.length;
    Buffer wire;
    Bytes v = t.value();
    wire.append(v);
    if (t.append_nul) {
      wire.push(0);
    }
    e["hex"] = hexString(wire.view());
    if (Json value = tlvValue(t); !value.is_null()) {
      e["value"] = std::move(value);
    }
    tlvs.push_back(std::move(e));
  }
  j["tlvs"] = std::move(tlvs);
  return j;
}

Json decodeErrorToJson(const DecodeError& e) {
  Json j;
  j["error"] = std::string(decodeErrorKindName(e.kind));
  j["field"] = std::string(e.field);
  j["command_id"] = hex32(e.command_id);
  if (std::string_view n = commandName(static_cast<CommandId>(e.command_id)); !n.empty()) {
    j["command"] = std::string(n);
  }
  j["sequence_number"] = e.sequence_number;
  if (e.respond) {
    Json r;
    r["command"] = std::string(commandName(e.response_id));
    r["command_status"] = hex32(e.status);
    r["status_name"] = std::string(statusName(e.status));
    r["sequence_number"] = e.sequence_number;
    j["response"] = std::move(r);
  } else {
    j["response"] = nullptr;
  }
  j["close_connection"] = e.close_connection;
  return j;
}

}  // namespace smppgw::codec
