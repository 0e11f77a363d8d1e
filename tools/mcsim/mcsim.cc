#include "tools/mcsim/mcsim.h"

#include <cstdarg>
#include <cstdio>

#include "codec/decode.h"
#include "tools/common/options.h"
#include "tools/common/util.h"

namespace smppgw::mcsim {

Config McSim::resolved(Config config) {
  if (!config.receipt_id_format_set) {
    config.receipt_id_format = config.id_format;
  }
  if (!config.receipt_id_length_set) {
    config.receipt_id_length = config.id_length;
  }
  return config;
}

McSim::McSim(net::Loop& loop, Config config)
    : loop_(loop),
      cfg_(resolved(std::move(config))),
      rng_(cfg_.seed),
      book_(cfg_, counters_),
      mo_(loop, cfg_, rng_, counters_, sessions_),
      deliveries_(loop, cfg_, counters_, sessions_, mo_),
      messages_(loop, cfg_, rng_, counters_, book_, deliveries_, sessions_) {}

McSim::~McSim() = default;

void McSim::log(const char* fmt, ...) const {
  if (cfg_.quiet) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  tools::vlogLine("smpp-mcsim", fmt, ap);
  va_end(ap);
}

bool McSim::start() {
  // The loop's cached clock dates from its creation; timers started below are relative to it.
  uv_update_time(loop_.raw());
  std::string host;
  uint16_t port = 0;
  sockaddr_storage addr{};
  if (!tools::splitHostPort(cfg_.listen, host, port) || !net::parseAddress(host, port, addr)) {
    std::fprintf(stderr, "smpp-mcsim: bad --listen address '%s' (numeric HOST:PORT)\n",
                 cfg_.listen.c_str());
    return false;
  }
  if (!cfg_.tls_cert.empty() || !cfg_.tls_key.empty()) {
    net::TlsOptions o;
    o.role = net::TlsOptions::Role::Server;
    o.cert_file = cfg_.tls_cert;
    o.key_file = cfg_.tls_key;
    o.ca_file = cfg_.tls_ca;
    o.require_client_cert = cfg_.tls_require_client_cert;
    std::string error;
    tls_ = net::TlsContext::create(o, error);
    if (!tls_) {
      std::fprintf(stderr, "smpp-mcsim: TLS: %s\n", error.c_str());
      return false;
    }
  } else if (!cfg_.tls_ca.empty() || cfg_.tls_require_client_cert) {
    std::fprintf(stderr,
                 "smpp-mcsim: --tls-ca and --tls-require-client-cert need --tls-cert and "
                 "--tls-key\n");
    return false;
  }
  listener_ = std::make_unique<net::Listener>(loop_, [this](uv_stream_t* s) { onAccept(s); });
  if (int rc = listener_->listen(reinterpret_cast<sockaddr*>(&addr)); rc != 0) {
    std::fprintf(stderr, "smpp-mcsim: cannot listen on %s: %s\n", cfg_.listen.c_str(),
                 uv_strerror(rc));
    return false;
  }
  port_ = listener_->port();
  if (!cfg_.port_file.empty() && !tools::writePortFile(cfg_.port_file, port_)) {
    std::fprintf(stderr, "smpp-mcsim: cannot write port file %s\n", cfg_.port_file.c_str());
    return false;
  }
  started_ns_ = net::Loop::hrtimeNs();
  housekeeping_ = std::make_unique<net::Timer>(loop_, [this] { onHousekeeping(); });
  housekeeping_->start(1000, 1000);
  retry_timer_ = std::make_unique<net::Timer>(loop_, [this] { onRetryTick(); });
  retry_timer_->start(50, 50);
  mo_.start(deliveries_);
  if (cfg_.duration_ms > 0) {
    duration_timer_ = std::make_unique<net::Timer>(loop_, [this] { shutdown(); });
    duration_timer_->start(cfg_.duration_ms);
  }
  log("listening on %s:%u%s (latency %s, receipts %s%s)", host.c_str(), port_,
      tls_ ? " over TLS" : "", cfg_.latency.describe().c_str(),
      cfg_.receipt_delay.describe().c_str(), cfg_.receipt_first ? ", before the response" : "");
  return true;
}

void McSim::onAccept(uv_stream_t* server) {
  const uint32_t idx = sessions_.reserve();
  auto s = std::make_unique<Session>(*this, idx, sessions_.nextSerial(), cfg_.window);
  s->conn = net::Connection::create(loop_, s.get(), codec::kDefaultMaxCommandLength);
  s->opened_ns = net::Loop::hrtimeNs();
  if (s->conn->accept(server) != 0 || shutting_down_ ||
      (tls_ && (!s->conn->startTls(tls_) || s->conn->closing()))) {
    s->conn->abort();
    s->conn.reset();
    sessions_.unreserve(idx);
    return;
  }
  ++counters_.connections;
  log("connection from %s", s->conn->peerAddress().c_str());
  sessions_.install(idx, std::move(s));
}

Account& McSim::account(std::string_view system_id) {
  auto it = accounts_.find(system_id);
  if (it == accounts_.end()) {
    auto acc = std::make_unique<Account>();
    acc->system_id = std::string(system_id);
    it = accounts_.emplace(acc->system_id, std::move(acc)).first;
  }
  return *it->second;
}

void McSim::linger(Session& s) {
  lingering_.push_back({s.index, s.serial, loop_.nowMs() + cfg_.unbind_timeout_ms});
}

void McSim::release(Session& s) {
  const uint32_t idx = s.index;
  const uint64_t serial = s.serial;
  loop_.defer([this, idx, serial] {
    sessions_.free(idx, serial);
    maybeFinish();
  });
}

// ---- timers ----

void McSim::onRetryTick() {
  const uint64_t now = loop_.nowMs();
  std::erase_if(lingering_, [&](const Lingering& l) {
    if (l.until_ms > now) {
      return false;
    }
    if (Session* s = sessions_.find(l.index, l.serial);
        s != nullptr && s->state == Session::State::PeerUnbound) {
      s->close();
    }
    return true;
  });
  deliveries_.retryDue(now);
}

void McSim::onHousekeeping() {
  const uint64_t now = net::Loop::hrtimeNs();
  sessions_.forEach([&](Session& s) {
    if (s.state == Session::State::Closed) {
      return;
    }
    // A TLS client that never finishes its handshake is dropped after 10 s.
    if (s.conn && s.conn->tls() != nullptr && !s.conn->tls()->established()) {
      s.conn->expireHandshake(10000);
      return;
    }
    deliveries_.expire(s, now);
    if (s.state == Session::State::Draining && s.inflight.size() == 0) {
      s.sendUnbind();
      return;
    }
    deliveries_.pump(s);
  });
}

// ---- shutdown ----

void McSim::shutdown() {
  if (shutting_down_) {
    finishShutdown();
    return;
  }
  shutting_down_ = true;
  log("shutting down: unbinding %zu session(s)", sessions_.boundCount());
  if (listener_) {
    listener_->close();
  }
  mo_.stop();
  sessions_.forEach([](Session& s) {
    if (s.state == Session::State::Closed) {
      return;
    }
    if (!s.bound() || !s.writable()) {
      s.close();
      return;
    }
    // Nothing new is routed to it from now on; what is in flight is answered before the unbind.
    s.drain();
  });
  unbind_timer_ = std::make_unique<net::Timer>(loop_, [this] { finishShutdown(); });
  unbind_timer_->start(cfg_.unbind_timeout_ms);
  loop_.defer([this] { maybeFinish(); });
}

void McSim::maybeFinish() {
  if (!shutting_down_ || finished_) {
    return;
  }
  if (sessions_.allClosed()) {
    finishShutdown();
  }
}

void McSim::finishShutdown() {
  if (finished_) {
    return;
  }
  finished_ = true;
  shutting_down_ = true;
  sessions_.forEach([](Session& s) {
    if (s.state != Session::State::Closed) {
      if (s.conn) {
        s.conn->abort();
      }
      s.drop();
    }
  });
  if (listener_) {
    listener_->close();
  }
  messages_.stop();
  loop_.stop();
}

std::string McSim::summaryJson() const {
  SummaryInput in;
  in.port = port_;
  in.started_ns = started_ns_;
  in.queued = deliveries_.queued();
  in.counters = &counters_;
  in.book = &book_;
  in.loop = &loop_.stats();
  return mcsim::summaryJson(in);
}

}  // namespace smppgw::mcsim
