#pragma once
// command_status values (v3.4 §5.1.3, v5.0 §4.7.6). A proxy passes through values it does not
// know, so statuses travel as plain uint32_t; these names are for code and for logs.

#include <cstdint>
#include <string_view>

namespace smppgw::codec {

#define SMPPGW_STATUSES(X)                 \
  X(ESME_ROK, 0x00000000u)                 \
  X(ESME_RINVMSGLEN, 0x00000001u)          \
  X(ESME_RINVCMDLEN, 0x00000002u)          \
  X(ESME_RINVCMDID, 0x00000003u)           \
  X(ESME_RINVBNDSTS, 0x00000004u)          \
  X(ESME_RALYBND, 0x00000005u)             \
  X(ESME_RINVPRTFLG, 0x00000006u)          \
  X(ESME_RINVREGDLVFLG, 0x00000007u)       \
  X(ESME_RSYSERR, 0x00000008u)             \
  X(ESME_RINVSRCADR, 0x0000000Au)          \
  X(ESME_RINVDSTADR, 0x0000000Bu)          \
  X(ESME_RINVMSGID, 0x0000000Cu)           \
  X(ESME_RBINDFAIL, 0x0000000Du)           \
  X(ESME_RINVPASWD, 0x0000000Eu)           \
  X(ESME_RINVSYSID, 0x0000000Fu)           \
  X(ESME_RCANCELFAIL, 0x00000011u)         \
  X(ESME_RREPLACEFAIL, 0x00000013u)        \
  X(ESME_RMSGQFUL, 0x00000014u)            \
  X(ESME_RINVSERTYP, 0x00000015u)          \
  X(ESME_RINVNUMDESTS, 0x00000033u)        \
  X(ESME_RINVDLNAME, 0x00000034u)          \
  X(ESME_RINVDESTFLAG, 0x00000040u)        \
  X(ESME_RINVSUBREP, 0x00000042u)          \
  X(ESME_RINVESMCLASS, 0x00000043u)        \
  X(ESME_RCNTSUBDL, 0x00000044u)           \
  X(ESME_RSUBMITFAIL, 0x00000045u)         \
  X(ESME_RINVSRCTON, 0x00000048u)          \
  X(ESME_RINVSRCNPI, 0x00000049u)          \
  X(ESME_RINVDSTTON, 0x00000050u)          \
  X(ESME_RINVDSTNPI, 0x00000051u)          \
  X(ESME_RINVSYSTYP, 0x00000053u)          \
  X(ESME_RINVREPFLAG, 0x00000054u)         \
  X(ESME_RINVNUMMSGS, 0x00000055u)         \
  X(ESME_RTHROTTLED, 0x00000058u)          \
  X(ESME_RINVSCHED, 0x00000061u)           \
  X(ESME_RINVEXPIRY, 0x00000062u)          \
  X(ESME_RINVDFTMSGID, 0x00000063u)        \
  X(ESME_RX_T_APPN, 0x00000064u)           \
  X(ESME_RX_P_APPN, 0x00000065u)           \
  X(ESME_RX_R_APPN, 0x00000066u)           \
  X(ESME_RQUERYFAIL, 0x00000067u)          \
  X(ESME_RINVTLVSTREAM, 0x000000C0u)       \
  X(ESME_RTLVNOTALLWD, 0x000000C1u)        \
  X(ESME_RINVTLVLEN, 0x000000C2u)          \
  X(ESME_RMISSINGTLV, 0x000000C3u)         \
  X(ESME_RINVTLVVAL, 0x000000C4u)          \
  X(ESME_RDELIVERYFAILURE, 0x000000FEu)    \
  X(ESME_RUNKNOWNERR, 0x000000FFu)         \
  X(ESME_RSERTYPUNAUTH, 0x00000100u)       \
  X(ESME_RPROHIBITED, 0x00000101u)         \
  X(ESME_RSERTYPUNAVAIL, 0x00000102u)      \
  X(ESME_RSERTYPDENIED, 0x00000103u)       \
  X(ESME_RINVDCS, 0x00000104u)             \
  X(ESME_RINVSRCADDRSUBUNIT, 0x00000105u)  \
  X(ESME_RINVDSTADDRSUBUNIT, 0x00000106u)  \
  X(ESME_RINVBCASTFREQINT, 0x00000107u)    \
  X(ESME_RINVBCASTALIAS_NAME, 0x00000108u) \
  X(ESME_RINVBCASTAREAFMT, 0x00000109u)    \
  X(ESME_RINVNUMBCAST_AREAS, 0x0000010Au)  \
  X(ESME_RINVBCASTCNTTYPE, 0x0000010Bu)    \
  X(ESME_RINVBCASTMSGCLASS, 0x0000010Cu)   \
  X(ESME_RBCASTFAIL, 0x0000010Du)          \
  X(ESME_RBCASTQUERYFAIL, 0x0000010Eu)     \
  X(ESME_RBCASTCANCELFAIL, 0x0000010Fu)    \
  X(ESME_RINVBCAST_REP, 0x00000110u)       \
  X(ESME_RINVBCASTSRVGRP, 0x00000111u)     \
  X(ESME_RINVBCASTCHANIND, 0x00000112u)

namespace status {
enum : uint32_t {
#define SMPPGW_X(name, value) name = value,
  SMPPGW_STATUSES(SMPPGW_X)
#undef SMPPGW_X
};
}  // namespace status

// "ESME_RINVSRCADR", or an empty view for a value with no standard name.
std::string_view statusName(uint32_t status);
// Parses "ESME_RTHROTTLED", "0x58" or "88" (config files name statuses either way).
bool parseStatus(std::string_view text, uint32_t& out);

}  // namespace smppgw::codec
