#include "codec/splice.h"

#include <cstring>

namespace smppgw::codec {

void Splicer::add(size_t at, size_t len, Bytes with, const uint8_t* prefix, uint8_t prefix_len) {
  Edit e{};
  e.at = static_cast<uint32_t>(at);
  e.len = static_cast<uint32_t>(len);
  e.with = with;
  if (prefix_len != 0) {
    std::memcpy(e.prefix, prefix, prefix_len);
  }
  e.prefix_len = prefix_len;
  // Keep edits sorted by offset (there are a handful: insertion is cheapest).
  edits_.push_back(e);
  for (size_t i = edits_.size() - 1; i > 0 && edits_[i - 1].at > edits_[i].at; --i) {
    std::swap(edits_[i - 1], edits_[i]);
  }
}

size_t Splicer::write(Buffer& out, uint32_t sequence_number) {
  size_t total = original_.size();
  for (const Edit& e : edits_) {
    total = total - e.len + e.prefix_len + e.with.size();
  }
  uint8_t* p = out.grow(total);
  uint8_t* const start = p;
  size_t from = 0;
  for (const Edit& e : edits_) {
    std::memcpy(p, original_.data() + from, e.at - from);
    p += e.at - from;
    std::memcpy(p, e.prefix, e.prefix_len);
    p += e.prefix_len;
    if (!e.with.empty()) {
      std::memcpy(p, e.with.data(), e.with.size());
      p += e.with.size();
    }
    from = e.at + e.len;
  }
  std::memcpy(p, original_.data() + from, original_.size() - from);
  store32(start, static_cast<uint32_t>(total));
  store32(start + 12, sequence_number);
  return total;
}

uint8_t tlvVersionNeeded(const TlvList& tlvs) {
  uint8_t v = 0x33;
  for (const Tlv& t : tlvs) {
    if (isV50OnlyTlv(t.tag)) {
      return 0x50;
    }
    v = 0x34;
  }
  return v;
}

}  // namespace smppgw::codec
