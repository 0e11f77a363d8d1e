#pragma once
// Every metric family smppgw exports, in ONE table (twemproxy nc_stats.h, Envoy ALL_*_STATS):
// name, kind, label names, histogram buckets and help. The registry, the naming checks, the
// tests and docs/metrics.md all follow this list; add a family here and nowhere else.
//
// Naming (prometheus.io/docs/practices/naming): `smppgw_` prefix, snake_case, base units,
// counters end in `_total`, histograms in `_seconds`, info gauges in `_info`, timestamps in
// `_timestamp_seconds`. Labels come only from small sets bounded by the configuration or the
// protocol (kAllowedLabels) — never a phone number, message id, sequence number or a system_id
// the configuration does not know. familyProblem() enforces this at compile time.
//
// Label values are passed positionally, in the order declared here. An empty value means "not
// applicable" (e.g. `upstream` on a side="customer" series) and is left out of the exposition,
// as Prometheus treats an empty label as absent.
//
// The store families with "durable" in their help move only with store.type: embedded; with the
// memory store they stay 0 (the backlog: the memory store has none).

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "metrics/primitives.h"

namespace smppgw::metrics {

enum class Kind : uint8_t { Counter, Gauge, Histogram, Info };

inline constexpr size_t kMaxLabels = 6;

struct LabelNames {
  std::array<std::string_view, kMaxLabels> names{};
  size_t size = 0;
  constexpr std::span<const std::string_view> view() const { return {names.data(), size}; }
};

template <typename... T>
constexpr LabelNames labels(T... names) {
  static_assert(sizeof...(T) <= kMaxLabels, "raise kMaxLabels");
  return LabelNames{{std::string_view(names)...}, sizeof...(T)};
}

struct Buckets {
  std::array<double, kMaxBuckets> bounds{};
  size_t size = 0;
  constexpr std::span<const double> view() const { return {bounds.data(), size}; }
};

template <typename... T>
constexpr Buckets buckets(T... bounds) {
  static_assert(sizeof...(T) <= kMaxBuckets, "raise kMaxBuckets");
  return Buckets{{static_cast<double>(bounds)...}, sizeof...(T)};
}

// Event loop iterations: a few µs idle-to-idle; milliseconds are bursts; more is a stall.
inline constexpr Buckets kIterationBuckets =
    buckets(0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1);

// Latencies: from a refusal the gateway answers itself (~100 µs) to a request that runs into a
// carrier timeout (tens of seconds).
inline constexpr Buckets kLatencyBuckets =
    buckets(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
            2.5, 5, 10, 30, 60);

// COUNTER(Id, name, labels, help) / GAUGE(...) / INFO(...) / HISTOGRAM(Id, name, labels, buckets,
// help). The order here is the order of the exposition and of docs/metrics.md.
// clang-format off
#define SMPPGW_METRIC_FAMILIES(COUNTER, GAUGE, HISTOGRAM, INFO)                                    \
  /* ---- traffic, by side (customer | upstream), peer and command ---- */                         \
  COUNTER(PdusReceived, "smppgw_pdus_received_total",                                             \
          labels("side", "customer", "upstream", "command"),                                      \
          "SMPP PDUs read from a peer: side=customer (an ESME bound to smppgw; customer=its "     \
          "system_id) or side=upstream (a carrier MC; upstream=its configured name).")            \
  COUNTER(PdusSent, "smppgw_pdus_sent_total",                                                     \
          labels("side", "customer", "upstream", "command"),                                      \
          "SMPP PDUs written to a peer, by side, peer and command.")                              \
  COUNTER(Responses, "smppgw_responses_total",                                                    \
          labels("side", "customer", "upstream", "command", "status"),                            \
          "Responses by command_status: side=customer counts responses sent to customers, "      \
          "side=upstream responses received from carriers.")                                     \
  COUNTER(DecodeErrors, "smppgw_decode_errors_total", labels("side", "customer", "upstream"),     \
          "PDUs that could not be decoded (answered generic_nack or the matching _resp).")        \
  COUNTER(InternalErrors, "smppgw_internal_errors_total", labels("reason"),                       \
          "Impossible states met (a bug; debug builds stop on them): reason=customer_session_state|" \
          "upstream_bind_state. Should stay 0.")                                                   \
  /* ---- customer sessions ---- */                                                               \
  COUNTER(Connections, "smppgw_connections_total", labels("listener", "result"),                  \
          "TCP connections on a listener: result=accepted|refused (over max_connections).")       \
  COUNTER(ConnectionsRefused, "smppgw_connections_refused_total", labels("listener", "reason"),   \
          "Connections closed at once, by reason: max_connections (listener or limits), "         \
          "per_source (limits.max_connections_per_source), blocked (auth.block), "                 \
          "no_descriptors (out of file descriptors), failed, shutting_down.")                    \
  COUNTER(AuthBlocks, "smppgw_auth_blocks_total", labels(),                                       \
          "Source addresses blocked for auth.block after auth.max_failures failed binds.")        \
  GAUGE(AuthBlockedSources, "smppgw_auth_blocked_sources", labels(),                              \
        "Source addresses blocked right now.")                                                    \
  COUNTER(PasswordChecksDone, "smppgw_password_checks_total", labels("result"),                  \
          "Password checks (PBKDF2) done: result=ok|failed. Binds with the same account and "      \
          "password while one is checked share its check.")                                         \
  GAUGE(PasswordChecks, "smppgw_password_checks", labels("state"),                                \
        "Password checks (PBKDF2) waiting for their turn (state=waiting) or running "             \
        "(state=running, at most auth.check_concurrency).")                                       \
  COUNTER(ProxyHeaderFailures, "smppgw_proxy_header_failures_total", labels("listener", "reason"), \
          "Connections closed on a proxy_protocol listener for their PROXY header: "             \
          "reason=not_proxy|invalid|timeout|closed.")                                            \
  COUNTER(CustomerBindAttempts, "smppgw_customer_bind_attempts_total",                            \
          labels("listener", "customer", "bind_type", "result"),                                  \
          "Customer bind requests: result=ok|failed (the reason is counted in "                   \
          "smppgw_refusals_total). customer is empty for a system_id the config does not know.")   \
  GAUGE(Sessions, "smppgw_sessions", labels("listener", "customer", "state", "bind_type"),        \
        "Customer sessions by state (open = connected, not bound yet; bound; unbinding) and "     \
        "bind type.")                                                                             \
  COUNTER(Refusals, "smppgw_refusals_total", labels("customer", "reason"),                        \
          "Requests and binds refused by the gateway itself, by reason (rate, window, "          \
          "queue_full, queue_timeout, policy, auth, auth_blocked, auth_busy, no_route, "         \
          "no_upstream, state, shutdown). customer is empty for an unknown system_id.")    \
  GAUGE(Inflight, "smppgw_inflight_requests", labels("side", "customer", "upstream"),             \
        "Requests sent and not answered yet, per peer (summed over its sessions or binds).")      \
  GAUGE(InflightLimit, "smppgw_inflight_limit", labels("side", "customer", "upstream"),           \
        "Configured window per peer (summed over its sessions or binds).")                        \
  HISTOGRAM(SubmitLatency, "smppgw_submit_latency_seconds", labels("customer"),                   \
            kLatencyBuckets,                                                                      \
            "Time from a customer's submit_sm read to its submit_sm_resp queued for writing.")    \
  /* ---- upstream binds and queues ---- */                                                       \
  GAUGE(UpstreamBinds, "smppgw_upstream_binds", labels("upstream", "state"),                      \
        "Carrier binds by state (down, connecting, binding, bound, unbinding); the states of an " \
        "upstream sum to its configured binds.")                                                  \
  COUNTER(UpstreamBindAttempts, "smppgw_upstream_bind_attempts_total",                            \
          labels("upstream", "result"), "Binds smppgw attempted to a carrier: result=ok|failed.") \
  COUNTER(UpstreamThrottlePauses, "smppgw_upstream_throttle_pauses_total", labels("upstream"),    \
          "Carrier answers ESME_RTHROTTLED that paused a bind (upstreams[].throttle_pause).")      \
  COUNTER(UpstreamWindowShrinks, "smppgw_upstream_window_shrinks_total", labels("upstream"),      \
          "Effective windows halved (ESME_RMSGQFUL or a response timeout).")                      \
  GAUGE(UpstreamEffectiveWindow, "smppgw_upstream_effective_window", labels("upstream"),          \
        "Requests the bound binds may have outstanding now, summed: the configured window "       \
        "after pushback (halved on ESME_RMSGQFUL or timeouts, +1 per window of successes).")      \
  GAUGE(UpstreamPausedBinds, "smppgw_upstream_paused_binds", labels("upstream"),                  \
        "Bound binds paused by a carrier's ESME_RTHROTTLED right now.")                           \
  COUNTER(Retries, "smppgw_retries_total", labels("upstream", "status"),                          \
          "Messages sent to another attempt (groups[].max_attempts) after this upstream "          \
          "answered status (one of the group's retry_statuses), or status=unsent: it waited in "  \
          "this upstream's queue and the upstream lost every bind.")                              \
  COUNTER(UpstreamConnectionLosses, "smppgw_upstream_connection_losses_total",                    \
          labels("upstream"), "Bound carrier connections that closed or failed.")                 \
  GAUGE(GroupMembersBound, "smppgw_group_members_bound", labels("group"),                         \
        "Members of a routing group with at least one bound bind (0 = the group refuses "        \
        "traffic with no_upstream).")                                                             \
  GAUGE(QueueDepth, "smppgw_queue_depth", labels("upstream"),                                     \
        "Requests waiting in an upstream's queue for a bind with room in its window.")            \
  GAUGE(QueueCapacity, "smppgw_queue_capacity", labels("group"),                                  \
        "limits.max_queue_per_group: requests a group may have waiting over all its members.")   \
  GAUGE(GroupQueueDepth, "smppgw_group_queue_depth", labels("group"),                             \
        "Requests routed by a group waiting in its members' queues (at capacity: queue_full).")  \
  HISTOGRAM(QueueWait, "smppgw_queue_wait_seconds", labels("upstream"), kLatencyBuckets,          \
            "Time a request waited in an upstream's queue before it was sent or expired.")        \
  HISTOGRAM(UpstreamRoundTrip, "smppgw_upstream_round_trip_seconds", labels("upstream"),          \
            kLatencyBuckets, "Time from a request written to a carrier to its response read.")    \
  COUNTER(UpstreamTimeouts, "smppgw_upstream_timeouts_total", labels("upstream"),                 \
          "Requests a carrier did not answer within request_timeout (ESME_RSYSERR to the "       \
          "customer).")                                                                           \
  COUNTER(UpstreamRequestsLost, "smppgw_upstream_requests_lost_total", labels("upstream"),        \
          "Requests in flight on a carrier bind that died (ESME_RSYSERR to the customer).")       \
  COUNTER(UpstreamLateResponses, "smppgw_upstream_late_responses_total", labels("upstream"),      \
          "Carrier responses that arrived after their request had timed out.")                    \
  COUNTER(OrphanResponses, "smppgw_orphan_responses_total", labels("upstream"),                   \
          "Carrier responses whose customer session had gone; dropped.")                          \
  /* ---- receipts, deliveries to customers, MO ---- */                                           \
  COUNTER(Receipts, "smppgw_receipts_total", labels("upstream", "customer", "result"),            \
          "Delivery receipts from carriers: result=matched|unmatched|held|suppressed|expired.")   \
  GAUGE(ReceiptsHeld, "smppgw_receipts_held", labels("upstream"),                                 \
        "Receipts held (unacknowledged) because they overtook their submit_sm_resp.")             \
  COUNTER(Deliveries, "smppgw_deliveries_total", labels("customer", "result"),                    \
          "deliver_sm to customers (receipts and MO): result=sent|acked|failed|deferred|queued|"  \
          "stored|redelivered|expired.")                                                          \
  GAUGE(DeliveriesPending, "smppgw_deliveries_pending", labels("customer"),                       \
        "deliver_sm waiting for a receiver of the customer (embedded store: in its outbox).")     \
  GAUGE(DeliveriesHeld, "smppgw_deliveries_held", labels("customer"),                             \
        "deliver_sm of the customer unanswered to the carrier (sent to a receiver, or waiting).") \
  COUNTER(DeliveriesDeferred, "smppgw_deliveries_deferred_total", labels("customer", "reason"),   \
          "Carrier deliveries answered ESME_RX_T_APPN (the carrier retries) by reason: "          \
          "no_receiver|not_reading|share_full|queue_full|timeout|session_closed|shutting_down.")  \
  COUNTER(SessionsNotReading, "smppgw_sessions_not_reading_total", labels("customer"),            \
          "Customer sessions closed because their unread output passed "                         \
          "limits.max_session_output.")                                                           \
  COUNTER(ReceiptsUnmatched, "smppgw_receipts_unmatched_total", labels("upstream", "reason"),     \
          "Receipts no mapping matched, answered routing.receipt_unmatched_status: "              \
          "reason=no_id|not_in_flight|held_expired.")                                             \
  COUNTER(MoMessages, "smppgw_mo_messages_total", labels("upstream", "customer", "result"),       \
          "Mobile-originated messages from carriers: result=routed|unroutable.")                  \
  /* ---- message id store ---- */                                                                \
  GAUGE(StoreMappings, "smppgw_store_mappings", labels(),                                         \
        "Message id mappings held (gateway id <-> carrier id) for receipt matching.")             \
  GAUGE(StoreMappingBytes, "smppgw_store_mapping_bytes", labels(),                                \
        "Memory held by the message id mappings (log chunks and indexes).")                       \
  COUNTER(StoreMappingsRemoved, "smppgw_store_mappings_removed_total", labels("reason"),          \
          "Mappings removed: reason=expired (mapping_ttl) or evicted (max_mappings reached).")    \
  GAUGE(StoreBacklog, "smppgw_store_backlog", labels(),                                           \
        "Durable-store writes queued and not yet written (0 with the memory store).")             \
  COUNTER(StoreWrites, "smppgw_store_writes_total", labels("result"),                             \
          "Durable-store writes: result=ok|failed (the batch was refused: disk full, I/O error).") \
  GAUGE(StoreWritable, "smppgw_store_writable", labels(),                                         \
        "1 while the durable store takes writes, 0 while it refuses them (submits refused).")     \
  COUNTER(StoreBatches, "smppgw_store_batches_total", labels(),                                   \
          "Durable-store batches written (group commits).")                                       \
  COUNTER(StoreWrittenBytes, "smppgw_store_written_bytes_total", labels(),                        \
          "Bytes of keys and values handed to the durable store.")                                \
  GAUGE(StoreDiskBytes, "smppgw_store_disk_bytes", labels(),                                      \
        "Bytes the durable store's directory holds.")                                             \
  COUNTER(StoreLookups, "smppgw_store_lookups_total", labels("result"),                           \
          "Mappings looked up in the durable store (not in memory): result=found|missing.")        \
  COUNTER(StoreIndex, "smppgw_store_index_total", labels("result"),                               \
          "Carrier-id index entries of transparent submits: result=written|skipped (final "       \
          "receipt settled first).")                                                              \
  GAUGE(StoreJournalBytes, "smppgw_store_journal_bytes", labels(),                                \
        "Bytes in the shared-memory journal: writes answered and not yet committed to disk.")    \
  COUNTER(StoreJournalFull, "smppgw_store_journal_full_total", labels(),                          \
          "Batches the journal had no room for: answered after their disk commit instead.")       \
  COUNTER(StoreExpired, "smppgw_store_expired_total", labels("reason"),                           \
          "Records removed from the durable store by age: reason=mapping_ttl|delivery_ttl.")      \
  COUNTER(ForwardMessages, "smppgw_forward_messages_total", labels("group", "result"),           \
          "store_and_forward messages by group: result=accepted|sent|delivered|retried|rejected|" \
          "expired.")                                                                             \
  GAUGE(ForwardQueued, "smppgw_forward_queued", labels("group"),                                  \
        "store_and_forward messages accepted and not yet taken by a carrier, by group.")          \
  GAUGE(ForwardOldest, "smppgw_forward_oldest_seconds", labels("group"),                          \
        "Age of the oldest store_and_forward message waiting in the group's queue.")              \
  /* ---- TLS (side="listener": customers' connections; side="upstream": ours to carriers) ---- */ \
  COUNTER(TlsHandshakes, "smppgw_tls_handshakes_total",                                           \
          labels("side", "listener", "upstream", "result"),                                       \
          "TLS handshakes by side and result=ok|failed.")                                         \
  COUNTER(TlsHandshakeFailures, "smppgw_tls_handshake_failures_total",                            \
          labels("side", "listener", "upstream", "reason"),                                       \
          "Failed TLS handshakes by reason: unknown_ca|expired|hostname_mismatch|"               \
          "no_client_certificate|bad_certificate|protocol|timeout|other.")                        \
  GAUGE(TlsCertificateExpiry, "smppgw_tls_certificate_expiry_timestamp_seconds",                  \
        labels("side", "listener", "upstream"),                                                   \
        "notAfter of our certificate in use (listener, or upstream client certificate), Unix "   \
        "time.")                                                                                  \
  GAUGE(TlsVerifyDisabled, "smppgw_tls_verify_disabled", labels("upstream"),                      \
        "1 for an upstream over TLS whose certificate is not verified (tls.verify_peer false).") \
  /* ---- configuration and process ---- */                                                       \
  COUNTER(ConfigReloads, "smppgw_config_reloads_total", labels("result"),                         \
          "Configuration reloads: result=success|failure|unchanged (a failure keeps the old one).")\
  INFO(ConfigInfo, "smppgw_config_info", labels("hash"),                                          \
       "The configuration in force: hash=SHA-256 of its canonical JSON. Always 1.")               \
  GAUGE(ConfigLoadedTimestamp, "smppgw_config_loaded_timestamp_seconds", labels(),                \
        "When the configuration in force was loaded, Unix time.")                                 \
  INFO(BuildInfo, "smppgw_build_info", labels("version"), "smppgw build. Always 1.")             \
  INFO(InstanceInfo, "smppgw_instance_info", labels("name", "instance_id"),                       \
       "This instance: gateway.name and gateway.instance_id. Always 1.")                         \
  GAUGE(StartTimestamp, "smppgw_start_timestamp_seconds", labels(),                               \
        "When the process started, Unix time.")                                                   \
  /* ---- the event loop (benchmark harness: syscalls per round trip) ---- */                     \
  COUNTER(LoopReads, "smppgw_loop_reads_total", labels(),                                         \
          "Socket reads with data (one read(2) each).")                                           \
  COUNTER(LoopWrites, "smppgw_loop_writes_total", labels(),                                       \
          "Socket writes (uv_try_write / uv_write; one write(2) each).")                          \
  COUNTER(LoopIterations, "smppgw_loop_iterations_total", labels(),                               \
          "Event loop wake-ups (one epoll_wait each).")                                           \
  COUNTER(LoopReceivedBytes, "smppgw_loop_received_bytes_total", labels(),                        \
          "Bytes read from all sockets.")                                                         \
  COUNTER(LoopSentBytes, "smppgw_loop_sent_bytes_total", labels(), "Bytes written to all sockets.") \
  HISTOGRAM(LoopIteration, "smppgw_loop_iteration_seconds", labels(), kIterationBuckets,          \
            "Busy time of each loop iteration that did work (first read to end of flush). "       \
            "rate(_sum) is the loop's utilisation (1 = saturated); a long one delays everyone.")
// clang-format on

#define SMPPGW_METRICS_ID_(id, ...) id,
#define SMPPGW_METRICS_SKIP_(...)
#define SMPPGW_METRICS_ONE_(...) +1
#define SMPPGW_METRICS_TYPED_(id, ...) id = static_cast<uint16_t>(FamilyId::id),

// Every family, in table order (the index into kFamilies).
enum class FamilyId : uint16_t {
  SMPPGW_METRIC_FAMILIES(SMPPGW_METRICS_ID_, SMPPGW_METRICS_ID_, SMPPGW_METRICS_ID_,
                         SMPPGW_METRICS_ID_)
};

inline constexpr size_t kFamilyCount = 0 SMPPGW_METRIC_FAMILIES(
    SMPPGW_METRICS_ONE_, SMPPGW_METRICS_ONE_, SMPPGW_METRICS_ONE_, SMPPGW_METRICS_ONE_);

// One enum per kind, so asking a gauge family for a counter does not compile. Each value equals
// its FamilyId.
enum class CounterFamily : uint16_t {
  SMPPGW_METRIC_FAMILIES(SMPPGW_METRICS_TYPED_, SMPPGW_METRICS_SKIP_, SMPPGW_METRICS_SKIP_,
                         SMPPGW_METRICS_SKIP_)
};
enum class GaugeFamily : uint16_t {
  SMPPGW_METRIC_FAMILIES(SMPPGW_METRICS_SKIP_, SMPPGW_METRICS_TYPED_, SMPPGW_METRICS_SKIP_,
                         SMPPGW_METRICS_SKIP_)
};
enum class HistogramFamily : uint16_t {
  SMPPGW_METRIC_FAMILIES(SMPPGW_METRICS_SKIP_, SMPPGW_METRICS_SKIP_, SMPPGW_METRICS_TYPED_,
                         SMPPGW_METRICS_SKIP_)
};
enum class InfoFamily : uint16_t {
  SMPPGW_METRIC_FAMILIES(SMPPGW_METRICS_SKIP_, SMPPGW_METRICS_SKIP_, SMPPGW_METRICS_SKIP_,
                         SMPPGW_METRICS_TYPED_)
};

struct FamilyDef {
  FamilyId id;
  Kind kind;
  std::string_view name;
  LabelNames labels;
  Buckets buckets;  // histograms only
  std::string_view help;
};

#define SMPPGW_METRICS_C_(id, name, lbl, help) \
  FamilyDef{FamilyId::id, Kind::Counter, name, lbl, Buckets{}, help},
#define SMPPGW_METRICS_G_(id, name, lbl, help) \
  FamilyDef{FamilyId::id, Kind::Gauge, name, lbl, Buckets{}, help},
#define SMPPGW_METRICS_H_(id, name, lbl, bkt, help) \
  FamilyDef{FamilyId::id, Kind::Histogram, name, lbl, bkt, help},
#define SMPPGW_METRICS_I_(id, name, lbl, help) \
  FamilyDef{FamilyId::id, Kind::Info, name, lbl, Buckets{}, help},

inline constexpr std::array<FamilyDef, kFamilyCount> kFamilies = {{SMPPGW_METRIC_FAMILIES(
    SMPPGW_METRICS_C_, SMPPGW_METRICS_G_, SMPPGW_METRICS_H_, SMPPGW_METRICS_I_)}};

#undef SMPPGW_METRICS_ID_
#undef SMPPGW_METRICS_SKIP_
#undef SMPPGW_METRICS_ONE_
#undef SMPPGW_METRICS_TYPED_
#undef SMPPGW_METRICS_C_
#undef SMPPGW_METRICS_G_
#undef SMPPGW_METRICS_H_
#undef SMPPGW_METRICS_I_

constexpr const FamilyDef& family(FamilyId id) {
  return kFamilies[static_cast<size_t>(id)];
}
constexpr const FamilyDef& family(CounterFamily f) {
  return kFamilies[static_cast<size_t>(f)];
}
constexpr const FamilyDef& family(GaugeFamily f) {
  return kFamilies[static_cast<size_t>(f)];
}
constexpr const FamilyDef& family(HistogramFamily f) {
  return kFamilies[static_cast<size_t>(f)];
}
constexpr const FamilyDef& family(InfoFamily f) {
  return kFamilies[static_cast<size_t>(f)];
}

// The only label names a family may use: each has a set of values bounded by the configuration
// (customer, upstream, group, listener) or by the protocol and this file (the rest).
inline constexpr std::array<std::string_view, 11> kAllowedLabels = {
    "customer", "upstream", "group", "listener",  "command", "status",
    "reason",   "side",     "state", "bind_type", "result"};
// Info families (exactly one series, value 1) may also describe the build, the config or the
// instance (gateway.name, gateway.instance_id).
inline constexpr std::array<std::string_view, 4> kInfoLabels = {"version", "hash", "name",
                                                                "instance_id"};

// ---- Label values with a fixed set: use these, so dashboards and alerts can rely on them ----

enum class Side : uint8_t { Customer, Upstream };
inline constexpr std::array<std::string_view, 2> kSideLabels = {"customer", "upstream"};

enum class RefusalReason : uint8_t {
  Rate,          // rate_limit.per_second exceeded
  Window,        // more requests outstanding than the customer's window
  QueueFull,     // the upstream's queue is full
  QueueTimeout,  // waited a whole timers.response in the queue
  Policy,        // sender, bind type, network or listener not allowed; disabled; max_binds
  Auth,          // unknown system_id or wrong password
  AuthBlocked,   // a bind from a source address blocked for failed binds
  AuthBusy,      // password checks over auth.max_pending_checks(_per_source)
  NoRoute,       // no route matched
  NoUpstream,    // no member of the routed group is bound
  State,         // request not allowed in this session state or bind type
  Shutdown,      // the gateway is shutting down
  Store,         // the durable store refuses writes (disk full, I/O error)
};
inline constexpr std::array<std::string_view, 13> kRefusalReasonLabels = {
    "rate",      "window",   "queue_full",  "queue_timeout", "policy",   "auth", "auth_blocked",
    "auth_busy", "no_route", "no_upstream", "state",         "shutdown", "store"};

enum class ReceiptResult : uint8_t { Matched, Unmatched, Held, Suppressed, Expired };
inline constexpr std::array<std::string_view, 5> kReceiptResultLabels = {
    "matched", "unmatched", "held", "suppressed", "expired"};

enum class DeliveryResult : uint8_t {
  Sent,
  Acked,
  Failed,
  Deferred,
  Queued,
  Stored,
  Redelivered,
  Expired
};
inline constexpr std::array<std::string_view, 8> kDeliveryResultLabels = {
    "sent", "acked", "failed", "deferred", "queued", "stored", "redelivered", "expired"};

enum class DeferReason : uint8_t {
  NoReceiver,
  NotReading,
  ShareFull,
  QueueFull,
  Timeout,
  SessionClosed,
  ShuttingDown
};
inline constexpr std::array<std::string_view, 7> kDeferReasonLabels = {
    "no_receiver", "not_reading",    "share_full",   "queue_full",
    "timeout",     "session_closed", "shutting_down"};

enum class UnmatchedReason : uint8_t { NoId, NotInFlight, HeldExpired };
inline constexpr std::array<std::string_view, 3> kUnmatchedReasonLabels = {"no_id", "not_in_flight",
                                                                           "held_expired"};

enum class MoResult : uint8_t { Routed, Unroutable };
inline constexpr std::array<std::string_view, 2> kMoResultLabels = {"routed", "unroutable"};

enum class SessionState : uint8_t { Open, Bound, Unbinding };
inline constexpr std::array<std::string_view, 3> kSessionStateLabels = {"open", "bound",
                                                                        "unbinding"};

enum class UpstreamBindState : uint8_t { Down, Connecting, Binding, Bound, Unbinding };
inline constexpr std::array<std::string_view, 5> kUpstreamBindStateLabels = {
    "down", "connecting", "binding", "bound", "unbinding"};

enum class BindType : uint8_t { Transmitter, Receiver, Transceiver };
inline constexpr std::array<std::string_view, 3> kBindTypeLabels = {"transmitter", "receiver",
                                                                    "transceiver"};

constexpr std::string_view label(Side v) {
  return kSideLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(RefusalReason v) {
  return kRefusalReasonLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(ReceiptResult v) {
  return kReceiptResultLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(DeliveryResult v) {
  return kDeliveryResultLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(DeferReason v) {
  return kDeferReasonLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(UnmatchedReason v) {
  return kUnmatchedReasonLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(MoResult v) {
  return kMoResultLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(SessionState v) {
  return kSessionStateLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(UpstreamBindState v) {
  return kUpstreamBindStateLabels[static_cast<size_t>(v)];
}
constexpr std::string_view label(BindType v) {
  return kBindTypeLabels[static_cast<size_t>(v)];
}

// ---- Naming rules, checked at compile time below and reported in detail by the tests ----

namespace detail {
constexpr bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
constexpr bool isSnakeCase(std::string_view s) {
  if (s.empty() || !(s.front() >= 'a' && s.front() <= 'z') || s.back() == '_') {
    return false;
  }
  char prev = 0;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok || (c == '_' && prev == '_')) {
      return false;
    }
    prev = c;
  }
  return true;
}
template <size_t N>
constexpr bool contains(const std::array<std::string_view, N>& set, std::string_view s) {
  for (auto v : set) {
    if (v == s) {
      return true;
    }
  }
  return false;
}
}  // namespace detail

// Empty when `def` follows the rules, else what is wrong.
constexpr std::string_view familyProblem(const FamilyDef& def) {
  using detail::endsWith;
  if (def.name.substr(0, 7) != "smppgw_") {
    return "name must start with smppgw_";
  }
  if (!detail::isSnakeCase(def.name)) {
    return "name must be snake_case";
  }
  const bool total = endsWith(def.name, "_total");
  switch (def.kind) {
    case Kind::Counter:
      if (!total) {
        return "a counter's name must end in _total";
      }
      break;
    case Kind::Histogram:
      if (!endsWith(def.name, "_seconds")) {
        return "a histogram's name must end in _seconds";
      }
      if (def.buckets.size == 0) {
        return "a histogram needs buckets";
      }
      for (size_t i = 1; i < def.buckets.size; ++i) {
        if (!(def.buckets.bounds[i - 1] < def.buckets.bounds[i])) {
          return "histogram buckets must be strictly ascending";
        }
      }
      break;
    case Kind::Gauge:
      if (total) {
        return "only counters end in _total";
      }
      if (endsWith(def.name, "_info")) {
        return "_info is for info families";
      }
      break;
    case Kind::Info:
      if (!endsWith(def.name, "_info")) {
        return "an info family's name must end in _info";
      }
      break;
  }
  if (def.kind != Kind::Histogram && def.buckets.size != 0) {
    return "only histograms have buckets";
  }
  for (size_t i = 0; i < def.labels.size; ++i) {
    const std::string_view l = def.labels.names[i];
    if (!detail::contains(kAllowedLabels, l) &&
        !(def.kind == Kind::Info && detail::contains(kInfoLabels, l))) {
      return "label name not in the allowed set";
    }
    if (l == "le" || l == "quantile") {
      return "label name reserved by Prometheus";
    }
    for (size_t j = 0; j < i; ++j) {
      if (def.labels.names[j] == l) {
        return "label name repeated";
      }
    }
  }
  if (def.help.empty()) {
    return "help text missing";
  }
  for (char c : def.help) {
    if (c == '\n' || c == '\\') {
      return "help text must be one line without backslashes";  // exposition escaping
    }
  }
  return {};
}

constexpr bool allFamiliesValid() {
  for (size_t i = 0; i < kFamilies.size(); ++i) {
    if (static_cast<size_t>(kFamilies[i].id) != i || !familyProblem(kFamilies[i]).empty()) {
      return false;
    }
    for (size_t j = 0; j < i; ++j) {
      if (kFamilies[j].name == kFamilies[i].name) {
        return false;
      }
    }
  }
  return true;
}
static_assert(allFamiliesValid(), "a metric family breaks the naming rules (run metrics_tests)");

}  // namespace smppgw::metrics
