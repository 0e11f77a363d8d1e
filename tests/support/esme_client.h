#pragma once
// A blocking SMPP client for tests: one loopback TCP socket, every wait bounded by poll()
// timeouts. It sends exactly the bytes a test builds and hands back each PDU received, raw and
// decoded, so tests can assert on exact PDUs.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codec/decode.h"
#include "codec/pdu.h"

struct ssl_st;
struct ssl_ctx_st;

namespace smppgw::testsupport {

// One received PDU: its bytes, and the decoded form whose views point into them.
struct ReceivedPdu {
  std::vector<uint8_t> bytes;
  codec::Pdu pdu;
  std::optional<codec::DecodeError> error;  // set if decode failed (pdu then holds the header)

  codec::CommandId id() const { return pdu.command_id; }
  uint32_t status() const { return pdu.command_status; }
  uint32_t seq() const { return pdu.sequence_number; }
};
using ReceivedPtr = std::unique_ptr<ReceivedPdu>;

class EsmeClient {
 public:
  EsmeClient() = default;
  ~EsmeClient();
  EsmeClient(const EsmeClient&) = delete;
  EsmeClient& operator=(const EsmeClient&) = delete;

  bool connect(const std::string& host, uint16_t port, int timeout_ms = 2000);
  // SO_RCVBUF for the next connect() (0: the kernel's default), set before connecting so the
  // advertised window follows it: a peer that never reads then stalls its sender within a few KiB.
  void setReceiveBuffer(int bytes) { rcvbuf_ = bytes; }
  // TCP_MAXSEG for the next connect() (0: default): the MSS this side announces. A small one also
  // keeps the peer's send buffer small (loopback autotunes it from the MSS to megabytes), so what
  // such a peer cannot send piles up in its own output rather than in the kernel.
  void setMaxSegment(int bytes) { maxseg_ = bytes; }
  // The local IPv4 address the next connect() binds to ("" = the kernel's choice); any of
  // 127.0.0.0/8 works on loopback, so a test can be a client from several addresses.
  void setLocalAddress(std::string address) { local_ = std::move(address); }
  // TLS over the connected socket (blocking, bounded): verifies the server against `ca` and
  // `server_name`; `cert`/`key` (optional) is the client certificate. False with `error` set
  // (OpenSSL's words) if the handshake fails. Everything after goes through TLS.
  bool startTls(const std::string& ca, const std::string& server_name, const std::string& cert,
                const std::string& key, std::string& error, int timeout_ms = 3000);
  // Takes over a connected socket (e.g. one a test accepted while playing the MC).
  void adopt(int fd);
  void close();
  bool connected() const { return fd_ >= 0; }

  uint32_t nextSeq() { return seq_++; }
  bool sendRaw(const void* data, size_t size);
  // Encodes (with this peer version's TLV rules) and sends.
  bool send(const codec::Pdu& pdu, uint8_t peer_version = 0x50);

  // The next PDU (backlog first), or null on timeout, EOF or a framing error.
  ReceivedPtr read(int timeout_ms);
  // Reads until a PDU with this command id arrives; others are kept for later read() calls.
  ReceivedPtr readUntil(codec::CommandId id, int timeout_ms);
  // True if the peer closes the connection within the timeout (PDUs read meanwhile are kept).
  bool waitClosed(int timeout_ms);
  bool peerClosed() const { return eof_; }

  // bind_* and wait for its response; the response (null on timeout).
  ReceivedPtr bind(codec::CommandId bind, const std::string& system_id, const std::string& password,
                   uint8_t interface_version = 0x34, int timeout_ms = 2000);
  // submit_sm with a GSM7/ASCII text; returns the submit_sm_resp (null on timeout).
  ReceivedPtr submit(const std::string& src, const std::string& dst, const std::string& text,
                     uint8_t registered_delivery = 0, int timeout_ms = 2000);
  // Answers a deliver_sm/data_sm (or any request) with its response and a status.
  bool respond(const ReceivedPdu& request, uint32_t status = 0);

 private:
  bool fill(int timeout_ms);  // one poll+recv into rx_; false on timeout/EOF/error
  ReceivedPtr takeFrame();

  struct SslFree {
    void operator()(ssl_st* s) const;
    void operator()(ssl_ctx_st* c) const;
  };
  // Waits for the socket as SSL_get_error(rc) asks; false on timeout or a fatal error.
  bool tlsWait(int rc, int timeout_ms);

  int fd_ = -1;
  std::unique_ptr<ssl_ctx_st, SslFree> ssl_ctx_;
  std::unique_ptr<ssl_st, SslFree> ssl_;
  int rcvbuf_ = 0;
  int maxseg_ = 0;
  std::string local_;
  bool eof_ = false;
  uint32_t seq_ = 1;
  std::vector<uint8_t> rx_;
  std::deque<ReceivedPtr> backlog_;
};

}  // namespace smppgw::testsupport
