#pragma once
// Framing and decoding. Both are pure functions over bytes the caller owns: nothing here reads
// past the span it is given, allocates per byte, or throws. Errors are values that say what the
// peer must be answered and whether the stream can go on.

#include <cstdint>
#include <optional>
#include <string_view>

#include "codec/bytes.h"
#include "codec/pdu.h"

namespace smppgw::codec {

constexpr uint32_t kHeaderSize = 16;
// message_payload may carry 65,535 octets; the rest of a PDU fits in a few hundred more.
constexpr uint32_t kDefaultMaxCommandLength = 70000;

enum class DecodeErrorKind : uint8_t {
  CommandLengthTooShort,
  CommandLengthExceedsMax,
  UnknownCommandId,
  CStringUnterminated,
  FieldTooLong,
  InvalidFieldValue,
  SmLengthMismatch,
  TlvLengthOverrun,
  TlvStreamTrailingBytes,
  TlvBadLength,
  PayloadConflict,
  MissingTlv,
};

// The names used by the shared test vectors ("cstring_unterminated", ...).
std::string_view decodeErrorKindName(DecodeErrorKind kind);

struct DecodeError {
  DecodeErrorKind kind = DecodeErrorKind::UnknownCommandId;
  uint32_t command_id = 0;       // as received
  uint32_t sequence_number = 0;  // the offending PDU's (0 if the header was incomplete)
  uint32_t status = 0;           // command_status to answer with
  bool respond = false;          // false: the PDU was itself a response; answer nothing
  CommandId response_id = CommandId::generic_nack;  // generic_nack or the command's *_resp
  bool close_connection = false;                    // framing lost: answer, then close
  std::string_view field;                           // the field or TLV at fault, for logs
};

// Result of looking for one PDU at the start of a byte stream.
struct Frame {
  enum class State : uint8_t { Complete, NeedMore, Error };
  State state = State::NeedMore;
  Bytes pdu;          // Complete: exactly command_length bytes
  uint32_t need = 0;  // NeedMore: total bytes required before a frame can be complete
  DecodeError error;  // Error: always close_connection
};

// Looks at the first PDU in `data` (the unconsumed part of a read buffer). command_length is
// checked before the body is waited for, so a peer cannot make us buffer more than max.
Frame peekFrame(Bytes data, uint32_t max_command_length = kDefaultMaxCommandLength);

// Decodes one complete PDU (a Frame's bytes). The views in `out` point into `pdu`.
// Returns the error, or nullopt on success. `out` is reset first.
std::optional<DecodeError> decode(Bytes pdu, Pdu& out);

// Header fields without decoding the body (the gateway's fast path for responses it forwards).
struct Header {
  uint32_t command_length;
  uint32_t command_id;
  uint32_t command_status;
  uint32_t sequence_number;
};
inline Header readHeader(const uint8_t* p) {
  return {load32(p), load32(p + 4), load32(p + 8), load32(p + 12)};
}

// Time fields (v3.4 §7.1.1): NULL or "YYMMDDhhmmsstnnp" (p = '+', '-' or 'R').
bool isValidSmppTime(std::string_view t);

}  // namespace smppgw::codec
