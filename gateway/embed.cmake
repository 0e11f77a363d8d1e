# Generates a header holding a file's text as a raw string (the built-in demo configuration).
file(READ "${INPUT}" CONTENT)
file(WRITE "${OUTPUT}" "#pragma once\n#include <string_view>\nnamespace smppgw {\ninline constexpr std::string_view kDemoConfig = R\"smppgwjson(${CONTENT})smppgwjson\";\n}\n")
