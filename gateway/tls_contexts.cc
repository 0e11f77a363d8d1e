#include "gateway/tls_contexts.h"

#include <algorithm>
#include <string>

#include "gateway/log.h"
#include "metrics/registry.h"

namespace smppgw {

namespace {

// TlsContext::create names the option that failed first ("cert_file /x.pem: ..."): the
// configuration names it differently.
std::string keyOf(const std::string& error) {
  static constexpr std::pair<std::string_view, std::string_view> kKeys[] = {
      {"cert_file", "certificate"},     {"key_file", "private_key"}, {"ca_file", "ca"},
      {"ciphersuites", "ciphersuites"}, {"ciphers", "ciphers"},      {"min_version", "min_version"},
      {"require_client_cert", "ca"}};
  for (auto [prefix, key] : kKeys) {
    if (error.starts_with(prefix)) {
      return std::string(key);
    }
  }
  return "certificate";
}

std::shared_ptr<net::TlsContext> build(const config::Tls& t, bool server, const std::string& path,
                                       std::vector<config::Diagnostic>& errors) {
  net::TlsOptions o;
  o.role = server ? net::TlsOptions::Role::Server : net::TlsOptions::Role::Client;
  o.cert_file = t.certificate;
  o.key_file = t.private_key;
  o.ca_file = t.ca;
  o.verify_peer = t.verify_peer;
  o.require_client_cert = t.require_client_certificate;
  o.min_version = t.min_version;
  o.ciphers = t.ciphers;
  o.ciphersuites = t.ciphersuites;
  std::string error;
  auto ctx = net::TlsContext::create(o, error);
  if (!ctx) {
    errors.push_back({path + "." + keyOf(error), error, false});
  }
  return ctx;
}

}  // namespace

TlsContexts buildTlsContexts(const config::Config& c, std::vector<config::Diagnostic>& errors) {
  TlsContexts out;
  out.listeners.resize(c.listeners.size());
  out.upstreams.resize(c.upstreams.size());
  for (size_t i = 0; i < c.listeners.size(); ++i) {
    if (c.listeners[i].tls.enabled) {
      out.listeners[i] =
          build(c.listeners[i].tls, true, "listeners[" + std::to_string(i) + "].tls", errors);
    }
  }
  for (size_t i = 0; i < c.upstreams.size(); ++i) {
    if (c.upstreams[i].tls.enabled) {
      out.upstreams[i] =
          build(c.upstreams[i].tls, false, "upstreams[" + std::to_string(i) + "].tls", errors);
    }
  }
  return out;
}

void checkTlsFiles(const config::Config& c, std::vector<config::Diagnostic>& errors) {
  buildTlsContexts(c, errors);
}

bool certificateNameMatches(const net::TlsSession& tls, const std::vector<std::string>& names) {
  if (!tls.peerVerified()) {
    return false;
  }
  auto named = [&](const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
  };
  if (std::string cn = tls.peerCommonName(); !cn.empty() && named(cn)) {
    return true;
  }
  auto sans = tls.peerNames();
  return std::any_of(sans.begin(), sans.end(), named);
}

void countTlsHandshake(metrics::Registry& reg, TlsLogLimiter& limiter, uint64_t now_ms,
                       std::string_view side, std::string_view name, std::string_view peer,
                       const net::TlsSession& tls, bool ok) {
  const bool listener = side == "listener";
  const std::string_view l = listener ? name : std::string_view();
  const std::string_view u = listener ? std::string_view() : name;
  reg.counter(metrics::CounterFamily::TlsHandshakes, {side, l, u, ok ? "ok" : "failed"}).inc();
  if (ok) {
    log::debug("tls_established", "side", side, "name", name, "peer", peer, "version",
               tls.version(), "cipher", tls.cipher(), "resumed", tls.sessionReused());
    return;
  }
  const std::string_view reason = net::toString(tls.failure());
  reg.counter(metrics::CounterFamily::TlsHandshakeFailures, {side, l, u, reason}).inc();
  std::string key = std::string(side) + "/" + std::string(reason);
  auto it = limiter.last_ms.find(key);
  if (it != limiter.last_ms.end() && now_ms - it->second < 10000) {
    ++limiter.suppressed;
    return;
  }
  limiter.last_ms[key] = now_ms;
  log::warn("tls_handshake_failed", "side", side, "name", name, "peer", peer, "reason", reason,
            "detail", tls.failureDetail(), "suppressed_before", limiter.suppressed);
  limiter.suppressed = 0;
}

void publishTlsGauges(metrics::Registry& reg, const config::Config& c, const TlsContexts& t,
                      bool log_unverified) {
  for (size_t i = 0; i < t.listeners.size() && i < c.listeners.size(); ++i) {
    if (t.listeners[i] && t.listeners[i]->certificateNotAfter() > 0) {
      reg.gauge(metrics::GaugeFamily::TlsCertificateExpiry, {"listener", c.listeners[i].name, ""})
          .set(t.listeners[i]->certificateNotAfter());
    }
  }
  for (size_t i = 0; i < t.upstreams.size() && i < c.upstreams.size(); ++i) {
    const config::Upstream& u = c.upstreams[i];
    const bool tls = t.upstreams[i] != nullptr;
    if (tls && t.upstreams[i]->certificateNotAfter() > 0) {
      reg.gauge(metrics::GaugeFamily::TlsCertificateExpiry, {"upstream", "", u.name})
          .set(t.upstreams[i]->certificateNotAfter());
    }
    const bool unverified = tls && !u.tls.verify_peer;
    if (tls) {
      reg.gauge(metrics::GaugeFamily::TlsVerifyDisabled, {u.name}).set(unverified ? 1 : 0);
    }
    if (unverified && log_unverified) {
      log::warn("tls_verify_disabled", "upstream", u.name, "host", u.host, "effect",
                "the carrier's certificate is not checked (tls.verify_peer: false)");
    }
  }
}

}  // namespace smppgw
