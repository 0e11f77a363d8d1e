#pragma once
// Workaround for codec::encode(): it memcpy()s from string_view::data() even for empty fields,
// and a default-constructed string_view has a null data() (undefined behaviour, caught by UBSan).
// Until the codec guards that, PDUs built field by field go through nonNullStrings() first.

#include <string_view>

#include "codec/pdu.h"

namespace smppgw::tools {

namespace detail {
struct NullStringFixer {
  static void fix(std::string_view& s) {
    if (s.data() == nullptr) {
      s = std::string_view("", 0);
    }
  }
  template <class... A>
  void cstr(std::string_view, std::string_view& s, A...) {
    fix(s);
  }
  template <class... A>
  void time(std::string_view, std::string_view& s, A...) {
    fix(s);
  }
  template <class... A>
  void u8(A...) {}
  template <class... A>
  void u8Max(A...) {}
  template <class... A>
  void u8Mask(A...) {}
  void shortMessage(codec::Bytes&) {}
  void destAddresses(codec::DestList& list) {
    for (codec::DestAddress& d : list) {
      fix(d.address);
    }
  }
  void unsuccessSmes(codec::UnsuccessList& list) {
    for (codec::UnsuccessSme& u : list) {
      fix(u.destination_addr);
    }
  }
};
}  // namespace detail

inline codec::Pdu& nonNullStrings(codec::Pdu& pdu) {
  detail::NullStringFixer f;
  std::visit([&](auto& body) { std::decay_t<decltype(body)>::visit(f, body); }, pdu.body);
  return pdu;
}

}  // namespace smppgw::tools
