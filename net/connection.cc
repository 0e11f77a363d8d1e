#include "net/connection.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace smppgw::net {

namespace {
// A connection whose peer stops reading may not make us buffer without bound.
constexpr size_t kMaxPendingOutput = 32 * 1024 * 1024;
// Carry-over buffers larger than this are released once empty (idle sessions hold nothing).
constexpr size_t kKeepRxCapacity = 64 * 1024;
}  // namespace

Connection::Ptr Connection::create(Loop& loop, ConnectionHandler* handler, uint32_t max_pdu) {
  // Freed in the close callback (or by destroy() once that has run), never by the owner.
  return Ptr(std::make_unique<Connection>(Key{}, loop, handler, max_pdu).release());
}

Connection::Connection(Key, Loop& loop, ConnectionHandler* handler, uint32_t max_pdu)
    : loop_(loop), handler_(handler), max_pdu_(max_pdu), max_output_(kMaxPendingOutput) {
  uv_tcp_init(loop.raw(), &tcp_);
  tcp_.data = this;
  write_req_.data = this;
  connect_req_.data = this;
}

int Connection::accept(uv_stream_t* server) {
  int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (rc != 0) {
    return rc;
  }
  uv_tcp_nodelay(&tcp_, 1);
  tcp_up_ = true;
  capturePeer();
  startReading();
  return 0;
}

void Connection::expectProxyHeader() {
  proxy_ = std::make_unique<ProxyHeaderParser>();
  proxy_started_ms_ = loop_.nowMs();
  proxy_peer_ = peer_;
}

bool Connection::expireProxyHeader(uint64_t timeout_ms) {
  if (!proxyHeaderPending() || closing_ || loop_.nowMs() - proxy_started_ms_ < timeout_ms) {
    return false;
  }
  proxyFail(ProxyFailure::Timeout, "no complete PROXY header in time");
  return true;
}

void Connection::proxyFail(ProxyFailure f, const char* detail) {
  proxy_failure_ = f;
  proxy_detail_ = detail;
  fail(kStatusProxyHeader);
}

// Feeds the reader; on Done, `data` is narrowed to what followed the header (TLS or SMPP) and the
// peer becomes the header's source. False if the connection is closed or nothing is left.
bool Connection::proxyInput(codec::Bytes& data) {
  size_t consumed = 0;
  switch (proxy_->feed(data, consumed)) {
    case ProxyHeaderParser::Status::NeedMore:
      return false;
    case ProxyHeaderParser::Status::Error:
      proxyFail(proxy_->notProxy() ? ProxyFailure::NotProxy : ProxyFailure::Invalid,
                proxy_->error());
      return false;
    case ProxyHeaderParser::Status::Done:
      break;
  }
  proxy_done_ = true;
  const ProxyHeader& h = proxy_->header();
  if (!h.local) {
    peer_addr_ = h.source;
    peer_ = formatAddress(reinterpret_cast<const sockaddr*>(&peer_addr_));
  }
  if (handler_ != nullptr) {
    handler_->onProxyHeader(*this);
  }
  data = data.subspan(consumed);
  return !closing_ && !data.empty();
}

bool Connection::startTls(std::shared_ptr<TlsContext> ctx, std::string server_name) {
  tls_ = std::make_unique<TlsSession>(std::move(ctx), std::move(server_name), loop_.nowMs());
  if (!tls_->ok()) {
    return false;
  }
  if (tcp_up_) {
    tlsBegin();
  }
  return true;
}

void Connection::tlsBegin() {
  if (tls_->start(peer_) == TlsSession::Io::Failed) {
    tlsFail(kStatusTlsHandshake);
    return;
  }
  if (!tls_->wire().empty()) {
    send();  // the ClientHello
  }
}

bool Connection::expireHandshake(uint64_t timeout_ms) {
  if (tls_ == nullptr || tls_->established() || closing_ ||
      loop_.nowMs() - tls_->handshakeStartedMs() < timeout_ms) {
    return false;
  }
  tls_->fail(TlsFailure::Timeout, "no TLS handshake in " + std::to_string(timeout_ms) + " ms");
  tlsFail(kStatusTlsHandshake);
  return true;
}

int Connection::connect(const sockaddr* addr) {
  std::memcpy(&peer_addr_, addr,
              addr->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  peer_ = formatAddress(addr);
  return uv_tcp_connect(&connect_req_, &tcp_, addr, &Connection::onConnect);
}

void Connection::onConnect(uv_connect_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  if (c->handle_closed_) {
    return;
  }
  if (status == 0) {
    uv_tcp_nodelay(&c->tcp_, 1);
    c->tcp_up_ = true;
    c->startReading();
    if (c->tls_ != nullptr) {
      c->tlsBegin();
      if (c->closing_) {
        return;
      }
    }
  }
  if (c->handler_ != nullptr) {
    c->handler_->onConnected(*c, status);
  }
}

void Connection::capturePeer() {
  int len = sizeof(peer_addr_);
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer_addr_), &len) == 0) {
    peer_ = formatAddress(reinterpret_cast<sockaddr*>(&peer_addr_));
  }
}

void Connection::startReading() {
  if (!reading_ && !paused_ && !closing_) {
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::onAlloc,
                             &Connection::onRead) == 0;
  }
}

void Connection::pauseReading() {
  paused_ = true;
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
}

void Connection::resumeReading() {
  if (!paused_ || closing_) {
    return;
  }
  paused_ = false;
  // PDUs already buffered are handed over at the end of this iteration, outside whatever
  // callback asked to resume.
  if (!rx_.empty()) {
    loop_.defer([this] {
      if (closing_ || paused_) {
        return;
      }
      size_t consumed = 0;
      processInput(rx_.view(), consumed);
      rx_.consume(consumed);
      startReading();
    });
    return;
  }
  startReading();
}

void Connection::onAlloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(h->data);
  if (c->tls_ != nullptr) {
    // Ciphertext goes to the upper half of the shared buffer; it is decrypted into the lower
    // half (tlsDrain), so the two never overlap.
    auto shared = c->loop_.sharedReadBuffer().subspan(Loop::kReadBufferSize / 2);
    c->using_shared_ = true;
    *buf =
        uv_buf_init(reinterpret_cast<char*>(shared.data()), static_cast<unsigned>(shared.size()));
    return;
  }
  if (c->rx_.empty()) {
    // Most reads end on a PDU boundary: parse them straight out of the loop's buffer.
    auto shared = c->loop_.sharedReadBuffer();
    c->using_shared_ = true;
    *buf =
        uv_buf_init(reinterpret_cast<char*>(shared.data()), static_cast<unsigned>(shared.size()));
    return;
  }
  // A PDU is partly here: read the rest behind it.
  size_t want = 16 * 1024;
  if (c->rx_.size() >= 4) {
    uint32_t len = codec::load32(c->rx_.data());
    if (len <= c->max_pdu_ && len > c->rx_.size()) {
      want = std::max<size_t>(want, len - c->rx_.size());
    }
  }
  c->rx_.reserve(c->rx_.size() + want);
  c->using_shared_ = false;
  *buf = uv_buf_init(reinterpret_cast<char*>(c->rx_.data() + c->rx_.size()),
                     static_cast<unsigned>(c->rx_.capacity() - c->rx_.size()));
}

void Connection::onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  if (nread == 0) {
    return;  // EAGAIN
  }
  if (nread < 0) {
    // A connect-and-close without a byte (a balancer's TCP health check) is an ordinary close.
    if (c->proxy_ != nullptr && !c->proxy_done_ && !c->closing_ && c->stats_.bytes_in > 0) {
      c->proxyFail(ProxyFailure::Closed, nread == UV_EOF ? "closed before the PROXY header ended"
                                                         : uv_strerror(static_cast<int>(nread)));
      return;
    }
    if (c->tls_ != nullptr && !c->tls_->established() && !c->closing_) {
      c->tls_->fail(TlsFailure::Protocol, std::string("connection closed during the handshake: ") +
                                              uv_strerror(static_cast<int>(nread)));
      c->fail(kStatusTlsHandshake);
      return;
    }
    c->fail(static_cast<int>(nread));
    return;
  }
  ++c->stats_.reads;
  c->stats_.bytes_in += static_cast<uint64_t>(nread);
  ++c->loop_.stats().reads;
  c->loop_.stats().bytes_in += static_cast<uint64_t>(nread);
  c->loop_.refreshNs();
  if (c->closing_) {
    return;
  }
  codec::Bytes data(reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread));
  // Until the header is read rx_ is empty, so the data is in the shared buffer (either half).
  if (c->proxy_ != nullptr && !c->proxy_done_ && !c->proxyInput(data)) {
    return;
  }
  if (c->tls_ != nullptr) {
    c->tlsInput(data);
    return;
  }
  size_t consumed = 0;
  if (c->using_shared_) {
    c->processInput(data, consumed);
    if (!c->closing_ && consumed < data.size()) {
      c->rx_.append(data.data() + consumed, data.size() - consumed);
    }
  } else {
    c->rx_.resize(c->rx_.size() + static_cast<size_t>(nread));
    c->processInput(c->rx_.view(), consumed);
    if (!c->closing_) {
      c->rx_.consume(consumed);
      if (c->rx_.empty() && c->rx_.capacity() > kKeepRxCapacity) {
        c->rx_.release();
      }
    }
  }
}

void Connection::tlsInput(codec::Bytes data) {
  tls_->setInput(data);
  if (!tls_->established()) {
    TlsSession::Io r = tls_->handshake();
    if (r == TlsSession::Io::Failed) {
      tlsFail(kStatusTlsHandshake);
      return;
    }
    if (r == TlsSession::Io::WantMore) {
      if (!tls_->wire().empty()) {
        send();
      }
      return;
    }
    send();  // the last handshake flight, and any output held until now
    if (handler_ != nullptr) {
      handler_->onSecured(*this);
    }
    if (closing_) {
      return;
    }
  }
  tlsDrain();
  if (!closing_ && (!tls_->wire().empty() || !out_.empty())) {
    send();  // a key update answer, or output held back by a renegotiation
  }
}

// Decrypts everything the last read brought, into the lower half of the loop's shared buffer
// while no PDU is partly buffered (then PDUs are handed over in place, as in plaintext), else
// behind the partial PDU in rx_.
void Connection::tlsDrain() {
  while (!closing_) {
    const bool shared = rx_.empty();
    uint8_t* dst = nullptr;
    size_t cap = 0;
    if (shared) {
      dst = loop_.sharedReadBuffer().data();
      cap = Loop::kReadBufferSize / 2;
    } else {
      size_t want = 16 * 1024;
      if (rx_.size() >= 4) {
        uint32_t len = codec::load32(rx_.data());
        if (len <= max_pdu_ && len > rx_.size()) {
          want = std::max<size_t>(want, len - rx_.size());
        }
      }
      rx_.reserve(rx_.size() + want);
      dst = rx_.data() + rx_.size();
      cap = rx_.capacity() - rx_.size();
    }
    size_t n = 0;
    TlsSession::Io r = tls_->read(dst, cap, n);
    if (r == TlsSession::Io::WantMore) {
      return;
    }
    if (r == TlsSession::Io::Closed) {
      fail(UV_EOF);  // close_notify
      return;
    }
    if (r == TlsSession::Io::Failed) {
      // A TLS 1.3 client learns that the server refused its certificate only after its own
      // side of the handshake is done: still a handshake failure for the counters.
      TlsFailure f = tls_->failure();
      bool handshake = !tls_->appDataSeen() && f != TlsFailure::Other && f != TlsFailure::Protocol;
      tlsFail(handshake ? kStatusTlsHandshake : kStatusTlsError);
      return;
    }
    size_t consumed = 0;
    if (shared) {
      codec::Bytes plain(dst, n);
      processInput(plain, consumed);
      if (!closing_ && consumed < n) {
        rx_.append(dst + consumed, n - consumed);
      }
    } else {
      rx_.resize(rx_.size() + n);
      processInput(rx_.view(), consumed);
      if (!closing_) {
        rx_.consume(consumed);
        if (rx_.empty() && rx_.capacity() > kKeepRxCapacity) {
          rx_.release();
        }
      }
    }
  }
}

// Plaintext queued during the iteration becomes one SSL_write (records appended to the wire
// buffer); held while the handshake runs. False if the session failed (the connection is closed).
bool Connection::tlsEncrypt() {
  if (!tls_->established()) {
    return true;
  }
  if (!out_.empty()) {
    TlsSession::Io r = tls_->write(out_.view());
    if (r == TlsSession::Io::Failed) {
      tlsFail(kStatusTlsError);
      return false;
    }
    if (r == TlsSession::Io::Ok) {
      out_.clear();
    }  // WantMore (renegotiation): kept and retried after the next read
  }
  if (close_after_flush_ && out_.empty()) {
    tls_->shutdown();  // close_notify behind the last records
  }
  return true;
}

// Sends the alert OpenSSL queued (so the peer learns why; one best-effort write), then closes.
void Connection::tlsFail(int status) {
  codec::Buffer& w = tls_->wire();
  if (!w.empty() && !writing_ && !handle_closed_) {
    uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(w.data()), static_cast<unsigned>(w.size()));
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
    ++stats_.writes;
    ++loop_.stats().writes;
    if (n > 0) {
      stats_.bytes_out += static_cast<uint64_t>(n);
      loop_.stats().bytes_out += static_cast<uint64_t>(n);
    }
  }
  w.clear();
  fail(status);
}

void Connection::processInput(codec::Bytes data, size_t& consumed) {
  while (consumed < data.size() && !closing_ && !paused_ && handler_ != nullptr) {
    codec::Frame f = codec::peekFrame(data.subspan(consumed), max_pdu_);
    if (f.state == codec::Frame::State::NeedMore) {
      return;
    }
    if (f.state == codec::Frame::State::Error) {
      consumed = data.size();  // nothing after a framing error can be trusted
      handler_->onFramingError(*this, f.error);
      return;
    }
    consumed += f.pdu.size();
    handler_->onPdu(*this, f.pdu);
  }
}

void Connection::send() {
  if (!flush_scheduled_ && !closing_) {
    flush_scheduled_ = true;
    loop_.scheduleFlush(this);
  }
}

void Connection::flushScheduled() {
  flush_scheduled_ = false;
  if (handle_closed_) {
    // Closed after scheduling: the object waits for its close callback; nothing to write.
    return;
  }
  // Checked here, not only when a write completes: a peer that stops reading never completes
  // the write in progress, and everything queued behind it would grow without bound.
  if (pendingOutput() > max_output_) {
    fail(UV_ENOBUFS);
    return;
  }
  flushNow();
}

void Connection::flushNow() {
  if (writing_ || handle_closed_) {
    return;
  }
  // What goes to the socket: out_ itself, or over TLS the records it was encrypted into.
  codec::Buffer* wire = &out_;
  if (tls_ != nullptr) {
    if (!tlsEncrypt()) {
      return;
    }
    wire = &tls_->wire();
    if (wire->empty()) {
      if (close_after_flush_ && (out_.empty() || !tls_->established())) {
        closeHandle();
      }
      return;
    }
  } else if (out_.empty()) {
    return;
  }
  uv_buf_t b =
      uv_buf_init(reinterpret_cast<char*>(wire->data()), static_cast<unsigned>(wire->size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  ++stats_.writes;
  ++loop_.stats().writes;
  if (n == static_cast<int>(wire->size())) {
    stats_.bytes_out += static_cast<uint64_t>(n);
    loop_.stats().bytes_out += static_cast<uint64_t>(n);
    wire->clear();
    if (tls_ != nullptr && wire->capacity() > kKeepRxCapacity) {
      wire->release();  // a burst's records; an idle session keeps no large buffer
    }
    // Over TLS, plaintext still held by an unfinished handshake cannot leave any more.
    if (close_after_flush_ && (out_.empty() || !tls_->established())) {
      closeHandle();
    }
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    fail(n);
    return;
  }
  size_t written = n > 0 ? static_cast<size_t>(n) : 0;
  stats_.bytes_out += written;
  loop_.stats().bytes_out += written;
  // The kernel buffer is full: hand the rest to uv_write, which owns it until its callback.
  std::swap(*wire, write_buf_);
  wire->clear();
  write_buf_.consume(written);
  if (write_buf_.size() > max_output_) {
    fail(UV_ENOBUFS);
    return;
  }
  uv_buf_t rest = uv_buf_init(reinterpret_cast<char*>(write_buf_.data()),
                              static_cast<unsigned>(write_buf_.size()));
  writing_ = true;
  int rc =
      uv_write(&write_req_, reinterpret_cast<uv_stream_t*>(&tcp_), &rest, 1, &Connection::onWrite);
  if (rc != 0) {
    writing_ = false;
    fail(rc);
  }
}

void Connection::onWrite(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  c->writing_ = false;
  if (status == 0) {
    c->stats_.bytes_out += c->write_buf_.size();
    c->loop_.stats().bytes_out += c->write_buf_.size();
  }
  c->write_buf_.clear();
  if (c->handle_closed_) {
    return;  // cancelled by uv_close
  }
  if (status != 0) {
    c->fail(status);
    return;
  }
  if (!c->out_.empty() || (c->tls_ != nullptr && !c->tls_->wire().empty())) {
    if (c->pendingOutput() > c->max_output_) {
      c->fail(UV_ENOBUFS);
      return;
    }
    c->flushNow();
  } else if (c->close_after_flush_) {
    if (c->tls_ != nullptr) {
      c->flushNow();  // close_notify, then close
    } else {
      c->closeHandle();
    }
  }
}

void Connection::fail(int status) {
  if (closing_) {
    closeHandle();
    return;
  }
  closing_ = true;
  ConnectionHandler* h = handler_;
  handler_ = nullptr;
  closeHandle();
  if (h != nullptr) {
    h->onClosed(*this, status);
  }
}

void Connection::closeAfterFlush() {
  if (closing_) {
    return;
  }
  closing_ = true;
  handler_ = nullptr;
  pauseReading();
  close_after_flush_ = true;
  if (!writing_ && out_.empty() && (tls_ == nullptr || !tls_->established())) {
    closeHandle();
  } else if (!writing_ && !flush_scheduled_) {
    flush_scheduled_ = true;
    loop_.scheduleFlush(this);
  }
}

void Connection::abort() {
  closing_ = true;
  handler_ = nullptr;
  out_.clear();
  closeHandle();
}

void Connection::closeHandle() {
  if (handle_closed_) {
    return;
  }
  handle_closed_ = true;
  if (reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) {
    auto* c = static_cast<Connection*>(h->data);
    c->close_cb_done_ = true;
    if (c->owner_released_) {
      c->freeSelf();
    }
  });
}

void Connection::destroy() {
  owner_released_ = true;
  handler_ = nullptr;
  if (close_cb_done_) {
    freeSelf();
    return;
  }
  if (handle_closed_) {
    return;  // the close callback frees it
  }
  if (close_after_flush_) {
    return;  // already flushing towards a close; the close callback frees it
  }
  if (!closing_ && (!out_.empty() || writing_ || (tls_ != nullptr && tls_->established()))) {
    // Let queued output (a final response, an unbind_resp) reach the peer first.
    closeAfterFlush();
    return;
  }
  closing_ = true;
  closeHandle();
}

void Connection::freeSelf() {
  if (flush_scheduled_) {
    // The loop still holds a pointer to us in its flush list: free after it has run.
    loop_.defer([this] { std::unique_ptr<Connection> owned(this); });
    flush_scheduled_ = false;
    return;
  }
  std::unique_ptr<Connection> owned(this);
}

bool parseAddress(const std::string& host, uint16_t port, sockaddr_storage& out) {
  std::memset(&out, 0, sizeof out);
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  }
  if (h == "localhost") {
    h = "127.0.0.1";
  }
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (uv_ip4_addr(h.c_str(), port, v4) == 0) {
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  return uv_ip6_addr(h.c_str(), port, v6) == 0;
}

std::string formatAddress(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = {};
  char buf[INET6_ADDRSTRLEN + 16];
  if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    uv_ip6_name(v6, ip, sizeof ip);
    std::snprintf(buf, sizeof buf, "[%s]:%u", ip, ntohs(v6->sin6_port));
  } else {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
    uv_ip4_name(v4, ip, sizeof ip);
    std::snprintf(buf, sizeof buf, "%s:%u", ip, ntohs(v4->sin_port));
  }
  return buf;
}

Listener::Listener(Loop& loop, AcceptFn fn) : state_(std::make_unique<State>()) {
  uv_tcp_init(loop.raw(), &state_->tcp);
  state_->fn = std::move(fn);
  state_->tcp.data = state_.get();
}

Listener::~Listener() {
  close();
}

int Listener::listen(const sockaddr* addr, int backlog) {
  int rc = uv_tcp_bind(&state_->tcp, addr, 0);
  if (rc != 0) {
    return rc;
  }
  return uv_listen(reinterpret_cast<uv_stream_t*>(&state_->tcp), backlog,
                   [](uv_stream_t* server, int status) {
                     static_cast<State*>(server->data)->fn(server, status);
                   });
}

uint16_t Listener::port() const {
  sockaddr_storage ss{};
  int len = sizeof ss;
  if (uv_tcp_getsockname(&state_->tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return 0;
  }
  if (ss.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
}

void Listener::close() {
  if (state_) {
    uv_tcp_t* h = &state_->tcp;
    closeAndRelease(std::move(state_), h);
  }
}

}  // namespace smppgw::net
