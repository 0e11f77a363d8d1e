#include "tests/support/esme_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "codec/command.h"
#include "codec/encode.h"
#include "tools/common/pdu_util.h"

namespace smppgw::testsupport {

namespace {
using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}
}  // namespace

EsmeClient::~EsmeClient() {
  close();
}

void EsmeClient::SslFree::operator()(ssl_st* s) const {
  SSL_free(s);
}
void EsmeClient::SslFree::operator()(ssl_ctx_st* c) const {
  SSL_CTX_free(c);
}

bool EsmeClient::tlsWait(int rc, int timeout_ms) {
  const int e = SSL_get_error(ssl_.get(), rc);
  if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
    return false;
  }
  pollfd p{fd_, static_cast<short>(e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
  return ::poll(&p, 1, timeout_ms) == 1;
}

bool EsmeClient::startTls(const std::string& ca, const std::string& server_name,
                          const std::string& cert, const std::string& key, std::string& error,
                          int timeout_ms) {
  auto openssl_error = [] {
    char buf[256] = "handshake failed";
    if (unsigned long e = ERR_get_error()) {
      ERR_error_string_n(e, buf, sizeof buf);
    }
    ERR_clear_error();
    return std::string(buf);
  };
  ssl_ctx_.reset(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_load_verify_locations(ssl_ctx_.get(), ca.c_str(), nullptr);
  SSL_CTX_set_verify(ssl_ctx_.get(), SSL_VERIFY_PEER, nullptr);
  if (!cert.empty() &&
      (SSL_CTX_use_certificate_chain_file(ssl_ctx_.get(), cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ssl_ctx_.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)) {
    error = openssl_error();
    return false;
  }
  ssl_.reset(SSL_new(ssl_ctx_.get()));
  SSL_set_fd(ssl_.get(), fd_);
  SSL_set_tlsext_host_name(ssl_.get(), server_name.c_str());
  SSL_set1_host(ssl_.get(), server_name.c_str());
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const int rc = SSL_connect(ssl_.get());
    if (rc == 1) {
      return true;
    }
    if (!tlsWait(rc, remainingMs(deadline))) {
      error = openssl_error();
      ssl_.reset();
      return false;
    }
  }
}

void EsmeClient::close() {
  ssl_.reset();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void EsmeClient::adopt(int fd) {
  close();
  fd_ = fd;
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  eof_ = false;
  rx_.clear();
  backlog_.clear();
}

bool EsmeClient::connect(const std::string& host, uint16_t port, int timeout_ms) {
  close();
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) {
    return false;
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    return false;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (rcvbuf_ > 0 && ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf_, sizeof rcvbuf_) != 0) {
    close();
    return false;
  }
  if (maxseg_ > 0 && ::setsockopt(fd_, IPPROTO_TCP, TCP_MAXSEG, &maxseg_, sizeof maxseg_) != 0) {
    close();
    return false;
  }
  if (!local_.empty()) {
    sockaddr_in la{};
    la.sin_family = AF_INET;
    if (::inet_pton(AF_INET, local_.c_str(), &la.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&la), sizeof la) != 0) {
      close();
      return false;
    }
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno != EINPROGRESS) {
      close();
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, timeout_ms) != 1 ||
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      close();
      return false;
    }
  }
  eof_ = false;
  rx_.clear();
  backlog_.clear();
  return true;
}

bool EsmeClient::sendRaw(const void* data, size_t size) {
  const auto* p = static_cast<const uint8_t*>(data);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  while (ssl_ && size > 0) {
    const int n = SSL_write(ssl_.get(), p, static_cast<int>(size));
    if (n > 0) {
      p += n;
      size -= static_cast<size_t>(n);
    } else if (!tlsWait(n, remainingMs(deadline))) {
      return false;
    }
  }
  while (size > 0 && fd_ >= 0) {
    const ssize_t n = ::send(fd_, p, size, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      size -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd pf{fd_, POLLOUT, 0};
      if (::poll(&pf, 1, remainingMs(deadline)) != 1) {
        return false;
      }
      continue;
    }
    return false;
  }
  return size == 0;
}

bool EsmeClient::send(const codec::Pdu& pdu, uint8_t peer_version) {
  codec::Buffer b;
  codec::Pdu copy = pdu;  // views only; the codec may not be handed null string_views
  codec::encode(tools::nonNullStrings(copy), b, codec::EncodeOptions{peer_version});
  return sendRaw(b.data(), b.size());
}

bool EsmeClient::fill(int timeout_ms) {
  if (fd_ < 0 || eof_) {
    return false;
  }
  if (ssl_) {
    // OpenSSL may hold decrypted bytes the socket no longer shows: read first, poll after.
    uint8_t buf[16384];
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const int n = SSL_read(ssl_.get(), buf, sizeof buf);
      if (n > 0) {
        rx_.insert(rx_.end(), buf, buf + n);
        return true;
      }
      const int e = SSL_get_error(ssl_.get(), n);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        eof_ = true;  // close_notify, reset or a TLS alert
        return false;
      }
      if (!tlsWait(n, remainingMs(deadline))) {
        return false;
      }
    }
  }
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) != 1) {
    return false;
  }
  uint8_t buf[65536];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    eof_ = true;
    return false;
  }
  if (n > 0) {
    rx_.insert(rx_.end(), buf, buf + n);
  }
  return true;
}

ReceivedPtr EsmeClient::takeFrame() {
  codec::Frame f = codec::peekFrame(codec::Bytes(rx_.data(), rx_.size()));
  if (f.state != codec::Frame::State::Complete) {
    return nullptr;
  }
  auto r = std::make_unique<ReceivedPdu>();
  r->bytes.assign(f.pdu.begin(), f.pdu.end());
  rx_.erase(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(f.pdu.size()));
  r->error = codec::decode(codec::Bytes(r->bytes.data(), r->bytes.size()), r->pdu);
  if (r->error) {
    const codec::Header h = codec::readHeader(r->bytes.data());
    r->pdu.command_id = static_cast<codec::CommandId>(h.command_id);
    r->pdu.command_status = h.command_status;
    r->pdu.sequence_number = h.sequence_number;
  }
  return r;
}

ReceivedPtr EsmeClient::read(int timeout_ms) {
  if (!backlog_.empty()) {
    ReceivedPtr r = std::move(backlog_.front());
    backlog_.pop_front();
    return r;
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (ReceivedPtr r = takeFrame()) {
      return r;
    }
    if (!fill(remainingMs(deadline))) {
      return nullptr;
    }
  }
}

ReceivedPtr EsmeClient::readUntil(codec::CommandId id, int timeout_ms) {
  for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
    if ((*it)->id() == id) {
      ReceivedPtr r = std::move(*it);
      backlog_.erase(it);
      return r;
    }
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    ReceivedPtr r = takeFrame();
    if (r == nullptr) {
      if (!fill(remainingMs(deadline))) {
        return nullptr;
      }
      continue;
    }
    if (r->id() == id) {
      return r;
    }
    backlog_.push_back(std::move(r));
  }
}

bool EsmeClient::waitClosed(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!eof_) {
    if (!fill(remainingMs(deadline)) && !eof_) {
      return false;
    }
    while (ReceivedPtr r = takeFrame()) {
      backlog_.push_back(std::move(r));
    }
  }
  return true;
}

ReceivedPtr EsmeClient::bind(codec::CommandId bind, const std::string& system_id,
                             const std::string& password, uint8_t interface_version,
                             int timeout_ms) {
  codec::Pdu p(bind, nextSeq());
  auto& b = p.as<codec::BindBody>();
  b.system_id = system_id;
  b.password = password;
  b.interface_version = interface_version;
  if (!send(p)) {
    return nullptr;
  }
  return readUntil(codec::responseFor(bind), timeout_ms);
}

ReceivedPtr EsmeClient::submit(const std::string& src, const std::string& dst,
                               const std::string& text, uint8_t registered_delivery,
                               int timeout_ms) {
  codec::Pdu p(codec::CommandId::submit_sm, nextSeq());
  auto& b = p.as<codec::SmBody>();
  b.source_addr_ton = 1;
  b.source_addr_npi = 1;
  b.source_addr = src;
  b.dest_addr_ton = 1;
  b.dest_addr_npi = 1;
  b.destination_addr = dst;
  b.registered_delivery = registered_delivery;
  b.short_message = codec::asBytes(text);
  if (!send(p)) {
    return nullptr;
  }
  return readUntil(codec::CommandId::submit_sm_resp, timeout_ms);
}

bool EsmeClient::respond(const ReceivedPdu& request, uint32_t status) {
  const codec::CommandId resp = codec::responseFor(request.id());
  codec::Pdu p(resp, request.seq(), status);
  return send(p);
}

}  // namespace smppgw::testsupport
