#include "gateway/gateway.h"

#include <openssl/rand.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "codec/encode.h"
#include "codec/splice.h"
#include "codec/udh.h"
#include "config/keys.h"
#include "config/password.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"
#include "gateway/receipt_rewrite.h"
#include "routing/concat.h"

namespace smppgw {

Gateway::Gateway(net::Loop& loop, std::shared_ptr<const config::Config> config,
                 routing::RoutingTablePtr table, metrics::Registry& registry)
    : loop_(loop),
      rt_(loop, std::move(config), registry),
      table_(std::move(table)),
      selector_(rt_.cfg()),
      sticky_(rt_.cfg().routing.concat_max_entries, rt_.cfg().routing.concat_ttl),
      ids_(rt_, *this, ms(rt_.cfg().store.mapping_ttl), rt_.cfg().store.max_mappings),
      minter_(rt_.cfg().gateway.instance_id),
      pepper_(randomBytes(32)) {
  group_queued_.assign(rt_.cfg().groups.size(), 0);
  bindConfig();
  metrics::Histogram& iteration = registry.histogram(metrics::HistogramFamily::LoopIteration);
  loop_.setIterationObserver([&iteration](uint64_t busy_ns) { iteration.observeNs(busy_ns); });
}

// Points every runtime object at the current config: customers and upstreams keep their runtime
// ids (by system_id / name) so mappings, in-flight requests and deliveries stay valid.
void Gateway::bindConfig() {
  const config::Config& c = rt_.cfg();
  for (auto& cs : customers_) {
    cs.cfg = config::kNoId;
  }
  customer_rt_.assign(c.customers.size(), CustomerRt{});
  for (size_t i = 0; i < c.customers.size(); ++i) {
    const config::Customer& cust = c.customers[i];
    auto [it, added] = customer_by_system_id_.try_emplace(
        cust.system_id, CustomerRt(static_cast<uint32_t>(customers_.size())));
    if (added) {
      customers_.emplace_back();
      customers_.back().system_id = cust.system_id;
    }
    CustomerState& cs = customers_[it->second.value];
    cs.cfg = static_cast<uint32_t>(i);
    cs.m = &rt_.metrics().customer(it->second, cust.system_id);
    cs.rate.configure(cust.rate_limit.per_second, cust.rate_limit.burst);
    customer_rt_[i] = it->second;
  }
  for (auto& u : upstreams_) {
    u->setConfigIndex(config::kNoId);
  }
  upstream_rt_.assign(c.upstreams.size(), UpstreamRt{});
  for (size_t i = 0; i < c.upstreams.size(); ++i) {
    const config::Upstream& uc = c.upstreams[i];
    auto it = std::find_if(upstreams_.begin(), upstreams_.end(),
                           [&](const auto& u) { return u->name() == uc.name; });
    if (it == upstreams_.end()) {
      upstreams_.push_back(
          std::make_unique<Upstream>(rt_, static_cast<BindHost&>(*this),
                                     UpstreamRt(static_cast<uint32_t>(upstreams_.size())), uc));
      it = upstreams_.end() - 1;
    } else {
      (*it)->reconfigure(uc);
    }
    (*it)->setConfigIndex(static_cast<uint32_t>(i));
    (*it)->setMetrics(&rt_.metrics().upstream((*it)->id(), uc.name));
    upstream_rt_[i] = (*it)->id();
    ids_.configureUpstream((*it)->id(), uc.message_id);
  }
}

GatewayMetrics::Customer* Gateway::customerMetrics(CustomerRt customer) {
  return customer.value < customers_.size() ? customers_[customer.value].m : nullptr;
}

void Gateway::refuseMetric(CustomerRt customer, metrics::RefusalReason reason) {
  if (auto* m = customerMetrics(customer)) {
    m->refusals[static_cast<size_t>(reason)]->inc();
  }
}

Gateway::~Gateway() {
  loop_.setIterationObserver(nullptr);
  // Work still on the thread pool must not call back into this object: queued jobs are
  // cancelled, running ones finish, and either way their callbacks (run by the loop's owner as
  // it closes) see `alive` false and only free the job.
  *alive_ = false;
  for (uv_work_t* req : work_) {
    uv_cancel(reinterpret_cast<uv_req_t*>(req));
  }
}

bool Gateway::start() {
  const auto& c = cfg();
  if (!openStore()) {
    return false;
  }
  // Before the first tick too: 0 would read as "the store refuses writes".
  rt_.metrics().registry().gauge(metrics::GaugeFamily::StoreWritable).set(1);
  {
    // Certificates, keys and CAs are read before anything listens or connects.
    std::vector<config::Diagnostic> errors;
    TlsContexts tls = buildTlsContexts(c, errors);
    for (const auto& e : errors) {
      log::error("tls_failed", "problem", config::toString(e));
    }
    if (!errors.empty()) {
      return false;
    }
    rt_.setTls(std::move(tls));
    publishTlsGauges(rt_.metrics().registry(), c, rt_.tls(), true);
  }
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    const config::Listener& l = c.listeners[i];
    sockaddr_storage addr{};
    if (!net::parseAddress(l.address, l.port, addr)) {
      log::error("listener_failed", "listener", l.name, "reason", "bad address", "address",
                 l.address);
      return false;
    }
    auto listener = std::make_unique<net::Listener>(
        loop_, [this, i](uv_stream_t* s, int status) { accept(i, s, status); });
    if (int rc = listener->listen(reinterpret_cast<sockaddr*>(&addr)); rc != 0) {
      log::error("listener_failed", "listener", l.name, "address", l.address, "port", l.port,
                 "reason", uv_strerror(rc));
      return false;
    }
    log::info("listening", "listener", l.name, "address", l.address, "port", listener->port(),
              "tls", l.tls.enabled);
    listeners_.push_back(std::move(listener));
  }
  listener_connections_.assign(c.listeners.size(), 0);
  budgetDescriptors();
  for (auto& u : upstreams_) {
    u->start(now());
  }
  tick_timer_ = std::make_unique<net::Timer>(loop_, [this] { tick(); });
  tick_timer_->start(kTickMs, kTickMs);
  return true;
}

uint16_t Gateway::listenerPort(size_t index) const {
  return index < listeners_.size() ? listeners_[index]->port() : 0;
}

// ---------------------------------------------------------------------------------------------
// Sessions

// Out of descriptors, accept() would fail for every listener and the metrics port alike: the
// process keeps this many back from customer connections (carrier binds, the metrics port's 64
// connections, files, a margin).
constexpr uint32_t kReservedDescriptors = 128;

void Gateway::budgetDescriptors() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    return;
  }
  if (rl.rlim_cur < rl.rlim_max) {
    const rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      rl.rlim_cur = was;
    }
  }
  uint64_t carrier = 0;
  for (const auto& u : cfg().upstreams) {
    carrier += u.binds;
  }
  const uint64_t reserve = kReservedDescriptors + carrier;
  const uint64_t limit = rl.rlim_cur == RLIM_INFINITY ? UINT32_MAX : rl.rlim_cur;
  descriptor_budget_ =
      static_cast<uint32_t>(std::min<uint64_t>(limit > reserve ? limit - reserve : 1, UINT32_MAX));
  if (descriptor_budget_ < cfg().limits.max_connections) {
    log::warn(
        "descriptor_limit", "limit", limit, "reserved", reserve, "max_connections",
        cfg().limits.max_connections, "accepting_at_most", descriptor_budget_, "hint",
        "raise the descriptor limit (LimitNOFILE=, ulimit -n) or lower limits.max_connections");
  }
}

void Gateway::refuseConnection(const config::Listener& l, const char* reason,
                               const std::string& peer, bool accepted_already) {
  if (!accepted_already) {
    rt_.metrics().connection(l.name, false).inc();
  }
  rt_.metrics().connectionRefused(l.name, reason).inc();
  // A flood from one address must not become a flood of log lines: a few a second, counted.
  uint64_t suppressed = 0;
  if (rt_.connectionLogBudget().allow(now(), suppressed)) {
    log::warn("connection_refused", "listener", l.name, "peer", peer, "reason", reason,
              "suppressed", suppressed);
  }
}

const char* Gateway::admitSource(const sockaddr_storage& peer) {
  const SourceKey key = sourceKey(peer);
  if (sources_.blocked(key, now())) {
    return "blocked";
  }
  Sources::Entry& e = sources_.at(key);
  if (e.connections >= cfg().limits.max_connections_per_source) {
    return "per_source";
  }
  ++e.connections;
  return nullptr;
}

bool Gateway::onPeerKnown(DownstreamSession& s) {
  if (const char* reason = admitSource(s.peerSockaddr())) {
    // (counted accepted already, as its PROXY header had to be read)
    refuseConnection(cfg().listeners[s.listener()], reason, s.peer(), true);
    return false;
  }
  s.setSourceCounted();
  return true;
}

void Gateway::accept(size_t listener_index, uv_stream_t* server, int status) {
  const config::Listener& l = cfg().listeners[listener_index];
  if (status != 0) {
    // Out of descriptors: libuv accepted and closed the waiting connections with the one it
    // keeps in reserve, so the kernel's queue does not fill with connections nobody answers.
    refuseConnection(l, status == UV_EMFILE || status == UV_ENFILE ? "no_descriptors" : "failed",
                     uv_strerror(status));
    return;
  }
  auto conn = net::Connection::create(loop_, nullptr, cfg().limits.max_pdu_size);
  if (conn->accept(server) != 0) {
    return;
  }
  const char* refused = shutting_down_ ? "shutting_down"
                        : sessions_.open() >= cfg().limits.max_connections ||
                                sessions_.open() >= descriptor_budget_ ||
                                listener_connections_[listener_index] >= l.max_connections
                            ? "max_connections"
                        : l.proxy_protocol ? nullptr  // the source is known after its header
                                           : admitSource(conn->peerSockaddr());
  if (refused != nullptr) {
    refuseConnection(l, refused, conn->peerAddress());
    conn->abort();
    return;
  }
  if (l.proxy_protocol) {
    conn->expectProxyHeader();  // the session's peer becomes the header's source
  }
  // A TLS listener: the handshake runs first; the session reads its bind from the plaintext.
  if (const auto& tls = rt_.tls().listeners[listener_index];
      tls && (!conn->startTls(tls) || conn->closing())) {
    log::error("tls_session_failed", "listener", l.name, "reason", conn->tls()->failureDetail());
    if (!l.proxy_protocol) {
      sources_.at(sourceKey(conn->peerSockaddr())).connections--;
    }
    conn->abort();
    return;
  }
  const SessionRef ref = sessions_.reserve();
  DownstreamSession& s = sessions_.put(
      ref, std::make_unique<DownstreamSession>(rt_, static_cast<SessionHost&>(*this), ref,
                                               static_cast<config::ListenerId>(listener_index),
                                               std::move(conn), now()));
  if (!l.proxy_protocol) {
    s.setSourceCounted();
  }
  ++listener_connections_[listener_index];
  rt_.metrics().connection(l.name, true).inc();
  log::debug("connection_accepted", "listener", l.name, "peer", s.peer());
}

DownstreamSession* Gateway::session(SessionRef r) {
  return sessions_.find(r);
}

void Gateway::onSessionBound(DownstreamSession& s) {
  if (s.canReceive()) {
    if (outboxes_) {
      outboxes_->receiverBound(s.customer(), s.ref());
    } else {
      deliveries_.receiverBound(s.customer(), s.ref());
    }
  }
}

void Gateway::onSessionClosed(DownstreamSession& s) {
  SessionRef ref = s.ref();
  if (s.customer().valid() && s.customer().value < customers_.size()) {
    CustomerState& cs = customers_[s.customer().value];
    if (cs.binds > 0) {
      --cs.binds;  // customer() is set only once a bind succeeded
    }
    if (outboxes_) {
      outboxes_->receiverClosed(s.customer(), ref);
    } else {
      deliveries_.receiverClosed(s.customer(), ref);
    }
  }
  if (listener_connections_.size() > s.listener() && listener_connections_[s.listener()] > 0) {
    --listener_connections_[s.listener()];
  }
  if (Sources::Entry* e = sources_.find(sourceKey(s.peerSockaddr())); e != nullptr) {
    if (s.sourceCounted() && e->connections > 0) {
      --e->connections;
    }
    if (s.customer().valid() && e->bound > 0) {
      --e->bound;
    }
  }
  sessions_.release(ref);
  maybeFinishShutdown();
}

// ---------------------------------------------------------------------------------------------
// Deliveries (carrier -> customer): receipts and MO

void Gateway::onUpstreamDeliver(UpstreamBind& b, const codec::Pdu& pdu, codec::Bytes raw) {
  const UpstreamRt up_id = b.upstreamId();
  BindRef from{up_id, b.index(), b.generation()};
  if (shutting_down_) {
    b.respond(pdu.command_id, pdu.sequence_number, gwstatus::kDeliveryLater);
    return;
  }
  uint8_t esm = 0;
  std::string_view src, dst;
  uint8_t src_ton = 0, src_npi = 0, dst_ton = 0, dst_npi = 0;
  codec::Bytes text;
  if (const auto* sm = pdu.tryAs<codec::SmBody>()) {
    esm = sm->esm_class;
    src = sm->source_addr;
    dst = sm->destination_addr;
    src_ton = sm->source_addr_ton;
    src_npi = sm->source_addr_npi;
    dst_ton = sm->dest_addr_ton;
    dst_npi = sm->dest_addr_npi;
    text = sm->short_message;
  } else if (const auto* ds = pdu.tryAs<codec::DataSmBody>()) {
    esm = ds->esm_class;
    src = ds->source_addr;
    dst = ds->destination_addr;
    src_ton = ds->source_addr_ton;
    src_npi = ds->source_addr_npi;
    dst_ton = ds->dest_addr_ton;
    dst_npi = ds->dest_addr_npi;
  }
  if (text.empty()) {
    if (auto payload = pdu.tlvs.bytes(codec::tag::message_payload)) {
      text = *payload;
    }
  }
  const uint8_t type = esm & 0x3C;
  if (type == 0x04 || type == 0x20) {
    // A receipt: find the message by the carrier's id (TLV first, then the text).
    std::string_view id;
    if (auto t = pdu.tlvs.text(codec::tag::receipted_message_id)) {
      id = *t;
    }
    if (id.empty()) {
      id = codec::receiptId(codec::asString(text)).value_or(std::string_view());
    }
    ids_.receipt(pdu, raw, id, from);
    return;
  }
  // MO message.
  routing::MoKey key;
  // Rules name upstreams by config index; one a reload removed matches only rules for any.
  const Upstream* up = upstream(up_id);
  key.upstream = up != nullptr ? up->configIndex() : config::kNoId;
  key.source_addr = src;
  key.source_ton = src_ton;
  key.source_npi = src_npi;
  key.destination_addr = dst;
  key.destination_ton = dst_ton;
  key.destination_npi = dst_npi;
  routing::MoDecision d = table_->routeMo(key);
  if (!d.routed()) {
    rt_.metrics().mo(up_id, CustomerRt{}, "unroutable").inc();
    log::warn("mo_unroutable", "upstream", b.describe(), "rule", d.rule_name);
    b.respond(pdu.command_id, pdu.sequence_number,
              d.status != 0 ? d.status : cfg().routing.mo_unroutable_status);
    return;
  }
  rt_.metrics().mo(up_id, customer_rt_[d.customer], "routed").inc();
  Delivery dl;
  dl.from = from;
  dl.upstream_seq = pdu.sequence_number;
  dl.command = pdu.command_id;
  dl.version_needed = codec::tlvVersionNeeded(pdu.tlvs);
  // As received: the session sets its own sequence.
  if (outboxes_) {
    outboxes_->accept(customer_rt_[d.customer], raw, dl);
  } else {
    deliveries_.deliver(customer_rt_[d.customer], raw, dl);
  }
}

void Gateway::receiptMatched(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                             BindRef from, uint32_t upstream_seq) {
  if (!parked_receipts_.empty() && holdForParked(m, pdu.command_id, raw, from, upstream_seq)) {
    return;  // its submit_sm_resp waits for the store: the receipt waits for it
  }
  if (multis_.empty() || !holdForMulti(m, pdu.command_id, raw, from, upstream_seq)) {
    deliverReceipt(m, pdu, raw, from, upstream_seq);
  }
}

const config::Upstream* Gateway::upstreamCfg(UpstreamRt id) const {
  return id.value < upstreams_.size() ? &upstreams_[id.value]->cfg() : nullptr;
}

std::string_view Gateway::upstreamName(UpstreamRt id) const {
  return id.value < upstreams_.size() ? std::string_view(upstreams_[id.value]->name())
                                      : std::string_view();
}

size_t Gateway::upstreamOutstanding(UpstreamRt id) const {
  return id.value < upstreams_.size() ? upstreams_[id.value]->outstanding() : 0;
}

void Gateway::deliverReceipt(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                             BindRef from, uint32_t upstream_seq) {
  const CustomerRt customer(m.customer);
  const config::Customer* custp = customerCfg(customer);
  // With the durable store, a final receipt settles its mapping once the carrier has its answer:
  // no carrier-id index entry is written for it then (indexDue).
  const uint64_t settles = store_ && receiptFinal(pdu) ? m.gateway_id : 0;
  if (custp == nullptr) {
    ackUpstream(from, pdu.command_id, upstream_seq, st::ESME_ROK);
    receiptSettled(settles);
    return;
  }
  const config::Customer& cust = *custp;
  const bool wanted = receiptWanted(cust.receipts, m.registered_delivery, pdu);
  if (!wanted) {
    rt_.metrics().receipts(from.upstream, customer, "suppressed").inc();
    ackUpstream(from, pdu.command_id, upstream_seq, st::ESME_ROK);
    receiptSettled(settles);
    return;
  }
  rt_.metrics().receipts(from.upstream, customer, "matched").inc();
  char idbuf[72];
  std::string_view gid =
      formatMessageId(m.gateway_id, cust.message_id_format, cust.message_id_length, idbuf);
  receipt_scratch_.clear();
  rewriteReceipt(pdu, raw, m, gid, receipt_scratch_);  // gid is followed by a NUL
  Delivery d;
  d.from = from;
  d.upstream_seq = upstream_seq;
  d.command = pdu.command_id;
  d.version_needed = codec::tlvVersionNeeded(pdu.tlvs);
  d.settles = settles;
  // To the session that submitted the message if it can take it: a carrier read of receipts then
  // becomes one write per submitting session, not one per receiver (and customers that match
  // receipts per connection see them where they expect).
  const SessionRef origin{static_cast<uint32_t>(m.origin >> 32), static_cast<uint32_t>(m.origin)};
  if (outboxes_) {
    outboxes_->accept(customer, receipt_scratch_.view(), d);
    return;
  }
  deliveries_.deliver(customer, receipt_scratch_.view(), d, origin);
}

void Gateway::ackUpstream(BindRef from, CommandId command, uint32_t seq, uint32_t status) {
  Upstream* u = upstream(from.upstream);
  UpstreamBind* b = u != nullptr ? u->bind(from.bind) : nullptr;
  if (b == nullptr || b->generation() != from.generation || !b->bound()) {
    return;  // that connection is gone; the MC redelivers what it did not see acknowledged
  }
  b->respond(command, seq, status);
}

void Gateway::onDeliveryAnswered(DownstreamSession& s, Delivery d, uint32_t status) {
  if (outboxes_) {
    outboxes_->answered(s.customer(), d, status);
    return;
  }
  deliveries_.answered(s.customer(), d, status);
}

void Gateway::onDeliveryFailed(Delivery d, metrics::DeferReason reason) {
  if (outboxes_) {
    outboxes_->failed(d, reason);
    return;
  }
  deliveries_.failed(d, reason);
}

void Gateway::onReceiverReadingChanged(DownstreamSession& s) {
  if (outboxes_) {
    outboxes_->readingChanged(s.customer());
    return;
  }
  deliveries_.readingChanged(s.customer());
}

uint32_t Gateway::deliveryShare(UpstreamRt id) const {
  return id.value < upstreams_.size() ? upstreams_[id.value]->cfg().customer_delivery_share : 0;
}

// ---------------------------------------------------------------------------------------------
// Timers and shutdown

void Gateway::tick() {
  loop_.refreshNs();  // queued requests sent from here get a current send time
  const uint64_t t = now();
  sessions_.forEach([t](DownstreamSession& s) { s.tick(t); });
  for (auto& u : upstreams_) {
    u->tick(t);
  }
  deliveries_.tick(t);
  if (outboxes_) {
    outboxes_->tick(t);
  }
  ids_.tick(t);
  releaseHeld(t);
  publishGauges();
  if (t >= next_housekeeping_ms_) {
    next_housekeeping_ms_ = t + 1000;
    ids_.expireMappings(t);
    // Retry states whose message can have no further attempt: its final answer (or failure)
    // erases it; this catches any request that vanished without either.
    std::erase_if(retries_, [t](const auto& kv) { return kv.second.deadline_ms + 60'000 < t; });
    for (auto& cs : customers_) {
      for (auto it = cs.sender_rate.begin(); it != cs.sender_rate.end();) {
        it = it->second.full(t) ? cs.sender_rate.erase(it) : std::next(it);
      }
    }
    rt_.metrics().authBlockedSources().set(static_cast<int64_t>(sources_.tick(t, cfg().auth)));
    sticky_.expire(routing::ConcatStickiness::TimePoint(std::chrono::milliseconds(t)));
  }
  if (shutting_down_) {
    maybeFinishShutdown();
  }
}

// Gauges and the loop's own counters are pushed from here (every tick), never computed on the
// scrape thread.
void Gateway::shutdown(std::function<void()> done) {
  if (shutting_down_) {
    return;
  }
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  shutdown_started_ms_ = now();
  log::info("shutdown_started", "sessions", sessions_.open());
  for (auto& l : listeners_) {
    l->close();
  }
  // Deliveries waiting for room go back to the carrier now, while its binds are up; those
  // already sent are answered as the customers answer them, before any carrier bind unbinds.
  deliveries_.returnWaiting(DeliveryQueues::kAll, metrics::DeferReason::ShuttingDown);
  sessions_.forEach([](DownstreamSession& s) { s.unbind("shutdown"); });
  maybeFinishShutdown();
}

void Gateway::maybeFinishShutdown() {
  if (!shutting_down_ || !shutdown_done_) {
    return;
  }
  const bool grace_over = now() - shutdown_started_ms_ >= ms(cfg().timers.shutdown_grace);
  if (sessions_.open() > 0 && !grace_over) {
    return;
  }
  if (grace_over) {
    sessions_.forEach([](DownstreamSession& s) { s.close("shutdown grace period over"); });
  }
  for (auto& u : upstreams_) {
    u->stop(true);
  }
  bool all_idle = true;
  for (auto& u : upstreams_) {
    for (const auto& b : u->binds()) {
      all_idle = all_idle && b->state() == UpstreamBind::State::Idle;
    }
  }
  if (!all_idle && !grace_over) {
    return;
  }
  for (auto& u : upstreams_) {
    u->stop(false);
  }
  tick_timer_.reset();
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  log::info("shutdown_complete");
  done();
}

void Gateway::abort() {
  sessions_.forEach([](DownstreamSession& s) { s.close("abort"); });
  for (auto& u : upstreams_) {
    u->stop(false);
  }
  listeners_.clear();
  tick_timer_.reset();
}

}  // namespace smppgw
