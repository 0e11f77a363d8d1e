#include "gateway/gateway.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "codec/encode.h"
#include "codec/splice.h"
#include "codec/udh.h"
#include "config/keys.h"
#include "config/password.h"
#include "gateway/log.h"
#include "gateway/receipt_rewrite.h"
#include "routing/concat.h"

namespace smppgw {

using codec::CommandId;
namespace st = codec::status;

namespace {

// registered_delivery as sent to the carrier under a customer's receipt policy: `always` asks for
// a final receipt (success or failure) on every message; `never` asks for none (MC receipt and
// intermediate notification bits cleared; SME acknowledgement bits are the recipient's business).
uint8_t carrierRegisteredDelivery(config::ReceiptPolicy policy, uint8_t requested) {
  switch (policy) {
    case config::ReceiptPolicy::Always:
      return static_cast<uint8_t>((requested & ~0x03) | 0x01);
    case config::ReceiptPolicy::Never:
      return static_cast<uint8_t>(requested & ~0x13);
    case config::ReceiptPolicy::AsRequested:
      break;
  }
  return requested;
}

// The mapping stored when a carrier accepts a request: gateway id <-> carrier id, with what a
// receipt needs to be rewritten for the customer.
store::MappingInput mappingFor(const UpInFlight& info, uint64_t gateway_id, uint32_t upstream,
                               std::string_view carrier_id, std::string_view carrier_key,
                               uint64_t now_ms) {
  store::MappingInput m;
  m.gateway_id = gateway_id;
  m.customer = info.customer;
  m.upstream = upstream;
  m.created_ms = now_ms;
  m.upstream_id = carrier_id;
  m.upstream_key = carrier_key;
  m.source_addr = info.source.view();
  m.destination_addr = info.destination.view();
  m.registered_delivery = info.registered_delivery;
  m.origin = (uint64_t{info.origin.index} << 32) | info.origin.generation;
  return m;
}

constexpr uint64_t kTickMs = 100;

uint64_t ms(config::Duration d) {
  return static_cast<uint64_t>(d.count());
}

}  // namespace

// Routing-relevant fields of a submission, whatever its PDU type.
struct SubmitFields {
  std::string_view source;
  uint8_t source_ton = 0;
  uint8_t source_npi = 0;
  std::string_view destination;
  uint8_t dest_ton = 0;
  uint8_t dest_npi = 0;
  std::string_view service_type;
  uint8_t data_coding = 0;
  uint8_t esm_class = 0;
  uint8_t registered_delivery = 0;
  codec::Bytes short_message;
};

namespace {

SubmitFields submitFields(const codec::Pdu& pdu) {
  SubmitFields f;
  if (const auto* b = pdu.tryAs<codec::SmBody>()) {
    f = {b->source_addr,   b->source_addr_ton,     b->source_addr_npi, b->destination_addr,
         b->dest_addr_ton, b->dest_addr_npi,       b->service_type,    b->data_coding,
         b->esm_class,     b->registered_delivery, b->short_message};
  } else if (const auto* d = pdu.tryAs<codec::DataSmBody>()) {
    f = {d->source_addr,
         d->source_addr_ton,
         d->source_addr_npi,
         d->destination_addr,
         d->dest_addr_ton,
         d->dest_addr_npi,
         d->service_type,
         d->data_coding,
         d->esm_class,
         d->registered_delivery,
         {}};
  } else if (const auto* m = pdu.tryAs<codec::SubmitMultiBody>()) {
    f.source = m->source_addr;
    f.source_ton = m->source_addr_ton;
    f.source_npi = m->source_addr_npi;
    f.service_type = m->service_type;
    f.data_coding = m->data_coding;
    f.esm_class = m->esm_class;
    f.registered_delivery = m->registered_delivery;
    f.short_message = m->short_message;
    // No destination: each one is routed on its own (Gateway::onSubmitMulti).
  } else if (const auto* bc = pdu.tryAs<codec::BroadcastSmBody>()) {
    f.source = bc->source_addr;
    f.source_ton = bc->source_addr_ton;
    f.source_npi = bc->source_addr_npi;
    f.service_type = bc->service_type;
    f.data_coding = bc->data_coding;
  }
  return f;
}

bool isSubmission(CommandId id) {
  return id == CommandId::submit_sm || id == CommandId::data_sm || id == CommandId::submit_multi ||
         id == CommandId::broadcast_sm;
}

// The message_id field of a response body, where it has one.
std::string_view* responseMessageId(codec::Pdu& p) {
  if (auto* b = p.tryAs<codec::MessageIdBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::SubmitMultiRespBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::QuerySmRespBody>()) {
    return &b->message_id;
  }
  return nullptr;
}

const std::string_view* responseMessageId(const codec::Pdu& p) {
  return responseMessageId(const_cast<codec::Pdu&>(p));
}

// The message_id field of a by-id request (query/cancel/replace, broadcast variants).
std::string_view* requestMessageId(codec::Pdu& p) {
  if (auto* b = p.tryAs<codec::QuerySmBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::CancelSmBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::ReplaceSmBody>()) {
    return &b->message_id;
  }
  if (auto* b = p.tryAs<codec::CancelBroadcastSmBody>()) {
    return &b->message_id;
  }
  return nullptr;
}

uint64_t wallClockMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);  // vDSO: no syscall
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

std::string randomBytes(size_t n) {
  std::string s(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n)) != 1) {
    std::random_device rd;
    for (char& c : s) {
      c = static_cast<char>(rd());
    }
  }
  return s;
}

}  // namespace

// Runtime state of a customer, kept across reloads (indexed by a runtime id that never changes;
// config indices do). cfg is its index in the current config, kNoId once it was removed.
struct Gateway::CustomerState {
  std::string system_id;
  uint32_t cfg = config::kNoId;
  GatewayMetrics::Customer* m = nullptr;
  TokenBucket rate;
  uint32_t binds = 0;
  std::string verified;  // sha256(pepper || password) of the last password that verified
};

// A bind waiting for its password check on the thread pool.
struct Gateway::AuthJob {
  uv_work_t req;
  Gateway* gw;
  std::shared_ptr<bool> alive;  // false once the gateway is gone: the callback only frees
  SessionRef ref;
  CommandId bind;
  uint32_t seq;
  uint32_t customer;                             // runtime id
  uint32_t customer_cfg;                         // its index in `config`
  std::shared_ptr<const config::Config> config;  // keeps the customer record alive
  std::string password;
  bool ok = false;
};

Gateway::Gateway(net::Loop& loop, std::shared_ptr<const config::Config> config,
                 routing::RoutingTablePtr table, metrics::Registry& registry)
    : loop_(loop),
      config_(std::move(config)),
      table_(std::move(table)),
      selector_(*config_),
      sticky_(config_->routing.concat_max_entries, config_->routing.concat_ttl),
      ids_(*this, ms(config_->store.mapping_ttl), config_->store.max_mappings),
      minter_(config_->gateway.instance_id),
      metrics_(registry),
      rng_(std::random_device{}()),
      pepper_(randomBytes(32)) {
  group_queued_.assign(config_->groups.size(), 0);
  bindConfig();
  metrics::Histogram& iteration = registry.histogram(metrics::HistogramFamily::LoopIteration);
  loop_.setIterationObserver([&iteration](uint64_t busy_ns) { iteration.observeNs(busy_ns); });
}

// Points every runtime object at the current config: customers and upstreams keep their runtime
// ids (by system_id / name) so mappings, in-flight requests and deliveries stay valid.
void Gateway::bindConfig() {
  const config::Config& c = *config_;
  for (auto& cs : customers_) {
    cs.cfg = config::kNoId;
  }
  customer_rt_.assign(c.customers.size(), 0);
  for (size_t i = 0; i < c.customers.size(); ++i) {
    const config::Customer& cust = c.customers[i];
    auto [it, added] = customer_by_system_id_.try_emplace(cust.system_id,
                                                          static_cast<uint32_t>(customers_.size()));
    if (added) {
      customers_.emplace_back();
      customers_.back().system_id = cust.system_id;
    }
    CustomerState& cs = customers_[it->second];
    cs.cfg = static_cast<uint32_t>(i);
    cs.m = &metrics_.customer(it->second, cust.system_id);
    cs.rate.configure(cust.rate_limit.per_second, cust.rate_limit.burst);
    customer_rt_[i] = it->second;
  }
  for (auto& u : upstreams_) {
    u->setConfigIndex(config::kNoId);
  }
  upstream_rt_.assign(c.upstreams.size(), 0);
  for (size_t i = 0; i < c.upstreams.size(); ++i) {
    const config::Upstream& uc = c.upstreams[i];
    auto it = std::find_if(upstreams_.begin(), upstreams_.end(),
                           [&](const auto& u) { return u->name() == uc.name; });
    if (it == upstreams_.end()) {
      upstreams_.push_back(
          std::make_unique<Upstream>(*this, static_cast<uint32_t>(upstreams_.size()), uc));
      it = upstreams_.end() - 1;
    } else {
      (*it)->reconfigure(uc);
    }
    (*it)->setConfigIndex(static_cast<uint32_t>(i));
    (*it)->setMetrics(&metrics_.upstream((*it)->id(), uc.name));
    upstream_rt_[i] = (*it)->id();
  }
}

GatewayMetrics::Customer* Gateway::customerMetrics(uint32_t rcid) {
  return rcid < customers_.size() ? customers_[rcid].m : nullptr;
}

void Gateway::refuseMetric(uint32_t rcid, metrics::RefusalReason reason) {
  if (auto* m = customerMetrics(rcid)) {
    m->refusals[static_cast<size_t>(reason)]->inc();
  }
}

const config::Customer* Gateway::customerCfg(uint32_t rcid) const {
  if (rcid >= customers_.size() || customers_[rcid].cfg == config::kNoId) {
    return nullptr;
  }
  return &config_->customers[customers_[rcid].cfg];
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
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    const config::Listener& l = c.listeners[i];
    if (l.tls.enabled) {
      log::error("listener_failed", "listener", l.name, "reason",
                 "TLS listeners are not implemented in this build");
      return false;
    }
    sockaddr_storage addr{};
    if (!net::parseAddress(l.address, l.port, addr)) {
      log::error("listener_failed", "listener", l.name, "reason", "bad address", "address",
                 l.address);
      return false;
    }
    auto listener =
        std::make_unique<net::Listener>(loop_, [this, i](uv_stream_t* s) { accept(i, s); });
    if (int rc = listener->listen(reinterpret_cast<sockaddr*>(&addr)); rc != 0) {
      log::error("listener_failed", "listener", l.name, "address", l.address, "port", l.port,
                 "reason", uv_strerror(rc));
      return false;
    }
    log::info("listening", "listener", l.name, "address", l.address, "port", listener->port());
    listeners_.push_back(std::move(listener));
  }
  listener_connections_.assign(c.listeners.size(), 0);
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

void Gateway::accept(size_t listener_index, uv_stream_t* server) {
  auto conn = net::Connection::create(loop_, nullptr, cfg().limits.max_pdu_size);
  if (conn->accept(server) != 0) {
    return;
  }
  const config::Listener& l = cfg().listeners[listener_index];
  if (shutting_down_ || open_sessions_ >= cfg().limits.max_connections ||
      listener_connections_[listener_index] >= l.max_connections) {
    metrics_.connection(l.name, false).inc();
    log::warn("connection_refused", "listener", l.name, "peer", conn->peerAddress(), "reason",
              shutting_down_ ? "shutting down" : "max_connections");
    conn->abort();
    return;
  }
  SessionRef ref;
  if (!free_slots_.empty()) {
    ref.index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    ref.index = static_cast<uint32_t>(sessions_.size());
    sessions_.emplace_back();
    generations_.push_back(0);
  }
  ref.generation = ++generations_[ref.index];
  sessions_[ref.index] = std::make_unique<DownstreamSession>(
      *this, ref, static_cast<config::ListenerId>(listener_index), std::move(conn), now());
  ++open_sessions_;
  ++listener_connections_[listener_index];
  metrics_.connection(l.name, true).inc();
  log::debug("connection_accepted", "listener", l.name, "peer", sessions_[ref.index]->peer());
}

DownstreamSession* Gateway::session(SessionRef r) {
  if (r.index >= sessions_.size() || generations_[r.index] != r.generation) {
    return nullptr;
  }
  DownstreamSession* s = sessions_[r.index].get();
  return s != nullptr && !s->closed() ? s : nullptr;
}

void Gateway::onSessionBound(DownstreamSession& s) {
  if (s.canReceive()) {
    deliveries_.receiverBound(s.customer(), s.ref());
  }
}

void Gateway::onSessionClosed(DownstreamSession& s) {
  SessionRef ref = s.ref();
  if (s.customer() != config::kNoId && s.customer() < customers_.size()) {
    CustomerState& cs = customers_[s.customer()];
    if (cs.binds > 0) {
      --cs.binds;  // customer() is set only once a bind succeeded
    }
    deliveries_.receiverClosed(s.customer(), ref);
  }
  if (listener_connections_.size() > s.listener() && listener_connections_[s.listener()] > 0) {
    --listener_connections_[s.listener()];
  }
  // Free the slot now (a new session may take it) but the object only at the end of the loop
  // iteration: we may be inside one of its callbacks.
  ++generations_[ref.index];
  closing_.push_back(std::move(sessions_[ref.index]));
  free_slots_.push_back(ref.index);
  --open_sessions_;
  if (closing_.size() == 1) {
    loop_.defer([this] { closing_.clear(); });
  }
  maybeFinishShutdown();
}

// ---------------------------------------------------------------------------------------------
// Binds

void Gateway::authenticate(DownstreamSession& s, CommandId bind, uint32_t seq,
                           const codec::BindBody& body) {
  auto it = customer_by_system_id_.find(std::string(body.system_id));
  if (it == customer_by_system_id_.end()) {
    s.bindFailed(bind, seq, st::ESME_RINVSYSID);
    return;
  }
  const uint32_t id = it->second;  // runtime id
  if (customerCfg(id) == nullptr) {
    s.bindFailed(bind, seq, st::ESME_RINVSYSID);  // removed by a reload
    return;
  }
  if (uint32_t status = checkBindPolicy(s, bind, id); status != st::ESME_ROK) {
    s.bindFailed(bind, seq, status);
    return;
  }
  std::string password(body.password);
  // A password that verified before is recognised by a keyed hash (microseconds, on the loop);
  // anything else pays the full PBKDF2 on the thread pool.
  CustomerState& cs = customers_[id];
  if (!cs.verified.empty() && cs.verified == config::sha256Hex(pepper_ + password)) {
    finishBind(s.ref(), bind, seq, id, true, password);
    return;
  }
  auto job = std::make_unique<AuthJob>();
  job->gw = this;
  job->alive = alive_;
  job->ref = s.ref();
  job->bind = bind;
  job->seq = seq;
  job->customer = id;
  job->customer_cfg = customers_[id].cfg;
  job->config = config_;
  job->password = std::move(password);
  job->req.data = job.get();
  int rc = uv_queue_work(
      loop_.raw(), &job->req,
      [](uv_work_t* req) {
        auto* j = static_cast<AuthJob*>(req->data);
        j->ok = config::verifyCustomerPassword(j->config->customers[j->customer_cfg], j->password);
      },
      [](uv_work_t* req, int status) {
        std::unique_ptr<AuthJob> j(static_cast<AuthJob*>(req->data));
        if (!*j->alive) {
          return;  // the gateway was destroyed while the check was queued or running
        }
        j->gw->work_.erase(req);
        if (status == UV_ECANCELED) {
          return;
        }
        j->gw->finishBind(j->ref, j->bind, j->seq, j->customer, j->ok, j->password);
      });
  if (rc != 0) {
    s.bindFailed(bind, seq, st::ESME_RSYSERR);
    return;
  }
  work_.insert(&job.release()->req);  // owned by the thread pool until the after-work callback
}

uint32_t Gateway::checkBindPolicy(const DownstreamSession& s, CommandId bind,
                                  config::CustomerId id) const {
  const config::Customer* cp = customerCfg(id);
  if (cp == nullptr) {
    return st::ESME_RINVSYSID;
  }
  const config::Customer& c = *cp;
  const config::Listener& l = cfg().listeners[s.listener()];
  if (!c.enabled || !l.admits(customers_[id].cfg)) {
    return st::ESME_RBINDFAIL;
  }
  config::BindType t = bind == CommandId::bind_transmitter ? config::BindType::Transmitter
                       : bind == CommandId::bind_receiver  ? config::BindType::Receiver
                                                           : config::BindType::Transceiver;
  if (!c.allowsBind(t)) {
    return st::ESME_RBINDFAIL;
  }
  if (!c.source_networks.empty()) {
    const sockaddr_storage& ss = s.peerSockaddr();
    uint8_t ip[16] = {};
    bool v6 = ss.ss_family == AF_INET6;
    if (v6) {
      std::memcpy(ip, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, 16);
    } else {
      std::memcpy(ip, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, 4);
    }
    bool allowed = std::any_of(c.source_networks.begin(), c.source_networks.end(),
                               [&](const config::Cidr& n) { return n.containsBytes(ip, v6); });
    if (!allowed) {
      return st::ESME_RBINDFAIL;
    }
  }
  if (customers_[id].binds >= c.max_binds) {
    return st::ESME_RALYBND;  // the usual status for "too many binds for this system_id"
  }
  return st::ESME_ROK;
}

void Gateway::finishBind(SessionRef ref, CommandId bind, uint32_t seq, config::CustomerId id,
                         bool password_ok, const std::string& password) {
  DownstreamSession* s = session(ref);
  if (s == nullptr) {
    return;  // the connection went away while the password was checked
  }
  if (!password_ok) {
    s->bindFailed(bind, seq, st::ESME_RINVPASWD);
    return;
  }
  // The limits may have been reached while the check ran.
  if (uint32_t status = checkBindPolicy(*s, bind, id); status != st::ESME_ROK) {
    s->bindFailed(bind, seq, status);
    return;
  }
  CustomerState& cs = customers_[id];
  cs.verified = config::sha256Hex(pepper_ + password);
  ++cs.binds;
  const config::Customer& c = *customerCfg(id);
  s->bindSucceeded(bind, seq, id, c.window, c.window);
}

// ---------------------------------------------------------------------------------------------
// Submissions (customer -> carrier)

void Gateway::onSubmit(DownstreamSession& s, const codec::Pdu& pdu, codec::Bytes raw) {
  const uint64_t t = now();
  const uint32_t cid = s.customer();
  const config::Customer* custp = customerCfg(cid);
  if (custp == nullptr) {
    s.respondStatus(pdu.command_id, pdu.sequence_number, gwstatus::kShuttingDown);
    s.requestAnswered();
    return;
  }
  const config::Customer& cust = *custp;
  using R = metrics::RefusalReason;
  auto refuse = [&](uint32_t status, R reason) {
    refuseMetric(cid, reason);
    s.respondStatus(pdu.command_id, pdu.sequence_number, status);
    s.requestAnswered();
  };
  if (shutting_down_) {
    refuse(gwstatus::kShuttingDown, R::Shutdown);
    return;
  }
  if (!customers_[cid].rate.tryTake(t)) {
    refuse(gwstatus::kRateLimited, R::Rate);
    return;
  }
  SubmitFields f = submitFields(pdu);
  if (!cust.sourceAllowed(f.source)) {
    refuse(st::ESME_RINVSRCADR, R::Policy);
    return;
  }
  if (pdu.command_id == CommandId::submit_multi) {
    onSubmitMulti(s, cust, pdu, t);
    return;
  }
  routeSubmission(s, cust, pdu, raw, f, t, 0, 0);
}

void Gateway::routeSubmission(DownstreamSession& s, const config::Customer& cust,
                              const codec::Pdu& pdu, codec::Bytes raw, const SubmitFields& f,
                              uint64_t t, uint64_t multi, uint8_t multi_dest) {
  const uint32_t cid = s.customer();
  using R = metrics::RefusalReason;
  auto refuse = [&](uint32_t status, R reason) {
    refuseMetric(cid, reason);
    if (multi != 0) {
      multiPartDone(multi, multi_dest, status);  // the submit_multi_resp lists it
      return;
    }
    s.respondStatus(pdu.command_id, pdu.sequence_number, status);
    s.requestAnswered();
  };
  routing::MtKey key;
  key.customer = customers_[cid].cfg;
  key.listener = s.listener();
  key.source_addr = f.source;
  key.source_ton = f.source_ton;
  key.source_npi = f.source_npi;
  key.destination_addr = f.destination;
  key.destination_ton = f.dest_ton;
  key.destination_npi = f.dest_npi;
  key.service_type = f.service_type;
  key.data_coding = f.data_coding;
  key.esm_class = f.esm_class;
  routing::MtDecision d = table_->route(key);
  if (!d.routed()) {
    refuse(d.status != 0 ? d.status : cfg().routing.unroutable_status, R::NoRoute);
    return;
  }

  UpInFlight info;
  info.kind = UpInFlight::Kind::Forward;
  info.command = pdu.command_id;
  info.origin = s.ref();
  info.origin_seq = pdu.sequence_number;
  info.customer = cid;
  info.started_ns = loop_.cachedNs();
  info.registered_delivery = f.registered_delivery;
  info.group = d.group;
  info.origin_version = s.version();
  info.source.assign(f.source);
  info.destination.assign(f.destination);
  if (multi != 0) {
    info.multi = true;
    info.multi_dest = multi_dest;
    info.gateway_id = multi;
  }

  // Parts of one long message stick to the upstream of the first part seen.
  std::optional<routing::ConcatKey> ckey;
  uint8_t part = 0;
  if ((f.esm_class & 0x40) != 0 && !f.short_message.empty()) {
    if (auto ci = codec::concatInfo(f.short_message)) {
      ckey = routing::ConcatKey::make(cid, d.destination.view(), ci->ref, ci->total);
      part = ci->seq;
    }
  } else if (auto ref = pdu.tlvs.integer(codec::tag::sar_msg_ref_num)) {
    auto total = pdu.tlvs.integer(codec::tag::sar_total_segments);
    auto seqn = pdu.tlvs.integer(codec::tag::sar_segment_seqnum);
    if (total && seqn) {
      ckey = routing::ConcatKey::make(cid, d.destination.view(), static_cast<uint16_t>(*ref),
                                      static_cast<uint8_t>(*total));
      part = static_cast<uint8_t>(*seqn);
    }
  }

  // Member states for the selector, indexed by config upstream id.
  member_status_.resize(upstream_rt_.size());
  bool any_bound = false;
  for (size_t i = 0; i < upstream_rt_.size(); ++i) {
    Upstream& u = *upstreams_[upstream_rt_[i]];
    bool bound = u.available();
    any_bound = any_bound || bound;
    member_status_[i].available = bound && (!groupQueueFull(d.group) || u.canSendNow(t));
    member_status_[i].outstanding = static_cast<uint32_t>(u.outstanding());
  }
  // `chosen` is a runtime upstream id (stickiness remembers runtime ids: stable over reloads).
  std::optional<uint32_t> chosen;
  const auto tp = routing::ConcatStickiness::TimePoint(std::chrono::milliseconds(t));
  if (ckey) {
    if (auto prev = sticky_.find(*ckey, part, tp);
        prev && *prev < upstreams_.size() && upstreams_[*prev]->available() &&
        (!groupQueueFull(d.group) || upstreams_[*prev]->canSendNow(t))) {
      chosen = prev;
    }
  }
  if (!chosen) {
    if (auto pick = selector_.pick(d.group, member_status_)) {
      chosen = upstream_rt_[*pick];
      if (ckey) {
        sticky_.remember(*ckey, part, *chosen, tp);
      }
    }
  }
  if (!chosen) {
    if (any_bound) {
      refuse(gwstatus::kQueueFull, R::QueueFull);
    } else {
      refuse(gwstatus::kNoUpstream, R::NoUpstream);
    }
    return;
  }
  Upstream& up = *upstreams_[*chosen];

  // Forward the bytes received, re-encoding only when this upstream needs something changed.
  codec::Bytes out = raw;
  const config::AddressRewrite& rw = up.cfg().rewrite;
  const bool rewrite = rw.source_ton || rw.source_npi || rw.destination_ton || rw.destination_npi ||
                       !rw.source_override.empty() ||
                       rw.destination_format != config::DestinationFormat::AsIs;
  const uint8_t carrier_rd = carrierRegisteredDelivery(cust.receipts, f.registered_delivery);
  const bool rd_change = carrier_rd != f.registered_delivery;
  if (rewrite || rd_change || codec::tlvVersionNeeded(pdu.tlvs) > up.cfg().interface_version) {
    codec::Pdu copy = pdu;
    if (rd_change) {
      if (auto* b = copy.tryAs<codec::SmBody>()) {
        b->registered_delivery = carrier_rd;
      } else if (auto* b2 = copy.tryAs<codec::DataSmBody>()) {
        b2->registered_delivery = carrier_rd;  // (submit_multi arrives here as submit_sm parts)
      }
    }
    if (rewrite) {
      std::string_view src_override = rw.source_override;
      text_scratch_.clear();
      if (rw.destination_format != config::DestinationFormat::AsIs) {
        if (rw.destination_format == config::DestinationFormat::PlusInternational) {
          text_scratch_.push_back('+');  // (operator= trips a GCC 12 -Wrestrict false positive)
        }
        text_scratch_ += d.destination.view();
      }
      auto apply = [&](auto& b) {
        if (!src_override.empty()) {
          b.source_addr = src_override;
        }
        if (rw.source_ton) {
          b.source_addr_ton = *rw.source_ton;
        }
        if (rw.source_npi) {
          b.source_addr_npi = *rw.source_npi;
        }
        if constexpr (requires { b.destination_addr; }) {
          if (rw.destination_format != config::DestinationFormat::AsIs) {
            b.destination_addr = text_scratch_;
            b.dest_addr_ton = 1;
            b.dest_addr_npi = 1;
          }
          if (rw.destination_ton) {
            b.dest_addr_ton = *rw.destination_ton;
          }
          if (rw.destination_npi) {
            b.dest_addr_npi = *rw.destination_npi;
          }
        }
      };
      if (auto* b = copy.tryAs<codec::SmBody>()) {
        apply(*b);
      } else if (auto* b2 = copy.tryAs<codec::DataSmBody>()) {
        apply(*b2);
      } else if (auto* b3 = copy.tryAs<codec::SubmitMultiBody>()) {
        apply(*b3);
      } else if (auto* b4 = copy.tryAs<codec::BroadcastSmBody>()) {
        apply(*b4);
      }
    }
    scratch_.clear();
    codec::encode(copy, scratch_, {up.cfg().interface_version});
    out = scratch_.view();
  }
  if (!up.submit(out, info, t)) {
    refuse(gwstatus::kQueueFull, R::QueueFull);
  }
}

// ---------------------------------------------------------------------------------------------
// submit_multi: one submit_sm per SME destination, one submit_multi_resp for the customer
//
// Each destination is routed like a submit_sm of its own (reject actions, the customer's default
// route, group selection, concatenation stickiness) and sent upstream as a submit_sm: a carrier
// that took a submit_multi would give one id to all its destinations, and their receipts could
// then only be told apart by addresses the carrier may rewrite. Every part's mapping carries the
// one gateway id the customer gets and that destination's own addresses.

void Gateway::onSubmitMulti(DownstreamSession& s, const config::Customer& cust,
                            const codec::Pdu& pdu, uint64_t t) {
  const auto& mb = pdu.as<codec::SubmitMultiBody>();
  const uint64_t gid = minter_.next(wallClockMs());
  MultiSubmit& mu = multis_[gid];
  mu.origin = s.ref();
  mu.origin_seq = pdu.sequence_number;
  mu.customer = s.customer();
  mu.started_ns = loop_.cachedNs();
  mu.outstanding = 1;  // held while the parts go out, so that no refusal finishes it early
  mu.dests.resize(mb.dest_addresses.size());

  codec::Pdu part(CommandId::submit_sm, pdu.sequence_number);
  auto& sm = part.as<codec::SmBody>();
  sm.service_type = mb.service_type;
  sm.source_addr_ton = mb.source_addr_ton;
  sm.source_addr_npi = mb.source_addr_npi;
  sm.source_addr = mb.source_addr;
  sm.esm_class = mb.esm_class;
  sm.protocol_id = mb.protocol_id;
  sm.priority_flag = mb.priority_flag;
  sm.schedule_delivery_time = mb.schedule_delivery_time;
  sm.validity_period = mb.validity_period;
  sm.registered_delivery = mb.registered_delivery;
  sm.replace_if_present_flag = mb.replace_if_present_flag;
  sm.data_coding = mb.data_coding;
  sm.sm_default_msg_id = mb.sm_default_msg_id;
  sm.short_message = mb.short_message;
  part.tlvs = pdu.tlvs;  // encoded for each carrier's version by routeSubmission
  codec::Buffer raw;
  for (size_t i = 0; i < mb.dest_addresses.size(); ++i) {
    const codec::DestAddress& da = mb.dest_addresses[i];
    MultiSubmit::Dest& dest = mu.dests[i];
    dest.ton = da.dest_addr_ton;
    dest.npi = da.dest_addr_npi;
    dest.address.assign(da.address);
    if (da.dest_flag != 1) {
      // No upstream takes distribution lists: the list is refused, the SME addresses go on.
      dest.status = st::ESME_RCNTSUBDL;
      continue;
    }
    sm.dest_addr_ton = da.dest_addr_ton;
    sm.dest_addr_npi = da.dest_addr_npi;
    sm.destination_addr = da.address;
    raw.clear();
    codec::encode(part, raw);
    ++mu.outstanding;
    routeSubmission(s, cust, part, raw.view(), submitFields(part), t, gid, static_cast<uint8_t>(i));
  }
  multiPartDone(gid, 0, st::ESME_ROK);
}

void Gateway::onMultiPartResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp) {
  const std::string_view* mid = responseMessageId(resp);
  if (resp.command_status != st::ESME_ROK || resp.command_id != CommandId::submit_sm_resp) {
    multiPartDone(info.gateway_id, info.multi_dest,
                  resp.command_status != st::ESME_ROK ? resp.command_status : st::ESME_RSYSERR);
    return;
  }
  auto it = multis_.find(info.gateway_id);
  if (it != multis_.end()) {
    ++it->second.accepted;
  }
  if (mid != nullptr && !mid->empty()) {
    // Stored now, so a receipt that follows at once is matched (and held by holdForMulti until
    // the customer has its submit_multi_resp).
    const uint32_t up_id = b.upstreamId();
    codec::MessageIdKey key;
    ids_.normalise(up_id, *mid, false, key);
    ids_.release(ids_.record(mappingFor(info, info.gateway_id, up_id, *mid, key.view(), now())));
  }
  multiPartDone(info.gateway_id, info.multi_dest, st::ESME_ROK);
}

void Gateway::multiPartDone(uint64_t multi, uint8_t dest, uint32_t status) {
  auto it = multis_.find(multi);
  if (it == multis_.end()) {
    return;
  }
  MultiSubmit& mu = it->second;
  if (status != st::ESME_ROK && dest < mu.dests.size()) {
    mu.dests[dest].status = status;
  }
  if (--mu.outstanding > 0) {
    return;
  }
  MultiSubmit done = std::move(mu);
  multis_.erase(it);

  // Every refused destination, with its status. If none was accepted the PDU fails as a whole
  // (the common status, or ESME_RSUBMITFAIL when they differ) and the list still says why.
  codec::Pdu resp(CommandId::submit_multi_resp, done.origin_seq);
  auto& body = resp.as<codec::SubmitMultiRespBody>();
  uint32_t common = 0;
  for (const MultiSubmit::Dest& d : done.dests) {
    if (d.status != st::ESME_ROK) {
      body.unsuccess_smes.push_back({d.ton, d.npi, d.address, d.status});
      common = common == 0 || common == d.status ? d.status : st::ESME_RSUBMITFAIL;
    }
  }
  const config::Customer* custp = customerCfg(done.customer);
  char idbuf[72];
  if (done.accepted > 0) {
    body.message_id = formatMessageId(
        multi, custp != nullptr ? custp->message_id_format : config::MessageIdFormat::Hex,
        custp != nullptr ? custp->message_id_length : 16, idbuf);
  } else {
    resp.command_status = common != 0 ? common : st::ESME_RSUBMITFAIL;
  }
  // The customer's session may have gone: then only the receipts below remain to handle.
  if (DownstreamSession* s = session(done.origin)) {
    codec::encode(resp, s->out(), {s->version()});
    s->send();
    if (auto* m = customerMetrics(done.customer)) {
      metrics_.customerResponse(*m, CommandId::submit_multi_resp, resp.command_status);
      m->latency->observeNs(loop_.cachedNs() - done.started_ns);
    }
    s->requestAnswered();
  }
  // The receipts that came before the response, in their order.
  for (HeldReceipt& h : done.receipts) {
    codec::Pdu p;
    store::MappingView m;
    if (!codec::decode(h.pdu.view(), p) && ids_.mappings().byUpstream(h.upstream, h.key, m)) {
      deliverReceipt(m, p, h.pdu.view(), h.from, h.upstream_seq);
    } else {  // its mapping was evicted meanwhile
      ids_.unmatched(h.upstream, h.key, h.from, h.command, h.upstream_seq,
                     metrics::UnmatchedReason::HeldExpired);
    }
  }
}

bool Gateway::holdForMulti(const store::MappingView& m, CommandId command, codec::Bytes raw,
                           BindRef from, uint32_t upstream_seq) {
  auto it = multis_.find(m.gateway_id);
  if (it == multis_.end()) {
    return false;
  }
  HeldReceipt h;
  h.upstream = m.upstream;
  h.command = command;
  h.key = std::string(m.upstream_key);
  h.pdu.append(raw);
  h.from = from;
  h.upstream_seq = upstream_seq;
  it->second.receipts.push_back(std::move(h));
  return true;
}

void Gateway::onById(DownstreamSession& s, const codec::Pdu& pdu) {
  const config::Customer* custp = customerCfg(s.customer());
  if (custp == nullptr) {
    s.respondStatus(pdu.command_id, pdu.sequence_number, gwstatus::kShuttingDown);
    s.requestAnswered();
    return;
  }
  const config::Customer& cust = *custp;
  codec::Pdu copy = pdu;
  std::string_view* mid = requestMessageId(copy);
  auto refuse = [&](uint32_t status) {
    s.respondStatus(pdu.command_id, pdu.sequence_number, status);
    s.requestAnswered();
  };
  if (mid == nullptr || mid->empty()) {
    // cancel_sm by source/destination only would have to reach every carrier: not offered.
    refuse(pdu.command_id == CommandId::cancel_sm ? st::ESME_RCANCELFAIL : st::ESME_RINVMSGID);
    return;
  }
  auto gid = parseMessageId(*mid, cust.message_id_format);
  store::MappingView m;
  // Another customer's message is as unknown as a message that never existed.
  if (!gid || !ids_.mappings().byGatewayId(*gid, m) || m.customer != s.customer()) {
    refuse(st::ESME_RINVMSGID);
    return;
  }
  Upstream* up = upstream(m.upstream);
  if (up == nullptr || !up->available()) {
    refuse(gwstatus::kNoUpstream);
    return;
  }
  *mid = m.upstream_id;
  scratch_.clear();
  codec::encode(copy, scratch_, {up->cfg().interface_version});
  UpInFlight info;
  info.kind = UpInFlight::Kind::Forward;
  info.command = pdu.command_id;
  info.origin = s.ref();
  info.origin_seq = pdu.sequence_number;
  info.customer = s.customer();
  info.gateway_id = *gid;
  info.started_ns = loop_.cachedNs();
  info.origin_version = s.version();
  if (!up->submit(scratch_.view(), info, now())) {
    refuse(gwstatus::kQueueFull);
  }
}

void Gateway::onUpstreamResponse(UpstreamBind& b, const UpInFlight& info, const codec::Pdu& resp,
                                 codec::Bytes raw) {
  if (info.multi) {
    onMultiPartResponse(b, info, resp);
    return;
  }
  DownstreamSession* s = session(info.origin);
  const CommandId resp_id = codec::responseFor(info.command);
  const std::string_view* mid = responseMessageId(resp);
  char idbuf[72];
  std::string_view new_id;  // what the customer sees in message_id
  // Receipts that overtook this response are released after it is written, so the customer
  // learns the id before it sees a receipt for it.
  std::optional<store::MappingView> release;
  const config::Customer* custp = customerCfg(info.customer);
  const config::MessageIdFormat id_format =
      custp != nullptr ? custp->message_id_format : config::MessageIdFormat::Hex;
  const uint32_t id_length = custp != nullptr ? custp->message_id_length : 16;

  if (isSubmission(info.command)) {
    if (resp.command_status == st::ESME_ROK && mid != nullptr && !mid->empty()) {
      const uint32_t up_id = b.upstreamId();
      codec::MessageIdKey key;
      ids_.normalise(up_id, *mid, false, key);
      const store::MappingView stored = ids_.record(
          mappingFor(info, minter_.next(wallClockMs()), up_id, *mid, key.view(), now()));
      new_id = formatMessageId(stored.gateway_id, id_format, id_length, idbuf);
      release = stored;
    }  // else: a failed submission has no id (new_id stays empty)
  } else if (mid != nullptr) {
    // query_sm_resp and friends: give the customer its own id back.
    new_id = formatMessageId(info.gateway_id, id_format, id_length, idbuf);
  }
  if (s == nullptr) {
    if (b.metrics() != nullptr) {
      b.metrics()->orphans->inc();
    }
    if (release) {
      ids_.release(*release);
    }
    return;
  }
  if (resp.command_id == resp_id && codec::tlvVersionNeeded(resp.tlvs) <= s->version()) {
    // The carrier's response with our id and the customer's sequence number: spliced, not
    // re-encoded (its TLVs pass through untouched).
    codec::Splicer sp(raw);
    if (mid != nullptr && !resp.body_omitted) {
      sp.text(*mid, new_id);
    }
    sp.write(s->out(), info.origin_seq);
  } else {
    // A v3.3/v3.4 customer must not see TLVs of a later version: re-encode for it.
    codec::Pdu out = resp;
    out.command_id = resp_id;
    out.sequence_number = info.origin_seq;
    if (std::string_view* omid = responseMessageId(out)) {
      *omid = new_id;
    }
    codec::encode(out, s->out(), {s->version()});
  }
  s->send();
  if (release) {
    ids_.release(*release);  // after the response: the customer sees the id before its receipt
  }
  if (auto* m = customerMetrics(info.customer)) {
    metrics_.customerResponse(*m, resp_id, resp.command_status);
    if (isSubmission(info.command)) {
      m->latency->observeNs(loop_.cachedNs() - info.started_ns);
    }
  }
  s->requestAnswered();
}

void Gateway::onUpstreamFailed(const UpInFlight& info, uint32_t status) {
  if (info.multi) {
    multiPartDone(info.gateway_id, info.multi_dest, status);  // timeout, bind lost, queue expired
    return;
  }
  DownstreamSession* s = session(info.origin);
  if (s == nullptr) {
    return;
  }
  s->respondStatus(info.command, info.origin_seq, status);
  if (status == gwstatus::kQueueExpired && isSubmission(info.command)) {
    refuseMetric(info.customer, metrics::RefusalReason::QueueTimeout);
  }
  s->requestAnswered();
}

void Gateway::onUpstreamReady(Upstream& u) {
  u.drain(now());
}

// ---------------------------------------------------------------------------------------------
// Deliveries (carrier -> customer): receipts and MO

void Gateway::onUpstreamDeliver(UpstreamBind& b, const codec::Pdu& pdu, codec::Bytes raw) {
  const uint32_t up_id = b.upstreamId();
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
  key.upstream = up_id;
  key.source_addr = src;
  key.source_ton = src_ton;
  key.source_npi = src_npi;
  key.destination_addr = dst;
  key.destination_ton = dst_ton;
  key.destination_npi = dst_npi;
  routing::MoDecision d = table_->routeMo(key);
  if (!d.routed()) {
    metrics_.mo(up_id, 0xFFFFFF, "unroutable").inc();
    log::warn("mo_unroutable", "upstream", b.describe(), "rule", d.rule_name);
    b.respond(pdu.command_id, pdu.sequence_number,
              d.status != 0 ? d.status : cfg().routing.mo_unroutable_status);
    return;
  }
  metrics_.mo(up_id, customer_rt_[d.customer], "routed").inc();
  Delivery dl;
  dl.from = from;
  dl.upstream_seq = pdu.sequence_number;
  dl.command = pdu.command_id;
  dl.receipt = false;
  dl.version_needed = codec::tlvVersionNeeded(pdu.tlvs);
  deliveries_.deliver(customer_rt_[d.customer], raw,
                      dl);  // as received: the session sets its own sequence
}

void Gateway::receiptMatched(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                             BindRef from, uint32_t upstream_seq) {
  if (multis_.empty() || !holdForMulti(m, pdu.command_id, raw, from, upstream_seq)) {
    deliverReceipt(m, pdu, raw, from, upstream_seq);
  }
}

const config::Upstream* Gateway::upstreamCfg(uint32_t upstream) const {
  return upstream < upstreams_.size() ? &upstreams_[upstream]->cfg() : nullptr;
}

std::string_view Gateway::upstreamName(uint32_t upstream) const {
  return upstream < upstreams_.size() ? std::string_view(upstreams_[upstream]->name())
                                      : std::string_view();
}

size_t Gateway::upstreamOutstanding(uint32_t upstream) const {
  return upstream < upstreams_.size() ? upstreams_[upstream]->outstanding() : 0;
}

void Gateway::deliverReceipt(const store::MappingView& m, const codec::Pdu& pdu, codec::Bytes raw,
                             BindRef from, uint32_t upstream_seq) {
  const config::Customer* custp = customerCfg(m.customer);
  if (custp == nullptr) {
    ackUpstream(from, pdu.command_id, upstream_seq, st::ESME_ROK);
    return;
  }
  const config::Customer& cust = *custp;
  const bool wanted = receiptWanted(cust.receipts, m.registered_delivery, pdu);
  if (!wanted) {
    metrics_.receipts(from.upstream, m.customer, "suppressed").inc();
    ackUpstream(from, pdu.command_id, upstream_seq, st::ESME_ROK);
    return;
  }
  metrics_.receipts(from.upstream, m.customer, "matched").inc();
  char idbuf[72];
  std::string_view gid =
      formatMessageId(m.gateway_id, cust.message_id_format, cust.message_id_length, idbuf);
  receipt_scratch_.clear();
  rewriteReceipt(pdu, raw, m, gid, receipt_scratch_);  // gid is followed by a NUL
  Delivery d;
  d.from = from;
  d.upstream_seq = upstream_seq;
  d.command = pdu.command_id;
  d.receipt = true;
  d.version_needed = codec::tlvVersionNeeded(pdu.tlvs);
  // To the session that submitted the message if it can take it: a carrier read of receipts then
  // becomes one write per submitting session, not one per receiver (and customers that match
  // receipts per connection see them where they expect).
  const SessionRef origin{static_cast<uint32_t>(m.origin >> 32), static_cast<uint32_t>(m.origin)};
  deliveries_.deliver(m.customer, receipt_scratch_.view(), d, origin);
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
  deliveries_.answered(s.customer(), d, status);
}

void Gateway::onDeliveryFailed(Delivery d, metrics::DeferReason reason) {
  deliveries_.failed(d, reason);
}

void Gateway::onReceiverNotReading(DownstreamSession& s) {
  deliveries_.readingChanged(s.customer());
}

void Gateway::onReceiverReadingAgain(DownstreamSession& s) {
  deliveries_.readingChanged(s.customer());
}

uint32_t Gateway::deliveryShare(uint32_t upstream) const {
  return upstream < upstreams_.size() ? upstreams_[upstream]->cfg().customer_delivery_share : 0;
}

// ---------------------------------------------------------------------------------------------
// Reload

struct Gateway::ReloadJob {
  uv_work_t req;
  Gateway* gw;
  std::shared_ptr<bool> alive;  // false once the gateway is gone: the callback only frees
  std::string path;
  config::LoadResult loaded;
  routing::CompileResult compiled;
};

void Gateway::requestReload(std::string path) {
  if (reload_running_) {
    log::warn("reload_ignored", "reason", "a reload is already running");
    return;
  }
  if (path.empty()) {
    log::warn("reload_ignored", "reason", "running the built-in demo configuration (no file)");
    return;
  }
  reload_running_ = true;
  auto job = std::make_unique<ReloadJob>();
  job->gw = this;
  job->alive = alive_;
  job->path = std::move(path);
  job->req.data = job.get();
  int rc = uv_queue_work(
      loop_.raw(), &job->req,
      [](uv_work_t* req) {
        // Parsing, validation and compilation can take a few hundred ms on a large file.
        auto* j = static_cast<ReloadJob*>(req->data);
        j->loaded = config::loadConfigFile(j->path);
        if (j->loaded.ok()) {
          j->compiled = routing::RoutingTable::compile(j->loaded.config);
        }
      },
      [](uv_work_t* req, int status) {
        std::unique_ptr<ReloadJob> j(static_cast<ReloadJob*>(req->data));
        if (!*j->alive) {
          return;  // the gateway was destroyed while the file was loading
        }
        Gateway* gw = j->gw;
        gw->work_.erase(req);
        gw->reload_running_ = false;
        if (status == UV_ECANCELED) {
          return;
        }
        for (const auto& w : j->loaded.warnings) {
          log::warn("reload_warning", "file", j->path, "problem", config::toString(w));
        }
        if (!j->loaded.ok() || !j->compiled.ok()) {
          const auto& errors = j->loaded.ok() ? j->compiled.errors : j->loaded.errors;
          for (const auto& e : errors) {
            log::error("reload_error", "file", j->path, "problem", config::toString(e));
          }
          gw->metrics_.registry().counter(metrics::CounterFamily::ConfigReloads, {"failure"}).inc();
          log::error("reload_failed", "file", j->path, "errors", errors.size(), "action",
                     "keeping the running configuration");
          return;
        }
        gw->applyReload(j->loaded.config, j->compiled.table);
      });
  if (rc != 0) {
    reload_running_ = false;
    log::error("reload_failed", "reason", uv_strerror(rc));
    return;
  }
  work_.insert(&job.release()->req);  // owned by the thread pool until the after-work callback
}

bool Gateway::applyReload(std::shared_ptr<const config::Config> next,
                          routing::RoutingTablePtr table) {
  const config::Config& old = *config_;
  if (next->content_hash == old.content_hash) {
    metrics_.registry().counter(metrics::CounterFamily::ConfigReloads, {"unchanged"}).inc();
    log::info("reload_unchanged", "hash", next->content_hash);
    return true;
  }
  // Keys the running process cannot change (config/keys_table.inc marks them: the sockets we
  // listen on, the id space of minted ids, the metrics endpoint) refuse the whole reload, so the
  // configuration in force is always exactly one file's.
  std::string refused;
  for (const auto& path : config::restartChanges(old.restart_values, next->restart_values)) {
    refused += refused.empty() ? "" : ", ";
    refused += path;
  }
  if (!refused.empty()) {
    metrics_.registry().counter(metrics::CounterFamily::ConfigReloads, {"failure"}).inc();
    log::error("reload_refused", "reason", "restart-only keys changed", "keys", refused, "action",
               "restart to apply; keeping the running configuration");
    return false;
  }
  // log.file is opened before anything changes: a path that cannot be opened refuses the reload.
  if (std::string error; !log::configure(next->log, next->gateway.name, &error)) {
    metrics_.registry().counter(metrics::CounterFamily::ConfigReloads, {"failure"}).inc();
    log::error("reload_refused", "reason", error, "action", "keeping the running configuration");
    return false;
  }
  auto previous = config_;  // keeps the old config alive while objects move over
  {
    std::vector<uint32_t> map(old.groups.size(), config::kNoId);
    for (size_t g = 0; g < old.groups.size(); ++g) {
      if (auto id = next->findGroup(old.groups[g].name)) {
        map[g] = *id;
      }
    }
    group_queued_.assign(next->groups.size(), 0);
    for (auto& u : upstreams_) {
      u->remapQueuedGroups(map, group_queued_);
    }
  }
  config_ = std::move(next);
  table_ = std::move(table);
  selector_ = routing::GroupSelector(*config_);
  ids_.setLimits(ms(config_->store.mapping_ttl), config_->store.max_mappings);
  sticky_.setLimits(config_->routing.concat_max_entries, config_->routing.concat_ttl);
  bindConfig();
  // Customers removed or disabled: their sessions unbind; their waiting deliveries go back to
  // the MC (it retries). Everyone else gets the new limits on the sessions they have.
  for (auto& sp : sessions_) {
    DownstreamSession* s = sp.get();
    if (s == nullptr || s->closed() || s->customer() == config::kNoId) {
      continue;
    }
    const config::Customer* c = customerCfg(s->customer());
    if (c == nullptr || !c->enabled) {
      s->unbind("customer removed or disabled by a reload");
    } else {
      s->setWindow(c->window);
      s->setOutputLimit(config_->limits.max_session_output);
    }
  }
  for (CustomerState& cs : customers_) {
    if (cs.cfg == config::kNoId) {
      deliveries_.returnWaiting(static_cast<uint32_t>(&cs - customers_.data()),
                                metrics::DeferReason::NoReceiver);
    }
  }
  for (auto& u : upstreams_) {
    if (u->configIndex() == config::kNoId) {
      u->stop(true);  // removed: finish what is in flight, unbind, do not reconnect
    } else if (!u->available()) {
      u->start(now());
    }
  }
  auto& reg = metrics_.registry();
  reg.counter(metrics::CounterFamily::ConfigReloads, {"success"}).inc();
  reg.setInfo(metrics::InfoFamily::ConfigInfo, {config_->content_hash});
  reg.setInfo(metrics::InfoFamily::InstanceInfo,
              {config_->gateway.name, std::to_string(config_->gateway.instance_id)});
  reg.gauge(metrics::GaugeFamily::ConfigLoadedTimestamp)
      .set(static_cast<int64_t>(wallClockMs() / 1000));
  log::info("reload_ok", "file", config_->origin, "hash", config_->content_hash, "customers",
            config_->customers.size(), "upstreams", config_->upstreams.size(), "routes",
            config_->routes.size());
  return true;
}

// ---------------------------------------------------------------------------------------------
// Timers and shutdown

void Gateway::tick() {
  loop_.refreshNs();  // queued requests sent from here get a current send time
  const uint64_t t = now();
  for (auto& s : sessions_) {
    if (s != nullptr && !s->closed()) {
      s->tick(t);
    }
  }
  for (auto& u : upstreams_) {
    u->tick(t);
  }
  deliveries_.tick(t);
  ids_.tick(t);
  publishGauges();
  if (t >= next_housekeeping_ms_) {
    next_housekeeping_ms_ = t + 1000;
    ids_.expireMappings(t);
    sticky_.expire(routing::ConcatStickiness::TimePoint(std::chrono::milliseconds(t)));
  }
  if (shutting_down_) {
    maybeFinishShutdown();
  }
}

// Gauges and the loop's own counters are pushed from here (every tick), never computed on the
// scrape thread.
void Gateway::publishGauges() {
  using GF = metrics::GaugeFamily;
  using CF = metrics::CounterFamily;
  auto& reg = metrics_.registry();
  const net::LoopStats& ls = loop_.stats();
  reg.counter(CF::LoopReads).add(ls.reads - published_loop_.reads);
  reg.counter(CF::LoopWrites).add(ls.writes - published_loop_.writes);
  reg.counter(CF::LoopIterations).add(ls.iterations - published_loop_.iterations);
  reg.counter(CF::LoopReceivedBytes).add(ls.bytes_in - published_loop_.bytes_in);
  reg.counter(CF::LoopSentBytes).add(ls.bytes_out - published_loop_.bytes_out);
  published_loop_ = ls;
  reg.gauge(GF::StoreMappings).set(static_cast<int64_t>(ids_.mappings().size()));
  reg.gauge(GF::StoreMappingBytes).set(static_cast<int64_t>(ids_.mappings().bytes()));
  const store::MappingStats& ms = ids_.mappings().stats();
  reg.counter(CF::StoreMappingsRemoved, {"expired"}).add(ms.expired - published_store_.expired);
  reg.counter(CF::StoreMappingsRemoved, {"evicted"}).add(ms.evicted - published_store_.evicted);
  published_store_ = ms;

  // Sessions by (listener, customer, state, bind type); every gauge seen before is reset first so
  // a combination that emptied reads 0.
  for (auto& [g, n] : session_counts_) {
    n = 0;
  }
  std::vector<int64_t> outstanding(customers_.size(), 0);
  std::vector<int64_t> limit(customers_.size(), 0);
  for (auto& sp : sessions_) {
    const DownstreamSession* s = sp.get();
    if (s == nullptr || s->closed() || s->state() == DownstreamSession::State::Authenticating) {
      continue;
    }
    const bool bound = s->customer() != config::kNoId;
    std::string_view customer = bound ? customers_[s->customer()].system_id : std::string_view();
    const char* state = s->state() == DownstreamSession::State::Open    ? "open"
                        : s->state() == DownstreamSession::State::Bound ? "bound"
                                                                        : "unbinding";
    std::string_view bt =
        bound ? metrics::kBindTypeLabels[static_cast<size_t>(s->bindType())] : std::string_view();
    const std::string& listener = cfg().listeners[s->listener()].name;
    std::string key =
        listener + '\x1f' + std::string(customer) + '\x1f' + state + '\x1f' + std::string(bt);
    metrics::Gauge& g = session_gauges_.get(key, [&](const std::string&) -> metrics::Gauge& {
      metrics::Gauge& created = reg.gauge(GF::Sessions, {listener, customer, state, bt});
      session_counts_.emplace_back(&created, 0);
      return created;
    });
    for (auto& [gp, n] : session_counts_) {
      if (gp == &g) {
        ++n;
        break;
      }
    }
    if (bound) {
      outstanding[s->customer()] += s->outstanding();
      limit[s->customer()] += s->window();
    }
  }
  for (auto& [g, n] : session_counts_) {
    g->set(n);
  }
  for (size_t i = 0; i < customers_.size(); ++i) {
    if (GatewayMetrics::Customer* m = customers_[i].m) {
      m->pending->set(static_cast<int64_t>(deliveries_.waiting(static_cast<uint32_t>(i))));
      m->held->set(deliveries_.held(static_cast<uint32_t>(i)));
      m->inflight->set(outstanding[i]);
      m->inflight_limit->set(limit[i]);
    }
  }
  std::vector<int64_t> held(upstreams_.size(), 0);
  ids_.countHeld(held);
  for (auto& u : upstreams_) {
    if (GatewayMetrics::Upstream* m = u->metrics()) {
      std::array<int64_t, 5> states{};
      int64_t inflight = 0;
      int64_t windows = 0;
      for (const auto& b : u->binds()) {
        if (b->stopped() && b->state() == UpstreamBind::State::Idle) {
          continue;  // retired by a reload or shutdown
        }
        size_t k = b->state() == UpstreamBind::State::Idle        ? 0
                   : b->state() == UpstreamBind::State::Bound     ? 3
                   : b->state() == UpstreamBind::State::Binding   ? 2
                   : b->state() == UpstreamBind::State::Unbinding ? 4
                                                                  : 1;
        ++states[k];
        inflight += static_cast<int64_t>(b->inFlight());
        windows += u->cfg().window;
      }
      for (size_t k = 0; k < states.size(); ++k) {
        m->binds[k]->set(states[k]);
      }
      m->queue_depth->set(static_cast<int64_t>(u->queueDepth()));
      m->receipts_held->set(held[u->id()]);
      m->inflight->set(inflight);
      m->inflight_limit->set(windows);
    }
  }
  // Readiness: listeners up and every group that a route sends to has a bound member.
  std::string not_ready;
  for (size_t g = 0; g < cfg().groups.size(); ++g) {
    int64_t bound_members = 0;
    for (const auto& member : cfg().groups[g].members) {
      if (member.upstream < upstream_rt_.size() &&
          upstreams_[upstream_rt_[member.upstream]]->available()) {
        ++bound_members;
      }
    }
    reg.gauge(GF::GroupMembersBound, {cfg().groups[g].name}).set(bound_members);
    reg.gauge(GF::QueueCapacity, {cfg().groups[g].name}).set(cfg().limits.max_queue_per_group);
    reg.gauge(GF::GroupQueueDepth, {cfg().groups[g].name})
        .set(g < group_queued_.size() ? static_cast<int64_t>(group_queued_[g]) : 0);
    if (bound_members == 0 && not_ready.empty()) {
      not_ready = "group " + cfg().groups[g].name + " has no bound member";
    }
  }
  if (listeners_.empty() && !cfg().listeners.empty()) {
    not_ready = "listeners not open";
  }
  if (shutting_down_) {
    not_ready = "shutting down";
  }
  if (readiness_) {
    readiness_(not_ready.empty(), not_ready);
  }
}

void Gateway::shutdown(std::function<void()> done) {
  if (shutting_down_) {
    return;
  }
  shutting_down_ = true;
  shutdown_done_ = std::move(done);
  shutdown_started_ms_ = now();
  log::info("shutdown_started", "sessions", open_sessions_);
  for (auto& l : listeners_) {
    l->close();
  }
  // Deliveries waiting for room go back to the carrier now, while its binds are up; those
  // already sent are answered as the customers answer them, before any carrier bind unbinds.
  deliveries_.returnWaiting(DeliveryQueues::kAll, metrics::DeferReason::ShuttingDown);
  for (auto& s : sessions_) {
    if (s != nullptr && !s->closed()) {
      s->unbind("shutdown");
    }
  }
  maybeFinishShutdown();
}

void Gateway::maybeFinishShutdown() {
  if (!shutting_down_ || !shutdown_done_) {
    return;
  }
  const bool grace_over = now() - shutdown_started_ms_ >= ms(cfg().timers.shutdown_grace);
  if (open_sessions_ > 0 && !grace_over) {
    return;
  }
  if (grace_over) {
    for (auto& s : sessions_) {
      if (s != nullptr && !s->closed()) {
        s->close("shutdown grace period over");
      }
    }
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
  for (auto& s : sessions_) {
    if (s != nullptr && !s->closed()) {
      s->close("abort");
    }
  }
  for (auto& u : upstreams_) {
    u->stop(false);
  }
  listeners_.clear();
  tick_timer_.reset();
}

}  // namespace smppgw
