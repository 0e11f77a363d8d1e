#include "codec/tlv.h"

#include <algorithm>
#include <array>

namespace smppgw::codec {
namespace {

constexpr std::array kTlvDefs{
#define SMPPGW_X(name, tag, kind, min, max, v50) TlvDef{#name, tag, TlvKind::kind, min, max, v50},
    SMPPGW_TLVS(SMPPGW_X)
#undef SMPPGW_X
};

constexpr bool sortedByTag() {
  for (size_t i = 1; i < kTlvDefs.size(); ++i) {
    if (kTlvDefs[i - 1].tag >= kTlvDefs[i].tag) {
      return false;
    }
  }
  return true;
}
static_assert(sortedByTag(), "keep SMPPGW_TLVS sorted by tag");

// Position of each TLV in kTlvDefs (the list's order).
enum TlvIndex : size_t {
#define SMPPGW_X(name, tag, kind, min, max, v50) kIndex_##name,
  SMPPGW_TLVS(SMPPGW_X)
#undef SMPPGW_X
};

}  // namespace

const TlvDef* findTlvDef(uint16_t tag) {
  // A switch (the compiler's jump tables) rather than a binary search: every decoded TLV asks.
  switch (tag) {
#define SMPPGW_X(name, tag_, kind, min, max, v50) \
  case tag_:                                      \
    return &kTlvDefs[kIndex_##name];
    SMPPGW_TLVS(SMPPGW_X)
#undef SMPPGW_X
    default:
      return nullptr;
  }
}

std::string_view tlvName(uint16_t tag) {
  const TlvDef* d = findTlvDef(tag);
  return d != nullptr ? d->name : std::string_view{"vendor/unknown"};
}

bool isV50OnlyTlv(uint16_t tag) {
  return tag == tag::congestion_state || (tag >= 0x0600 && tag <= 0x0613);
}

uint32_t Tlv::integer() const {
  Bytes v = value();
  uint32_t r = 0;
  for (size_t i = 0; i < v.size() && i < 4; ++i) {
    r = (r << 8) | v[i];
  }
  return r;
}

std::string_view Tlv::text() const {
  std::string_view s = asString(value());
  if (!s.empty() && s.back() == '\0') {
    s.remove_suffix(1);
  }
  return s;
}

bool Tlv::sameWire(const Tlv& o) const {
  if (tag != o.tag || length != o.length) {
    return false;
  }
  // Compare what goes on the wire: a synthetic NUL equals a received one.
  Bytes a = value();
  Bytes b = o.value();
  size_t n = std::min(a.size(), b.size());
  if (!std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(n), b.begin())) {
    return false;
  }
  for (size_t i = n; i < a.size(); ++i) {
    if (a[i] != 0) {
      return false;
    }
  }
  for (size_t i = n; i < b.size(); ++i) {
    if (b[i] != 0) {
      return false;
    }
  }
  return true;
}

const Tlv* TlvList::find(uint16_t tag) const {
  for (const Tlv& t : items_) {
    if (t.tag == tag) {
      return &t;
    }
  }
  return nullptr;
}

std::optional<uint32_t> TlvList::integer(uint16_t tag) const {
  const Tlv* t = find(tag);
  if (t == nullptr) {
    return std::nullopt;
  }
  return t->integer();
}

std::optional<std::string_view> TlvList::text(uint16_t tag) const {
  const Tlv* t = find(tag);
  if (t == nullptr) {
    return std::nullopt;
  }
  return t->text();
}

std::optional<Bytes> TlvList::bytes(uint16_t tag) const {
  const Tlv* t = find(tag);
  if (t == nullptr) {
    return std::nullopt;
  }
  return t->value();
}

void TlvList::addInt(uint16_t tag, uint32_t value, uint8_t width) {
  Tlv t;
  t.tag = tag;
  t.length = width;
  for (int i = width - 1; i >= 0; --i) {
    t.small[i] = static_cast<uint8_t>(value);
    value >>= 8;
  }
  items_.push_back(t);
}

void TlvList::addBytes(uint16_t tag, Bytes value) {
  Tlv t;
  t.tag = tag;
  t.length = static_cast<uint16_t>(std::min<size_t>(value.size(), 0xFFFF));
  t.ptr = value.empty() ? nullptr : value.data();  // nullptr reads as an empty small[]
  items_.push_back(t);
}

void TlvList::addCString(uint16_t tag, std::string_view s) {
  Tlv t;
  t.tag = tag;
  t.length = static_cast<uint16_t>(std::min<size_t>(s.size() + 1, 0xFFFF));
  t.ptr = s.empty() ? nullptr : reinterpret_cast<const uint8_t*>(s.data());
  t.append_nul = true;
  items_.push_back(t);
}

size_t TlvList::remove(uint16_t tag) {
  size_t removed = 0;
  for (size_t i = 0; i < items_.size();) {
    if (items_[i].tag == tag) {
      items_.erase(i);
      ++removed;
    } else {
      ++i;
    }
  }
  return removed;
}

size_t TlvList::wireSize() const {
  size_t n = 0;
  for (const Tlv& t : items_) {
    n += 4u + t.length;
  }
  return n;
}

bool operator==(const TlvList& a, const TlvList& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Tlv& x, const Tlv& y) { return x.sameWire(y); });
}

}  // namespace smppgw::codec
