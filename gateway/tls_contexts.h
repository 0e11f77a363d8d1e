#pragma once
// The TLS contexts a configuration names, one per TLS listener and per TLS upstream. Building
// one reads its files (certificate, key, CA bundle) and checks that key and certificate match,
// so it runs where blocking is allowed: before start, in check-config, and on the thread pool
// during a reload. Open connections hold their context (shared_ptr): a reload that builds new
// ones changes only what new connections get.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/load.h"
#include "config/model.h"
#include "net/tls.h"

namespace smppgw {

struct TlsContexts {
  std::vector<std::shared_ptr<net::TlsContext>> listeners;  // by config index; null: plaintext
  std::vector<std::shared_ptr<net::TlsContext>> upstreams;  // by config index; null: plaintext
};

// Every error carries the JSON path of the key it is about ("listeners[0].tls.certificate: ...").
TlsContexts buildTlsContexts(const config::Config& c, std::vector<config::Diagnostic>& errors);

// check-config's extra check: the configuration's TLS files load.
void checkTlsFiles(const config::Config& c, std::vector<config::Diagnostic>& errors);

// The client certificate of a TLS session names one of `names` (subject CN, DNS or email SAN).
bool certificateNameMatches(const net::TlsSession& tls, const std::vector<std::string>& names);

// One log line per (side, reason) every 10 s at most: a scanner or a broken client must not flood
// the log; the counter has every failure.
struct TlsLogLimiter {
  std::map<std::string, uint64_t, std::less<>> last_ms;
  uint64_t suppressed = 0;
};

namespace metrics {
class Registry;
}

// side: "listener" (name = the listener) or "upstream" (name = the upstream). `tls` is the
// session that finished its handshake, or failed it (failure() says why).
void countTlsHandshake(metrics::Registry& reg, TlsLogLimiter& limiter, uint64_t now_ms,
                       std::string_view side, std::string_view name, std::string_view peer,
                       const net::TlsSession& tls, bool ok);

// Sets smppgw_tls_certificate_expiry_timestamp_seconds and smppgw_tls_verify_disabled for the
// contexts in force; logs the upstreams whose carrier certificate is not verified.
void publishTlsGauges(metrics::Registry& reg, const config::Config& c, const TlsContexts& t,
                      bool log_unverified);

}  // namespace smppgw
