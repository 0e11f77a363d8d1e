// Customer binds: the bind policy, password checks on the thread pool, the bind outcome.

#include "gateway/gateway.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "config/password.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"

namespace smppgw {

namespace {
// What an unknown system_id's password is checked against: a hash of the default cost that no
// customer has. The answer is ESME_RINVSYSID either way; the check only makes it take as long
// as a wrong password does, so account names cannot be told apart by the answer's delay.
constexpr std::string_view kDecoyHash =
    "pbkdf2-sha256$200000$KXMn0rC54Vuxt0e3mAblCw$+Hl+k8S4R7JeTli/4puS/+NU4LUJpsDwjkvMkeP7Z1k";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Binds

void Gateway::authenticate(DownstreamSession& s, CommandId bind, uint32_t seq,
                           const codec::BindBody& body) {
  auto it = customer_by_system_id_.find(std::string(body.system_id));
  const CustomerRt id = it != customer_by_system_id_.end() && customerCfg(it->second) != nullptr
                            ? it->second
                            : CustomerRt{};  // unknown, or removed by a reload
  // A blocked address gets no password check (that is the point of blocking it).
  if (sources_.blocked(sourceKey(s.peerSockaddr()), now())) {
    refuseBind(s, bind, seq, st::ESME_RBINDFAIL, id, metrics::RefusalReason::AuthBlocked, false);
    return;
  }
  if (!id.valid()) {
    checkPassword(s, bind, seq, id, body.system_id, std::string(body.password));  // RINVSYSID
    return;
  }
  // Bound to client certificates: only over TLS, with a verified certificate naming it.
  if (const auto& names = customerCfg(id)->certificate_names;
      !names.empty() && (s.tls() == nullptr || !certificateNameMatches(*s.tls(), names))) {
    uint64_t suppressed = 0;
    if (rt_.bindLogBudget().allow(now(), suppressed)) {
      log::warn("bind_refused_certificate", "peer", s.peer(), "system_id", body.system_id, "reason",
                s.tls() == nullptr         ? "not over TLS"
                : !s.tls()->peerVerified() ? "no verified client certificate"
                                           : "client certificate names another peer",
                "certificate_cn", s.tls() != nullptr ? s.tls()->peerCommonName() : std::string(),
                "suppressed", suppressed);
    }
    refuseBind(s, bind, seq, st::ESME_RBINDFAIL, id, metrics::RefusalReason::Auth, true);
    return;
  }
  if (uint32_t status = checkBindPolicy(s, bind, id); status != st::ESME_ROK) {
    refuseBind(s, bind, seq, status, id, metrics::RefusalReason::Policy, false);
    return;
  }
  std::string password(body.password);
  // A password that verified before is recognised by a keyed hash (microseconds, on the loop);
  // anything else pays the full PBKDF2 on the thread pool.
  CustomerState& cs = state(id);
  const std::string keyed = config::sha256Hex(pepper_ + password);
  if (!cs.verified.empty() && cs.verified.size() == keyed.size() &&
      CRYPTO_memcmp(cs.verified.data(), keyed.data(), keyed.size()) == 0) {
    finishBind(s.ref(), bind, seq, id, true, password);
    return;
  }
  checkPassword(s, bind, seq, id, body.system_id, std::move(password));
}

void Gateway::refuseBind(DownstreamSession& s, CommandId bind, uint32_t seq, uint32_t status,
                         CustomerRt id, metrics::RefusalReason reason, bool source_failure) {
  const config::Auth& a = cfg().auth;
  if (!a.distinct_statuses && (status == st::ESME_RINVSYSID || status == st::ESME_RINVPASWD)) {
    status = st::ESME_RBINDFAIL;  // the answer does not tell whether the account exists
  }
  const config::Customer* c = customerCfg(id);
  const std::string_view customer = c != nullptr ? std::string_view(c->system_id) : "";
  GatewayMetrics& m = rt_.metrics();
  m.refusal(customer, reason).inc();
  m.bindAttempt(cfg().listeners[s.listener()].name, customer, config::enumName(s.bindType()), false)
      .inc();
  if (source_failure && sources_.failed(sourceKey(s.peerSockaddr()), now(), a)) {
    m.authBlocks().inc();
    uint64_t suppressed = 0;
    if (rt_.connectionLogBudget().allow(now(), suppressed)) {
      log::warn("source_blocked", "peer", s.peer(), "failures", a.max_failures, "block_ms",
                ms(a.block), "suppressed", suppressed);
    }
  }
  // Every refusal that an attacker could repeat is answered late (auth.failure_delay);
  // policy answers (not allowed here, too many binds) come at once.
  s.bindFailed(bind, seq, status, reason != metrics::RefusalReason::Policy);
}

void Gateway::checkPassword(DownstreamSession& s, CommandId bind, uint32_t seq, CustomerRt id,
                            std::string_view system_id, std::string password) {
  // The same account and password already waiting or running (a customer's binds reconnecting
  // together): this bind takes that check's answer instead of a check of its own.
  std::string key = config::sha256Hex(pepper_ + std::string(system_id) + '\0' + password);
  if (auto it = checks_by_key_.find(key); it != checks_by_key_.end()) {
    it->second->waiters.push_back({s.ref(), bind, seq});
    return;
  }
  const config::Auth& a = cfg().auth;
  const SourceKey source = sourceKey(s.peerSockaddr());
  Sources::Entry& from = sources_.at(source);
  if (checks_waiting_ + checks_running_ >= a.max_pending_checks ||
      from.checks >= a.max_pending_checks_per_source) {
    refuseBind(s, bind, seq, st::ESME_RBINDFAIL, id, metrics::RefusalReason::AuthBusy, false);
    return;
  }
  ++from.checks;
  auto job = std::make_unique<AuthJob>();
  job->gw = this;
  job->alive = alive_;
  job->ref = s.ref();
  job->bind = bind;
  job->seq = seq;
  job->customer = id;
  job->customer_cfg = id.valid() ? state(id).cfg : config::kNoId;
  job->config = rt_.config();
  job->password = std::move(password);
  job->source = source;
  job->key = std::move(key);
  job->req.data = job.get();
  checks_by_key_.emplace(job->key, job.get());
  auto& q = check_queues_[source];
  if (q.empty()) {
    check_turns_.push_back(source);
  }
  q.push_back(std::move(job));
  ++checks_waiting_;
  runChecks();
}

void Gateway::runChecks() {
  while (checks_running_ < cfg().auth.check_concurrency && !check_turns_.empty()) {
    // Whose turn: an address with a bound session first (a customer's next bind), then one
    // with no recent failure, then the others, each class in turn by address. Addresses that
    // are failing take at most one check at a time: guessing cannot hold every slot.
    auto turn = check_turns_.end();
    int best = 3;
    for (auto it = check_turns_.begin(); it != check_turns_.end() && best > 0; ++it) {
      const Sources::Entry* e = sources_.find(*it);
      const int rank = e == nullptr ? 1 : e->bound > 0 ? 0 : e->failures == 0 ? 1 : 2;
      if (rank < best && (rank < 2 || dirty_running_ == 0)) {
        best = rank;
        turn = it;
      }
    }
    if (turn == check_turns_.end()) {
      break;  // only failing addresses wait, and one of them is being checked
    }
    const SourceKey source = *turn;
    const bool dirty = best == 2;
    check_turns_.erase(turn);
    auto qit = check_queues_.find(source);
    std::unique_ptr<AuthJob> job = std::move(qit->second.front());
    qit->second.pop_front();
    if (qit->second.empty()) {
      check_queues_.erase(qit);
    } else {
      check_turns_.push_back(source);  // its next check waits for every other source's
    }
    --checks_waiting_;
    if (session(job->ref) == nullptr && job->waiters.empty()) {
      sources_.at(source).checks--;  // the connection went away while it waited
      checks_by_key_.erase(job->key);
      continue;
    }
    int rc = uv_queue_work(
        loop_.raw(), &job->req,
        [](uv_work_t* req) {
          auto* j = static_cast<AuthJob*>(req->data);
          if (j->customer_cfg == config::kNoId) {
            config::verifyPassword(kDecoyHash, j->password);  // for its cost, not its answer
            j->ok = false;
          } else {
            j->ok =
                config::verifyCustomerPassword(j->config->customers[j->customer_cfg], j->password);
          }
        },
        [](uv_work_t* req, int status) {
          std::unique_ptr<AuthJob> j(static_cast<AuthJob*>(req->data));
          if (!*j->alive) {
            return;  // the gateway is gone
          }
          j->gw->work_.erase(req);
          if (status == UV_ECANCELED) {
            return;
          }
          j->gw->checkDone(std::move(j));
        });
    if (rc != 0) {
      sources_.at(source).checks--;
      checks_by_key_.erase(job->key);
      job->waiters.push_back({job->ref, job->bind, job->seq});
      for (const auto& w : job->waiters) {
        if (DownstreamSession* s = session(w.ref)) {
          s->bindFailed(w.bind, w.seq, st::ESME_RSYSERR);
        }
      }
      continue;
    }
    ++checks_running_;
    job->dirty = dirty;
    dirty_running_ += dirty ? 1 : 0;
    work_.insert(&job.release()->req);  // owned by the thread pool until the after-work callback
  }
  rt_.metrics().passwordChecks(false).set(static_cast<int64_t>(checks_waiting_));
  rt_.metrics().passwordChecks(true).set(static_cast<int64_t>(checks_running_));
}

void Gateway::checkDone(std::unique_ptr<AuthJob> j) {
  --checks_running_;
  dirty_running_ -= j->dirty ? 1 : 0;
  if (Sources::Entry* e = sources_.find(j->source); e != nullptr && e->checks > 0) {
    --e->checks;
  }
  checks_by_key_.erase(j->key);
  rt_.metrics().passwordChecksDone(j->ok).inc();
  finishBind(j->ref, j->bind, j->seq, j->customer, j->ok, j->password);
  for (const auto& w : j->waiters) {
    finishBind(w.ref, w.bind, w.seq, j->customer, j->ok, j->password);
  }
  runChecks();
}

uint32_t Gateway::checkBindPolicy(const DownstreamSession& s, CommandId bind, CustomerRt id) const {
  const config::Customer* cp = customerCfg(id);
  if (cp == nullptr) {
    return st::ESME_RINVSYSID;
  }
  const config::Customer& c = *cp;
  const config::Listener& l = cfg().listeners[s.listener()];
  if (!c.enabled || !l.admits(state(id).cfg)) {
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
  if (state(id).binds >= c.max_binds) {
    return st::ESME_RALYBND;  // the usual status for "too many binds for this system_id"
  }
  return st::ESME_ROK;
}

void Gateway::finishBind(SessionRef ref, CommandId bind, uint32_t seq, CustomerRt id,
                         bool password_ok, const std::string& password) {
  DownstreamSession* s = session(ref);
  if (s == nullptr) {
    return;  // the connection went away while the password was checked
  }
  if (!id.valid() || !password_ok) {
    refuseBind(*s, bind, seq, id.valid() ? st::ESME_RINVPASWD : st::ESME_RINVSYSID, id,
               metrics::RefusalReason::Auth, true);
    return;
  }
  // The limits may have been reached while the check ran.
  if (uint32_t status = checkBindPolicy(*s, bind, id); status != st::ESME_ROK) {
    refuseBind(*s, bind, seq, status, id, metrics::RefusalReason::Policy, false);
    return;
  }
  CustomerState& cs = state(id);
  cs.verified = config::sha256Hex(pepper_ + password);
  ++cs.binds;
  sources_.at(sourceKey(s->peerSockaddr())).bound++;
  const config::Customer& c = *customerCfg(id);
  rt_.metrics()
      .bindAttempt(cfg().listeners[s->listener()].name, c.system_id,
                   config::enumName(s->bindType()), true)
      .inc();
  s->bindSucceeded(bind, seq, id, c.window, c.window);
}

}  // namespace smppgw
