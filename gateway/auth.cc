// Customer binds: the bind policy, password checks on the thread pool, the bind outcome.

#include "gateway/gateway.h"

#include "config/password.h"
#include "gateway/gateway_internal.h"
#include "gateway/log.h"

namespace smppgw {

// ---------------------------------------------------------------------------------------------
// Binds

void Gateway::authenticate(DownstreamSession& s, CommandId bind, uint32_t seq,
                           const codec::BindBody& body) {
  auto it = customer_by_system_id_.find(std::string(body.system_id));
  if (it == customer_by_system_id_.end()) {
    s.bindFailed(bind, seq, st::ESME_RINVSYSID);
    return;
  }
  const CustomerRt id = it->second;
  if (customerCfg(id) == nullptr) {
    s.bindFailed(bind, seq, st::ESME_RINVSYSID);  // removed by a reload
    return;
  }
  // Bound to client certificates: only over TLS, with a verified certificate naming it.
  if (const auto& names = customerCfg(id)->certificate_names;
      !names.empty() && (s.tls() == nullptr || !certificateNameMatches(*s.tls(), names))) {
    refuseMetric(id, metrics::RefusalReason::Auth);
    log::warn("bind_refused_certificate", "peer", s.peer(), "system_id", body.system_id, "reason",
              s.tls() == nullptr         ? "not over TLS"
              : !s.tls()->peerVerified() ? "no verified client certificate"
                                         : "client certificate names another peer",
              "certificate_cn", s.tls() != nullptr ? s.tls()->peerCommonName() : std::string());
    s.bindFailed(bind, seq, st::ESME_RBINDFAIL);
    return;
  }
  if (uint32_t status = checkBindPolicy(s, bind, id); status != st::ESME_ROK) {
    s.bindFailed(bind, seq, status);
    return;
  }
  std::string password(body.password);
  // A password that verified before is recognised by a keyed hash (microseconds, on the loop);
  // anything else pays the full PBKDF2 on the thread pool.
  CustomerState& cs = state(id);
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
  job->customer_cfg = state(id).cfg;
  job->config = rt_.config();
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
  if (!password_ok) {
    s->bindFailed(bind, seq, st::ESME_RINVPASWD);
    return;
  }
  // The limits may have been reached while the check ran.
  if (uint32_t status = checkBindPolicy(*s, bind, id); status != st::ESME_ROK) {
    s->bindFailed(bind, seq, status);
    return;
  }
  CustomerState& cs = state(id);
  cs.verified = config::sha256Hex(pepper_ + password);
  ++cs.binds;
  const config::Customer& c = *customerCfg(id);
  s->bindSucceeded(bind, seq, id, c.window, c.window);
}

}  // namespace smppgw
