# Tests of the message-content helpers. Paths relative to tests/codec/.
list(APPEND CODEC_TEXT_TEST_SOURCES)
