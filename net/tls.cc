#include "net/tls.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>

namespace smppgw::net {

namespace {

// Every queued OpenSSL error, oldest first ("No such file or directory: system lib"), and the
// queue cleared, so one failure never leaks into the next call's diagnosis.
std::string drainErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) {
      out += "; ";
    }
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

bool isIpLiteral(const std::string& s) {
  in6_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1 || inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

int onNewSession(SSL* ssl, SSL_SESSION* s);

}  // namespace

// The BIO under every session: reads come from the span of ciphertext the socket just delivered
// (no copy into a memory BIO, nothing kept between reads), writes append to the session's wire
// buffer, which Connection writes to the socket at the end of the iteration.
struct TlsBio {
  static int write(BIO* b, const char* data, size_t len, size_t* written) {
    auto* t = static_cast<TlsSession*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    t->wire_.append(data, len);
    *written = len;
    return 1;
  }
  static int read(BIO* b, char* out, size_t len, size_t* got) {
    auto* t = static_cast<TlsSession*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    if (t->in_.empty()) {
      BIO_set_retry_read(b);
      *got = 0;
      return 0;
    }
    size_t n = std::min(len, t->in_.size());
    std::memcpy(out, t->in_.data(), n);
    t->in_ = t->in_.subspan(n);
    *got = n;
    return 1;
  }
  static long ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }
  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }
  static const BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* x = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "smppgw");
      BIO_meth_set_write_ex(x, &TlsBio::write);
      BIO_meth_set_read_ex(x, &TlsBio::read);
      BIO_meth_set_ctrl(x, &TlsBio::ctrl);
      BIO_meth_set_create(x, &TlsBio::create);
      return x;
    }();
    return m;
  }
};

const char* toString(TlsFailure f) {
  switch (f) {
    case TlsFailure::None:
      return "none";
    case TlsFailure::UnknownCa:
      return "unknown_ca";
    case TlsFailure::Expired:
      return "expired";
    case TlsFailure::HostnameMismatch:
      return "hostname_mismatch";
    case TlsFailure::NoClientCertificate:
      return "no_client_certificate";
    case TlsFailure::BadCertificate:
      return "bad_certificate";
    case TlsFailure::Protocol:
      return "protocol";
    case TlsFailure::Timeout:
      return "timeout";
    case TlsFailure::Other:
      break;
  }
  return "other";
}

// ---- TlsContext

std::shared_ptr<TlsContext> TlsContext::create(const TlsOptions& o, std::string& error) {
  ERR_clear_error();
  const bool server = o.role == TlsOptions::Role::Server;
  std::unique_ptr<SSL_CTX, CtxFree> ctx(
      SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) {
    error = "SSL_CTX_new: " + drainErrors();
    return nullptr;
  }
  SSL_CTX* c = ctx.get();
  int min = 0;
  if (o.min_version == "1.2" || o.min_version.empty()) {
    min = TLS1_2_VERSION;
  } else if (o.min_version == "1.3") {
    min = TLS1_3_VERSION;
  } else {
    error = "min_version \"" + o.min_version + "\": must be \"1.2\" or \"1.3\"";
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(c, min);
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(c, o.ciphers.c_str()) != 1) {
    error = "ciphers \"" + o.ciphers + "\": " + drainErrors();
    return nullptr;
  }
  if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(c, o.ciphersuites.c_str()) != 1) {
    error = "ciphersuites \"" + o.ciphersuites + "\": " + drainErrors();
    return nullptr;
  }
  if (server && (o.cert_file.empty() || o.key_file.empty())) {
    error = "a TLS server needs cert_file and key_file";
    return nullptr;
  }
  if (o.cert_file.empty() != o.key_file.empty()) {
    error = "cert_file and key_file go together";
    return nullptr;
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(c, o.cert_file.c_str()) != 1) {
      error = "cert_file " + o.cert_file + ": " + drainErrors();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(c, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = "key_file " + o.key_file + ": " + drainErrors();
      return nullptr;
    }
    if (SSL_CTX_check_private_key(c) != 1) {
      error = "key_file " + o.key_file + " does not match cert_file " + o.cert_file + ": " +
              drainErrors();
      return nullptr;
    }
  }
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, o.ca_file.c_str(), nullptr) != 1) {
      error = "ca_file " + o.ca_file + ": " + drainErrors();
      return nullptr;
    }
  } else if (!server && o.verify_peer) {
    SSL_CTX_set_default_verify_paths(c);
  }
  if (server) {
    if (o.require_client_cert) {
      if (o.ca_file.empty()) {
        error = "require_client_cert needs ca_file";
        return nullptr;
      }
      // Tells clients which CAs we accept (a client with several certificates picks by it).
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca_file.c_str());
      if (names != nullptr) {
        SSL_CTX_set_client_CA_list(c, names);
      }
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    } else {
      SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
    // One ticket per handshake: a client keeps only its latest session.
    SSL_CTX_set_num_tickets(c, 1);
  } else {
    SSL_CTX_set_verify(c, o.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    if (o.session_resumption) {
      // We keep sessions per target ourselves (storeSession), not in OpenSSL's cache.
      SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(c, &onNewSession);
    } else {
      SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    }
  }
  // Required for resumption once client certificates are verified; harmless otherwise.
  static const unsigned char kSidCtx[] = "smppgw";
  SSL_CTX_set_session_id_context(c, kSidCtx, sizeof kSidCtx - 1);
  // Idle sessions give back their 16 KB+ record buffers; the write buffer may move between a
  // retried SSL_write and the next (out() grows while a renegotiation is in progress).
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  auto p = std::make_shared<TlsContext>(Key{}, ctx.release(), o);
  if (X509* x = SSL_CTX_get0_certificate(p->ctx_)) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
      p->not_after_ = static_cast<int64_t>(timegm(&tm));
    }
  }
  return p;
}

TlsContext::TlsContext(Key, ssl_ctx_st* ctx, TlsOptions options)
    : ctx_(ctx), options_(std::move(options)) {}

TlsContext::~TlsContext() {
  sessions_.clear();
  SSL_CTX_free(ctx_);
}

void TlsContext::SessionFree::operator()(ssl_session_st* s) const {
  SSL_SESSION_free(s);
}

ssl_session_st* TlsContext::cachedSession(const std::string& target) const {
  auto it = sessions_.find(target);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void TlsContext::storeSession(const std::string& target, ssl_session_st* s) {
  constexpr size_t kMaxTargets = 256;
  auto it = sessions_.find(target);
  if (it != sessions_.end()) {
    it->second.reset(s);
    return;
  }
  if (sessions_.size() >= kMaxTargets) {
    sessions_.erase(sessions_.begin());  // more targets than this is a misconfiguration
  }
  sessions_.emplace(target, std::unique_ptr<ssl_session_st, SessionFree>(s));
}

void TlsContext::forgetSession(const std::string& target) {
  sessions_.erase(target);
}

namespace {
int onNewSession(SSL* ssl, SSL_SESSION* s) {
  auto* t = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  if (t == nullptr || SSL_SESSION_is_resumable(s) != 1) {
    return 0;
  }
  t->context()->storeSession(t->target(), s);
  return 1;  // we keep the reference
}
}  // namespace

// ---- TlsSession

TlsSession::TlsSession(std::shared_ptr<TlsContext> ctx, std::string server_name,
                       uint64_t started_ms)
    : ctx_(std::move(ctx)), server_name_(std::move(server_name)), started_ms_(started_ms) {
  ERR_clear_error();
  ssl_ = SSL_new(ctx_->raw());
  if (ssl_ == nullptr) {
    fail(TlsFailure::Other, "SSL_new: " + drainErrors());
    return;
  }
  SSL_set_app_data(ssl_, this);
  BIO* b = BIO_new(TlsBio::method());
  BIO_set_data(b, this);
  SSL_set_bio(ssl_, b, b);  // one reference, owned by the SSL
  if (ctx_->isServer()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!server_name_.empty()) {
    const TlsOptions& o = ctx_->options();
    if (isIpLiteral(server_name_)) {
      if (o.verify_peer) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), server_name_.c_str());
      }
    } else {
      SSL_set_tlsext_host_name(ssl_, server_name_.c_str());  // SNI: host names only (RFC 6066)
      if (o.verify_peer) {
        SSL_set1_host(ssl_, server_name_.c_str());
      }
    }
  }
}

TlsSession::~TlsSession() {
  if (ssl_ != nullptr) {
    SSL_set_app_data(ssl_, nullptr);
    SSL_free(ssl_);
  }
}

TlsSession::Io TlsSession::start(const std::string& peer) {
  if (ctx_->isServer()) {
    return Io::WantMore;  // the client speaks first
  }
  target_ = server_name_ + "@" + peer;
  if (ctx_->options().session_resumption) {
    if (SSL_SESSION* s = ctx_->cachedSession(target_)) {
      SSL_set_session(ssl_, s);
    }
  }
  return handshake();
}

TlsSession::Io TlsSession::handshake() {
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    return Io::Ok;
  }
  return error(rc, true);
}

TlsSession::Io TlsSession::read(uint8_t* dst, size_t cap, size_t& n) {
  n = 0;
  int rc = SSL_read_ex(ssl_, dst, cap, &n);
  if (rc == 1) {
    app_data_seen_ = true;
    return Io::Ok;
  }
  return error(rc, false);
}

TlsSession::Io TlsSession::write(codec::Bytes plain) {
  size_t n = 0;
  int rc = SSL_write_ex(ssl_, plain.data(), plain.size(), &n);
  return rc == 1 ? Io::Ok : error(rc, false);
}

void TlsSession::shutdown() {
  if (!shutdown_sent_ && established_) {
    shutdown_sent_ = true;
    SSL_shutdown(ssl_);
    ERR_clear_error();
  }
}

void TlsSession::fail(TlsFailure f, std::string detail) {
  failure_ = f;
  detail_ = std::move(detail);
  if (!target_.empty()) {
    ctx_->forgetSession(target_);
  }
}

TlsSession::Io TlsSession::error(int rc, bool handshaking) {
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      return Io::WantMore;
    case SSL_ERROR_ZERO_RETURN:
      if (handshaking) {
        fail(TlsFailure::Protocol, "peer closed the TLS session during the handshake");
        return Io::Failed;
      }
      return Io::Closed;
    default:
      break;
  }
  classify(ERR_peek_error());
  return Io::Failed;
}

void TlsSession::classify(unsigned long err) {
  // Our own verification of the peer's certificate, if that is what failed.
  long vr = SSL_get_verify_result(ssl_);
  if (vr != X509_V_OK) {
    TlsFailure f = TlsFailure::BadCertificate;
    switch (vr) {
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_CERT_UNTRUSTED:
        f = TlsFailure::UnknownCa;
        break;
      case X509_V_ERR_CERT_HAS_EXPIRED:
      case X509_V_ERR_CERT_NOT_YET_VALID:
        f = TlsFailure::Expired;
        break;
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        f = TlsFailure::HostnameMismatch;
        break;
      default:
        break;
    }
    ERR_clear_error();
    fail(f, X509_verify_cert_error_string(vr));
    return;
  }
  // Otherwise the alert the peer sent us, or what was wrong with what it sent.
  TlsFailure f = TlsFailure::Other;
  if (ERR_GET_LIB(err) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(err)) {
      case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        f = TlsFailure::UnknownCa;
        break;
      case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        f = TlsFailure::Expired;
        break;
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
        f = TlsFailure::NoClientCertificate;
        break;
      case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
      case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        f = TlsFailure::BadCertificate;
        break;
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_UNKNOWN_PROTOCOL:
      case SSL_R_HTTP_REQUEST:
      case SSL_R_HTTPS_PROXY_REQUEST:
      case SSL_R_PACKET_LENGTH_TOO_LONG:
      case SSL_R_RECORD_LENGTH_MISMATCH:
      case SSL_R_UNEXPECTED_MESSAGE:
      case SSL_R_UNEXPECTED_RECORD:
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_WRONG_SSL_VERSION:
      case SSL_R_UNEXPECTED_EOF_WHILE_READING:
        f = TlsFailure::Protocol;
        break;
      default:
        break;
    }
  }
  fail(f, drainErrors());
}

std::string TlsSession::version() const {
  return ssl_ != nullptr ? SSL_get_version(ssl_) : "";
}

std::string TlsSession::cipher() const {
  const char* n = ssl_ != nullptr ? SSL_get_cipher_name(ssl_) : nullptr;
  return n != nullptr ? n : "";
}

bool TlsSession::sessionReused() const {
  return ssl_ != nullptr && SSL_session_reused(ssl_) == 1;
}

bool TlsSession::peerVerified() const {
  return ssl_ != nullptr && SSL_get0_peer_certificate(ssl_) != nullptr &&
         SSL_get_verify_result(ssl_) == X509_V_OK;
}

std::string TlsSession::peerCommonName() const {
  X509* x = ssl_ != nullptr ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (x == nullptr) {
    return "";
  }
  X509_NAME* name = X509_get_subject_name(x);
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) {
    return "";
  }
  unsigned char* utf8 = nullptr;
  int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
  if (n < 0) {
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::vector<std::string> TlsSession::peerNames() const {
  std::vector<std::string> out;
  X509* x = ssl_ != nullptr ? SSL_get0_peer_certificate(ssl_) : nullptr;
  if (x == nullptr) {
    return out;
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS || g->type == GEN_EMAIL) {
      const ASN1_IA5STRING* s = g->type == GEN_DNS ? g->d.dNSName : g->d.rfc822Name;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

}  // namespace smppgw::net
