#pragma once
// The gateway: listeners and customer sessions on one side, upstream binds on the other, the
// routing table between them, and the id mappings that bring receipts back.
//
//  customer ESME --TCP--> DownstreamSession --submit_sm--> admit (state, window, rate, sender)
//     ^                                                        |
//     |                                                   RoutingTable::route -> group
//     |                                                        |   GroupSelector -> upstream
//     |                                                        v
//     |<-- submit_sm_resp (gateway id) <-- onUpstreamResponse <-- UpstreamBind (seq rewritten)
//     |        mapping stored: gateway id <-> (upstream, carrier id)
//     |<-- deliver_sm receipt (id rewritten) <-- mapping lookup <-- deliver_sm (receipt) from MC
//     |<-- deliver_sm MO                     <-- routeMo        <-- deliver_sm (MO) from MC
//
// Everything runs on one libuv loop; nothing here blocks (password checks go to the thread
// pool). See docs/architecture.md for the rules that keep it fast and keep data safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/flat_map.h"
#include "codec/pdu.h"
#include "codec/receipt.h"
#include "config/model.h"
#include "gateway/downstream.h"
#include "gateway/gw_metrics.h"
#include "gateway/message_id.h"
#include "gateway/token_bucket.h"
#include "gateway/types.h"
#include "gateway/upstream.h"
#include "net/connection.h"
#include "net/loop.h"
#include "routing/concat.h"
#include "routing/group_selector.h"
#include "routing/table.h"
#include "store/mapping_store.h"

namespace smppgw {

struct SubmitFields;  // a submission's routing fields (gateway.cc)

// Statuses the gateway itself answers with (docs/architecture.md lists them).
namespace gwstatus {
constexpr uint32_t kNoUpstream = 0x00000058;       // ESME_RTHROTTLED: no carrier bound; retry
constexpr uint32_t kQueueFull = 0x00000014;        // ESME_RMSGQFUL
constexpr uint32_t kQueueExpired = 0x00000058;     // ESME_RTHROTTLED: waited too long for a bind
constexpr uint32_t kWindowFull = 0x00000058;       // ESME_RTHROTTLED
constexpr uint32_t kRateLimited = 0x00000058;      // ESME_RTHROTTLED
constexpr uint32_t kUpstreamTimeout = 0x00000008;  // ESME_RSYSERR: outcome unknown
constexpr uint32_t kUpstreamLost = 0x00000008;     // ESME_RSYSERR: bind died with it in flight
constexpr uint32_t kShuttingDown = 0x00000058;     // ESME_RTHROTTLED
// deliver_sm_resp to an MC when the customer cannot take the message now: the MC keeps it and
// retries (ESME_RX_T_APPN), so nothing is lost.
constexpr uint32_t kDeliveryLater = 0x00000064;
}  // namespace gwstatus

struct GatewayStats {
  uint64_t sessions_accepted = 0;
  uint64_t sessions_refused = 0;  // over max_connections
  uint64_t binds_ok = 0;
  uint64_t binds_failed = 0;
  uint64_t submits = 0;
  uint64_t submits_ok = 0;
  uint64_t submits_failed = 0;
  uint64_t refused_window = 0;
  uint64_t refused_rate = 0;
  uint64_t refused_route = 0;
  uint64_t refused_sender = 0;
  uint64_t refused_no_upstream = 0;
  uint64_t refused_queue_full = 0;
  uint64_t orphan_responses = 0;  // the customer session had gone
  uint64_t receipts_matched = 0;
  uint64_t receipts_held = 0;  // arrived before their submit_sm_resp
  uint64_t receipts_unmatched = 0;
  uint64_t receipts_suppressed = 0;  // the customer did not ask for them
  uint64_t mo_routed = 0;
  uint64_t mo_unroutable = 0;
  uint64_t deliveries_sent = 0;
  uint64_t deliveries_acked = 0;
  uint64_t deliveries_failed = 0;
  uint64_t deliveries_queued = 0;
  uint64_t deliveries_deferred = 0;  // answered ESME_RX_T_APPN to the MC (will be retried)
  uint64_t decode_errors = 0;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  uint64_t reloads_unchanged = 0;
};

class Gateway {
 public:
  Gateway(net::Loop& loop, std::shared_ptr<const config::Config> config,
          routing::RoutingTablePtr table, metrics::Registry& registry);
  // Readiness (listeners up, every routed group has a bound member), reported on every tick.
  void setReadinessHook(std::function<void(bool ready, const std::string& reason)> hook) {
    readiness_ = std::move(hook);
  }
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Opens the listeners and starts the upstream binds. Returns false (and says why on stderr)
  // if a listener cannot be opened.
  bool start();
  // Graceful shutdown: stop accepting, unbind customers once their requests are answered,
  // unbind upstreams once nothing is in flight; `done` runs when everything is closed.
  void shutdown(std::function<void()> done);
  // Hard stop (second signal).
  void abort();
  // SIGHUP: loads and compiles `path` on the thread pool, then swaps it in on the loop. A file
  // with any error, or a change to what cannot change live (listeners, instance id), leaves the
  // running configuration in force; every error is logged and counted.
  void requestReload(std::string path);
  // Applies an already loaded config (the second half of requestReload; tests call it too).
  bool applyReload(std::shared_ptr<const config::Config> config, routing::RoutingTablePtr table);

  // Password checks and reloads on the thread pool, not yet called back.
  size_t pendingWork() const { return work_.size(); }

  // The port a listener is bound to (tests listen on port 0).
  uint16_t listenerPort(size_t index) const;

  net::Loop& loop() { return loop_; }
  uint64_t now() const { return loop_.nowMs(); }
  const config::Config& cfg() const { return *config_; }
  const routing::RoutingTable& table() const { return *table_; }
  GatewayStats& stats() { return stats_; }
  store::MappingStore& mappings() { return mappings_; }
  std::mt19937& rng() { return rng_; }
  Upstream* upstream(uint32_t id) {
    return id < upstreams_.size() ? upstreams_[id].get() : nullptr;
  }
  const std::vector<std::unique_ptr<Upstream>>& upstreams() const { return upstreams_; }
  bool shuttingDown() const { return shutting_down_; }
  GatewayMetrics& metrics() { return metrics_; }
  GatewayMetrics::Customer* customerMetrics(uint32_t runtime_id);

  // ---- Called by DownstreamSession ----
  void authenticate(DownstreamSession& s, codec::CommandId bind, uint32_t seq,
                    const codec::BindBody& body);
  void onSubmit(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw);
  void onById(DownstreamSession& s, const codec::Pdu& pdu);
  void onDeliveryAnswered(DownstreamSession& s, Delivery d, uint32_t status);
  // A delivery the session will not see answered (timeout, session closed): the carrier gets
  // ESME_RX_T_APPN and retries.
  void onDeliveryFailed(Delivery d, metrics::DeferReason reason);
  void onReceiverNotReading(DownstreamSession& s);
  void onReceiverReadingAgain(DownstreamSession& s);
  void onSessionBound(DownstreamSession& s);
  void onSessionClosed(DownstreamSession& s);
  DownstreamSession* session(SessionRef r);

  // ---- Called by Upstream / UpstreamBind ----
  void onUpstreamResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp,
                          codec::Bytes raw);
  void onUpstreamFailed(const UpInFlight& info, uint32_t status);
  void onUpstreamDeliver(UpstreamBind& b, const codec::Pdu& pdu, codec::Bytes raw);
  void onUpstreamReady(Upstream& u);
  // Requests routed by a group that wait in its members' queues (limits.max_queue_per_group
  // bounds them per group, whichever members hold them).
  bool groupQueueFull(uint32_t group) const {
    return group < group_queued_.size() && group_queued_[group] >= cfg().limits.max_queue_per_group;
  }
  void groupQueueChanged(uint32_t group, int delta) {
    if (group < group_queued_.size()) {
      group_queued_[group] =
          static_cast<uint32_t>(static_cast<int64_t>(group_queued_[group]) + delta);
    }
  }

 private:
  struct HeldReceipt;
  struct PendingDelivery;
  struct CustomerState;
  struct AuthJob;
  struct ReloadJob;

  // A submit_multi in progress, keyed by the gateway id its customer gets. Each SME destination
  // is routed on its own and goes upstream as a submit_sm (UpInFlight::multi); the one
  // submit_multi_resp is written when every part is answered, refused or timed out, and only then
  // are the parts' receipts delivered. Rare: allocates freely.
  struct MultiSubmit {
    struct Dest {
      uint8_t ton = 0;
      uint8_t npi = 0;
      std::string address;  // destination_addr as the customer sent it, or a dl_name
      uint32_t status = 0;  // 0: accepted by a carrier (or not answered yet)
    };
    SessionRef origin;
    uint32_t origin_seq = 0;
    uint32_t customer = 0;  // runtime id
    uint64_t started_ns = 0;
    uint32_t accepted = 0;
    uint32_t outstanding = 0;           // parts not over yet (+1 while the parts are being sent)
    std::vector<Dest> dests;            // in the customer's order
    std::vector<HeldReceipt> receipts;  // matched before the submit_multi_resp was written
  };

  void bindConfig();
  // Routes one submission and forwards it; refusals are answered to the customer, or, for one
  // destination of a submit_multi (multi: its gateway id), recorded in its MultiSubmit.
  void routeSubmission(DownstreamSession& s, const config::Customer& cust, const codec::Pdu& pdu,
                       codec::Bytes raw, const SubmitFields& f, uint64_t t, uint64_t multi,
                       uint8_t multi_dest);
  void onSubmitMulti(DownstreamSession& s, const config::Customer& cust, const codec::Pdu& pdu,
                     uint64_t t);
  void onMultiPartResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp);
  // One part is over (status 0: accepted); the last one answers the customer.
  void multiPartDone(uint64_t multi, uint8_t dest, uint32_t status);
  // A matched receipt of a submit_multi whose response is not written yet: kept until it is.
  bool holdForMulti(const store::MappingView& m, codec::Bytes raw, BindRef from,
                    uint32_t upstream_seq);
  const config::Customer* customerCfg(uint32_t runtime_id) const;
  void accept(size_t listener_index, uv_stream_t* server);
  void tick();
  void finishBind(SessionRef ref, codec::CommandId bind, uint32_t seq, uint32_t id,
                  bool password_ok, const std::string& password);
  uint32_t checkBindPolicy(const DownstreamSession& s, codec::CommandId bind,
                           config::CustomerId id) const;
  void processReceipt(const codec::Pdu& pdu, codec::Bytes raw, std::string_view upstream_id,
                      uint32_t upstream_seq, BindRef from);
  void deliverReceipt(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                      BindRef from, uint32_t upstream_seq);
  // pdu: the deliver_sm/data_sm as a v5.0 session gets it (copied only if it has to wait).
  // preferred: the session to try first (the one that submitted the message).
  //
  // Every delivery the carrier waits an answer for either is refused at once (deferDelivery:
  // ESME_RX_T_APPN, the carrier keeps it) or is held (sent to a receiver, or queued for room at
  // one) and then answered exactly once (finishDelivery). What a customer holds is bounded per
  // carrier bind (upstreams[].customer_delivery_share), so a customer that cannot take its
  // messages never fills the window the carrier shares between all customers.
  void deliver(uint32_t customer, codec::Bytes pdu, Delivery d, SessionRef preferred = {});
  bool sendToSession(DownstreamSession& s, codec::Bytes pdu, Delivery d);
  void ackUpstream(BindRef from, codec::CommandId command, uint32_t seq, uint32_t status);
  void deferDelivery(const Delivery& d, metrics::DeferReason reason);
  bool keepingUp(const CustomerState& cs) const;
  void finishDelivery(const Delivery& d, uint32_t status);
  // A receiver of `customer` with room and reading, or nullptr; `why` says why there is none.
  DownstreamSession* pickReceiver(CustomerState& cs, metrics::DeferReason& why);
  void drainPendingDeliveries(uint32_t customer);
  // Answers every queued delivery of the customer ESME_RX_T_APPN (no receiver can take them).
  void failPendingDeliveries(uint32_t customer, metrics::DeferReason reason);
  void releaseHeldReceipts(uint32_t upstream, std::string_view key);
  // A receipt no mapping will match: answered routing.receipt_unmatched_status (ESME_ROK by
  // default), counted by reason, logged at most once a second.
  void receiptUnmatched(uint32_t upstream, std::string_view id, BindRef from,
                        codec::CommandId command, uint32_t upstream_seq,
                        metrics::UnmatchedReason reason);
  bool normaliseUpstreamId(uint32_t upstream, std::string_view id, bool from_receipt,
                           codec::MessageIdKey& key) const;
  uint64_t concatKey(const DownstreamSession& s, const codec::Pdu& pdu) const;
  void maybeFinishShutdown();
  void publishGauges();
  void refuseMetric(uint32_t customer, metrics::RefusalReason reason);
  void deliveryMetric(uint32_t customer, metrics::DeliveryResult result);

  net::Loop& loop_;
  std::shared_ptr<const config::Config> config_;
  routing::RoutingTablePtr table_;
  // Customers and upstreams have runtime ids that survive reloads (mappings, in-flight requests
  // and deliveries refer to them); *_rt_ translate the current config's indices.
  std::unordered_map<std::string, uint32_t> customer_by_system_id_;
  std::vector<uint32_t> customer_rt_;
  std::vector<uint32_t> upstream_rt_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::vector<uint32_t> listener_connections_;
  std::vector<std::unique_ptr<DownstreamSession>> sessions_;  // slot per SessionRef.index
  std::vector<uint32_t> generations_;
  std::vector<uint32_t> free_slots_;
  std::vector<std::unique_ptr<DownstreamSession>> closing_;  // freed at the end of the iteration
  size_t open_sessions_ = 0;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
  std::vector<CustomerState> customers_;
  routing::GroupSelector selector_;
  routing::ConcatStickiness sticky_;
  store::MappingStore mappings_;
  IdMinter minter_;
  FlatMap64<uint32_t> bind_held_{16};   // deliveries held per carrier connection (bindKey)
  std::vector<uint32_t> group_queued_;  // by config group id
  std::vector<routing::MemberStatus> member_status_;             // per upstream, refreshed per pick
  std::unordered_map<uint64_t, std::vector<HeldReceipt>> held_;  // by hash(upstream, id key)
  std::deque<std::pair<uint64_t, uint64_t>> held_order_;         // (until_ms, hash)
  uint64_t unmatched_unlogged_ = 0;                   // unmatched receipts since the last log line
  uint64_t unmatched_log_ms_ = 0;                     // no unmatched-receipt line before this time
  std::unordered_map<uint64_t, MultiSubmit> multis_;  // by gateway id
  uint64_t next_housekeeping_ms_ = 0;
  std::unique_ptr<net::Timer> tick_timer_;
  GatewayStats stats_;
  GatewayMetrics metrics_;
  std::function<void(bool, const std::string&)> readiness_;
  net::LoopStats published_loop_;  // loop counters already added to the metrics
  store::MappingStats published_store_;
  metrics::ChildMemo<std::string, metrics::Gauge> session_gauges_;
  std::vector<std::pair<metrics::Gauge*, int64_t>> session_counts_;
  std::mt19937 rng_;
  std::string pepper_;  // random per process: keys the cache of verified passwords
  // Thread-pool work (password checks, reloads) not yet called back; `alive_` is shared with
  // each job so a callback after the gateway is gone touches nothing of it.
  std::unordered_set<uv_work_t*> work_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool shutting_down_ = false;
  bool reload_running_ = false;
  std::function<void()> shutdown_done_;
  uint64_t shutdown_started_ms_ = 0;
  // Scratch space reused per message (never held across calls).
  codec::Buffer scratch_;
  std::string text_scratch_;
  codec::Buffer receipt_scratch_;
  codec::Pdu resp_pdu_;
};

}  // namespace smppgw
