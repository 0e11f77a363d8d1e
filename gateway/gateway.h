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

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/flat_map.h"
#include "codec/pdu.h"
#include "codec/receipt.h"
#include "config/model.h"
#include "gateway/deliveries.h"
#include "gateway/downstream.h"
#include "gateway/gw_metrics.h"
#include "gateway/id_mapper.h"
#include "gateway/message_id.h"
#include "gateway/outbox.h"
#include "gateway/runtime.h"
#include "gateway/session_table.h"
#include "gateway/sources.h"
#include "gateway/token_bucket.h"
#include "gateway/types.h"
#include "gateway/upstream.h"
#include "net/connection.h"
#include "net/loop.h"
#include "routing/concat.h"
#include "routing/group_selector.h"
#include "routing/table.h"
#include "store/mapping_store.h"
#include "store/store.h"

namespace smppgw {

struct SubmitFields;  // a submission's routing fields (gateway.cc)

class Gateway final : private SessionHost,
                      private BindHost,
                      private DeliveryHost,
                      private IdMapperHost,
                      private OutboxHost,
                      private store::StoreListener {
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
  // `tls`: the configuration's TLS contexts, already built (the reload job builds them off the
  // loop); without, they are built here.
  bool applyReload(std::shared_ptr<const config::Config> config, routing::RoutingTablePtr table,
                   std::optional<TlsContexts> tls = std::nullopt);

  // Password checks and reloads on the thread pool, not yet called back.
  size_t pendingWork() const { return work_.size(); }
  // Customer connections open (any state).
  size_t openSessions() const { return sessions_.open(); }
  // Runs the periodic checks (timeouts, expiries, gauges) now: tests on a manual clock advance it
  // and call this; in production a 100 ms timer does.
  void runTick() { tick(); }

  // The port a listener is bound to (tests listen on port 0).
  uint16_t listenerPort(size_t index) const;

  net::Loop& loop() { return loop_; }
  Runtime& runtime() { return rt_; }
  uint64_t now() const { return loop_.nowMs(); }
  const config::Config& cfg() const { return rt_.cfg(); }
  const routing::RoutingTable& table() const { return *table_; }
  store::MappingStore& mappings() { return ids_.mappings(); }
  Upstream* upstream(UpstreamRt id) {
    return id.value < upstreams_.size() ? upstreams_[id.value].get() : nullptr;
  }
  const std::vector<std::unique_ptr<Upstream>>& upstreams() const { return upstreams_; }
  bool shuttingDown() const { return shutting_down_; }
  GatewayMetrics& metrics() { return rt_.metrics(); }
  GatewayMetrics::Customer* customerMetrics(CustomerRt customer) override;

  DownstreamSession* session(SessionRef r) override;

 private:
  // SessionHost (the customer sessions)
  void authenticate(DownstreamSession& s, codec::CommandId bind, uint32_t seq,
                    const codec::BindBody& body) override;
  MtResult onSubmit(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw) override;
  MtResult onById(DownstreamSession& s, const codec::Pdu& pdu) override;
  void onDeliveryAnswered(DownstreamSession& s, Delivery d, uint32_t status) override;
  void onDeliveryFailed(Delivery d, metrics::DeferReason reason) override;
  void onReceiverReadingChanged(DownstreamSession& s) override;
  void onSessionBound(DownstreamSession& s) override;
  void onSessionClosed(DownstreamSession& s) override;

  // BindHost (the upstream binds)
  void onUpstreamResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp,
                          codec::Bytes raw) override;
  void onUpstreamFailed(const UpInFlight& info, uint32_t status) override;
  void onQueuedFailed(Upstream& from, const UpInFlight& info, QueueFailure why) override;
  void onUpstreamDeliver(UpstreamBind& b, const codec::Pdu& pdu, codec::Bytes raw) override;
  void onUpstreamReady(Upstream& u) override;
  // Requests routed by a group that wait in its members' queues (limits.max_queue_per_group
  // bounds them per group, whichever members hold them).
  bool groupQueueFull(uint32_t group) const override {
    return group < group_queued_.size() && group_queued_[group] >= cfg().limits.max_queue_per_group;
  }
  uint32_t queueWeight(CustomerRt customer) const override {
    const config::Customer* c = customerCfg(customer);
    return c != nullptr ? c->weight : 1;
  }
  void groupQueueChanged(uint32_t group, int delta) override {
    if (group < group_queued_.size()) {
      group_queued_[group] =
          static_cast<uint32_t>(static_cast<int64_t>(group_queued_[group]) + delta);
    }
  }

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
    uint64_t gateway_id = 0;
    std::vector<uint64_t> part_tickets;  // its parts' mapping writes (durable store)
    bool store_failed = false;           // a batch holding one of its parts' mappings was refused
    SessionRef origin;
    uint32_t origin_seq = 0;
    CustomerRt customer;
    uint64_t started_ns = 0;
    uint32_t accepted = 0;
    uint32_t outstanding = 0;           // parts not over yet (+1 while the parts are being sent)
    std::vector<Dest> dests;            // in the customer's order
    std::vector<HeldReceipt> receipts;  // matched before the submit_multi_resp was written
  };

  void bindConfig();
  // Routes one submission and forwards it. A refusal is returned (the session answers it) or, for
  // one destination of a submit_multi (multi: its gateway id), recorded in its MultiSubmit.
  MtResult routeSubmission(DownstreamSession& s, const config::Customer& cust,
                           const codec::Pdu& pdu, codec::Bytes raw, const SubmitFields& f,
                           uint64_t t, uint64_t multi, uint8_t multi_dest);
  // Member states for the selector (member_status_); false: no member of any group is bound.
  bool refreshMemberStatus(uint32_t group, uint64_t t);
  // Re-encodes for `up` where it needs it (address rewrite, registered_delivery, TLV version)
  // and hands it over (sent or queued); false: its queue is full.
  bool forwardTo(Upstream& up, const config::Customer& cust, const codec::Pdu& pdu,
                 codec::Bytes raw, std::string_view destination, uint8_t registered_delivery,
                 const UpInFlight& info, uint64_t t);
  // The carrier answered `status` to an attempt of a retryable message: true when another
  // attempt went out (groups[].max_attempts, retry_statuses), false when the customer gets it.
  // `unsent`: it never reached a carrier (its upstream lost every bind while it waited).
  bool retryAfter(std::string_view from, const UpInFlight& info, uint32_t status, bool unsent);
  // v5.0 congestion_state for a response to a customer: how full the group's queues are (0-100).
  uint8_t congestionState(uint32_t group) const;
  // After the customer's rate: sender check, then submit_multi or routing.
  MtResult admitted(DownstreamSession& s, const config::Customer& cust, const codec::Pdu& pdu,
                    codec::Bytes raw, const SubmitFields& f, uint64_t t);
  // Shaping: sends the held requests whose tokens are there, answers the ones out of time, and
  // sets the shaping timer for the next.
  void releaseHeld(uint64_t t);
  void armShaping(uint64_t t);
  MtResult onSubmitMulti(DownstreamSession& s, const config::Customer& cust, const codec::Pdu& pdu,
                         uint64_t t);
  void onMultiPartResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp);
  // One part is over (status 0: accepted); the last one answers the customer.
  void multiPartDone(uint64_t multi, uint8_t dest, uint32_t status);
  // A matched receipt of a submit_multi whose response is not written yet: kept until it is.
  bool holdForMulti(const store::MappingView& m, codec::CommandId command, codec::Bytes raw,
                    BindRef from, uint32_t upstream_seq);
  const config::Customer* customerCfg(CustomerRt customer) const;
  void accept(size_t listener_index, uv_stream_t* server, int status);
  // nullptr: a connection from `peer` may open (counted); else the refusal reason.
  const char* admitSource(const sockaddr_storage& peer);
  void refuseConnection(const config::Listener& l, const char* reason, const std::string& peer,
                        bool accepted_already = false);
  bool onPeerKnown(DownstreamSession& s) override;
  // Sizes the customer connections to the process's descriptor limit (raised to its hard limit).
  void budgetDescriptors();
  void tick();
  // The password check on the thread pool (id invalid: an unknown system_id, checked against a
  // decoy so that it costs what a wrong password costs); finishBind answers.
  void checkPassword(DownstreamSession& s, codec::CommandId bind, uint32_t seq, CustomerRt id,
                     std::string_view system_id, std::string password);
  void finishBind(SessionRef ref, codec::CommandId bind, uint32_t seq, CustomerRt id,
                  bool password_ok, const std::string& password);
  // Hands waiting checks to the thread pool, in turn by source, up to auth.check_concurrency.
  void runChecks();
  void checkDone(std::unique_ptr<AuthJob> job);
  // A refused bind, counted (bind attempts, refusals); an auth failure also counts against its
  // source address (auth.max_failures) and is answered late (auth.failure_delay).
  void refuseBind(DownstreamSession& s, codec::CommandId bind, uint32_t seq, uint32_t status,
                  CustomerRt id, metrics::RefusalReason reason, bool source_failure);
  uint32_t checkBindPolicy(const DownstreamSession& s, codec::CommandId bind, CustomerRt id) const;
  CustomerState& state(CustomerRt id);  // (gateway_internal.h)
  const CustomerState& state(CustomerRt id) const;
  void deliverReceipt(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                      BindRef from, uint32_t upstream_seq);
  // pdu: the deliver_sm/data_sm as a v5.0 session gets it (copied only if it has to wait).
  // preferred: the session to try first (the one that submitted the message).
  void ackUpstream(BindRef from, codec::CommandId command, uint32_t seq, uint32_t status);
  // DeliveryHost
  void answerCarrier(BindRef from, codec::CommandId command, uint32_t seq,
                     uint32_t status) override {
    ackUpstream(from, command, seq, status);
  }
  uint32_t deliveryShare(UpstreamRt upstream) const override;
  // IdMapperHost
  const config::Upstream* upstreamCfg(UpstreamRt upstream) const override;
  std::string_view upstreamName(UpstreamRt upstream) const override;
  size_t upstreamOutstanding(UpstreamRt upstream) const override;
  void receiptMatched(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                      BindRef from, uint32_t upstream_seq) override;
  bool lookupStored(UpstreamRt upstream, std::string_view key) override;
  std::string_view customerName(CustomerRt customer) const override;
  uint64_t nextDeliveryId() override;
  void receiptSettled(uint64_t gateway_id) override {
    if (gateway_id != 0) {
      ids_.mappings().markSettled(gateway_id);
    }
  }
  // Commits at the end of this loop iteration what it queued: one batch per iteration.
  void storeWritten() override {
    if (!store_kick_scheduled_) {
      store_kick_scheduled_ = true;
      loop_.defer([this] {
        store_kick_scheduled_ = false;
        store_->kick();
        pollStore();  // batches the journal took are done already: answered in this iteration
      });
    }
  }
  uint64_t concatKey(const DownstreamSession& s, const codec::Pdu& pdu) const;

  // The durable store (gateway/durable.cc). Without one (store.type: memory) none of this runs.
  bool openStore();
  void pollStore() { store_->poll(*this); }
  void writesDone(uint64_t ticket, bool ok) override;
  // defer_index: the carrier-id entry is written by indexDue() unless the final receipt settles
  // first (transparent submit_sm/data_sm, whose ids are minted and persisted in id order).
  uint64_t persistMapping(const store::MappingView& m, bool defer_index);
  store::MappingRecord recordFor(const store::MappingView& m) const;  // (views into m)
  void indexDue();
  void readBackUnindexed();  // the mappings above the index mark, into memory (at start)
  void restoreUnindexed(std::vector<store::StoredMapping> page);
  void redoIndex();  // refused read-back pages, once the store takes writes
  // A submission's answer written once its mapping is durable (`write` builds it now).
  template <class Write>
  void parkAnswer(uint64_t ticket, const UpInFlight& info, uint64_t gateway_id, Write&& write);
  void parkMulti(uint64_t gateway_id);
  bool holdForParked(const store::MappingView& m, codec::CommandId command, codec::Bytes raw,
                     BindRef from, uint32_t upstream_seq);
  void finishMulti(MultiSubmit done);
  MtResult onByIdStored(DownstreamSession& s, const codec::Pdu& pdu, uint64_t gateway_id);
  void forwardById(DownstreamSession& s, const codec::Pdu& pdu, uint64_t gateway_id,
                   const store::MappingView& m, MtResult& result);
  void publishStoreGauges();

  // store_and_forward (gateway/forward.cc): accepted once queued durably, sent from the queue.
  struct Forwarded {
    uint64_t created_ms = 0;  // wall clock (store.delivery_ttl)
    CustomerRt customer;
    std::string group;        // groups[].name (config ids change on reload)
    std::string destination;  // as routed
    codec::Buffer pdu;        // the customer's request as received
    uint32_t attempts = 0;
    uint64_t next_ms = 0;  // loop clock: not sent before
    bool durable = false;  // its queue entry is written: it may go to a carrier
    bool in_flight = false;
  };
  MtResult acceptForward(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw,
                         const routing::MtDecision& d);
  void forwardDue(uint64_t t);
  enum class SendResult : uint8_t { Sent, Later, GroupBlocked };
  SendResult sendForwarded(uint64_t gateway_id, Forwarded& m, uint64_t t);
  void forwardGone(const std::string& group);  // a message left the group's queue
  void forwardOutcome(const UpInFlight& info, uint32_t status, const codec::Pdu* resp,
                      UpstreamRt from);
  void forwardFinal(uint64_t gateway_id, Forwarded& m, codec::MessageState state, uint32_t err);
  void restoreForwarded(const std::string& group, std::vector<store::QueuedMessage> got);
  // Reads the group's queue from the store after loaded_to, up to its limit (at_start: new
  // submits wait for it); forwardReadMore() reads on once a queue that was longer has drained.
  void readForwardQueue(const std::string& group, bool at_start);
  void forwardQueueRead(const std::string& group, size_t want, bool at_start,
                        std::vector<store::QueuedMessage> got, bool ok);
  void forwardReadMore(uint64_t t);
  // A message leaves its queue on disk: with its mapping (`mapped`: a carrier accepted it; the
  // mapping is in memory) or alone. A refused write is made again once the store takes writes,
  // so the queue entry of a message a carrier has does not outlive the failure.
  bool dequeue(const std::string& group, uint64_t gateway_id, bool mapped);  // false: mapping lost
  void redoDequeues();
  void publishForwardGauges();
  void maybeFinishShutdown();
  void publishGauges();
  void refuseMetric(CustomerRt customer, metrics::RefusalReason reason);

  net::Loop& loop_;
  Runtime rt_;  // the loop, the configuration in force, metrics: shared with every part
  routing::RoutingTablePtr table_;
  // Customers and upstreams have runtime ids that survive reloads (mappings, in-flight requests
  // and deliveries refer to them); *_rt_ translate the current config's indices.
  std::unordered_map<std::string, CustomerRt> customer_by_system_id_;
  std::vector<CustomerRt> customer_rt_;  // by config customer id
  std::vector<UpstreamRt> upstream_rt_;  // by config upstream id
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::vector<uint32_t> listener_connections_;
  SessionTable sessions_{loop_};
  std::vector<std::unique_ptr<Upstream>> upstreams_;  // by UpstreamRt::value
  std::vector<CustomerState> customers_;              // by CustomerRt::value
  routing::GroupSelector selector_;
  routing::ConcatStickiness sticky_;
  IdMapper ids_;
  IdMinter minter_;
  DeliveryQueues deliveries_{rt_, *this};
  std::vector<uint32_t> group_queued_;                // by config group id
  std::vector<routing::MemberStatus> member_status_;  // per upstream, refreshed per pick
  std::unordered_map<uint64_t, MultiSubmit> multis_;  // by gateway id
  // Messages whose group allows more than one attempt: what another attempt needs, by
  // UpInFlight::retry. Erased at the final answer (or failure) of the message.
  struct Retry {
    codec::Buffer raw;        // the customer's PDU as it came in
    std::string destination;  // as routed (normalised)
    uint8_t registered_delivery = 0;
    std::optional<routing::ConcatKey> ckey;
    uint8_t part = 0;
    std::vector<config::UpstreamId> tried;
    uint32_t attempts = 1;
    uint64_t deadline_ms = 0;  // no attempt starts after it (timers.response from the submit)
  };
  std::unordered_map<uint32_t, Retry> retries_;
  uint32_t next_retry_ = 0;
  uint32_t submit_order_ = 0;  // UpInFlight::order
  codec::Pdu retry_pdu_;
  uint8_t congestion_octet_ = 0;  // a replaced congestion_state value, alive while written
  codec::Pdu held_pdu_;           // a held request, decoded again on release
  std::unique_ptr<net::Timer> shaping_timer_;
  uint64_t next_housekeeping_ms_ = 0;
  std::unique_ptr<net::Timer> tick_timer_;
  std::function<void(bool, const std::string&)> readiness_;
  net::LoopStats published_loop_;  // loop counters already added to the metrics
  store::MappingStats published_store_;
  metrics::ChildMemo<std::string, metrics::Gauge> session_gauges_;
  std::vector<std::pair<metrics::Gauge*, int64_t>> session_counts_;
  std::string pepper_;  // random per process: keys the cache of verified passwords
  Sources sources_;     // per source address: connections, failed binds, blocks, checks
  // Password checks waiting for their turn: per source, the sources taken in turn.
  std::unordered_map<SourceKey, std::deque<std::unique_ptr<AuthJob>>, SourceKeyHash> check_queues_;
  std::deque<SourceKey> check_turns_;
  std::unordered_map<std::string, AuthJob*> checks_by_key_;  // waiting or running, by AuthJob::key
  size_t checks_waiting_ = 0;
  size_t checks_running_ = 0;
  size_t dirty_running_ = 0;  // of which from sources with recent failures (at most 1)
  uint32_t descriptor_budget_ = 0xFFFFFFFFu;  // customer connections the fd limit allows
  // Thread-pool work (password checks, reloads) not yet called back; `alive_` is shared with
  // each job so a callback after the gateway is gone touches nothing of it.
  std::unordered_set<uv_work_t*> work_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool shutting_down_ = false;
  bool reload_running_ = false;
  std::function<void()> shutdown_done_;
  uint64_t shutdown_started_ms_ = 0;
  // Scratch space reused per message (never held across calls).
  // Answers waiting for their batch to be durable, in ticket order; their bytes in parked_bytes_
  // from parked_base_ on. Receipts matched meanwhile wait in parked_receipts_ (by gateway id).
  struct ParkedAnswer {
    uint64_t ticket = 0;
    uint64_t gateway_id = 0;
    uint64_t started_ns = 0;
    uint64_t offset = 0;  // absolute: parked_bytes_ holds [parked_base_, parked_base_ + size)
    uint32_t length = 0;
    uint32_t origin_seq = 0;
    SessionRef origin;
    CustomerRt customer;
    codec::CommandId command = codec::CommandId::submit_sm;
    bool multi = false;    // a submit_multi: finished from multis_
    bool forward = false;  // store_and_forward: its message may go to a carrier once written
  };
  std::deque<ParkedAnswer> parked_;
  codec::Buffer parked_bytes_;
  uint64_t parked_base_ = 0;
  std::unordered_map<uint64_t, std::vector<HeldReceipt>> parked_receipts_;
  uint64_t store_done_ = 0;  // highest ticket reported
  // Gateway ids whose carrier-id entry is still to be written (indexDue), in id order, and the
  // batches of them not yet durable (keyed by their lowest id).
  struct OwnedIndexEntry {
    uint64_t gateway_id = 0;
    std::string upstream;
    std::string upstream_key;
  };
  struct IndexBatch {
    uint64_t ticket = 0;
    std::vector<uint64_t> gids;
    std::vector<OwnedIndexEntry> owned;  // a read-back page's entries (written again if refused)
  };
  uint64_t writeIndex(const std::vector<OwnedIndexEntry>& owned);  // at the current mark
  std::deque<uint64_t> index_pending_;
  uint64_t index_restored_ = 0;      // read back at start (logged after the last page)
  uint64_t index_restored_max_ = 0;  // the newest of them
  uint64_t index_reread_at_ = 0;     // loop clock: the read-back failed, read again then
  bool index_restoring_ = false;
  std::deque<std::pair<uint64_t, IndexBatch>> index_inflight_;
  std::vector<std::pair<uint64_t, IndexBatch>> index_redo_;  // refused read-back pages
  uint64_t index_handled_ = 0;  // the newest gateway id taken from index_pending_
  uint64_t index_marked_ = 0;   // the newest `through` sent to the store
  uint64_t index_written_ = 0;  // published as smppgw_store_index_total{result}
  uint64_t index_skipped_ = 0;
  store::StoreStats published_disk_;
  uint64_t store_lookups_found_ = 0, store_lookups_missing_ = 0;
  uint64_t next_store_expiry_ms_ = 0;
  bool store_kick_scheduled_ = false;
  bool store_failing_ = false;  // a batch failed; no later one succeeded yet
  uint64_t store_failed_ticket_ = 0;
  uint64_t next_store_probe_ms_ = 0;
  std::map<uint64_t, Forwarded> forwarded_;  // by gateway id: queue order
  struct Dequeue {
    uint64_t ticket = 0;
    std::string group;
    uint64_t gateway_id = 0;
    bool mapped = false;
  };
  std::deque<Dequeue> dequeues_;          // written, not yet reported
  std::vector<Dequeue> dequeues_failed_;  // refused: written again by redoDequeues()
  // Per group (by name): its depth, and when each of its messages may be sent next (only those
  // written and not in flight are in `due`; entries of messages gone since are skipped).
  struct ForwardGroup {
    uint32_t depth = 0;
    std::multimap<uint64_t, uint64_t> due;  // next_ms -> gateway id
    uint64_t blocked_until = 0;             // no member up, or its queue full: not before
    // Read back from the store: up to which id, and whether more may wait there (a read came
    // back full: the queue was longer than limits.max_queue_per_group).
    uint64_t loaded_to = 0;
    bool on_disk = false;
    bool reading = false;
    uint64_t next_read_ms = 0;  // loop clock (after a read the store could not do)
    // smppgw_forward_messages_total by ForwardResult, looked up once (not per message).
    std::array<metrics::Counter*, 6> counted{};
  };
  enum class ForwardResult : uint8_t { Accepted, Sent, Delivered, Retried, Rejected, Expired };
  void forwardCount(const std::string& group, ForwardResult result);
  std::unordered_map<std::string, ForwardGroup> fwd_groups_;
  bool forward_ready_ = false;      // a message became sendable since the last forwardDue
  uint32_t forward_restoring_ = 0;  // queue reads after a restart not yet back

  codec::Buffer scratch_;
  std::string text_scratch_;
  codec::Buffer receipt_scratch_;
  codec::Pdu resp_pdu_;
  // Last: destroyed first, so the store's threads (which wake the loop through store_wake_) have
  // stopped, and every queued write is committed, before anything else goes.
  std::unique_ptr<net::Async> store_wake_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Outboxes> outboxes_;  // with store_ (before it goes: it writes to it)
};

}  // namespace smppgw
