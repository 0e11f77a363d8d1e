#pragma once
// The compiled, immutable routing table: "where does this message go".
//
//   MtKey --normalise--> destination digits --+--> customer trie  --+--> candidate rules
//   (customer, listener,                      '--> global trie   --'    (ascending index)
//    addresses, service_type,                                            | residual checks
//    data_coding, esm_class)                                             v (listener, source,
//                                                              first rule that passes   service,
//                                                              else customer.default_route  dc,
//                                                              else routing.unroutable_status esm)
// Rules with customer constraints are indexed under each of their customers' tries, rules
// without under the global trie, and each rule under each of its destination prefixes (or the
// root when it has none). A lookup walks at most 2 x (number length + 1) nodes and then checks
// only rules that already match customer and destination, smallest index first: the cost
// does not grow with the number of routes, and first-match-wins order is exactly the config's.
//
// Built off the event loop (compile), shared read-only via shared_ptr: in-flight messages keep
// the table they were routed with across a reload.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/load.h"
#include "config/model.h"
#include "config/regex.h"
#include "routing/numbering.h"
#include "routing/prefix_trie.h"

namespace smppgw::routing {

inline constexpr std::uint32_t kNoRule = 0xFFFFFFFFu;

struct MtKey {
  config::CustomerId customer = config::kNoId;  // index into Config::customers
  config::ListenerId listener = config::kNoId;  // kNoId: rules with a listener condition fail
  std::string_view source_addr;
  std::uint8_t source_ton = 0;
  std::uint8_t source_npi = 0;
  std::string_view destination_addr;
  std::uint8_t destination_ton = 0;
  std::uint8_t destination_npi = 0;
  std::string_view service_type;
  std::uint8_t data_coding = 0;
  std::uint8_t esm_class = 0;
};

enum class Via : std::uint8_t {
  Rule,             // a route (or mo_route) matched
  CustomerDefault,  // no route matched; the customer's default_route applied
  Unroutable,       // nothing matched: routing.unroutable_status / mo_unroutable_status
};

struct MtDecision {
  Via via = Via::Unroutable;
  std::uint32_t rule = kNoRule;  // index into Config::routes when via == Rule
  std::string_view rule_name;    // route name; "default_route" / "unroutable" otherwise.
                                 // Points into the table's config: valid while the table lives.
  config::Action::Kind action = config::Action::Kind::Reject;
  config::GroupId group = config::kNoId;  // when action == Group
  std::uint32_t status = 0;               // command_status when action == Reject
  config::AckMode ack_mode = config::AckMode::Transparent;
  Number destination;  // normalised (what matching used)
  Number source;       // normalised when numbering.normalise_source; route() fills it only if a
                       // rule's source/regex conditions needed it (explain() always does)

  bool routed() const { return action == config::Action::Kind::Group; }
};

struct MoKey {
  config::UpstreamId upstream = config::kNoId;
  std::string_view source_addr;
  std::uint8_t source_ton = 0;
  std::uint8_t source_npi = 0;
  std::string_view destination_addr;
  std::uint8_t destination_ton = 0;
  std::uint8_t destination_npi = 0;
};

struct MoDecision {
  Via via = Via::Unroutable;
  std::uint32_t rule = kNoRule;  // index into Config::mo_routes
  std::string_view rule_name;
  config::CustomerId customer = config::kNoId;  // set when routed()
  std::uint32_t status = 0;                     // deliver_sm_resp status when not routed()
  Number destination;
  Number source;

  bool routed() const { return customer != config::kNoId; }
};

// One line of `smppgw route --verbose`: why an earlier rule did not take the message.
struct RuleVerdict {
  std::uint32_t rule = kNoRule;
  bool matched = false;
  std::string reason;  // first failing condition, e.g. `destination 4930... has no prefix 44`
};

struct MtExplanation {
  MtDecision decision;
  std::vector<RuleVerdict> rules;  // every rule up to and including the matching one
};

class RoutingTable;
using RoutingTablePtr = std::shared_ptr<const RoutingTable>;

struct CompileResult {
  RoutingTablePtr table;
  std::vector<config::Diagnostic> errors;
  bool ok() const { return table != nullptr; }
};

class RoutingTable {
 public:
  // The table keeps the config alive (rule names, groups) for as long as it lives.
  static CompileResult compile(std::shared_ptr<const config::Config> config);
  static CompileResult compile(const config::Config& config);  // copies the config

  MtDecision route(const MtKey& key) const;
  MoDecision routeMo(const MoKey& key) const;
  // Linear evaluation with reasons (CLI, tests). Same decision as route().
  MtExplanation explain(const MtKey& key) const;

  const config::Config& config() const { return *config_; }
  const std::shared_ptr<const config::Config>& configPtr() const { return config_; }
  const NumberNormaliser& numbering() const { return numbering_; }
  std::size_t nodeCount() const { return trie_.nodeCount(); }
  std::size_t entryCount() const { return trie_.valueCount(); }
  std::size_t memoryBytes() const { return trie_.memoryBytes(); }

  RoutingTable(const RoutingTable&) = delete;
  RoutingTable& operator=(const RoutingTable&) = delete;

 private:
  struct Key {};  // only compile() makes one (make_shared needs a public constructor)

 public:
  RoutingTable(Key, std::shared_ptr<const config::Config> config);

 private:
  // What a candidate must still pass after customer and destination matched.
  struct Residual {
    bool trivial = true;
    std::vector<config::ListenerId> listeners;  // sorted; empty = any
    std::vector<std::string> source_prefixes;
    std::optional<config::Regex> source_regex;
    std::vector<std::string> service_types;
    bool any_data_coding = true;
    std::uint64_t data_coding_bits[4] = {0, 0, 0, 0};
    std::uint8_t esm_mask = 0;
    std::uint8_t esm_value = 0;
  };
  struct MoResidual {
    std::vector<config::UpstreamId> upstreams;  // sorted; empty = any
    std::vector<std::string> source_prefixes;
  };
  static constexpr PrefixTrie::Value kExactBit = 0x80000000u;

  bool residualPasses(const Residual& r, const MtKey& k, std::string_view source) const;
  Number normaliseDestination(const MtKey& k) const;
  Number normaliseSource(std::string_view addr, std::uint8_t ton, std::uint8_t npi,
                         const config::CountryNumbering* country) const;
  void finishDecision(MtDecision& d, const MtKey& k, std::uint32_t rule) const;
  const config::CountryNumbering* customerCountry(config::CustomerId id) const;

  std::shared_ptr<const config::Config> config_;
  NumberNormaliser numbering_;
  PrefixTrie trie_;
  PrefixTrie::Root globalRoot_ = 0;
  std::vector<std::int32_t> customerRoots_;  // trie root, or -1: no customer-specific rules
  std::vector<const config::CountryNumbering*> customerCountries_;
  std::vector<Residual> residuals_;            // per route
  std::vector<std::uint8_t> trivialResidual_;  // per route: nothing to check (hot, compact)
  PrefixTrie::Root moRoot_ = 0;
  std::vector<MoResidual> moResiduals_;
};

}  // namespace smppgw::routing
