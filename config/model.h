#pragma once
// The typed gateway configuration: plain structs, every field defaulted.
//
// Produced by config/load.h (JSON -> validated Config); consumed read-only through
// std::shared_ptr<const Config>. Cross references (route -> group, group -> upstream, ...) are
// resolved at load time to small integer ids: indices into the vectors below, so the gateway can
// keep per-entity state in flat arrays. The names are kept too, for logs, metrics and the CLI.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smppgw::config {

using Duration = std::chrono::milliseconds;

using ListenerId = std::uint32_t;
using CustomerId = std::uint32_t;
using UpstreamId = std::uint32_t;
using GroupId = std::uint32_t;
inline constexpr std::uint32_t kNoId = 0xFFFFFFFFu;  // "none" for any of the ids above

enum class BindType : std::uint8_t { Transmitter, Receiver, Transceiver };
enum class AckMode : std::uint8_t {
  Transparent,      // submit_sm_resp waits for the carrier; carrier errors pass through
  StoreAndForward,  // answered once durably queued; carrier rejection comes back as a receipt
};
enum class ReceiptPolicy : std::uint8_t {
  AsRequested,  // forward receipts when registered_delivery asked for them (the SMPP default)
  Always,       // request and forward receipts for every message
  Never,        // never forward receipts to this customer
};
enum class MessageIdFormat : std::uint8_t { Hex, Decimal };
enum class BindMode : std::uint8_t { Transceiver, TransmitterReceiver };
enum class GroupStrategy : std::uint8_t { Failover, RoundRobin, Weighted, LeastOutstanding };
enum class IdBase : std::uint8_t { AsIs, Hex, Decimal };
enum class IdCase : std::uint8_t { Preserve, Lower, Upper };
enum class DestinationFormat : std::uint8_t {
  AsIs,               // send the destination as the customer gave it
  International,      // normalised E.164 digits, TON 1 / NPI 1
  PlusInternational,  // "+" followed by the E.164 digits, TON 1 / NPI 1
};
enum class StoreType : std::uint8_t { Memory, Embedded, Redis };
enum class LogLevel : std::uint8_t { Trace, Debug, Info, Warn, Error };
enum class LogFormat : std::uint8_t { Text, Json };

// Config spelling of each enum value ("least_outstanding", "store_and_forward", ...).
std::string_view enumName(BindType v);
std::string_view enumName(AckMode v);
std::string_view enumName(ReceiptPolicy v);
std::string_view enumName(MessageIdFormat v);
std::string_view enumName(BindMode v);
std::string_view enumName(GroupStrategy v);
std::string_view enumName(IdBase v);
std::string_view enumName(IdCase v);
std::string_view enumName(DestinationFormat v);
std::string_view enumName(StoreType v);
std::string_view enumName(LogLevel v);
std::string_view enumName(LogFormat v);

// An IPv4 or IPv6 network. IPv4 is kept as 4 bytes + v6=false; "10.0.0.1" parses as /32.
struct Cidr {
  std::array<std::uint8_t, 16> address{};  // network address, host bits cleared
  std::uint8_t prefix_length = 0;
  bool v6 = false;

  // nullopt + reason on error; sets *hostBitsSet when the input had bits below the prefix.
  static std::optional<Cidr> parse(std::string_view text, std::string* reason = nullptr,
                                   bool* hostBitsSet = nullptr);
  // Textual IP (v4, v6, or v4-mapped v6 "::ffff:1.2.3.4", which matches v4 networks).
  bool contains(std::string_view ip) const;
  bool containsBytes(const std::uint8_t* ip, bool ipIsV6) const;
  std::string toString() const;
};

// Parses a textual IP address into 16 bytes (v4 uses the first 4); false if invalid.
bool parseIp(std::string_view text, std::array<std::uint8_t, 16>& out, bool& v6);

// One entry of allowed_source_addresses: exact text, or a glob with '*' and '?'.
struct SourcePattern {
  std::string pattern;
  bool glob = false;
  bool matches(std::string_view source) const;
};

struct Tls {
  bool enabled = false;
  std::string certificate;  // PEM file; listener: required; upstream: optional client cert
  std::string private_key;  // PEM file, with certificate
  std::string ca;           // PEM bundle: listener = client CAs, upstream = server CAs
  bool verify_peer = true;  // upstream: verify the MC's certificate
  bool require_client_certificate = false;  // listener only
  std::string server_name;                  // upstream SNI/verification name; default = host
  std::string min_version = "1.2";          // "1.2" or "1.3"
  std::string ciphers;                      // OpenSSL cipher list; empty = library default
  std::string ciphersuites;                 // TLS 1.3 ciphersuites; empty = library default
};

struct Listener {
  std::string name;
  std::string address = "0.0.0.0";
  std::uint16_t port = 2775;
  Tls tls;
  std::uint32_t max_connections = 1000;
  bool proxy_protocol = false;  // a PROXY protocol v1/v2 header precedes TLS and SMPP
  // Who may bind here. all_customers when neither list was given.
  std::vector<std::string> customers;
  std::vector<std::string> customer_tags;
  bool all_customers = true;
  std::vector<CustomerId> allowed_customer_ids;  // resolved, sorted; used when !all_customers

  bool admits(CustomerId id) const;
};

// What one unit of rate_limit.per_second is.
enum class RateCount : std::uint8_t {
  Pdus,      // every submission PDU
  Messages,  // a concatenated message once (each of its N parts costs 1/N)
  Segments,  // every SMS segment: a part is one, a message_payload as many as it splits into
};

struct RateLimit {
  std::uint32_t per_second = 0;  // 0 = unlimited
  std::uint32_t burst = 0;       // token bucket depth; defaults to per_second
  RateCount count = RateCount::Pdus;
  Duration max_wait{0};  // shaping: hold a request up to this long for its token (0: refuse)
  std::uint32_t per_sender = 0;  // the same limit per source_addr too (0: none)
};

// What a route (or a customer's default_route) does with a message.
struct Action {
  enum class Kind : std::uint8_t { Group, Reject };
  Kind kind = Kind::Reject;
  GroupId group = kNoId;
  std::string group_name;
  std::uint32_t status = 0x0000000B;  // command_status for Reject (ESME_RINVDSTADR by default)
};

struct Customer {
  std::string system_id;
  std::string description;
  bool enabled = true;
  // Stored credential: a "pbkdf2-sha256$..." hash, or plain text when password_plain (tests only,
  // needs gateway.allow_plain_passwords). Check with config::verifyCustomerPassword().
  std::string password;
  bool password_plain = false;
  std::vector<std::string> tags;
  // Non-empty: binds only over TLS with a verified client certificate carrying one of these
  // names (subject CN, DNS or email subjectAltName).
  std::vector<std::string> certificate_names;
  std::uint8_t bind_types = 0b111;  // bit per BindType
  std::uint32_t max_binds = 4;
  std::vector<Cidr> source_networks;  // empty = any address
  RateLimit rate_limit;
  std::uint32_t weight = 1;   // share of a congested carrier (requests per turn in its queues)
  std::uint32_t window = 10;  // max outstanding requests per bind
  std::vector<SourcePattern> allowed_sources;  // empty = any sender
  std::optional<Action> default_route;         // used when no route matches
  std::string country_code;                    // home country for national numbers
  MessageIdFormat message_id_format = MessageIdFormat::Hex;
  std::uint32_t message_id_length = 16;
  ReceiptPolicy receipts = ReceiptPolicy::AsRequested;
  std::optional<AckMode> ack_mode;  // unset: routing.ack_mode

  bool allowsBind(BindType t) const { return (bind_types >> static_cast<int>(t)) & 1u; }
  bool canReceive() const {
    return allowsBind(BindType::Receiver) || allowsBind(BindType::Transceiver);
  }
  bool hasTag(std::string_view tag) const;
  bool sourceAllowed(std::string_view source) const;
  bool networkAllowed(std::string_view ip) const;
};

struct Reconnect {
  Duration initial{1000};
  Duration max{60000};
  double multiplier = 2.0;
  double jitter = 0.2;  // +- fraction applied to each delay
};

// A carrier's ESME_RTHROTTLED pauses the bind: initial, doubled per further throttle up to max.
struct ThrottlePause {
  Duration initial{200};
  Duration max{10000};
};

// How to make an upstream's submit_sm_resp message ids and its receipt ids comparable.
struct MessageIdNormalisation {
  IdBase response = IdBase::AsIs;  // base of ids in submit_sm_resp
  IdBase receipt = IdBase::AsIs;   // base of ids in receipts (id: text / receipted_message_id)
  bool strip_leading_zeros = false;
  IdCase letter_case = IdCase::Preserve;
};

struct AddressRewrite {
  std::optional<std::uint8_t> source_ton, source_npi, destination_ton, destination_npi;
  std::string source_override;  // replaces every source_addr sent to this upstream
  DestinationFormat destination_format = DestinationFormat::AsIs;
};

struct Upstream {
  std::string name;
  std::string description;
  std::string host;
  std::uint16_t port = 2775;
  Tls tls;
  std::string system_id;
  std::string password;
  std::string system_type;
  std::uint8_t interface_version = 0x34;
  BindMode bind_mode = BindMode::Transceiver;
  std::uint32_t binds = 1;           // transceiver or transmitter binds
  std::uint32_t receiver_binds = 0;  // TransmitterReceiver only
  std::string address_range;         // bind address_range (receiver binds)
  std::uint32_t window = 10;         // per bind
  // Deliveries from one bind that one customer may hold unanswered; 0 = half of window.
  std::uint32_t customer_delivery_share = 0;
  std::uint32_t tps_per_bind = 0;  // 0 = unlimited
  std::uint32_t tps_total = 0;     // 0 = unlimited
  Duration enquire_link_interval{30000};
  Duration request_timeout{30000};
  Duration connect_timeout{10000};
  Reconnect reconnect;
  ThrottlePause throttle_pause;
  MessageIdNormalisation message_id;
  AddressRewrite rewrite;
};

struct GroupMember {
  std::string upstream_name;
  UpstreamId upstream = kNoId;
  std::uint32_t priority = 1;  // lower = preferred (failover tiers)
  std::uint32_t weight = 1;    // share within a tier / in weighted groups; 0 = drained
};

struct Group {
  std::string name;
  GroupStrategy strategy = GroupStrategy::Failover;
  std::vector<GroupMember> members;
  std::uint32_t max_attempts = 1;  // attempts per message, the first included (1 = no retry)
  // Carrier statuses that allow another attempt: ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR.
  std::vector<std::uint32_t> retry_statuses{0x58, 0x14, 0x08};
};

struct EsmClassMatch {
  std::uint8_t mask = 0xFF;
  std::uint8_t value = 0;
};

struct RouteMatch {
  // Who: customers listed OR carrying one of the tags. any_customer when both are empty.
  std::vector<std::string> customers;
  std::vector<std::string> customer_tags;
  bool any_customer = true;
  std::vector<CustomerId> customer_ids;  // resolved union of both lists, sorted, unique
  std::vector<std::string> listeners;
  std::vector<ListenerId> listener_ids;           // empty = any listener
  std::vector<std::string> destination_prefixes;  // E.164 digits; empty = any
  std::vector<std::string> source_prefixes;       // empty = any
  std::string source_regex;                       // ECMAScript, searched; empty = any
  std::vector<std::string> service_types;         // "" matches a NULL service_type; empty = any
  std::vector<std::uint8_t> data_codings;         // empty = any
  std::optional<EsmClassMatch> esm_class;         // (esm_class & mask) == value
};

struct Route {
  std::string name;
  RouteMatch match;
  Action action;
  std::optional<AckMode> ack_mode;  // overrides the customer's
};

struct MoRouteMatch {
  std::vector<std::string> upstreams;
  std::vector<UpstreamId> upstream_ids;           // empty = any
  std::vector<std::string> destination_prefixes;  // empty (and no destinations) = any
  std::vector<std::string> destinations;          // exact destinations (short codes)
  std::vector<std::string> source_prefixes;       // empty = any
};

struct MoRoute {
  std::string name;
  MoRouteMatch match;
  bool reject = false;
  CustomerId customer = kNoId;
  std::string customer_name;
  std::uint32_t status = 0;  // deliver_sm_resp status when reject
};

struct CountryNumbering {
  std::string country_code;     // "44"
  std::string national_prefix;  // "0"; may be empty
};

struct Numbering {
  bool enabled = true;
  std::vector<std::string> international_prefixes{"00"};
  std::string default_country;  // country for national numbers when the customer has none
  std::vector<CountryNumbering> countries;
  bool normalise_source = true;

  const CountryNumbering* country(std::string_view code) const;
};

struct RoutingOptions {
  std::uint32_t unroutable_status = 0x0000000B;     // ESME_RINVDSTADR
  std::uint32_t mo_unroutable_status = 0x00000064;  // ESME_RX_T_APPN: the MC retries
  std::uint32_t queue_full_status = 0x00000014;     // ESME_RMSGQFUL
  std::uint32_t queue_timeout_status = 0x00000058;  // ESME_RTHROTTLED
  std::uint32_t receipt_unmatched_status = 0;       // ESME_ROK: the MC does not retry it forever
  AckMode ack_mode = AckMode::Transparent;
  Duration concat_ttl{600000};
  std::uint32_t concat_max_entries = 100000;
};

struct Timers {
  Duration session_init{10000};      // connect -> bind must complete
  Duration tls_handshake{10000};     // TLS handshake (both sides) must complete
  Duration enquire_link{30000};      // our keepalive probes
  Duration inactivity{300000};       // idle customer session is unbound
  Duration response{30000};          // default request timeout
  Duration delivery_response{5000};  // a customer's answer to a deliver_sm
  Duration unbind{5000};             // wait for unbind_resp
  Duration shutdown_grace{30000};
};

struct Limits {
  std::uint32_t max_pdu_size = 70000;
  std::uint32_t max_connections = 10000;  // over all listeners
  std::uint32_t max_queue_per_group = 10000;
  std::uint32_t max_pending_deliveries_per_customer = 100000;
  std::uint32_t max_session_output = 4 << 20;  // unread bytes before a customer session is closed
  std::uint32_t max_connections_per_source = 100;
};

// Binds under attack (docs/configuration.md#auth).
struct Auth {
  std::uint32_t max_failures = 10;  // per source address within failure_window, then blocked
  Duration failure_window{60000};
  Duration block{300000};
  Duration failure_delay{1000};  // a failed bind's answer waits this long
  std::uint32_t max_attempts_per_connection = 3;
  std::uint32_t max_pending_checks = 1000;
  std::uint32_t max_pending_checks_per_source = 4;
  std::uint32_t check_concurrency = 2;
  bool distinct_statuses = true;
};

struct Store {
  StoreType type = StoreType::Memory;
  std::string path;  // embedded
  std::string url;   // redis: redis://, rediss:// or unix://
  std::string key_prefix = "smppgw:";
  Duration mapping_ttl{72LL * 3600 * 1000};
  std::uint32_t max_mappings = 4'000'000;  // oldest evicted beyond this (~150 B each in memory)
  Duration delivery_ttl{24LL * 3600 * 1000};
  bool sync = false;                 // embedded: fsync every batch
  std::string journal = "/dev/shm";  // embedded: shared-memory journal's directory ("" none)
  std::uint64_t min_free_bytes = 256ull << 20;
  std::uint32_t batch_max = 256;
  Duration batch_delay{0};
};

struct Metrics {
  bool enabled = true;
  std::string address = "127.0.0.1";
  std::uint16_t port = 9775;
  std::string path = "/metrics";
};

struct Log {
  LogLevel level = LogLevel::Info;
  LogFormat format = LogFormat::Text;
  std::string file;  // empty = stderr
};

struct Gateway {
  std::string name = "smppgw";
  std::uint32_t instance_id = 0;     // part of minted message ids; unique per instance
  std::string system_id = "smppgw";  // returned in bind_resp
  bool allow_plain_passwords = false;
};

struct Config {
  std::uint32_t version = 1;
  Gateway gateway;
  std::vector<Listener> listeners;
  std::vector<Customer> customers;
  std::vector<Upstream> upstreams;
  std::vector<Group> groups;
  std::vector<Route> routes;
  std::vector<MoRoute> mo_routes;
  Numbering numbering;
  RoutingOptions routing;
  Timers timers;
  Limits limits;
  Auth auth;
  Store store;
  Metrics metrics;
  Log log;

  std::string origin;        // file name or label given to the loader
  std::string content_hash;  // SHA-256 hex of the canonical JSON: equal hash = same config
  // Values of the restart-only keys (config/keys.h), by concrete path: a reload compares them.
  std::map<std::string, std::string> restart_values;

  // Linear lookups: for binds, reloads and the CLI, not per message.
  std::optional<CustomerId> findCustomer(std::string_view system_id) const;
  std::optional<ListenerId> findListener(std::string_view name) const;
  std::optional<UpstreamId> findUpstream(std::string_view name) const;
  std::optional<GroupId> findGroup(std::string_view name) const;
};

}  // namespace smppgw::config
