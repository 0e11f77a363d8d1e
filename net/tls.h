#pragma once
// TLS under Connection: OpenSSL driven through a buffer-to-buffer BIO, so the loop never blocks
// and the socket I/O (and its counting) stays in Connection. Ciphertext read from the socket is
// handed to the session, plaintext comes back into the PDU framer; the plaintext queued in out()
// during one iteration is encrypted by one SSL_write and leaves in one socket write.
//
// Use (server): conn->accept(server); conn->startTls(server_ctx);
//      (client): conn->startTls(client_ctx, "carrier.example"); conn->connect(addr);
// The handler's onSecured() runs when the handshake is done; a failed handshake closes the
// connection through onClosed(kStatusTlsHandshake) with tls()->failure() saying why.
// Handshake timeout: no timer inside. The owner checks it from its own tick with
// Connection::expireHandshake(timeout_ms), which reads Loop::nowMs() (tests drive it manually).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/bytes.h"

// OpenSSL's types, so that users of this header do not see OpenSSL's headers.
struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;

namespace smppgw::net {

// onClosed statuses beyond libuv's errors (which are all > -4096).
inline constexpr int kStatusTlsHandshake = -40001;  // the handshake failed or timed out
inline constexpr int kStatusTlsError = -40002;      // a TLS error after the handshake

struct TlsOptions {
  enum class Role : uint8_t { Server, Client };
  Role role = Role::Server;
  std::string cert_file;    // PEM certificate chain (leaf first); required for a server
  std::string key_file;     // PEM private key of cert_file
  std::string ca_file;      // PEM CA bundle: verifies the peer (empty: system default on a client)
  bool verify_peer = true;  // client: verify the server (chain + server_name)
  bool require_client_cert = false;  // server: mTLS, the client's chain verified against ca_file
  std::string min_version = "1.2";   // "1.2" or "1.3"
  std::string ciphers;               // TLS 1.2 cipher list (OpenSSL syntax); empty: default
  std::string ciphersuites;          // TLS 1.3 ciphersuites; empty: default
  bool session_resumption = true;    // client: resume the last session to the same target
};

// Why a handshake failed, for smppgw_tls_handshake_failures_total{side,reason}.
enum class TlsFailure : uint8_t {
  None,
  UnknownCa,
  Expired,
  HostnameMismatch,
  NoClientCertificate,
  BadCertificate,
  Protocol,  // not TLS on the other end, no common version, peer closed mid-handshake
  Timeout,
  Other,
};
const char* toString(TlsFailure f);  // "unknown_ca", "expired", ...

// RAII over SSL_CTX. Shared: a reload builds a new one for new connections while open ones keep
// theirs.
class TlsContext {
  struct Key {};

 public:
  // Null and `error` set ("key_file /etc/x.key: ...: no start line") if anything cannot be loaded.
  static std::shared_ptr<TlsContext> create(const TlsOptions& options, std::string& error);
  TlsContext(Key, ssl_ctx_st* ctx, TlsOptions options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  const TlsOptions& options() const { return options_; }
  bool isServer() const { return options_.role == TlsOptions::Role::Server; }
  // notAfter of our own certificate, seconds since the epoch (0 without one), for a gauge.
  int64_t certificateNotAfter() const { return not_after_; }
  ssl_ctx_st* raw() { return ctx_; }

  // Client session cache, one session per target (server name + address), a few hundred at most.
  ssl_session_st* cachedSession(const std::string& target) const;
  void storeSession(const std::string& target, ssl_session_st* s);  // takes the reference
  void forgetSession(const std::string& target);

 private:
  struct SessionFree {
    void operator()(ssl_session_st* s) const;
  };
  ssl_ctx_st* ctx_;
  TlsOptions options_;
  int64_t not_after_ = 0;
  std::map<std::string, std::unique_ptr<ssl_session_st, SessionFree>, std::less<>> sessions_;
};

// One TLS session under one Connection (Connection drives it; handlers read it via tls()).
class TlsSession {
 public:
  // server_name: a client's expected peer (host name: SNI and name check; IP: address check).
  TlsSession(std::shared_ptr<TlsContext> ctx, std::string server_name, uint64_t started_ms);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  bool ok() const { return ssl_ != nullptr; }
  bool established() const { return established_; }
  uint64_t handshakeStartedMs() const { return started_ms_; }
  TlsFailure failure() const { return failure_; }
  const std::string& failureDetail() const { return detail_; }  // OpenSSL's words, for logs

  // After the handshake.
  std::string version() const;  // "TLSv1.3"
  std::string cipher() const;   // "TLS_AES_256_GCM_SHA384"
  bool sessionReused() const;
  std::string peerCommonName() const;          // subject CN of the peer certificate, or ""
  std::vector<std::string> peerNames() const;  // DNS and email subjectAltNames
  bool peerVerified() const;                   // a peer certificate was presented and verified
  const std::shared_ptr<TlsContext>& context() const { return ctx_; }
  const std::string& target() const { return target_; }  // client: "server_name@address"
  bool appDataSeen() const { return app_data_seen_; }

  // --- driven by Connection ---
  enum class Io : uint8_t { Ok, WantMore, Closed, Failed };
  // Starts the handshake once the TCP connection is up (a client resumes the session it last had
  // with this server name at `peer`, and writes its ClientHello into wire()).
  Io start(const std::string& peer);
  // Takes ciphertext from the socket; all of it is consumed.
  void setInput(codec::Bytes data) { in_ = data; }
  // Advances the handshake: Ok once established (this call), WantMore, or Failed.
  Io handshake();
  // Decrypts into [dst, dst+cap): Ok with n > 0, WantMore (input exhausted), Closed
  // (close_notify), Failed.
  Io read(uint8_t* dst, size_t cap, size_t& n);
  // Encrypts all of `plain` (records appended to wire()); WantMore: retry later with the same
  // bytes (a renegotiation in progress); Failed.
  Io write(codec::Bytes plain);
  // Queues close_notify.
  void shutdown();
  // Ciphertext to send to the socket.
  codec::Buffer& wire() { return wire_; }
  const codec::Buffer& wire() const { return wire_; }
  void fail(TlsFailure f, std::string detail);

 private:
  friend struct TlsBio;
  Io error(int rc, bool handshaking);
  void classify(unsigned long err);

  std::shared_ptr<TlsContext> ctx_;
  ssl_st* ssl_ = nullptr;
  std::string server_name_;
  std::string target_;  // client cache key
  uint64_t started_ms_;
  codec::Bytes in_;
  codec::Buffer wire_;
  bool established_ = false;
  bool shutdown_sent_ = false;
  bool app_data_seen_ = false;
  TlsFailure failure_ = TlsFailure::None;
  std::string detail_;
};

}  // namespace smppgw::net
