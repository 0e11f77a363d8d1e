#pragma once
// A TCP connection carrying SMPP: reads are framed into whole PDUs handed to a handler in place
// (no copy unless a PDU straddles two reads), and output appended during a loop iteration is
// written once at the end of it: uv_try_write first, uv_write only for what the kernel did not
// take. With startTls() a TLS session sits between the socket and these two byte streams
// (net/tls.h): out() stays plaintext and everything queued in one iteration becomes one SSL_write
// and one socket write.
//
// With expectProxyHeader() the first bytes are a PROXY protocol header (net/proxy_protocol.h),
// read before anything else, TLS included: socket -> PROXY reader -> TLS (if any) -> framer.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>

#include "codec/bytes.h"
#include "codec/decode.h"
#include "net/loop.h"
#include "net/proxy_protocol.h"
#include "net/tls.h"

namespace smppgw::net {

class Connection;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // One complete PDU; the view is valid only during the call.
  virtual void onPdu(Connection& c, codec::Bytes pdu) = 0;
  // The stream cannot be framed any more (bad command_length). The handler answers as the error
  // says and closes.
  virtual void onFramingError(Connection& c, const codec::DecodeError& e) = 0;
  // An outbound connect finished; status is 0 or a libuv error.
  virtual void onConnected(Connection&, int /*status*/) {}
  // The TLS handshake is done (c.tls() tells who the peer is). Output queued before this, even
  // from onConnected, was held and leaves now. A failed handshake is an onClosed with
  // kStatusTlsHandshake and c.tls()->failure() saying why.
  virtual void onSecured(Connection& /*c*/) {}
  // The PROXY header was read (expectProxyHeader): c.peerAddress() is now the client's address
  // (the proxy's own for LOCAL). Called before any PDU. A bad or late header is an onClosed with
  // kStatusProxyHeader and c.proxyFailure() saying why.
  virtual void onProxyHeader(Connection& /*c*/) {}
  // The peer closed or the socket failed. Called at most once, never for a close() the owner
  // asked for.
  virtual void onClosed(Connection& c, int status) = 0;
};

struct ConnectionStats {
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
};

class Connection {
  struct Closer {
    void operator()(Connection* c) const { c->destroy(); }
  };
  struct Key {};

 public:
  using Ptr = std::unique_ptr<Connection, Closer>;

  // max_pdu: the largest command_length accepted (the framer refuses larger before buffering).
  static Ptr create(Loop& loop, ConnectionHandler* handler, uint32_t max_pdu);
  Connection(Key, Loop& loop, ConnectionHandler* handler, uint32_t max_pdu);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int accept(uv_stream_t* server);
  int connect(const sockaddr* addr);
  // Puts TLS under this connection. Server contexts: right after accept(). Client contexts:
  // before or right after connect() (the handshake starts when TCP is up); server_name is the
  // name (SNI + certificate check) or IP address the certificate must match. False if OpenSSL
  // could not create the session (tls()->failureDetail()); the owner then aborts.
  bool startTls(std::shared_ptr<TlsContext> ctx, std::string server_name = {});
  // Null for a plaintext connection.
  const TlsSession* tls() const { return tls_.get(); }
  // Called by the owner from its tick: a handshake begun (startTls) more than timeout_ms ago by
  // Loop::nowMs() fails, through onClosed(kStatusTlsHandshake) from inside this call, with
  // TlsFailure::Timeout. True if it did.
  bool expireHandshake(uint64_t timeout_ms);
  void setHandler(ConnectionHandler* h) { handler_ = h; }

  // Right after accept(), before the loop runs again: the stream starts with a PROXY header
  // (v1 or v2), which is read before TLS and SMPP. Nothing else is accepted in its place.
  void expectProxyHeader();
  // Waiting for the header (expectProxyHeader and not read yet).
  bool proxyHeaderPending() const { return proxy_ != nullptr && !proxy_done_; }
  // Called by the owner from its tick: a header not complete timeout_ms after
  // expectProxyHeader() by Loop::nowMs() fails, through onClosed(kStatusProxyHeader) from inside
  // this call, with proxyFailure() ProxyFailure::Timeout. True if it did.
  bool expireProxyHeader(uint64_t timeout_ms);
  // Why the header failed (None if it did not), and the reader's own words for it.
  ProxyFailure proxyFailure() const { return proxy_failure_; }
  const char* proxyFailureDetail() const { return proxy_detail_; }
  // The proxy's address (the socket's peer) once a header was read; else peerAddress().
  std::string proxyAddress() const { return proxy_ != nullptr ? proxy_peer_ : peer_; }

  // Output: append encoded PDUs, then send(); everything leaves at the end of the iteration.
  codec::Buffer& out() { return out_; }
  void send();
  // Bytes queued and not yet accepted by the kernel.
  // Over TLS: plaintext not yet encrypted plus ciphertext not yet written.
  size_t pendingOutput() const {
    return out_.size() + (writing_ ? write_buf_.size() : 0) +
           (tls_ != nullptr ? tls_->wire().size() : 0);
  }
  // Beyond this much unread output the peer is taken as not reading: the connection fails with
  // UV_ENOBUFS (its handler's onClosed) instead of buffering without bound.
  void setOutputLimit(size_t bytes) { max_output_ = bytes; }

  void pauseReading();
  void resumeReading();
  bool readingPaused() const { return paused_; }

  // Writes what is queued, then closes. No handler callbacks after this.
  void closeAfterFlush();
  // Closes now; queued output is dropped.
  void abort();
  bool closing() const { return closing_; }

  std::string peerAddress() const { return peer_; }  // "1.2.3.4:5678" / "[::1]:5678"
  const sockaddr_storage& peerSockaddr() const { return peer_addr_; }
  const ConnectionStats& stats() const { return stats_; }
  Loop& loop() { return loop_; }

  // Called by Loop at the end of an iteration.
  void flushScheduled();

 private:
  void destroy();
  void freeSelf();
  void startReading();
  void flushNow();
  void processInput(codec::Bytes data, size_t& consumed);
  void fail(int status);
  void closeHandle();
  void capturePeer();
  void tlsBegin();
  bool proxyInput(codec::Bytes& data);
  void proxyFail(ProxyFailure f, const char* detail);
  void tlsInput(codec::Bytes data);
  void tlsDrain();
  bool tlsEncrypt();
  void tlsFail(int status);

  static void onAlloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onConnect(uv_connect_t* req, int status);

  Loop& loop_;
  ConnectionHandler* handler_;
  uint32_t max_pdu_;
  size_t max_output_;
  uv_tcp_t tcp_;
  uv_write_t write_req_;
  uv_connect_t connect_req_;
  codec::Buffer rx_;         // a partial PDU carried over between reads
  codec::Buffer out_;        // queued during this iteration
  codec::Buffer write_buf_;  // owned by an in-progress uv_write
  std::unique_ptr<TlsSession> tls_;
  std::unique_ptr<ProxyHeaderParser> proxy_;  // only on a listener that expects the header
  uint64_t proxy_started_ms_ = 0;
  const char* proxy_detail_ = "";
  ProxyFailure proxy_failure_ = ProxyFailure::None;
  bool proxy_done_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool using_shared_ = false;
  bool flush_scheduled_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_after_flush_ = false;
  bool handle_closed_ = false;
  bool owner_released_ = false;
  bool close_cb_done_ = false;
  bool tcp_up_ = false;
  ConnectionStats stats_;
  sockaddr_storage peer_addr_{};
  std::string peer_;
  std::string proxy_peer_;
};

// Parses "host:port", "[v6]:port" or a host and port into a sockaddr (numeric hosts only; the
// config resolves names before they reach the loop).
bool parseAddress(const std::string& host, uint16_t port, sockaddr_storage& out);
std::string formatAddress(const sockaddr* sa);

// A listening TCP socket; each accepted connection is handed to the callback.
class Listener {
 public:
  // status != 0: accepting failed (UV_EMFILE: out of descriptors; libuv then accepted and
  // closed the waiting connections with a descriptor it keeps in reserve).
  using AcceptFn = std::function<void(uv_stream_t* server, int status)>;
  Listener(Loop& loop, AcceptFn fn);
  // Callers with nothing to do about a failed accept.
  Listener(Loop& loop, std::function<void(uv_stream_t* server)> fn)
      : Listener(loop, [fn = std::move(fn)](uv_stream_t* server, int status) {
          if (status == 0) {
            fn(server);
          }
        }) {}
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  // Binds and listens; returns 0 or a libuv error. port 0 picks a free port (see port()).
  int listen(const sockaddr* addr, int backlog = 1024);
  uint16_t port() const;
  void close();

 private:
  struct State {
    uv_tcp_t tcp;
    AcceptFn fn;
  };
  std::unique_ptr<State> state_;
};

}  // namespace smppgw::net
