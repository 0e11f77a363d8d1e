#pragma once
// The table of configuration keys: the one place that says what each key is, its bounds and
// default, whether a reload applies it or it needs a restart, and whether this version acts on it.
//
// The loader asks the table for every key it reads (a key missing here is refused as unknown,
// so the loader cannot accept a key the table does not describe), refuses keys this version does
// not act on, takes integer and duration bounds from it, and records restart-only values so a
// reload can name what it could not apply. docs/configuration.md's key tables are generated from
// it (`smppgw config-keys --update-docs FILE`) and a test checks that they match.

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smppgw::config {

enum class KeyKind : std::uint8_t { Object, Array, Bool, Int, Number, Duration, String, Other };
enum class KeyReload : std::uint8_t {
  Live,     // a reload applies it (to new and existing sessions, binds and messages)
  Restart,  // the running process keeps its value; a reload that changes it is refused
};
enum class KeySupport : std::uint8_t {
  Yes,         // acts as documented
  No,          // refused wherever it appears
  OnlyValues,  // only the JSON values listed in `supported` act; others are refused
};

struct KeyInfo {
  std::string_view path;  // "customers[].rate_limit.per_second"; map entries are "*"
  KeyKind kind = KeyKind::Other;
  std::string_view type;  // docs text; for Int/Duration the bounds are added
  double min = 0;         // Int: bounds; Duration: bounds in milliseconds; Number: bounds
  double max = 0;
  std::string_view json_default;  // JSON text of the default ("" when computed or none)
  std::string_view doc_default;   // docs text when the default is not a literal
  KeyReload reload = KeyReload::Live;
  KeySupport support = KeySupport::Yes;
  std::string_view supported;  // OnlyValues: JSON texts separated by '|'
  std::string_view refusal;    // No / OnlyValues: what is not built, in a few words
  std::string_view meaning;
};

std::span<const KeyInfo> keyTable();
// The entry for a schema path ("listeners[].port"); nullptr when there is none.
const KeyInfo* findKey(std::string_view schemaPath);
// "listeners[2].tls.ca" -> "listeners[].tls.ca"; "numbering.countries.44" ->
// "numbering.countries.*".
std::string schemaPath(std::string_view path);
// Whether `valueJson` (a value's compact JSON text) is one this version acts on.
bool supportedValue(const KeyInfo& k, std::string_view valueJson);
// One line: why the key (or this value of it) is refused.
std::string unsupportedReason(const KeyInfo& k);

// Values of restart-only keys, by concrete path ("listeners[0].port" -> "2775"). Keys left out
// of the file are recorded with their default, so spelling a default out is not a change.
using RestartValues = std::map<std::string, std::string>;
// Paths whose value differs between two loads (sorted).
std::vector<std::string> restartChanges(const RestartValues& running, const RestartValues& next);

// The markdown table of keys directly below `section` ("listeners[]", "store", "" = top level).
std::string keyTableMarkdown(std::string_view section);
// Rewrites every `<!-- keys: SECTION -->` ... `<!-- /keys -->` block of a document with the
// table of its section. `error` names a block that is not closed or a section with no keys.
std::string renderKeyBlocks(std::string_view doc, std::string* error = nullptr);
// Sections of the table (each a docs block), in table order.
std::vector<std::string> keySections();

}  // namespace smppgw::config
