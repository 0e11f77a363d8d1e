// Parsing the document: nlohmann/json with comments allowed, and a callback that reports
// duplicate keys with their paths (nlohmann keeps the last duplicate silently).
#include <algorithm>
#include <set>

#include "config/reader.h"

namespace smppgw::config::detail {

namespace {

struct ParseFrame {
  bool array = false;
  std::size_t count = 0;  // array: elements completed
  std::string key;        // object: current key
  std::set<std::string> keys;
};

std::string framePath(const std::vector<ParseFrame>& stack) {
  std::string path;
  for (std::size_t i = 0; i < stack.size(); ++i) {
    const auto& f = stack[i];
    if (i + 1 == stack.size() && !f.array) {
      break;  // the innermost object's current key is added by the caller
    }
    if (f.array) {
      path = at(path, f.count);
    } else {
      path = at(path, f.key);
    }
  }
  return path;
}

}  // namespace

std::optional<json> parseJson(std::string_view text, Diags& d) {
  std::vector<ParseFrame> stack;
  auto completeValue = [&]() {
    if (!stack.empty() && stack.back().array) {
      ++stack.back().count;
    }
  };
  json::parser_callback_t cb = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack.push_back({});
        break;
      case json::parse_event_t::array_start:
        stack.push_back({true, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        auto& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          d.error(at(framePath(stack), f.key), "duplicate key (JSON keeps only the last one)");
        }
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack.empty()) {
          stack.pop_back();
        }
        completeValue();
        break;
      case json::parse_event_t::value:
        completeValue();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // Turn the byte offset into line:column for humans.
    std::size_t line = 1;
    std::size_t column = 1;
    const std::size_t end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (std::size_t i = 0; i < end; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    if (auto pos = what.find(": "); pos != std::string::npos) {
      what = what.substr(pos + 2);
    }
    d.error("", "invalid JSON at line " + std::to_string(line) + ", column " +
                    std::to_string(column) + ": " + what);
    return std::nullopt;
  }
}

}  // namespace smppgw::config::detail
