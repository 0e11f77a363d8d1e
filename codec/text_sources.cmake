# Message-content helpers (GSM 03.38, UCS-2, UDH, splitting, receipts). Paths relative to codec/.
list(APPEND SMPPGW_CODEC_TEXT_SOURCES
  charset.cc
  gsm7.cc
  receipt.cc
  split.cc
  udh.cc)
