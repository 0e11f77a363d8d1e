#pragma once
// Encoding into a reusable Buffer, and in-place patching of forwarded PDUs.

#include <cstdint>

#include "codec/bytes.h"
#include "codec/pdu.h"

namespace smppgw::codec {

struct EncodeOptions {
  // The peer's interface_version: 0x33 or lower gets no TLVs at all, 0x34 gets no v5.0-only
  // TLVs (v3.4 §5.3, v5.0 §8.1). 0x50 sends everything.
  uint8_t peer_version = 0x50;
};

// Appends the encoded PDU to `out` (command_length computed). Returns the bytes written.
size_t encode(const Pdu& pdu, Buffer& out, const EncodeOptions& options = {});

// Size encode() would write.
size_t encodedSize(const Pdu& pdu, const EncodeOptions& options = {});

// Rewrites the sequence number (and optionally the status) of an encoded PDU in place: a
// forwarded PDU is re-sequenced without re-encoding its body.
inline void patchSequence(std::span<uint8_t> pdu, uint32_t seq) {
  store32(pdu.data() + 12, seq);
}
inline void patchStatus(std::span<uint8_t> pdu, uint32_t status) {
  store32(pdu.data() + 8, status);
}

// Appends a header-only PDU (enquire_link, unbind, generic_nack, *_resp with error...).
void encodeHeaderOnly(Buffer& out, CommandId id, uint32_t status, uint32_t seq);

}  // namespace smppgw::codec
