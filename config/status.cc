#include "config/status.h"

#include <array>
#include <cstdio>
#include <utility>

namespace smppgw::config {
namespace {

struct StatusName {
  std::uint32_t value;
  std::string_view name;
};

constexpr std::array kStatusNames = {
    StatusName{0x00, "ESME_ROK"},
    StatusName{0x01, "ESME_RINVMSGLEN"},
    StatusName{0x02, "ESME_RINVCMDLEN"},
    StatusName{0x03, "ESME_RINVCMDID"},
    StatusName{0x04, "ESME_RINVBNDSTS"},
    StatusName{0x05, "ESME_RALYBND"},
    StatusName{0x06, "ESME_RINVPRTFLG"},
    StatusName{0x07, "ESME_RINVREGDLVFLG"},
    StatusName{0x08, "ESME_RSYSERR"},
    StatusName{0x0A, "ESME_RINVSRCADR"},
    StatusName{0x0B, "ESME_RINVDSTADR"},
    StatusName{0x0C, "ESME_RINVMSGID"},
    StatusName{0x0D, "ESME_RBINDFAIL"},
    StatusName{0x0E, "ESME_RINVPASWD"},
    StatusName{0x0F, "ESME_RINVSYSID"},
    StatusName{0x11, "ESME_RCANCELFAIL"},
    StatusName{0x13, "ESME_RREPLACEFAIL"},
    StatusName{0x14, "ESME_RMSGQFUL"},
    StatusName{0x15, "ESME_RINVSERTYP"},
    StatusName{0x33, "ESME_RINVNUMDESTS"},
    StatusName{0x34, "ESME_RINVDLNAME"},
    StatusName{0x40, "ESME_RINVDESTFLAG"},
    StatusName{0x42, "ESME_RINVSUBREP"},
    StatusName{0x43, "ESME_RINVESMCLASS"},
    StatusName{0x44, "ESME_RCNTSUBDL"},
    StatusName{0x45, "ESME_RSUBMITFAIL"},
    StatusName{0x48, "ESME_RINVSRCTON"},
    StatusName{0x49, "ESME_RINVSRCNPI"},
    StatusName{0x50, "ESME_RINVDSTTON"},
    StatusName{0x51, "ESME_RINVDSTNPI"},
    StatusName{0x53, "ESME_RINVSYSTYP"},
    StatusName{0x54, "ESME_RINVREPFLAG"},
    StatusName{0x55, "ESME_RINVNUMMSGS"},
    StatusName{0x58, "ESME_RTHROTTLED"},
    StatusName{0x61, "ESME_RINVSCHED"},
    StatusName{0x62, "ESME_RINVEXPIRY"},
    StatusName{0x63, "ESME_RINVDFTMSGID"},
    StatusName{0x64, "ESME_RX_T_APPN"},
    StatusName{0x65, "ESME_RX_P_APPN"},
    StatusName{0x66, "ESME_RX_R_APPN"},
    StatusName{0x67, "ESME_RQUERYFAIL"},
    StatusName{0xC0, "ESME_RINVTLVSTREAM"},
    StatusName{0xC1, "ESME_RTLVNOTALLWD"},
    StatusName{0xC2, "ESME_RINVTLVLEN"},
    StatusName{0xC3, "ESME_RMISSINGTLV"},
    StatusName{0xC4, "ESME_RINVTLVVAL"},
    StatusName{0xFE, "ESME_RDELIVERYFAILURE"},
    StatusName{0xFF, "ESME_RUNKNOWNERR"},
    StatusName{0x100, "ESME_RSERTYPUNAUTH"},
    StatusName{0x101, "ESME_RPROHIBITED"},
    StatusName{0x102, "ESME_RSERTYPUNAVAIL"},
    StatusName{0x103, "ESME_RSERTYPDENIED"},
    StatusName{0x104, "ESME_RINVDCS"},
};

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (upper(a[i]) != upper(b[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<std::uint32_t> parseCommandStatus(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  for (const auto& s : kStatusNames) {
    if (equalsIgnoreCase(text, s.name) || equalsIgnoreCase(text, s.name.substr(5))) {
      return s.value;
    }
  }
  std::uint64_t value = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    if (text.size() > 10) {
      return std::nullopt;
    }
    for (char c : text.substr(2)) {
      int h = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (h < 0) {
        return std::nullopt;
      }
      value = value * 16 + static_cast<std::uint64_t>(h);
    }
    return static_cast<std::uint32_t>(value);
  }
  if (text.size() > 10) {
    return std::nullopt;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (value > 0xFFFFFFFFull) {
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(value);
}

std::string_view commandStatusName(std::uint32_t status) {
  for (const auto& s : kStatusNames) {
    if (s.value == status) {
      return s.name;
    }
  }
  return {};
}

std::string describeCommandStatus(std::uint32_t status) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", status);
  auto name = commandStatusName(status);
  if (name.empty()) {
    return hex;
  }
  return std::string(name) + " (" + hex + ")";
}

}  // namespace smppgw::config
