#pragma once
// PDU -> JSON, for `smppgw decode`, logs of bad PDUs and the tests. Kept out of smppgw_codec so
// the codec itself has no JSON dependency.

#include <nlohmann/json.hpp>
#include <string>

#include "codec/decode.h"
#include "codec/pdu.h"

namespace smppgw::codec {

std::string hexString(Bytes b);
// Parses hex with optional spaces and a leading 0x; false on odd length or a non-hex character.
bool parseHex(std::string_view text, std::string& out_bytes);
std::string hex32(uint32_t v);  // "0x00000004"

// One object: command, command_id, command_status, status_name, sequence_number, command_length,
// every body field under its spec name (short_message as short_message_hex + decoded text where
// the data_coding allows), and tlvs [{tag, name, length, hex, value}].
nlohmann::ordered_json pduToJson(const Pdu& pdu, size_t command_length);

// A decode failure: the error and the response the gateway would send.
nlohmann::ordered_json decodeErrorToJson(const DecodeError& error);

}  // namespace smppgw::codec
