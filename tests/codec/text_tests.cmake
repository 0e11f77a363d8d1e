# Tests of the message-content helpers. Paths relative to tests/codec/.
list(APPEND CODEC_TEXT_TEST_SOURCES
  charset_test.cc
  gsm7_test.cc
  receipt_test.cc
  split_test.cc
  udh_test.cc)
