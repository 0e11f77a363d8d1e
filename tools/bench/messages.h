#pragma once
// Pre-encoded submit_sm templates for smpp-bench. Every message the bench can send is encoded
// once at start-up; sending one is a memcpy into the connection's output plus patching the
// sequence number, the two addresses (fixed-width digits) and the concatenation reference, so the
// hot path neither encodes nor allocates.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/bytes.h"
#include "tools/common/random.h"

namespace smppgw::bench {

enum class Mix : uint8_t { Minimal, Gsm7, Ucs2, Long, Realistic };
bool parseMix(std::string_view text, Mix& out);
std::string_view mixName(Mix mix);

struct MessageTemplate {
  codec::Buffer bytes;  // one encoded submit_sm with sequence number 0
  size_t src_off = 0;   // first digit of source_addr
  size_t dst_off = 0;   // first digit of destination_addr
  size_t ref_off = 0;   // concatenation reference octet in the UDH; 0: none
};

// One message: 1 part, or several parts sharing a reference.
struct MessageShape {
  std::string kind;  // "minimal", "gsm7", "ucs2", "long"
  std::vector<MessageTemplate> parts;
};

class MessageFactory {
 public:
  // registered_delivery goes into every template (1 with --receipts or the realistic mix).
  bool build(Mix mix, const tools::NumberRange& source, const tools::NumberRange& dest,
             uint8_t registered_delivery, uint64_t seed, std::string& error);

  // Picks the next message shape; `max_parts` limits it (a count budget nearly spent).
  const MessageShape& pick(tools::Rng& rng, size_t max_parts) const;

  // Appends part `part` of `shape` with the given sequence number and addresses.
  void write(const MessageShape& shape, size_t part, uint32_t seq, uint64_t src, uint64_t dst,
             uint16_t ref, codec::Buffer& out) const;

  const tools::NumberRange& source() const { return source_; }
  const tools::NumberRange& dest() const { return dest_; }
  // Average encoded size of a PDU in the mix (for the report).
  double meanPduBytes() const { return mean_pdu_bytes_; }

 private:
  struct Choice {
    double cumulative = 0;
    size_t first = 0;  // shapes_[first, first + count) are equally likely variants
    size_t count = 0;
  };
  bool addShape(const std::string& kind, std::string_view utf8, uint8_t registered_delivery,
                std::string& error);

  tools::NumberRange source_;
  tools::NumberRange dest_;
  std::vector<MessageShape> shapes_;
  std::vector<Choice> choices_;
  size_t single_fallback_ = 0;  // a one-part shape for when max_parts < a long message's parts
  double mean_pdu_bytes_ = 0;
};

}  // namespace smppgw::bench
